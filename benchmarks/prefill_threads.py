"""How fast the embedded model reads a prompt with 1 thread and with N, idle and beside other work.

    uv run python -m benchmarks.prefill_threads [--variant 1.5b] [--tokens 800] [--rounds 3] [--threads 2]

Prompt reading (llama.cpp's batch threads) is most of a local model call's time. This loads the model twice, one
with ``n_threads_batch=1`` and one with ``--threads``, and reads the same prompt on each, interleaved, ``--rounds``
times under three loads: idle, beside a process busy half of the time, and beside one busy all the time (the
machine's other work: the hierarchy's servers, a test suite). Prints tokens/second, median (min-max), and the
ratio of the medians. The server's default (``default_batch_threads``) follows from these numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

from echelon.servers.core.llm._model_files import ensure_model

# A competing process: busy for `busy` of every 0.1 s.
_SPINNER = """
import sys, time
busy = float(sys.argv[1])
while True:
    start = time.time()
    while time.time() - start < busy * 0.1:
        pass
    time.sleep(max(0.0, (1 - busy) * 0.1))
"""
LOADS = {"idle": 0.0, "half a core busy": 0.5, "a whole core busy": 1.0}


@contextlib.contextmanager
def competing(busy: float) -> Iterator[None]:
    """A process busy ``busy`` of the time while the block runs (none for 0), stopped after it."""
    if busy <= 0:
        yield
        return
    process = subprocess.Popen([sys.executable, "-c", _SPINNER, str(busy)])
    try:
        yield
    finally:
        process.kill()
        process.wait()


def read_rate(llm: Any, tokens: list[int]) -> float:
    """Tokens/second for reading ``tokens`` from an empty context."""
    llm.reset()
    started = time.perf_counter()
    llm.eval(tokens)
    return len(tokens) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.prefill_threads", description=__doc__)
    parser.add_argument("--variant", default="1.5b")
    parser.add_argument("--tokens", type=int, default=800)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="The batch threads compared with 1")
    args = parser.parse_args()
    from llama_cpp import Llama

    path = ensure_model(args.variant)
    models = {
        n: Llama(model_path=str(path), n_ctx=4096, n_threads=1, n_threads_batch=n, verbose=False)
        for n in (1, args.threads)
    }
    text = "The quick brown fox jumps over the lazy dog. " * (args.tokens // 8 + 1)
    tokens = models[1].tokenize(text.encode())[: args.tokens]
    print(f"{args.variant}, {len(tokens)} prompt tokens, {args.rounds} interleaved rounds; tokens/second")
    for label, busy in LOADS.items():
        rates: dict[int, list[float]] = {n: [] for n in models}
        with competing(busy):
            for _ in range(args.rounds):
                for n, llm in models.items():
                    rates[n].append(read_rate(llm, tokens))
        cells = [
            f"{n} thread(s) {statistics.median(r):5.1f} ({min(r):.1f}-{max(r):.1f})" for n, r in rates.items()
        ]
        ratio = statistics.median(rates[args.threads]) / statistics.median(rates[1])
        print(f"{label:18} " + "   ".join(cells) + f"   ratio {ratio:.2f}x")


if __name__ == "__main__":
    main()
