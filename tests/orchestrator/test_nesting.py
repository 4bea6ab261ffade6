"""A whole hierarchy as one worker of another, over stdio between real processes: the inner run answers through
the outer one, under its trace, its budget and with its progress reaching the outer host; a hierarchy that
reaches itself through its workers is refused instead of recursing."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests._runs import numbers_hierarchy, stdio_orchestrator, structured
from tests._servers import REPO

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]
PY, ROOT = json.dumps(sys.executable), json.dumps(str(REPO))


def inner_hierarchy(tmp: Path) -> Path:
    return numbers_hierarchy(tmp / "inner.toml")


def holding(tmp: Path, name: str, inner: Path) -> Path:
    """A hierarchy whose one manager, ``research``, has the orchestrator of ``inner`` as its only worker."""
    config = tmp / name
    config.write_text(
        f"""
[managers.research]
description = "Questions another hierarchy answers"
workers = ["inner"]

[workers.inner]
description = "A whole echelon hierarchy"
command = {PY}
args = ["-m", "echelon.servers.orchestrator", "--config", {json.dumps(str(inner))}]
cwd = {ROOT}
"""
    )
    return config


def asking_inner(request: str) -> str:
    """An outer request whose one phase delegates ``request`` to the inner hierarchy."""
    call = {"request": request, "wait_seconds": 120}
    phase = {"name": "Ask", "manager": "research", "worker": "inner", "tool": "delegate", "arguments": call}
    return json.dumps({"phases": [phase]})


def adding(a: float, b: float) -> str:
    return json.dumps({"phases": [{"name": "Add", "tool": "add", "arguments": {"a": a, "b": b}}]})


def inner_result(outer: dict[str, Any]) -> dict[str, Any]:
    """The inner hierarchy's DelegationResult, as the outer manager's worker call returned it."""
    (phase,) = outer["phases"]
    (call,) = [c for step in phase["steps"] for c in step["calls"] if c["tool"] == "delegate"]
    return call["result"]


async def test_a_hierarchy_answers_as_a_worker_of_another_under_one_trace_with_its_progress_passed_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spans = tmp_path / "spans.jsonl"
    monkeypatch.setenv("ECHELON_TRACES_FILE", str(spans))
    outer = holding(tmp_path, "outer.toml", inner_hierarchy(tmp_path))
    heard: list[str] = []

    async def progress(_done: float, _total: float | None, message: str | None) -> None:
        heard.append(message or "")

    with anyio.fail_after(120):
        async with stdio_orchestrator(outer) as (client, _pid):
            answer = await client.call_tool(
                "delegate",
                {"request": asking_inner(adding(20, 22)), "wait_seconds": 100},
                progress_callback=progress,
            )
    result = structured(answer)
    assert result["status"] == "ok", result
    inner = inner_result(result)
    assert inner["status"] == "ok", inner
    assert inner["phases"][0]["steps"][0]["calls"][0]["result"]["value"] == 42
    assert any("numbers" in m for m in heard), heard  # the inner hierarchy's manager, heard at the outer host
    recorded = [json.loads(line) for line in spans.read_text().splitlines()]
    services = {s["service"] for s in recorded}
    assert {s["trace_id"] for s in recorded if s["name"] == "echelon.phase"} == {
        s["trace_id"] for s in recorded if s["name"] == "echelon.run"
    }
    assert len({s["trace_id"] for s in recorded if s["name"] in ("echelon.run", "echelon.phase")}) == 1, (
        services
    )


async def test_the_inner_hierarchy_spends_only_what_the_outer_delegation_has_left(tmp_path: Path) -> None:
    outer = holding(tmp_path, "outer.toml", inner_hierarchy(tmp_path))
    with anyio.fail_after(120):
        async with stdio_orchestrator(outer) as (client, _pid):
            # The outer plan and the outer step's two requests leave the inner run too few model calls.
            limits = {"max_model_calls": 4}
            answer = await client.call_tool(
                "delegate", {"request": asking_inner(adding(1, 2)), "limits": limits, "wait_seconds": 100}
            )
    inner = inner_result(structured(answer))
    assert inner["status"] != "ok"
    assert "max_model_calls" in json.dumps(inner["errors"])


async def test_a_hierarchy_that_reaches_itself_through_its_workers_is_refused_instead_of_recursing(
    tmp_path: Path,
) -> None:
    config = tmp_path / "loop.toml"
    holding(tmp_path, "loop.toml", config)  # its worker is an orchestrator of this same file
    with anyio.fail_after(120):
        async with stdio_orchestrator(config) as (client, _pid):
            answer = await client.call_tool(
                "delegate", {"request": asking_inner(adding(1, 2)), "wait_seconds": 100}
            )
    result = structured(answer)
    assert result["status"] != "ok"
    text = json.dumps(result)
    assert "was called again by its own delegation" in text
    assert "orchestrator of loop.toml" in text


async def test_the_outer_delegation_counts_the_model_and_tool_calls_the_inner_hierarchy_spent(
    tmp_path: Path,
) -> None:
    outer = holding(tmp_path, "outer.toml", inner_hierarchy(tmp_path))
    with anyio.fail_after(120):
        async with stdio_orchestrator(outer) as (client, _pid):
            answer = await client.call_tool(
                "delegate", {"request": asking_inner(adding(2, 3)), "wait_seconds": 100}
            )
    result = structured(answer)
    assert result["status"] == "ok", result
    inner = inner_result(result)
    (phase,) = result["phases"]
    (call,) = [c for step in phase["steps"] for c in step["calls"] if c["tool"] == "delegate"]
    assert call["spent"]["llm_calls"] == inner["usage"]["llm_calls"] >= 1
    assert call["spent"]["tool_calls"] == inner["usage"]["tool_calls"] == 1  # the inner add
    # The outer run's own model calls, plus the inner run's; its one delegate call, plus the inner add.
    assert result["usage"]["llm_calls"] > inner["usage"]["llm_calls"]
    assert result["usage"]["tool_calls"] == 2
