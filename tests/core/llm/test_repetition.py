import pytest

from echelon.servers.core.llm._repetition import (
    MIN_SPAN,
    RepetitionGuard,
    Runaway,
    repeating_period,
)


class _Ids(list[int]):
    """What llama.cpp hands a logits processor: an array with ``tolist``."""

    def tolist(self) -> list[int]:
        return list(self)

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        found = super().__getitem__(index)
        return _Ids(found) if isinstance(index, slice) else found


def test_a_reply_ending_in_a_block_repeated_three_times_is_a_loop() -> None:
    block = list(range(100, 120))  # 20 tokens, 3 times = 60 >= MIN_SPAN
    assert repeating_period(list(range(30)) + block * 3) == 20


def test_short_repeats_and_ordinary_text_are_not_a_loop() -> None:
    assert repeating_period([7, 8, 9, 10] * 3) is None  # 12 tokens: a short legitimate repeat
    assert repeating_period(list(range(500))) is None
    block = list(range(100, 120))
    assert repeating_period(block * 2) is None  # twice is not a loop
    assert repeating_period(block * 3 + [1]) is None  # the reply moved on


def test_a_short_block_needs_enough_repeats_to_cover_the_minimum_span() -> None:
    block = [1, 2, 3, 4]
    needed = MIN_SPAN // len(block)
    assert repeating_period(block * (needed - 1)) is None
    assert repeating_period(block * needed) == 4


def test_the_guard_judges_only_the_reply_and_stops_it_once_it_loops() -> None:
    prompt = [5, 6, 7, 8] * 40  # a repetitive prompt is not the reply's fault
    guard = RepetitionGuard(check_every=1)
    assert guard(_Ids(prompt), "scores") == "scores"
    reply = list(range(200, 216)) * 3
    with pytest.raises(Runaway) as stopped:
        for n in range(1, len(reply) + 1):
            guard(_Ids(prompt + reply[:n]), "scores")
    assert stopped.value.period == 16 and stopped.value.tokens == reply
