"""Real runs of the embedded model (Qwen2.5-Coder-0.5B on llama.cpp): plain answers, structured output, tool calls,
and one shared server for several processes.

The model file is fetched by our own code into the user cache on first run (about 490 MB, once); the servers
started here use a temporary cache dir for their state files (with the model linked in) and are stopped after.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import AsyncGenerator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import anyio.abc
import httpx
import pytest
from pydantic import BaseModel

from echelon.servers.core.llm import (
    Message,
    ModelRequest,
    ToolDefinition,
    allow_model_requests,
    generate_structured,
    resolve_model,
)
from echelon.servers.core.llm._local_runtime import (
    ensure_local_server,
    log_file,
    read_state,
    state_file,
    stop_local_server,
)
from echelon.servers.core.llm._model_files import KNOWN_MODELS, ensure_model, resolve_model_spec
from echelon.servers.core.llm.local import LocalModel

pytestmark = [pytest.mark.local_model, pytest.mark.anyio]

VARIANT = "0.5b"


def cache_with_model(directory: Path) -> Path:
    """A cache dir whose models/ links to the real (fetched once) model file."""
    real = ensure_model(VARIANT)
    models = directory / "models"
    models.mkdir(parents=True)
    (models / KNOWN_MODELS[VARIANT].filename).symlink_to(real)
    return directory


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The shared server for the 0.5B model, started as a detached subprocess and stopped at the end."""
    cache = cache_with_model(tmp_path_factory.mktemp("cache"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ECHELON_CACHE_DIR", str(cache))
        patch.delenv("ECHELON_LOCAL_URL", raising=False)
        url = anyio.run(ensure_local_server, VARIANT)
        try:
            yield url
        finally:
            assert anyio.run(stop_local_server, VARIANT)


class Capital(BaseModel):
    country: str
    capital: str


WEATHER = ToolDefinition(
    name="get_weather",
    description="Current weather in a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
CLOCK = ToolDefinition(name="get_time", description="The current time", parameters={"type": "object"})


async def test_the_local_model_answers_a_plain_question(shared_server: str) -> None:
    model = resolve_model("local:0.5b")
    assert isinstance(model, LocalModel)
    try:
        with allow_model_requests():
            response = await model.request(
                ModelRequest(
                    messages=[Message(role="user", content="What is 2 + 3? Reply with the number only.")]
                )
            )
    finally:
        await model.aclose()
    assert "5" in response.text
    assert model._url == shared_server  # pyright: ignore[reportPrivateUsage] - it found the shared server
    assert response.stop_reason == "end_turn"
    assert response.model_name == "local:0.5b"
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0


async def test_a_prompt_seen_before_resumes_from_the_prefix_cache_after_another_prompt(
    shared_server: str,
) -> None:
    """Levels take turns: after B, prompt A again must not be re-read from scratch, and must answer the same."""

    def body(system: str) -> dict[str, object]:
        return {
            "model": VARIANT,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": "Name one colour. One word."},
            ],
            "max_tokens": 8,
            "temperature": 0,
        }

    first = f"You are agent A. {'Follow the house rules with care. ' * 40}"
    second = f"You are agent B. {'Write short and plain answers. ' * 40}"
    replies: list[dict[str, object]] = []
    async with httpx.AsyncClient(base_url=shared_server, timeout=120) as http:
        for system in (first, second, first):
            answer = await http.post("/v1/chat/completions", json=body(system))
            answer.raise_for_status()
            replies.append(answer.json())
    a1, _, a2 = replies
    assert a2["choices"] == a1["choices"]  # pyright: ignore[reportUnknownMemberType]
    evaluated = [r["timings"]["prompt_n"] for r in (a1, a2)]  # pyright: ignore[reportIndexIssue]
    assert evaluated[0] > 200 and evaluated[1] < 20, evaluated


async def test_a_reply_that_loops_is_cut_off_long_before_its_allowance(shared_server: str) -> None:
    body = {
        "model": VARIANT,
        "messages": [
            {
                "role": "user",
                "content": "Write the sentence 'I like green apples.' 80 times in a row, and nothing else.",
            }
        ],
        "max_tokens": 600,
        "temperature": 0,
    }
    async with httpx.AsyncClient(base_url=shared_server, timeout=300) as http:
        answer = await http.post("/v1/chat/completions", json=body)
    answer.raise_for_status()
    reply = answer.json()
    assert reply["choices"][0]["finish_reason"] == "length"  # reported as cut off: the caller asks again
    assert 20 <= reply["usage"]["completion_tokens"] < 120, reply["usage"]
    assert reply["choices"][0]["message"]["content"].count("I like green apples.") >= 3
    assert reply["usage"]["prompt_tokens"] > 10


async def test_structured_output_validates_into_a_pydantic_model(shared_server: str) -> None:
    model = LocalModel(VARIANT)
    request = ModelRequest(
        system="You answer geography questions as JSON.",
        messages=[Message(role="user", content="What is the capital of France?")],
        max_tokens=100,
    )
    try:
        with allow_model_requests():
            answer, usage = await generate_structured(model, request, Capital)
    finally:
        await model.aclose()
    assert "paris" in answer.capital.lower()
    assert usage.requests >= 1


async def test_the_model_calls_a_tool_and_then_answers_from_its_result(shared_server: str) -> None:
    model = LocalModel(VARIANT)
    question = Message(role="user", content="What is the weather in Berlin right now?")
    try:
        with allow_model_requests():
            first = await model.request(
                ModelRequest(messages=[question], tools=[CLOCK, WEATHER], max_tokens=100)
            )
            assert first.stop_reason == "tool_use"
            [call] = first.tool_calls
            assert call.name == "get_weather"
            assert "berlin" in str(call.arguments.get("city", "")).lower()
            history = [
                question,
                Message(role="assistant", tool_calls=[call]),
                Message(role="tool", tool_call_id=call.id, content="12 degrees Celsius, light rain"),
            ]
            second = await model.request(
                ModelRequest(messages=history, tools=[CLOCK, WEATHER], max_tokens=100)
            )
    finally:
        await model.aclose()
    assert second.stop_reason == "end_turn" and not second.tool_calls
    assert "12" in second.text


_USER_SCRIPT = """
import anyio, json, os
from echelon.servers.core.llm import Message, ModelRequest, allow_model_requests
from echelon.servers.core.llm._local_runtime import read_state, state_file
from echelon.servers.core.llm._model_files import resolve_model_spec
from echelon.servers.core.llm.local import LocalModel

async def main():
    model = LocalModel("0.5b")
    with allow_model_requests():
        reply = await model.request(ModelRequest(messages=[Message(role="user", content="Say hi.")], max_tokens=8))
    await model.aclose()
    state = read_state(state_file(resolve_model_spec("0.5b")))
    print(json.dumps({"server_pid": state.pid, "url": state.url, "text": reply.text}))

anyio.run(main)
"""


async def test_two_processes_share_one_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = cache_with_model(tmp_path / "cache")
    monkeypatch.setenv("ECHELON_CACHE_DIR", str(cache))
    monkeypatch.delenv("ECHELON_LOCAL_URL", raising=False)
    env = {**os.environ, "ECHELON_CACHE_DIR": str(cache)}
    results: list[dict[str, object]] = []

    async def user() -> None:
        done = await anyio.run_process([sys.executable, "-c", _USER_SCRIPT], env=env, check=False)
        assert done.returncode == 0, done.stderr.decode()
        results.append(json.loads(done.stdout))

    try:
        with anyio.fail_after(240):
            async with anyio.create_task_group() as tg:  # both start at once: only one may start a server
                tg.start_soon(user)
                tg.start_soon(user)
        assert len(results) == 2
        assert results[0]["server_pid"] == results[1]["server_pid"]
        assert results[0]["url"] == results[1]["url"]
        resolved = resolve_model_spec(VARIANT)
        assert log_file(resolved).read_text().count("starting 0.5b") == 1
        state = read_state(state_file(resolved))
        assert state is not None and state.pid == results[0]["server_pid"]
    finally:
        stopped = await stop_local_server(VARIANT)
    assert stopped
    assert not state_file(resolve_model_spec(VARIANT)).exists()


async def wait_for_output(process: anyio.abc.Process, text: bytes) -> None:
    """Read the process's stderr until it has said ``text``."""
    assert process.stderr is not None
    said = b""
    while text not in said:
        said += await process.stderr.receive()


@asynccontextmanager
async def server_process(state: Path, *extra: str) -> AsyncGenerator[anyio.abc.Process]:
    """A server process for the 0.5B model, entered once it said it is serving."""
    model = str(ensure_model(VARIANT))
    module = "echelon.servers.core.llm._local_server"
    args = [sys.executable, "-m", module, "--model", model, "--state-file", str(state), *extra]
    process = await anyio.open_process(args)
    try:
        await wait_for_output(process, b"loaded in")
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_the_server_exits_on_its_own_when_idle(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with anyio.fail_after(120):
        async with server_process(state, "--idle-timeout", "1") as process:
            assert read_state(state) is not None
            assert await process.wait() == 0
    assert not state.exists()


async def test_the_server_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with anyio.fail_after(120):
        async with server_process(state) as process:
            server = read_state(state)
            assert server is not None and server.pid == process.pid
            process.terminate()
            assert await process.wait() == 0
    assert not state.exists()


async def test_sigterm_during_a_generation_stops_the_server_at_once(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    outcome: list[str] = []
    stopped_after = float("inf")

    async def long_generation(url: str) -> None:
        body = {"messages": [{"role": "user", "content": "Count from 1 to 3000, comma separated."}]}
        try:
            async with httpx.AsyncClient(timeout=120) as client:
                response = await client.post(url + "/v1/chat/completions", json={**body, "max_tokens": 4000})
            outcome.append(f"HTTP {response.status_code}")
        except httpx.HTTPError as exc:
            outcome.append(type(exc).__name__)

    with anyio.fail_after(120):
        async with server_process(state, "--log-level", "INFO") as process:
            server = read_state(state)
            assert server is not None
            async with anyio.create_task_group() as tg:
                tg.start_soon(long_generation, server.url)
                await wait_for_output(process, b"generating:")
                asked = time.monotonic()
                process.terminate()
                assert await process.wait() == 0
                stopped_after = time.monotonic() - asked
    assert stopped_after < 15  # the graceful shutdown gives up on the generation after 3 s
    assert outcome and outcome[0] != "HTTP 200"
    assert not state.exists()
