"""A worker or manager whose process exits at start-up: the delegation says which, with its exit code and stderr."""

from pathlib import Path

import anyio
import pytest
from mcp import Client

from echelon.servers.core.envelope import DelegationResult
from echelon.servers.core.target import Target
from echelon.servers.core.testing import ScriptedModel
from echelon.servers.orchestrator.server import build_server as build_orchestrator
from tests._toy_servers import failing_command
from tests.orchestrator._hierarchy import build_hierarchy, toy_config

pytestmark = pytest.mark.anyio

ONE_PHASE = {
    "plan": {
        "phases": [{"name": "Compute", "worker": "numbers", "goals": "Add 2 and 3", "depends_on": []}],
        "primary_worker": "numbers",
    }
}
STDERR_LINE = "calc-server: cannot open /nowhere/numbers.db: no such file"
NO_REPLAN = toy_config(extra={"orchestrator": {"max_replans": 0}})


async def delegate(server: object) -> DelegationResult:
    with anyio.fail_after(60):
        async with Client(server) as client:  # type: ignore[arg-type]
            answer = await client.call_tool("delegate", {"request": "Add 2 and 3"})
    assert not answer.is_error, answer.content
    return DelegationResult.model_validate(answer.structured_content)


async def test_a_worker_that_exits_at_start_up_is_in_the_errors_with_its_exit_code_and_stderr(
    tmp_path: Path,
) -> None:
    command, args = failing_command(3, "starting calc-server", STDERR_LINE)
    numbers = ScriptedModel([], name="test:numbers")  # no worker, so no planning: the model is never asked
    server = build_hierarchy(
        tmp_path,
        orchestrator=ScriptedModel([ONE_PHASE]),
        numbers=numbers,
        content=ScriptedModel([]),
        calc=Target(command=command, args=args),
        config=NO_REPLAN,
    )
    result = await delegate(server)

    assert result.status == "failed"
    [error] = [e for e in result.errors if e.kind == "connection"]
    assert error.where == "numbers.calc"
    assert "exited with code 3 at start-up" in error.message
    assert STDERR_LINE in error.message
    assert "not one of your workers" not in result.output
    assert STDERR_LINE in result.phases[0].output
    numbers.assert_consumed()


async def test_a_manager_that_exits_at_start_up_is_in_the_errors_with_its_exit_code_and_stderr() -> None:
    command, args = failing_command(3, "echelon.toml: managers.numbers: no such manager")
    server = build_orchestrator(
        NO_REPLAN,
        model=ScriptedModel([ONE_PHASE]),
        manager_targets={"numbers": Target(command=command, args=args), "content": Target(command=command)},
    )
    result = await delegate(server)

    assert result.status == "failed"
    [error] = result.errors
    assert (error.where, error.kind) == ("numbers.execute_phase", "connection")
    assert "exited with code 3 at start-up" in error.message
    assert "echelon.toml: managers.numbers: no such manager" in error.message
