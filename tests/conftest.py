"""Suite-wide safety: no real model request, no paid key, no user config, demo data in a scratch folder.

Set at import, before any test module loads, so subprocesses started by tests inherit the same environment.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

for _name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL", "ECHELON_MODEL", "ECHELON_CONFIG"):
    os.environ.pop(_name, None)
os.environ["ECHELON_BLOCK_MODEL_REQUESTS"] = "1"
_DEMO_DIR = tempfile.mkdtemp(prefix="echelon-test-demo-")
os.environ["ECHELON_DEMO_DIR"] = _DEMO_DIR
# Whatever a test or its subprocesses would keep in the user's state directory (the default run database, whose
# queued runs a user's own orchestrator would otherwise see) goes to a scratch folder instead.
_STATE_DIR = tempfile.mkdtemp(prefix="echelon-test-state-")
os.environ["ECHELON_STATE_DIR"] = _STATE_DIR
# Workers' tool lists are cached for the session only, never read from or written to the user's cache.
os.environ["ECHELON_TOOL_CACHE_DIR"] = os.path.join(_STATE_DIR, "tool-lists")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _runs_database(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's runs go to a database of its own (subprocesses the test starts inherit it)."""
    folder = tmp_path_factory.mktemp("runs")
    monkeypatch.setenv("ECHELON_RUNS_DATABASE", f"sqlite:///{folder / 'runs.sqlite'}")


@pytest.fixture(scope="session", autouse=True)
def _remove_scratch_demo_dir() -> Iterator[None]:
    yield
    shutil.rmtree(_DEMO_DIR, ignore_errors=True)
    shutil.rmtree(_STATE_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_base() -> Iterator[str]:
    """One real PostgreSQL server for the session (``tests/_postgres.py``)."""
    from tests._postgres import binaries, postgres_server

    if binaries() is None:
        pytest.skip("PostgreSQL is not installed here: apt-get install postgresql (.ci/run does)")
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def runs_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test on each run database: the embedded SQLite file, and a fresh PostgreSQL database."""
    if request.param == "postgresql":
        from tests._postgres import new_database

        monkeypatch.setenv("ECHELON_RUNS_DATABASE", new_database(request.getfixturevalue("postgres_base")))
    return str(request.param)
