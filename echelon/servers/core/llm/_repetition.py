"""Stopping a small model that has started to repeat itself, before it spends its whole token allowance.

Inside a structured answer a 1.5B model sometimes falls into a loop, writing the same span again and again until
the allowance runs out: measured, 699 of 700 tokens (four minutes on 2 cores) for one routed step. A reply that
ends in the same block of tokens three times in a row, at least ``MIN_SPAN`` tokens in all, is cut off there and
reported as cut off (``finish_reason: "length"``), so the caller counts a failed attempt and asks again with the
reason, instead of waiting for the allowance to run out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MIN_REPEATS = 3
MIN_SPAN = 48  # tokens the repeated blocks must cover together: short legitimate repeats (`0, 0, 0`) stay
MIN_PERIOD, MAX_PERIOD = 4, 160


def repeating_period(tokens: Sequence[int]) -> int | None:
    """The length of a block that ``tokens`` end with at least ``MIN_REPEATS`` times in a row, covering at least
    ``MIN_SPAN`` tokens; None when they do not end in such a loop."""
    ids = list(tokens[-MAX_PERIOD * MIN_REPEATS :])
    for period in range(MIN_PERIOD, MAX_PERIOD + 1):
        repeats = max(MIN_REPEATS, -(-MIN_SPAN // period))
        span = repeats * period
        if span > len(ids):
            continue  # too few tokens for this block length (a longer block may need fewer)
        last = ids[-period:]
        if all(ids[-(k + 1) * period : -k * period or None] == last for k in range(1, repeats)):
            return period
    return None


class Runaway(Exception):
    """Generation stopped because the reply repeats itself; ``tokens`` are the ones generated until then."""

    def __init__(self, tokens: list[int], period: int) -> None:
        super().__init__(f"the reply repeated a {period}-token block {MIN_REPEATS}+ times; stopped")
        self.tokens = tokens
        self.period = period


class RepetitionGuard:
    """A llama.cpp logits processor that raises ``Runaway`` once the generated tokens end in a loop. It sees the
    prompt and the reply together; the prompt's length is taken at the first call, so only the reply is judged."""

    def __init__(self, check_every: int = 4) -> None:
        self.start: int | None = None
        self.check_every = check_every
        self._seen = 0

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self.start is None:
            self.start = len(input_ids)
        generated = input_ids[self.start :]
        self._seen += 1
        if (
            self._seen % self.check_every == 0
            and (period := repeating_period(generated.tolist())) is not None
        ):
            raise Runaway([int(t) for t in generated], period)
        return scores
