"""A small SQLite shop database for the SQL worker's tests (built in tmp_path, independent of examples/)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    region TEXT DEFAULT 'north',
    photo BLOB
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    total REAL,
    created TEXT
);
CREATE UNIQUE INDEX idx_customers_name ON customers(name);
CREATE INDEX idx_orders_customer ON orders(customer_id, created);
CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
"""


def make_database(path: Path, orders: int = 12) -> Path:
    """A small shop: 3 customers, ``orders`` orders, one view."""
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    conn.executemany(
        "INSERT INTO customers VALUES (?, ?, ?, ?)",
        [(1, "Ada", "north", b"\x01\x02"), (2, "Bob", "south", None), (3, "Cy", "east", None)],
    )
    conn.executemany(
        "INSERT INTO orders (customer_id, total, created) VALUES (?, ?, ?)",
        [(1 + i % 3, 40.0 * (i + 1), f"2024-{1 + i % 12:02d}-01") for i in range(orders)],
    )
    conn.commit()
    conn.close()
    return path
