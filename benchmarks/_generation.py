"""One measured generation on whichever llama-cpp-python the running interpreter has; prints one JSON line.

``python benchmarks/_generation.py --model M --threads T --prompt-tokens P --gen-tokens G``

Run as a file by the project's venv (the portable build) and by the native venv (which has only llama-cpp-python),
so it imports nothing of echelon. The prompt is P tokens of a fixed text; generation is greedy for exactly G tokens
(an end-of-text token does not stop it), so both builds do the same work. Rates are llama.cpp's own counters.
"""

from __future__ import annotations

import argparse
import json
import time

TEXT = (
    "The quarterly report lists revenue, costs and margins for each region and product line. "
    "Analysts compare each figure with the same quarter of the previous year and explain the largest changes. "
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--prompt-tokens", type=int, default=256)
    parser.add_argument("--gen-tokens", type=int, default=64)
    args = parser.parse_args()

    import llama_cpp
    from llama_cpp import Llama

    started = time.perf_counter()
    llm = Llama(
        model_path=args.model,
        n_ctx=args.prompt_tokens + args.gen_tokens + 64,
        n_threads=args.threads,
        n_threads_batch=args.threads,
        seed=0,
        verbose=False,
    )
    load_s = time.perf_counter() - started
    tokens = llm.tokenize(TEXT.encode(), add_bos=False)
    prompt = (tokens * (args.prompt_tokens // len(tokens) + 1))[: args.prompt_tokens]
    ctx = llm._ctx.ctx  # pyright: ignore[reportPrivateUsage]
    llm.eval(prompt[:16])  # warm-up: page the weights in
    llama_cpp.llama_synchronize(ctx)  # llama.cpp books a decode's time when it synchronizes
    llm.reset()
    llama_cpp.llama_perf_context_reset(ctx)
    llm.eval(prompt)
    for _ in range(args.gen_tokens):
        llm.eval([llm.sample(temp=0.0)])
    llama_cpp.llama_synchronize(ctx)
    perf = llama_cpp.llama_perf_context(ctx)
    print(
        json.dumps(
            {
                "prompt_tps": perf.n_p_eval / perf.t_p_eval_ms * 1000,
                "gen_tps": perf.n_eval / perf.t_eval_ms * 1000,
                "prompt_n": perf.n_p_eval,
                "gen_n": perf.n_eval,
                "load_s": load_s,
                "system_info": llama_cpp.llama_print_system_info().decode().strip(),
            }
        )
    )


if __name__ == "__main__":
    main()
