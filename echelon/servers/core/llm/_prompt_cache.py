"""A prompt-prefix cache for the embedded model: the KV state after each completion is kept in RAM, and a later
prompt that shares a longer prefix with a kept state starts from it instead of re-reading the prompt.

Every level sends its own long system prompt and few-shot examples, and the levels take turns, so llama.cpp's
single live context only helps consecutive calls of one level. On a laptop CPU the prompt is most of a call's time
(about 50 tokens/s for the 1.5B model on one thread), so a cache hit saves tens of seconds.

llama-cpp-python's own ``save_state`` copies the whole logits buffer (n_batch x vocabulary floats, about 300 MB for
Qwen2.5) into every entry; this subclass keeps only the KV state and the token ids. That is enough because
``generate`` re-decodes at least one token after a restore (``_requires_eval``), which refreshes the logits.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

ENV_CACHE_MB = "ECHELON_LOCAL_CACHE_MB"
DEFAULT_CACHE_MB = 1536


def cache_capacity_bytes() -> int:
    """``ECHELON_LOCAL_CACHE_MB`` (0 turns the cache off), else the default."""
    configured = os.environ.get(ENV_CACHE_MB, "").strip()
    return (int(configured) if configured else DEFAULT_CACHE_MB) << 20


def caching_llama(**kwargs: Any) -> Any:
    """A ``llama_cpp.Llama`` whose states leave the logits out, with a RAM prefix cache when one is configured."""
    import llama_cpp
    from llama_cpp import Llama, LlamaRAMCache, LlamaState

    class _StateWithoutLogits(Llama):
        def save_state(self) -> LlamaState:
            ctx = self._ctx.ctx  # pyright: ignore[reportPrivateUsage]
            size = llama_cpp.llama_state_get_size(ctx)
            buffer = (ctypes.c_uint8 * int(size))()
            written = int(llama_cpp.llama_state_get_data(ctx, buffer, size))
            if written > int(size):
                raise RuntimeError("llama.cpp wrote more state than it announced")
            return LlamaState(
                input_ids=self.input_ids[: self.n_tokens].copy(),
                scores=self.scores[:0, :].copy(),
                n_tokens=self.n_tokens,
                llama_state=bytes(buffer)[:written],
                llama_state_size=written,
                seed=self._seed,  # pyright: ignore[reportPrivateUsage]
            )

        def load_state(self, state: LlamaState) -> None:
            self.input_ids[: state.n_tokens] = state.input_ids[: state.n_tokens]
            self.n_tokens = state.n_tokens
            self._requires_eval = True  # pyright: ignore[reportAttributeAccessIssue]
            self._seed = state.seed  # pyright: ignore[reportPrivateUsage]
            data = (ctypes.c_uint8 * state.llama_state_size).from_buffer_copy(state.llama_state)
            ctx = self._ctx.ctx  # pyright: ignore[reportPrivateUsage]
            if llama_cpp.llama_state_set_data(ctx, data, state.llama_state_size) != state.llama_state_size:
                raise RuntimeError("llama.cpp could not restore a cached state")

    llm = _StateWithoutLogits(**kwargs)
    if (capacity := cache_capacity_bytes()) > 0:
        llm.set_cache(LlamaRAMCache(capacity_bytes=capacity))
    return llm
