"""The benchmark's measuring helpers (``benchmarks._measure``): interleaving, summaries, ratios, targets."""

import json
import math
from pathlib import Path

import anyio

from benchmarks._measure import (
    Row,
    Sampler,
    Series,
    Target,
    interleave,
    record,
    skipped,
    table_lines,
    write_json,
)


def test_interleaving_takes_baseline_and_subject_samples_in_turn_round_by_round() -> None:
    order: list[str] = []
    baseline, subject = Series("baseline", "ms"), Series("subject", "ms")

    def sampler(name: str, value: float) -> Sampler:
        async def sample() -> float:
            order.append(name)
            return value

        return sample

    steps = [record(baseline, sampler("baseline", 1.0)), record(subject, sampler("subject", 2.0))]
    anyio.run(interleave, 3, steps)
    assert order == ["baseline", "subject"] * 3
    assert baseline.samples == [1.0] * 3
    assert subject.samples == [2.0] * 3


def test_a_series_reports_median_min_max_and_nearest_rank_percentiles() -> None:
    series = Series("s", "ms", [5.0, 1.0, 3.0, 9.0])
    assert (series.median, series.minimum, series.maximum) == (4.0, 1.0, 9.0)
    assert Series("odd", "ms", [3.0, 1.0, 2.0]).median == 2.0
    assert series.percentile(50) == 3.0
    assert series.percentile(95) == 9.0
    assert math.isnan(Series("empty", "ms").median)


def test_the_ratio_is_of_medians_and_the_target_bounds_the_ratio_or_the_value() -> None:
    baseline = Series("b", "ms", [10.0, 100.0, 20.0])
    subject = Series("s", "ms", [30.0, 40.0, 1000.0])
    row = Row("m", subject, baseline, Target(3.0))
    assert row.ratio == 2.0
    assert row.met is True
    assert Row("m", subject, baseline, Target(1.5)).met is False
    assert Row("m", subject, None, Target(40.0, on="value")).met is True
    assert Row("m", subject, None, Target(40.0, on="value", strict=True)).met is False
    assert Row("m", subject).ratio is None


def test_the_table_shows_each_row_with_its_ratio_and_a_skipped_row_with_why() -> None:
    row = Row("warm", Series("s", "ms", [2.0, 4.5]), Series("b", "ms", [1.0, 1.0]), Target(2.0), note="n")
    lines = table_lines([row, skipped("peer", "install it")])
    assert lines[0].split()[:3] == ["measure", "baseline", "subject"]
    assert "1 ms (1-1)" in lines[1] and "3.25 ms (2-4.50)" in lines[1]
    assert "3.25x" in lines[1] and "<= 2x" in lines[1] and "NO" in lines[1]
    assert "skipped" in lines[2] and "install it" in lines[2]
    assert lines[-1] == "  warm: n"


def test_the_json_holds_every_sample_the_medians_ratios_and_targets(tmp_path: Path) -> None:
    row = Row("warm", Series("s", "ms", [2.0, 4.0]), Series("b", "ms", [1.0]), Target(3.0))
    write_json(tmp_path / "out.json", [row, skipped("peer", "why")], {"date": "today", "cpu_count": 2})
    document = json.loads((tmp_path / "out.json").read_text())
    assert document["date"] == "today" and document["cpu_count"] == 2
    first = document["rows"][0]
    assert first["subject"]["samples"] == [2.0, 4.0] and first["subject"]["median"] == 3.0
    assert first["ratio"] == 3.0 and first["target"]["limit"] == 3.0 and first["met"] is True
    assert document["rows"][1]["skipped"] == "why" and document["rows"][1]["subject"]["median"] is None
