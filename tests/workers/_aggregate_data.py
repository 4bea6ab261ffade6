"""The databases and the SQL oracle the aggregate and compare_periods tests share."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from tests.workers._shop_db import make_database


def query(database: Path, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
    """The oracle: plain SQL on the file, outside the worker."""
    conn = sqlite3.connect(database)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def add_2025_orders(database: Path) -> None:
    conn = sqlite3.connect(database)
    with conn:
        conn.executemany(
            "INSERT INTO orders (customer_id, total, created) VALUES (?, ?, ?)",
            [(1, 900.0, "2025-03-01"), (2, 100.0, "2025-04-01"), (3, 700.0, "2025-05-01")],
        )
    conn.close()


def shop_database(folder: Path) -> Path:
    """The shop database with orders in 2024 and 2025."""
    database = make_database(folder / "shop.db")
    add_2025_orders(database)
    return database


def groups(result: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(*r["group"].values(), r["value"]) for r in result["rows"]]
