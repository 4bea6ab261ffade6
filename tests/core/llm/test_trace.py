"""ECHELON_TRACE: every model call of a process lands in one JSONL file, failures included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from echelon.servers.core.llm import Message, ModelRequest, resolve_model
from echelon.servers.core.llm._trace import TracedModel, traced
from echelon.servers.core.testing import FunctionModel

pytestmark = pytest.mark.anyio


def ask(text: str) -> ModelRequest:
    return ModelRequest(system="be brief", messages=[Message(role="user", content=text)])


async def test_each_call_is_appended_with_its_request_response_and_time(tmp_path: Path) -> None:
    trace = tmp_path / "deep" / "trace.jsonl"
    model = TracedModel(FunctionModel(lambda r: f"echo {r.messages[-1].content}", name="test:echo"), trace)
    await model.request(ask("one"))
    await model.request(ask("two"))
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    assert [r["request"]["messages"][0]["content"] for r in records] == ["one", "two"]
    assert [r["response"]["text"] for r in records] == ["echo one", "echo two"]
    assert all(r["model"] == "test:echo" and r["seconds"] >= 0 for r in records)


async def test_a_failing_call_is_traced_with_its_error_and_still_raises(tmp_path: Path) -> None:
    def broken(_request: ModelRequest) -> str:
        raise RuntimeError("provider down")

    trace = tmp_path / "trace.jsonl"
    model = TracedModel(FunctionModel(broken), trace)
    with pytest.raises(RuntimeError, match="provider down"):
        await model.request(ask("hi"))
    (record,) = [json.loads(line) for line in trace.read_text().splitlines()]
    assert record["error"] == "RuntimeError: provider down" and "response" not in record


def test_models_are_traced_only_when_the_variable_names_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner = FunctionModel(lambda r: "x")
    monkeypatch.delenv("ECHELON_TRACE", raising=False)
    assert traced(inner) is inner
    monkeypatch.setenv("ECHELON_TRACE", str(tmp_path / "t.jsonl"))
    wrapped = resolve_model("python:tests.core.llm.test_trace:echo_factory")
    assert isinstance(wrapped, TracedModel) and wrapped.name == "test:factory"


def echo_factory(role: str) -> FunctionModel:
    return FunctionModel(lambda r: role, name="test:factory")


@pytest.mark.anyio
async def test_the_trace_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    from echelon.servers.core.llm._trace import TracedModel
    from echelon.servers.core.testing import ScriptedModel

    path = tmp_path / "calls.jsonl"
    model = TracedModel(ScriptedModel(["hi"]), path)
    await model.request(ModelRequest(messages=[Message(role="user", content="hello")]))
    assert path.stat().st_mode & 0o777 == 0o600
