"""Without FastMCP (the ``bench`` group not synced), the peer's rows are skipped with the command to install it."""

from pathlib import Path

import pytest

from benchmarks import _peer
from benchmarks._measure import table_lines


def test_without_fastmcp_the_peer_rows_are_skipped_and_name_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_peer, "available", lambda: False)
    assert _peer.peers(tmp_path) is None
    rows = _peer.skipped_rows()
    assert rows and all(r.skipped and r.met is None for r in rows)
    assert all("uv sync --group bench" in line for line in table_lines(rows)[1:])
