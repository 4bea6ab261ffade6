"""Stopping a small model's reply once it has begun to repeat itself, long before its token allowance runs out.

Inside a structured answer a 1.5B model sometimes falls into a loop, writing the same span again and again until
the allowance runs out: measured, two replies of 799 of 800 tokens (five minutes each on 2 cores) in one request.
The reply is streamed token by token and judged as text; one that ends in the same block three times in a row,
covering at least ``MIN_SPAN`` characters, is cut off there and reported as cut off (``finish_reason: "length"``),
so the caller counts a failed attempt and asks again with the reason.

Why streaming: llama-cpp-python runs a logits processor inside a ctypes sampler callback, where a raised exception
is printed and swallowed, so a processor cannot end a generation; closing the stream's generator does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

MIN_REPEATS = 3
MIN_SPAN = 160  # characters the repeated blocks cover together: short legitimate repeats (`0, 0, 0`) stay
MAX_PERIOD = 600
CHECK_EVERY = 4  # chunks (about one token each) between checks


def repeating_period(text: str) -> int | None:
    """The length of a block that ``text`` ends with at least ``MIN_REPEATS`` times in a row, covering at least
    ``MIN_SPAN`` characters; None when it does not end in such a loop."""
    text = text[-MAX_PERIOD * MIN_REPEATS :]
    for period in range(1, min(MAX_PERIOD, len(text) // MIN_REPEATS) + 1):
        repeats = max(MIN_REPEATS, -(-MIN_SPAN // period))
        if repeats * period > len(text):
            continue  # too short for this block length (a longer block may need fewer repeats)
        if text.endswith(text[-period:] * repeats):
            return period
    return None


@dataclass
class Streamed:
    """A streamed reply collected: its text, why it ended, the loop's period when it was cut off for one, and
    ``context_at_start``: the tokens in the model's context when the first chunk came (the prompt's length), and
    whether it was abandoned because the requester left."""

    text: str
    finish_reason: Literal["stop", "length"]
    loop_period: int | None = None
    context_at_start: int = 0
    abandoned: bool = False


def collect(
    chunks: Iterator[Any],
    context_tokens: Callable[[], int] = lambda: 0,
    abandon: Callable[[], bool] = lambda: False,
) -> Streamed:
    """Read llama-cpp-python chat-completion chunks into one reply, closing the stream as soon as it loops, or as
    soon as ``abandon()`` says nobody waits for it any more. ``context_tokens`` reads the model's context length;
    at the first chunk that is the prompt's."""
    parts: list[str] = []
    finish: Literal["stop", "length"] = "stop"
    start = 0
    try:
        for count, chunk in enumerate(chunks, start=1):
            if count == 1:
                start = context_tokens()
            choice = chunk["choices"][0]
            if piece := choice["delta"].get("content"):
                parts.append(piece)
            if choice.get("finish_reason") == "length":
                finish = "length"
            if abandon():
                return Streamed("".join(parts), "length", None, start, abandoned=True)
            if count % CHECK_EVERY == 0 and (period := repeating_period(text := "".join(parts))) is not None:
                return Streamed(text, "length", period, start)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()  # stops llama.cpp's generation loop when the reply was cut off
    return Streamed("".join(parts), finish, None, start)
