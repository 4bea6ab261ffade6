from collections.abc import Iterator
from typing import Any

from echelon.servers.core.llm._runaway import MIN_SPAN, collect, repeating_period


def test_a_reply_ending_in_a_block_repeated_three_times_is_a_loop() -> None:
    block = "| 2025-07 | 4,321.00 |\n"  # 23 characters, 7 times covers MIN_SPAN
    assert repeating_period("Here is the table:\n" + block * 8) == len(block)


def test_short_repeats_and_ordinary_text_are_not_a_loop() -> None:
    assert repeating_period("0, 0, 0, 0") is None  # a short legitimate repeat
    assert repeating_period(" ".join(str(n) for n in range(400))) is None
    block = "The sum is 4,321 and the mean is 12.5. " * 2
    assert repeating_period(block * 2) is None  # twice is not a loop
    assert repeating_period(block * 3 + "And so on.") is None  # the reply moved on


def test_a_short_block_needs_enough_repeats_to_cover_the_minimum_span() -> None:
    assert repeating_period("ab" * (MIN_SPAN // 2 - 1)) is None
    assert repeating_period("ab" * (MIN_SPAN // 2)) == 2
    assert repeating_period("x" + " " * MIN_SPAN) == 1  # runaway whitespace inside a JSON answer


def _chunks(pieces: list[str], finish: str = "stop") -> Iterator[dict[str, Any]]:
    """What llama-cpp-python streams for a chat completion: a role chunk, one chunk per token, a final chunk."""
    yield {"choices": [{"delta": {"role": "assistant"}, "finish_reason": None}]}
    for piece in pieces:
        yield {"choices": [{"delta": {"content": piece}, "finish_reason": None}]}
    yield {"choices": [{"delta": {}, "finish_reason": finish}]}


def test_a_stream_that_loops_is_closed_at_once_and_reported_as_cut_off() -> None:
    read: list[str] = []

    def tokens() -> Iterator[dict[str, Any]]:
        for chunk in _chunks(["{", '"answer": "'] + ["It rose. "] * 500):
            read.append("x")
            yield chunk

    streamed = collect(tokens(), lambda: 321)
    assert streamed.finish_reason == "length" and streamed.loop_period == len("It rose. ")
    assert len(read) < 40  # the generator was not drained to its 500 tokens
    assert streamed.text.startswith('{"answer": "It rose.') and streamed.context_at_start == 321


def test_a_stream_that_ends_normally_keeps_its_text_and_finish_reason() -> None:
    assert collect(_chunks(["The sum ", "is 4,321."])).text == "The sum is 4,321."
    cut = collect(_chunks(["a", "b"], finish="length"))
    assert (cut.text, cut.finish_reason, cut.loop_period) == ("ab", "length", None)


def test_a_stream_nobody_waits_for_is_closed_at_the_next_token() -> None:
    gone = {"now": False}
    read: list[str] = []

    def tokens() -> Iterator[dict[str, Any]]:
        for n, chunk in enumerate(_chunks([f"{n}, " for n in range(500)])):
            read.append("x")
            gone["now"] = n >= 10
            yield chunk

    streamed = collect(tokens(), abandon=lambda: gone["now"])
    assert streamed.abandoned and streamed.finish_reason == "length" and len(read) == 11
