"""The demo data: a deterministic sales database with a designed story, and documents about the same company."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from echelon.examples import DATABASE_NAME, MARKER_NAME, demo_dir, ensure_demo_data
from echelon.examples._figures import compute_figures
from echelon.examples.company import (
    COMPANY_NAME,
    build_dataset,
    canonical_dump,
    demo_years,
    fastest_region,
    generate_database,
)
from echelon.examples.documents import generate_documents

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_database(tmp_path_factory.mktemp("db") / "sales.db")


def _growth_by_region(db: Path) -> dict[str, float]:
    last_year_starts = f"{demo_years()[1]}-01-01"
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT r.name,"
            " SUM(CASE WHEN s.sale_date < ? THEN s.revenue END),"
            " SUM(CASE WHEN s.sale_date >= ? THEN s.revenue END)"
            " FROM sales s JOIN regions r ON r.region_id = s.region_id GROUP BY r.name",
            (last_year_starts, last_year_starts),
        ).fetchall()
    return {name: (last / first - 1.0) * 100.0 for name, first, last in rows}


def _last_sale_date(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT MAX(sale_date) FROM sales").fetchone()[0]


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


def test_demo_data_covers_the_two_full_years_before_today(database: Path) -> None:
    assert demo_years(date(2026, 11, 21)) == (2024, 2025)
    assert demo_years(date(2027, 1, 1)) == (2025, 2026)
    assert demo_years(date(2026, 12, 31)) == (2024, 2025)
    today = date.today()
    assert demo_years() == (today.year - 2, today.year - 1)
    first_year, last_year = demo_years()
    with sqlite3.connect(database) as conn:
        first, last = conn.execute("SELECT MIN(sale_date), MAX(sale_date) FROM sales").fetchone()
    assert first.startswith(f"{first_year}-01-") and last.startswith(f"{last_year}-12-")


def test_sales_has_at_least_ten_thousand_lines_over_every_month_of_the_two_years(database: Path) -> None:
    with sqlite3.connect(database) as conn:
        (rows,) = conn.execute("SELECT COUNT(*) FROM sales").fetchone()
        months = [m for (m,) in conn.execute("SELECT DISTINCT substr(sale_date, 1, 7) FROM sales ORDER BY 1")]
        dates = [d for (d,) in conn.execute("SELECT sale_date FROM sales ORDER BY sale_id")]
    assert rows >= 10_000
    assert months == [f"{y}-{m:02d}" for y in demo_years() for m in range(1, 13)]
    assert dates == sorted(dates)  # sale ids are chronological


def test_demo_figures_are_the_same_whichever_years_are_chosen() -> None:
    # 2024 is a leap year: February has a day more, which must not change a single draw.
    base, leap_first, leap_last = (
        build_dataset(years=years) for years in ((2021, 2022), (2024, 2025), (2023, 2024))
    )
    for other, shift in ((leap_first, 3), (leap_last, 2)):
        assert other.customers == base.customers and len(other.sales) == len(base.sales)
        for a, b in zip(base.sales, other.sales, strict=True):
            assert replace(b, sale_date=a.sale_date) == a  # same order line: only the date moves
            assert (
                int(b.sale_date[:4]) == int(a.sale_date[:4]) + shift and b.sale_date[5:7] == a.sale_date[5:7]
            )
            if a.sale_date[5:7] != "02":
                assert b.sale_date[8:] == a.sale_date[8:]
            else:  # the same point of the month, on a 28- or 29-day February
                assert abs(int(b.sale_date[8:]) - int(a.sale_date[8:])) <= 1
        figures, other_figures = compute_figures(base), compute_figures(other)
        assert [r.growth_pct for r in other_figures.regions] == [r.growth_pct for r in figures.regions]
        assert other_figures.category_revenue == figures.category_revenue
    with pytest.raises(ValueError, match="consecutive"):
        build_dataset(years=(2024, 2026))


def test_mountain_west_grows_fastest_and_southwest_declines(database: Path) -> None:
    growth = _growth_by_region(database)
    assert len(growth) == 5
    ranked = sorted(growth, key=lambda name: growth[name], reverse=True)
    assert ranked[0] == "Mountain West"
    assert 22 <= growth["Mountain West"] <= 40
    assert growth["Mountain West"] - growth[ranked[1]] >= 10  # clearly the fastest
    assert ranked[-1] == "Southwest" and growth["Southwest"] <= -5
    assert all(growth[name] > 0 for name in ranked[:-1])  # the only declining region
    region, percent = fastest_region(database)  # what tests of real runs check answers against
    assert region == "Mountain West" and percent == pytest.approx(growth["Mountain West"])


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
    first_year, last_year = demo_years()
    (review,) = [p for p in generate_documents(tmp_path) if p.name == f"annual-review-{last_year}.md"]
    text = review.read_text(encoding="utf-8")
    assert text.startswith(f"# {last_year} Annual Review\n")
    with sqlite3.connect(database) as conn:
        (total_last_year,) = conn.execute(
            "SELECT SUM(revenue) FROM sales WHERE sale_date >= ?", (f"{last_year}-01-01",)
        ).fetchone()
    assert f"${total_last_year:,.0f} in {last_year}" in text
    assert f"## Priorities for {last_year + 1}" in text and f"in {first_year}, on" in text
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
    assert json.loads((tmp_path / "demo" / MARKER_NAME).read_text(encoding="utf-8")) == {
        "years": list(demo_years())
    }


def test_documents_are_named_and_dated_after_the_years_they_cover(tmp_path: Path) -> None:
    names = [p.name for p in generate_documents(tmp_path, years=(2030, 2031))]
    assert "annual-review-2031.md" in names and "meeting-notes-2031-10-14.txt" in names
    notes = (tmp_path / "meeting-notes-2031-10-14.txt").read_text(encoding="utf-8")
    assert "14 October 2031" in notes and "ahead of 2030" in notes and "spring 2032" in notes
    every_text = "".join(p.read_text(encoding="utf-8") for p in tmp_path.iterdir())
    assert not any(str(year) in every_text for year in range(2020, 2030))  # no year is hard-wired


def test_stale_demo_data_is_regenerated_and_old_documents_are_kept(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    data = ensure_demo_data(root, today=date(2026, 11, 21))
    assert _last_sale_date(data.database).startswith("2025-12-")
    assert (data.documents / "annual-review-2025.md").is_file()
    (data.documents / "company-overview.md").write_text("my own notes", encoding="utf-8")

    assert ensure_demo_data(root, today=date(2027, 1, 1)) == data  # a new year: the data moves on
    assert _last_sale_date(data.database).startswith("2026-12-")
    assert (data.documents / "annual-review-2026.md").is_file()
    assert not (data.documents / "annual-review-2025.md").exists()
    assert "my own notes" not in (data.documents / "company-overview.md").read_text(encoding="utf-8")
    old = root / "documents-2024-2025"  # the old documents, edits included, are kept aside
    assert (old / "company-overview.md").read_text(encoding="utf-8") == "my own notes"
    assert (old / "annual-review-2025.md").is_file()
    assert json.loads((root / MARKER_NAME).read_text(encoding="utf-8")) == {"years": [2025, 2026]}

    db_mtime = data.database.stat().st_mtime_ns
    ensure_demo_data(root, today=date(2027, 6, 30))  # same years: left alone
    assert data.database.stat().st_mtime_ns == db_mtime
    assert sorted(p.name for p in root.iterdir() if p.name.startswith("documents")) == [
        "documents",
        "documents-2024-2025",
    ]

    ensure_demo_data(root, today=date(2026, 3, 1))  # back again: nothing kept aside is overwritten
    ensure_demo_data(root, today=date(2027, 3, 1))
    assert (old / "company-overview.md").read_text(encoding="utf-8") == "my own notes"
    assert (root / "documents-2024-2025-2" / "annual-review-2025.md").is_file()
    assert (root / "documents-2025-2026" / "annual-review-2026.md").is_file()


def test_demo_data_made_before_the_marker_is_dated_by_its_last_sale(tmp_path: Path) -> None:
    current, stale = tmp_path / "current", tmp_path / "stale"
    for root, years in ((current, demo_years()), (stale, (2022, 2023))):
        generate_database(root / DATABASE_NAME, years=years)
        generate_documents(root / "documents", years=years)
    db_mtime = (current / DATABASE_NAME).stat().st_mtime_ns

    ensure_demo_data(current)  # up to date: left alone, and now marked
    assert (current / DATABASE_NAME).stat().st_mtime_ns == db_mtime
    assert sorted(p.name for p in current.iterdir()) == [DATABASE_NAME, MARKER_NAME, "documents", "output"]
    assert json.loads((current / MARKER_NAME).read_text(encoding="utf-8")) == {"years": list(demo_years())}

    ensure_demo_data(stale)
    assert _last_sale_date(stale / DATABASE_NAME).startswith(f"{demo_years()[1]}-12-")
    assert (stale / "documents-2022-2023" / "annual-review-2023.md").is_file()
    assert (stale / "documents" / f"annual-review-{demo_years()[1]}.md").is_file()


def test_demo_dir_follows_the_environment_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECHELON_DEMO_DIR", str(tmp_path / "elsewhere"))
    assert demo_dir() == tmp_path / "elsewhere"
    assert ensure_demo_data().database.parent == tmp_path / "elsewhere"
    monkeypatch.delenv("ECHELON_DEMO_DIR")
    assert demo_dir().parts[-2:] == ("echelon", "demo")


def test_python_m_echelon_examples_generates_and_prints_the_paths(tmp_path: Path) -> None:
    env = {**os.environ, "ECHELON_DEMO_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "echelon.examples"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"database:  {tmp_path / DATABASE_NAME}" in done.stdout
    assert (tmp_path / DATABASE_NAME).is_file() and (tmp_path / "documents" / "sales-playbook.txt").is_file()
