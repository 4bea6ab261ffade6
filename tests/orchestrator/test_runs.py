"""Runs that outlive the call: delegate answers with a run id, and the run tools finish the conversation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from echelon.servers.core.envelope import DelegationResult
from echelon.servers.core.llm import ModelRequest
from echelon.servers.core.runs import database_url
from echelon.servers.core.runs._reader import RunReader
from echelon.servers.core.testing import Answer, PurposeModel, ScriptedModel, tool_call
from tests.orchestrator._hierarchy import build_hierarchy, looping_model

pytestmark = pytest.mark.anyio

ONE_PHASE = {
    "plan": {
        "phases": [{"name": "Sum", "worker": "numbers", "goals": "add 2 and 3"}],
        "primary_worker": "numbers",
    }
}


def gated_numbers(gate: anyio.Event, reached: anyio.Event | None = None) -> PurposeModel:
    """The numbers manager's model: its answer waits until ``gate`` is set (``reached`` is set when it does)."""

    async def answer(request: ModelRequest) -> Answer:
        if request.messages[-1].role != "tool":
            return tool_call("add", a=2, b=3)
        if reached is not None:
            reached.set()
        await gate.wait()
        return "2 + 3 = 5"

    return PurposeModel(
        {
            "plan_steps": {"plan": {"steps": [{"name": "Add", "worker": "calc", "goals": "add 2 and 3"}]}},
            "step": answer,
        }
    )


def structured(answer: Any) -> dict[str, Any]:
    assert not answer.is_error, answer.content
    return answer.structured_content or json.loads(answer.content[0].text)


async def test_a_delegation_that_outlives_wait_seconds_returns_a_run_id_and_run_result_the_answer(
    tmp_path: Path, runs_backend: str
) -> None:
    gate = anyio.Event()
    server = build_hierarchy(
        tmp_path,
        orchestrator=ScriptedModel([ONE_PHASE]),
        numbers=gated_numbers(gate),
        content=ScriptedModel([]),
    )
    with anyio.fail_after(60):
        async with Client(server) as client:
            running = structured(
                await client.call_tool("delegate", {"request": "add 2 and 3", "wait_seconds": 3})
            )
            assert running["status"] == "running"
            run_id = running["run_id"]
            assert "run_result(run_id=" in running["next"]
            status = structured(await client.call_tool("run_status", {"run_id": run_id}))
            assert status["status"] == "running"
            assert [(p["name"], p["state"]) for p in status["phases"]] == [("Sum", "running")]
            assert any("calc.add" in m or "thinking" in m for m in status["progress"])
            still = structured(await client.call_tool("run_result", {"run_id": run_id, "wait_seconds": 0.2}))
            assert still["status"] == "running"
            gate.set()
            done = DelegationResult.model_validate(
                structured(await client.call_tool("run_result", {"run_id": run_id, "wait_seconds": 30}))
            )
            listed = structured(await client.call_tool("list_runs", {"limit": 5}))
            resource = await client.read_resource(f"echelon://runs/{run_id}")
    assert (done.status, done.output, done.run_id) == ("ok", "2 + 3 = 5", run_id)
    runs = listed["result"] if isinstance(listed, dict) and "result" in listed else listed
    assert [(r["run_id"], r["status"], r["request"]) for r in runs] == [(run_id, "ok", "add 2 and 3")]
    record = json.loads(resource.contents[0].text)  # type: ignore[union-attr]
    assert record["summary"]["status"] == "ok" and record["result"]["output"] == "2 + 3 = 5"
    assert [p["state"] for p in record["phases"]] == ["ok"]


async def test_run_result_after_event_passes_on_the_progress_sent_between_two_calls_first(
    tmp_path: Path,
) -> None:
    gate, reached = anyio.Event(), anyio.Event()
    server = build_hierarchy(
        tmp_path,
        orchestrator=ScriptedModel([ONE_PHASE]),
        numbers=gated_numbers(gate, reached),
        content=ScriptedModel([]),
    )
    heard: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        heard.append(message or "")

    with anyio.fail_after(60):
        async with Client(server) as client:
            running = structured(
                await client.call_tool("delegate", {"request": "add 2 and 3", "wait_seconds": 0})
            )
            assert running["seen"] == 0  # it answered before the run said anything
            await reached.wait()  # the run went on between the calls, past its tool call; nobody followed it
            gate.set()
            arguments = {"run_id": running["run_id"], "wait_seconds": 30, "after_event": running["seen"]}
            done = structured(await client.call_tool("run_result", arguments, progress_callback=on_progress))
    assert done["status"] == "ok"
    # Everything the run said, from its first message, in order, though it was said before run_result was called.
    assert heard[0] == "planning phases" and heard[-1] == "done: ok"
    assert heard.index("plan: Sum -> numbers") < next(i for i, m in enumerate(heard) if "calc.add" in m)


async def test_an_unknown_run_id_is_named_in_the_error(tmp_path: Path) -> None:
    server = build_hierarchy(
        tmp_path, orchestrator=ScriptedModel([]), numbers=ScriptedModel([]), content=ScriptedModel([])
    )
    with anyio.fail_after(30):
        async with Client(server) as client:
            answer = await client.call_tool("run_status", {"run_id": "nope"})
    assert answer.is_error
    assert "there is no run 'nope' (list_runs shows the runs there are)" in answer.content[0].text  # type: ignore[union-attr]


async def test_the_run_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    from echelon.servers.core.runs import database_url, sqlite_path

    server = build_hierarchy(
        tmp_path,
        orchestrator=ScriptedModel([ONE_PHASE]),
        numbers=gated_numbers(anyio.Event()),
        content=ScriptedModel([]),
    )
    with anyio.fail_after(30):
        async with Client(server) as client:
            await client.call_tool("list_runs", {})
    path = sqlite_path(database_url())
    assert path is not None and path.stat().st_mode & 0o777 == 0o600


async def test_a_sqlite_run_database_keeps_a_write_ahead_log(tmp_path: Path) -> None:
    import sqlite3

    from echelon.servers.core.runs import sqlite_path

    server = build_hierarchy(
        tmp_path,
        orchestrator=ScriptedModel([ONE_PHASE]),
        numbers=looping_model(2, 3, "2 + 3 = 5"),
        content=ScriptedModel([]),
    )
    with anyio.fail_after(60):
        async with Client(server) as client:
            answer = structured(await client.call_tool("delegate", {"request": "add 2 and 3"}))
    assert answer["status"] == "ok", answer
    path = sqlite_path(database_url())
    assert path is not None
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        conn.close()


async def test_a_runs_progress_is_kept_in_its_record_for_readers_in_other_processes(tmp_path: Path) -> None:
    server = build_hierarchy(
        tmp_path,
        orchestrator=ScriptedModel([ONE_PHASE]),
        numbers=looping_model(2, 3, "2 + 3 = 5"),
        content=ScriptedModel([]),
    )
    with anyio.fail_after(60):
        async with Client(server) as client:
            done = structured(await client.call_tool("delegate", {"request": "add 2 and 3"}))
            reader = RunReader(
                database_url()
            )  # what `echelon runs` and the UI read, not this process's memory
            try:
                view = await reader.get(done["run_id"])
            finally:
                reader.close()
    assert view is not None
    messages = [e.message for e in view.events]
    assert "phase 1/1 numbers › step 1/1 › calc.add" in messages
    assert messages.index("phase 1/1 numbers › planning steps") < messages.index(
        "phase 1/1 numbers › step 1/1 › calc.add"
    )


async def test_an_idle_orchestrator_polls_its_queue_slowly_and_a_new_run_speeds_it_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dbos import DBOS

    from echelon.servers.orchestrator import _durable

    monkeypatch.setattr(_durable, "IDLE_AFTER_SECONDS", 2.0)
    monkeypatch.setattr(_durable, "HEARTBEAT_SECONDS", 0.2)
    server = build_hierarchy(
        tmp_path,
        orchestrator=ScriptedModel([ONE_PHASE]),
        numbers=ScriptedModel(
            [
                {"plan": {"steps": [{"name": "Add", "worker": "calc", "goals": "add"}]}},
                tool_call("add", a=2, b=3),
                "5",
            ]
        ),
        content=ScriptedModel([]),
    )

    async def polling() -> float:
        assert _durable._active is not None  # pyright: ignore[reportPrivateUsage]
        queue = await DBOS.retrieve_queue_async(_durable._active.queue)  # pyright: ignore[reportPrivateUsage]
        assert queue is not None
        return await queue.get_polling_interval_sec_async()

    with anyio.fail_after(60):
        async with Client(server) as client:
            await client.call_tool("list_runs", {})  # the runs service has started
            # The pace is a setting in the run database, set by the heartbeat: there is no event to wait on.
            while await polling() != _durable.IDLE_QUEUE_POLL_SECONDS:  # noqa: ASYNC110
                await anyio.sleep(0.1)
            answer = structured(await client.call_tool("delegate", {"request": "add 2 and 3"}))
            assert answer["status"] == "ok"
            assert await polling() == _durable.QUEUE_POLL_SECONDS
