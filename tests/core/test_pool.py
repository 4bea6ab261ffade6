import os
import signal
import sys

import anyio
import psutil
import pytest

from echelon.servers.core.pool import OWN_ENV_PREFIXES, ConnectionFailed, ConnectionPool, SessionLost
from echelon.servers.core.target import Target
from echelon.servers.managers.server import WORKER_ENV
from tests._toy_servers import build_calc_server, failing_command

pytestmark = pytest.mark.anyio


def calc_target() -> Target:
    return Target(command=sys.executable, args=["-m", "tests._toy_servers", "calc"])


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def pid_of(pool: ConnectionPool, name: str) -> int:
    result = await pool.call_tool(name, "pid")
    assert result.structured_content is not None
    return int(result.structured_content["pid"])


async def test_sessions_start_lazily_on_first_use() -> None:
    server = build_calc_server()
    async with ConnectionPool({"calc": Target.in_process(server)}) as pool:
        assert not pool.is_running("calc")
        result = await pool.call_tool("calc", "add", {"a": 2, "b": 3})
        assert result.structured_content == {"value": 5.0}
        assert pool.is_running("calc")


async def test_several_stdio_sessions_start_concurrently_and_all_children_stop_on_close() -> None:
    with anyio.fail_after(30):
        async with ConnectionPool({"a": calc_target(), "b": calc_target()}) as pool:
            failures = await pool.start(["a", "b"])
            assert failures == {"a": None, "b": None}
            pids = [await pid_of(pool, "a"), await pid_of(pool, "b")]
            assert pids[0] != pids[1]
            assert all(not gone(p) for p in pids)
    assert all(gone(p) for p in pids)


async def test_a_session_whose_process_died_is_reported_and_restarted_on_the_next_call() -> None:
    with anyio.fail_after(30):
        async with ConnectionPool({"calc": calc_target()}) as pool:
            first = await pid_of(pool, "calc")
            os.kill(first, signal.SIGKILL)
            # The pool never repeats a call itself: whether that is safe is the caller's decision.
            with pytest.raises(SessionLost, match="calc"):
                await pool.call_tool("calc", "add", {"a": 1, "b": 1})
            result = await pool.call_tool("calc", "add", {"a": 1, "b": 1})
            assert result.structured_content == {"value": 2.0}
            second = await pid_of(pool, "calc")
            assert second != first
            assert pool.restarts["calc"] == 1
    assert gone(second)


async def test_children_are_stopped_when_the_owner_is_cancelled() -> None:
    pids: list[int] = []
    with anyio.fail_after(30):
        with anyio.CancelScope() as scope:
            async with ConnectionPool({"a": calc_target(), "b": calc_target()}) as pool:
                await pool.start(["a", "b"])
                pids += [await pid_of(pool, "a"), await pid_of(pool, "b")]
                scope.cancel()
                await anyio.sleep_forever()
    assert scope.cancelled_caught
    assert len(pids) == 2
    assert all(gone(p) for p in pids)


async def test_a_tool_error_is_returned_not_retried() -> None:
    async with ConnectionPool({"calc": calc_target()}) as pool:
        first = await pid_of(pool, "calc")
        result = await pool.call_tool("calc", "divide", {"a": 1, "b": 0})
        assert result.is_error
        assert "division by zero" in result.content[0].text  # type: ignore[union-attr]
        assert await pid_of(pool, "calc") == first
        assert pool.restarts == {}


async def test_unknown_target_and_unstartable_command_give_clear_errors() -> None:
    broken = Target(command="/nonexistent/bin/server")
    async with ConnectionPool({"broken": broken}, connect_timeout=20) as pool:
        with pytest.raises(ConnectionFailed, match="no target named 'nope'"):
            await pool.session("nope")
        with pytest.raises(ConnectionFailed, match="broken: could not connect to /nonexistent/bin/server"):
            await pool.session("broken")


NETWORK = {"SSL_CERT_FILE": "/etc/company/ca.pem", "HTTPS_PROXY": "http://proxy.example:3128"}
PROBED = [*NETWORK, "ANTHROPIC_API_KEY", "DECLARED"]


async def env_of(pool: ConnectionPool, name: str) -> dict[str, str]:
    result = await pool.call_tool(name, "env", {"names": PROBED})
    assert result.structured_content is not None
    return result.structured_content["values"]


async def test_a_worker_sees_the_network_variables_and_its_declared_env_but_no_api_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in {**NETWORK, "ANTHROPIC_API_KEY": "sk-not-for-workers"}.items():
        monkeypatch.setenv(key, value)
    target = calc_target().model_copy(update={"env": {"DECLARED": "yes"}})
    with anyio.fail_after(30):
        async with ConnectionPool({"calc": target}, env_prefixes=WORKER_ENV) as pool:
            seen = await env_of(pool, "calc")
    assert seen == {**NETWORK, "DECLARED": "yes"}


async def test_one_of_our_levels_sees_the_network_variables_and_the_api_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in {**NETWORK, "ANTHROPIC_API_KEY": "sk-for-our-levels"}.items():
        monkeypatch.setenv(key, value)
    with anyio.fail_after(30):
        async with ConnectionPool({"calc": calc_target()}, env_prefixes=OWN_ENV_PREFIXES) as pool:
            seen = await env_of(pool, "calc")
    assert seen == {**NETWORK, "ANTHROPIC_API_KEY": "sk-for-our-levels"}


def failing_target(code: int, *lines: str) -> Target:
    command, args = failing_command(code, *lines)
    return Target(command=command, args=args)


async def test_a_child_that_exits_at_start_up_is_reported_with_its_exit_code_and_stderr_tail(
    capfd: pytest.CaptureFixture[str],
) -> None:
    lines = [f"line {i}" for i in range(30)] + ["error: no database at /nowhere/sales.db"]
    with anyio.fail_after(30):
        async with ConnectionPool({"sql": failing_target(3, *lines)}) as pool:
            with pytest.raises(ConnectionFailed) as caught:
                await pool.session("sql")
    failure = caught.value
    assert failure.exit_code == 3
    assert failure.stderr_tail.splitlines()[-1] == "error: no database at /nowhere/sales.db"
    assert len(failure.stderr_tail.splitlines()) == 20  # the tail is bounded
    assert "line 10" not in failure.stderr_tail and "line 11" in failure.stderr_tail
    assert "exited with code 3 at start-up" in str(failure)
    assert "  error: no database at /nowhere/sales.db" in str(failure)
    # The child's stderr still reaches ours, every line of it.
    assert "line 0\n" in capfd.readouterr().err


async def test_a_child_killed_at_start_up_names_the_signal() -> None:
    target = Target(
        command=sys.executable, args=["-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]
    )
    with anyio.fail_after(30):
        async with ConnectionPool({"dies": target}) as pool:
            with pytest.raises(ConnectionFailed, match="was killed by SIGKILL at start-up") as caught:
                await pool.session("dies")
    assert caught.value.exit_code == -signal.SIGKILL
    assert "it wrote nothing to stderr" in str(caught.value)


def test_a_tool_s_own_text_beside_its_structured_content_is_what_a_model_reads() -> None:
    from mcp.types import CallToolResult, TextContent

    from echelon.servers.core.pool import result_text

    data = {"rows": [{"name": "Ada", "total": 40.0}], "sql": "SELECT name, total FROM orders"}
    own = CallToolResult(
        content=[TextContent(type="text", text="| name | total |\n| Ada | 40.0 |")], structured_content=data
    )
    assert result_text(own) == "| name | total |\n| Ada | 40.0 |"
    # A text that is only the structured content serialized (the SDK's default) reads as that JSON.
    dumped = CallToolResult(content=[TextContent(type="text", text='{"rows": []}')], structured_content=data)
    assert (
        result_text(dumped)
        == '{"rows": [{"name": "Ada", "total": 40.0}], "sql": "SELECT name, total FROM orders"}'
    )
