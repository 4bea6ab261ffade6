"""The shared local model server dying under a request, for real (Qwen2.5-Coder-1.5B, the model CI fetches): the
caller's error names what happened and the log, and the next request starts a new server.

The signals go to the engine process (the one running llama.cpp, as the kernel's would), or to its supervisor.
Every server started here lives in a temporary cache dir (with the model linked in) and is stopped after.
"""

from __future__ import annotations

import io
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import pytest

from echelon.servers.core.llm import Message, ModelError, ModelRequest, allow_model_requests
from echelon.servers.core.llm._local_runtime import (
    LocalServerFailed,
    ServerState,
    ensure_local_server,
    log_file,
    read_state,
    state_file,
    stop_local_server,
)
from echelon.servers.core.llm._model_files import KNOWN_MODELS, ensure_model, resolve_model_spec
from echelon.servers.core.llm._progress import PlainReporter
from echelon.servers.core.llm.local import LocalModel, prepare_local_model

pytestmark = [pytest.mark.local_model, pytest.mark.anyio]

VARIANT = "1.5b"
LONG = ModelRequest(
    messages=[Message(role="user", content="Count from 1 to 2000, comma separated.")], max_tokens=1500
)
SHORT = ModelRequest(messages=[Message(role="user", content="Say hi.")], max_tokens=4)


@pytest.fixture
def local_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    (cache / "models" / KNOWN_MODELS[VARIANT].filename).symlink_to(ensure_model(VARIANT))
    monkeypatch.setenv("ECHELON_CACHE_DIR", str(cache))
    monkeypatch.delenv("ECHELON_LOCAL_URL", raising=False)
    try:
        yield cache
    finally:
        anyio.run(stop_local_server, VARIANT)


def current_state() -> ServerState:
    state = read_state(state_file(resolve_model_spec(VARIANT)))
    assert state is not None and state.engine_pid is not None
    return state


async def log_count(text: str) -> int:
    return (await anyio.Path(log_file(resolve_model_spec(VARIANT))).read_text()).count(text)


async def fail_mid_request(
    model: LocalModel, kill: Callable[[ServerState], None]
) -> tuple[ServerState, ModelError]:
    """Start a long generation, ``kill`` the server once it is generating, and return the caller's error."""
    await ensure_local_server(VARIANT)
    state = current_state()
    before = await log_count("generating:")
    errors: list[ModelError] = []

    async def long_request() -> None:
        try:
            await model.request(LONG)
        except ModelError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(long_request)
        while await log_count("generating:") == before:  # noqa: ASYNC110 - another process writes the log
            await anyio.sleep(0.05)
        kill(state)
    assert errors, "the request succeeded although its server was killed"
    return state, errors[0]


async def assert_next_request_gets_a_new_server(model: LocalModel, old: ServerState) -> None:
    response = await model.request(SHORT)
    assert response.text.strip()
    new = current_state()
    assert (new.pid != old.pid and new.url != old.url) or new.engine_pid != old.engine_pid
    assert await log_count(f"starting {VARIANT}") == 2


def engine_signal(sig: signal.Signals) -> Callable[[ServerState], None]:
    def kill(state: ServerState) -> None:
        assert state.engine_pid is not None
        os.kill(state.engine_pid, sig)

    return kill


async def test_an_engine_killed_with_sigkill_mid_request_is_named_with_the_memory_it_needs_and_replaced(
    local_cache: Path,
) -> None:
    model = LocalModel(VARIANT)
    try:
        with allow_model_requests(), anyio.fail_after(600):
            old, error = await fail_mid_request(model, engine_signal(signal.SIGKILL))
            message = str(error)
            assert isinstance(error, LocalServerFailed)
            assert "was killed (SIGKILL), possibly out of memory: the model needs about" in message
            assert "GB of weights" in message and "ECHELON_LOCAL_CACHE_MB" in message
            assert str(log_file(resolve_model_spec(VARIANT))) in message
            assert await log_count("killed by SIGKILL") == 1  # the supervisor's own line in the log
            await assert_next_request_gets_a_new_server(model, old)
    finally:
        await model.aclose()


async def test_an_engine_killed_with_sigill_mid_request_names_the_portable_reinstall_and_is_replaced(
    local_cache: Path,
) -> None:
    model = LocalModel(VARIANT)
    try:
        with allow_model_requests(), anyio.fail_after(600):
            old, error = await fail_mid_request(model, engine_signal(signal.SIGILL))
            message = str(error)
            assert isinstance(error, LocalServerFailed)
            assert "was killed by SIGILL (illegal instruction)" in message
            assert "its llama.cpp build uses CPU instructions this machine refuses" in message
            assert (
                'CMAKE_ARGS="-DGGML_NATIVE=OFF' in message
                and "--reinstall --no-cache llama-cpp-python==" in message
            )
            assert str(log_file(resolve_model_spec(VARIANT))) in message
            assert await log_count("Fatal Python error: Illegal instruction") == 1  # faulthandler's traceback
            await assert_next_request_gets_a_new_server(model, old)
    finally:
        await model.aclose()


async def test_an_engine_that_stops_answering_is_killed_by_its_supervisor_and_named_so(
    local_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECHELON_LOCAL_UNRESPONSIVE_SECONDS", "2")
    model = LocalModel(VARIANT)
    try:
        with allow_model_requests(), anyio.fail_after(600):
            old, error = await fail_mid_request(model, engine_signal(signal.SIGSTOP))
            assert isinstance(error, LocalServerFailed)
            assert "stopped answering for" in str(error) and "killed by its supervisor" in str(error)
            await assert_next_request_gets_a_new_server(model, old)
    finally:
        await model.aclose()


async def test_a_server_whose_supervisor_is_killed_is_reported_as_vanished_and_replaced(
    local_cache: Path,
) -> None:
    model = LocalModel(VARIANT)

    def kill_supervisor(state: ServerState) -> None:
        os.kill(state.pid, signal.SIGKILL)  # nothing is left to record it; the engine leaves once orphaned

    try:
        with allow_model_requests(), anyio.fail_after(600):
            old, error = await fail_mid_request(model, kill_supervisor)
            assert isinstance(error, LocalServerFailed)
            assert (
                "disappeared without recording why: it was killed (SIGKILL), possibly out of memory"
                in str(error)
            )
            await assert_next_request_gets_a_new_server(model, old)
    finally:
        await model.aclose()


def test_preparing_in_the_foreground_starts_the_shared_server_and_reports_in_plain_lines(
    local_cache: Path,
) -> None:
    lines = io.StringIO()
    url = prepare_local_model(VARIANT, progress=PlainReporter(lines))
    assert url == current_state().url
    assert prepare_local_model(VARIANT, progress=PlainReporter(lines)) == url  # the running one is reused
    said = lines.getvalue().splitlines()
    assert (
        said[0]
        == f"echelon: starting the local model server ({KNOWN_MODELS[VARIANT].title}); loading takes a few seconds"
    )
    assert said[1].startswith(f"echelon: local model server ready at {url} (")
    assert (
        said[2] == f"echelon: using the running local model server ({KNOWN_MODELS[VARIANT].title}) at {url}"
    )
