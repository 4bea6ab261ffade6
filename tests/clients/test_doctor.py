"""``echelon doctor`` on real configs: every worker and manager started, the index reached on a local server."""

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from echelon.clients._doctor import Check, collect_checks, render, run_doctor
from tests._servers import free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def write_config(tmp: Path, *, calc_command: str | None = None, calc_tools: list[str] | None = None) -> Path:
    py = json.dumps(sys.executable)
    calc = json.dumps(calc_command) if calc_command else py
    config = tmp / "echelon.toml"
    config.write_text(
        f"""
[managers.numbers]
description = "Arithmetic"
workers = ["calc", "deck"]

[workers.calc]
command = {calc}
args = ["-m", "tests._toy_servers", "calc"]
cwd = {json.dumps(str(ROOT))}
tools = {json.dumps(calc_tools or ["add", "divide"])}

[workers.deck]
command = {py}
args = ["-m", "tests._toy_servers", "deck", {json.dumps(str(tmp))}]
cwd = {json.dumps(str(ROOT))}
"""
    )
    return config


class _Index(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"<html>simple index</html>")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def index_url() -> Iterator[str]:
    """A package index stand-in on localhost, stopped after the test."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@pytest.fixture(autouse=True)
def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Managers run the e2e model (no model call leaves the machine); no model file in a scratch cache.
    monkeypatch.setenv("ECHELON_MODEL", "python:tests._e2e_model:build")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("ECHELON_CACHE_DIR", str(tmp_path / "cache"))


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_doctor_passes_a_good_config_and_exits_0(
    tmp_path: Path, index_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    checks = by_name(collect_checks(config, index_url=index_url))
    assert {name: c.status for name, c in checks.items() if c.status == "fail"} == {}
    assert checks["worker calc"].detail.endswith(" tools; offers 2 (tools allow-list)")
    assert checks["worker deck"].detail == "1 tools"
    assert checks["manager numbers"].detail.startswith("3 tools (execute_phase")
    assert checks["package index"].detail.startswith(f"{index_url}: HTTP 200 (CA: ")
    assert checks["model file"].status == "skip"  # no level runs on the local model
    assert checks["model file"].fix == "fetch it: echelon model fetch 1.5b"

    assert run_doctor(config, index_url=index_url) == 0
    assert "checks passed" in capsys.readouterr().out


def test_doctor_fails_a_missing_command_and_an_unknown_tool_with_a_fix_on_each_line(
    tmp_path: Path, index_url: str
) -> None:
    bad = write_config(tmp_path, calc_command="no-such-echelon-worker", calc_tools=["add"])
    checks = by_name(collect_checks(bad, index_url=index_url))
    missing = checks["worker calc"]
    assert (missing.status, missing.detail) == ("fail", "command 'no-such-echelon-worker' not found on PATH")
    assert missing.fix == "install it, or fix workers.calc.command"

    unknown_tool = write_config(tmp_path, calc_tools=["add", "multiply"])
    checks = by_name(collect_checks(unknown_tool, index_url=index_url))
    wrong = checks["worker calc"]
    assert wrong.status == "fail"
    assert wrong.detail.startswith(
        "its tools allow-list names 'multiply', which it does not have (its tools: add,"
    )
    assert wrong.fix == "remove 'multiply' from workers.calc.tools or fix the spelling"
    assert all(c.fix for c in checks.values() if c.status == "fail")
    assert run_doctor(unknown_tool, index_url=index_url) == 1


def test_an_unreachable_index_fails_with_a_fix_and_skip_network_skips_it(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    closed = f"http://127.0.0.1:{free_port()}/simple/"
    index = by_name(collect_checks(config, index_url=closed))["package index"]
    assert index.status == "fail" and index.detail.startswith(f"{closed}: ")
    assert "HTTPS_PROXY" in index.fix
    skipped = by_name(collect_checks(config, network=False))["package index"]
    assert (skipped.status, skipped.detail) == ("skip", "skipped (--skip-network)")


def test_a_worker_that_exits_at_start_up_shows_its_exit_code_and_stderr(tmp_path: Path) -> None:
    config = write_config(tmp_path, calc_tools=["add"])
    text = config.read_text().replace(
        'args = ["-m", "tests._toy_servers", "calc"]',
        'args = ["-c", "import sys; print(\'calc: no licence file\', file=sys.stderr); sys.exit(3)"]',
    )
    config.write_text(text)
    calc = by_name(collect_checks(config, network=False))["worker calc"]
    assert calc.status == "fail"
    assert "exited with code 3 at start-up" in calc.detail and "calc: no licence file" in calc.detail
    assert calc.fix.startswith("run it yourself to see the whole error: ")


def test_the_table_prints_brackets_in_a_fix_as_they_are(capsys: pytest.CaptureFixture[str]) -> None:
    render([Check(name="local runtime", status="fail", detail="not installed", fix="pip install 'x[local]'")])
    out = capsys.readouterr().out
    assert "pip install 'x[local]'" in out
    assert "1 of 1 checks failed" in out
