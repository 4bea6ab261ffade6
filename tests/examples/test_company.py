"""The demo data: a deterministic sales database with a designed story, and documents about the same company."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from examples import DATABASE_NAME, demo_dir, ensure_demo_data
from examples.company import COMPANY_NAME, canonical_dump, generate_database
from examples.documents import generate_documents

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_database(tmp_path_factory.mktemp("db") / "sales.db")


def _growth_by_region(db: Path) -> dict[str, float]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT r.name,"
            " SUM(CASE WHEN s.sale_date < '2025-01-01' THEN s.revenue END),"
            " SUM(CASE WHEN s.sale_date >= '2025-01-01' THEN s.revenue END)"
            " FROM sales s JOIN regions r ON r.region_id = s.region_id GROUP BY r.name"
        ).fetchall()
    return {name: (y2025 / y2024 - 1.0) * 100.0 for name, y2024, y2025 in rows}


def _sha256(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def test_generate_database_is_deterministic(tmp_path: Path, database: Path) -> None:
    again = generate_database(tmp_path / "again.db")
    assert _sha256(canonical_dump(again)) == _sha256(canonical_dump(database))
    assert _sha256(again.read_bytes()) == _sha256(database.read_bytes())


def test_generate_database_replaces_an_existing_file_atomically(tmp_path: Path, database: Path) -> None:
    target = tmp_path / "sales.db"
    target.write_bytes(b"not a database")
    assert generate_database(target) == target
    assert _sha256(canonical_dump(target)) == _sha256(canonical_dump(database))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sales.db"]  # no temp file left behind


def test_sales_has_at_least_ten_thousand_lines_over_every_month_of_2024_and_2025(database: Path) -> None:
    with sqlite3.connect(database) as conn:
        (rows,) = conn.execute("SELECT COUNT(*) FROM sales").fetchone()
        months = [m for (m,) in conn.execute("SELECT DISTINCT substr(sale_date, 1, 7) FROM sales ORDER BY 1")]
        first, last = conn.execute("SELECT MIN(sale_date), MAX(sale_date) FROM sales").fetchone()
    assert rows >= 10_000
    assert months == [f"{y}-{m:02d}" for y in (2024, 2025) for m in range(1, 13)]
    assert first.startswith("2024-01-") and last.startswith("2025-12-")


def test_mountain_west_grows_fastest_and_southwest_declines(database: Path) -> None:
    growth = _growth_by_region(database)
    assert len(growth) == 5
    ranked = sorted(growth, key=lambda name: growth[name], reverse=True)
    assert ranked[0] == "Mountain West"
    assert 22 <= growth["Mountain West"] <= 40
    assert growth["Mountain West"] - growth[ranked[1]] >= 10  # clearly the fastest
    assert ranked[-1] == "Southwest" and growth["Southwest"] <= -5
    assert all(growth[name] > 0 for name in ranked[:-1])  # the only declining region


def test_sales_peak_in_summer_and_dip_in_winter(database: Path) -> None:
    with sqlite3.connect(database) as conn:
        monthly = dict(
            conn.execute(
                "SELECT CAST(substr(sale_date, 6, 2) AS INTEGER), SUM(revenue) FROM sales GROUP BY 1"
            )
        )
    assert max(monthly, key=lambda m: monthly[m]) in (6, 7)
    assert min(monthly, key=lambda m: monthly[m]) in (1, 2)
    assert monthly[7] > 1.8 * monthly[1]


def test_schema_has_foreign_keys_indexes_and_consistent_revenue(database: Path) -> None:
    with sqlite3.connect(database) as conn:
        targets = {row[2] for row in conn.execute("PRAGMA foreign_key_list(sales)")}
        assert targets == {"regions", "products", "customers"}
        assert {row[2] for row in conn.execute("PRAGMA foreign_key_list(customers)")} == {"regions"}
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        indexes = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"idx_sales_date", "idx_sales_region_date", "idx_sales_product"} <= indexes
        (bad,) = conn.execute(
            "SELECT COUNT(*) FROM sales WHERE ABS(revenue - ROUND(quantity * unit_price, 2)) > 0.005"
        ).fetchone()
        assert bad == 0
        (regions, products, customers) = (
            conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("regions", "products", "customers")
        )
    assert regions == 5 and products >= 20 and customers >= 100


def test_documents_are_deterministic_and_mix_markdown_text_and_html(tmp_path: Path) -> None:
    first = generate_documents(tmp_path / "a")
    second = generate_documents(tmp_path / "b")
    assert 8 <= len(first) <= 12
    assert {p.suffix for p in first} == {".md", ".txt", ".html"}
    assert [p.name for p in first] == [p.name for p in second]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes()
    assert all(COMPANY_NAME.lower() in p.read_text(encoding="utf-8").lower() for p in first)


def test_annual_review_quotes_the_figures_in_the_database(tmp_path: Path, database: Path) -> None:
    (review,) = [p for p in generate_documents(tmp_path) if p.name == "annual-review-2025.md"]
    text = review.read_text(encoding="utf-8")
    with sqlite3.connect(database) as conn:
        (total_2025,) = conn.execute(
            "SELECT SUM(revenue) FROM sales WHERE sale_date >= '2025-01-01'"
        ).fetchone()
    assert f"${total_2025:,.0f}" in text
    growth = _growth_by_region(database)
    assert f"**Mountain West** was\nthe fastest-growing region at {growth['Mountain West']:+.1f}%" in text


def test_ensure_demo_data_generates_only_what_is_missing(tmp_path: Path) -> None:
    data = ensure_demo_data(tmp_path / "demo")
    assert data.database == tmp_path / "demo" / DATABASE_NAME and data.database.is_file()
    assert len(list(data.documents.iterdir())) >= 8 and data.output.is_dir()
    edited = data.documents / "company-overview.md"
    edited.write_text("my own notes", encoding="utf-8")
    db_mtime = data.database.stat().st_mtime_ns
    again = ensure_demo_data(tmp_path / "demo")
    assert again == data
    assert edited.read_text(encoding="utf-8") == "my own notes"  # existing data is left alone
    assert data.database.stat().st_mtime_ns == db_mtime
    data.database.unlink()
    ensure_demo_data(tmp_path / "demo")
    assert data.database.is_file()


def test_demo_dir_follows_the_environment_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECHELON_DEMO_DIR", str(tmp_path / "elsewhere"))
    assert demo_dir() == tmp_path / "elsewhere"
    assert ensure_demo_data().database.parent == tmp_path / "elsewhere"
    monkeypatch.delenv("ECHELON_DEMO_DIR")
    assert demo_dir().parts[-2:] == ("echelon", "demo")


def test_python_m_examples_generates_and_prints_the_paths(tmp_path: Path) -> None:
    env = {**os.environ, "ECHELON_DEMO_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "examples"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert f"database:  {tmp_path / DATABASE_NAME}" in done.stdout
    assert (tmp_path / DATABASE_NAME).is_file() and (tmp_path / "documents" / "sales-playbook.txt").is_file()
