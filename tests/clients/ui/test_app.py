"""The UI's app: the page, the JSON it polls (the reader's models), and who may ask for them."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import redirect_stderr
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from echelon.clients.ui import UiError, bind, build_app
from echelon.servers.core.runs import RunSummary, database_url
from echelon.servers.core.runs._reader import RunReader, RunView
from tests.clients._sample_runs import finished_run

LOCAL = "http://127.0.0.1:8765"


@pytest.fixture
def reader() -> Iterator[RunReader]:
    opened = RunReader(database_url())
    yield opened
    opened.close()


def test_the_page_is_served_with_a_policy_that_allows_only_its_own_script_and_requests_to_itself(
    reader: RunReader,
) -> None:
    with TestClient(build_app(reader), base_url=LOCAL) as client:
        page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert (
        "default-src 'none'" in policy and "script-src 'sha256-" in policy and "connect-src 'self'" in policy
    )
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert 'id="run-data">null</script>' in page.text  # live: no run embedded, the script polls /api
    assert "/api/runs" in page.text and "src=" not in page.text


def test_api_runs_lists_summaries_and_api_run_gives_the_run_in_full(tmp_path: Path) -> None:
    run_id = finished_run(tmp_path)
    reader = RunReader(database_url())
    try:
        with TestClient(build_app(reader), base_url=LOCAL) as client:
            listed = client.get("/api/runs", params={"limit": 5})
            only_ok = client.get("/api/runs", params={"status": "ok"})
            none_failed = client.get("/api/runs", params={"status": "failed"})
            one = client.get(f"/api/runs/{run_id}")
    finally:
        reader.close()
    assert [RunSummary.model_validate(r).run_id for r in listed.json()] == [run_id]
    assert [r["run_id"] for r in only_ok.json()] == [run_id] and none_failed.json() == []
    view = RunView.model_validate(one.json())
    assert view.summary.status == "ok" and [p.name for p in view.phases] == ["Compute", "Deck"]
    (step,) = view.phases[0].result.steps  # type: ignore[union-attr]
    assert [(c.tool, c.arguments, c.result) for c in step.calls] == [
        ("add", {"a": 2, "b": 3}, {"value": 5.0})
    ]
    assert [c.name for c in view.checkpoints] == ["plan", "phase:Compute", "phase:Deck", "answer"]
    assert any("calc.add" in e.message for e in view.events)
    assert one.headers["cache-control"] == "no-store"


def test_an_unknown_run_is_404_naming_it(reader: RunReader) -> None:
    with TestClient(build_app(reader), base_url=LOCAL) as client:
        answer = client.get("/api/runs/nope")
    assert answer.status_code == 404
    assert answer.json() == {"error": "there is no run 'nope' (GET /api/runs lists the runs there are)"}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"limit": "0"}, "limit='0': give a whole number from 1 to 200"),
        ({"limit": "x"}, "limit='x': give a whole number from 1 to 200"),
        ({"status": "done"}, "status='done': give one of queued, running, ok, partial, failed, cancelled"),
    ],
)
def test_a_bad_limit_or_status_is_400_naming_the_value(
    reader: RunReader, query: dict[str, str], message: str
) -> None:
    with TestClient(build_app(reader), base_url=LOCAL) as client:
        answer = client.get("/api/runs", params=query)
    assert answer.status_code == 400 and answer.json() == {"error": message}


def test_a_request_addressed_to_another_host_is_refused(reader: RunReader) -> None:
    """A page elsewhere that rebinds its name to 127.0.0.1 still sends its own name as Host."""
    with TestClient(build_app(reader), base_url=LOCAL) as client:
        foreign = client.get("/api/runs", headers={"host": "evil.example:8765"})
        other_origin = client.get("/api/runs", headers={"origin": "http://evil.example"})
        local_name = client.get("/api/runs", headers={"host": "localhost:8765"})
    assert (foreign.status_code, other_origin.status_code, local_name.status_code) == (421, 403, 200)


def test_a_non_loopback_host_is_refused_unless_remote_is_allowed_and_then_warned_about() -> None:
    with pytest.raises(UiError, match=r"--host 0\.0\.0\.0 is not a loopback address.*--allow-remote"):
        bind("0.0.0.0", 0, allow_remote=False)
    err = io.StringIO()
    with redirect_stderr(err):
        sock = bind("0.0.0.0", 0, allow_remote=True)
    sock.close()
    assert "warning: serving 0.0.0.0 to other machines: run records hold requests" in err.getvalue()


def test_a_port_in_use_is_a_clear_error() -> None:
    taken = bind("127.0.0.1", 0, allow_remote=False)
    try:
        with pytest.raises(UiError, match=r"cannot listen on 127\.0\.0\.1:\d+: .*choose another --port"):
            bind("127.0.0.1", taken.getsockname()[1], allow_remote=False)
    finally:
        taken.close()


def test_a_run_database_that_cannot_be_read_is_503_saying_why(tmp_path: Path) -> None:
    broken = tmp_path / "runs.sqlite"
    broken.write_text("this is not a database, it only has the name of one " * 4)
    reader = RunReader(f"sqlite:///{broken}")
    try:
        with TestClient(build_app(reader), base_url=LOCAL) as client:
            answer = client.get("/api/runs")
    finally:
        reader.close()
    assert answer.status_code == 503
    assert answer.json()["error"] == "cannot read the run database: file is not a database"
