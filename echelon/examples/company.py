"""A deterministic demo SQLite database for a fictional outdoor-gear company, Aurora Trail Gear.

The data covers two full calendar years. Only which years comes from the wall clock: by default the two years
before today (``demo_years()``), so a question about "last year" always finds data. Everything else comes from
a fixed seed: every run for the same years produces the same rows (a test can pin its content hash), and other
years produce the same figures with only the dates moved. It tells a story a data manager can find: in the
second year Mountain West grows about 30% over the first, Southwest shrinks about 10%, the other regions sit
in between, and every region peaks in early summer with a smaller holiday bump.
"""

from __future__ import annotations

import calendar
import os
import random
import sqlite3
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

COMPANY_NAME = "Aurora Trail Gear"
SEED = 20240917

# Relative order volume per calendar month (Jan..Dec): a summer peak and a smaller holiday bump.
SEASONALITY = (0.62, 0.66, 0.84, 1.00, 1.22, 1.38, 1.42, 1.28, 1.02, 0.90, 1.08, 1.30)


@dataclass(frozen=True)
class Region:
    """A sales region: ``base_revenue`` a month at seasonality 1.0 in the first year; ``growth``: the second
    year over the first."""

    region_id: int
    code: str
    name: str
    manager: str
    hub_city: str
    base_revenue: float
    growth: float


@dataclass(frozen=True)
class Product:
    product_id: int
    sku: str
    name: str
    category: str
    unit_price: float


@dataclass(frozen=True)
class Customer:
    customer_id: int
    name: str
    region_id: int
    segment: str


@dataclass(frozen=True)
class Sale:
    """One order line."""

    sale_id: int
    order_id: int
    sale_date: str
    region_id: int
    product_id: int
    customer_id: int
    quantity: int
    unit_price: float
    revenue: float


@dataclass(frozen=True)
class _Order:
    position: float  # where in the month the order falls, in [0, 1): orders are sorted by it
    sale_date: str
    region_id: int
    customer_id: int
    lines: list[tuple[Product, int, float]]


@dataclass
class Dataset:
    regions: tuple[Region, ...]
    products: tuple[Product, ...]
    years: tuple[int, int]  # (first year, last year): two consecutive calendar years
    customers: list[Customer] = field(default_factory=list[Customer])
    sales: list[Sale] = field(default_factory=list[Sale])


REGIONS: tuple[Region, ...] = (
    Region(1, "PNW", "Pacific Northwest", "Maya Okafor", "Portland", 52_000, 1.06),
    Region(2, "MTW", "Mountain West", "Luis Carranza", "Denver", 27_000, 1.30),
    Region(3, "GLK", "Great Lakes", "Hannah Berg", "Chicago", 34_000, 1.12),
    Region(4, "NEA", "Northeast", "Samuel Whitford", "Boston", 45_000, 1.02),
    Region(5, "SWS", "Southwest", "Elena Ruiz", "Phoenix", 30_000, 0.88),
)

_CATALOG: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = (
    (
        "Tents & Shelters",
        (
            ("Ridgeline 2P Backpacking Tent", 389.00),
            ("Basecamp 6P Family Tent", 529.00),
            ("Skyline Ultralight Tarp", 149.00),
            ("Alpine Bivy Sack", 219.00),
        ),
    ),
    (
        "Packs",
        (
            ("Summit 45L Trekking Pack", 239.00),
            ("Trailhead 22L Daypack", 99.00),
            ("Expedition 70L Pack", 329.00),
            ("Hydra 2L Hydration Vest", 129.00),
        ),
    ),
    (
        "Footwear",
        (
            ("Granite Mid Hiking Boot", 189.00),
            ("Switchback Trail Runner", 139.00),
            ("Canyon Sport Sandal", 79.00),
            ("Glacier Insulated Boot", 229.00),
        ),
    ),
    (
        "Apparel",
        (
            ("Stormshell Rain Jacket", 199.00),
            ("Ember Down Jacket", 279.00),
            ("Trailblend Merino Base Layer", 89.00),
            ("Ridge Convertible Pant", 85.00),
            ("Sunward UPF Hoodie", 65.00),
        ),
    ),
    (
        "Camp Kitchen",
        (
            ("Firefly Canister Stove", 69.00),
            ("Nesting Cook Set", 59.00),
            ("Everclear Water Filter", 45.00),
            ("Insulated Camp Mug", 24.00),
        ),
    ),
    (
        "Climbing",
        (
            ("Crux Climbing Harness", 74.00),
            ("Vertex Dynamic Rope 60m", 249.00),
            ("Lockdown Carabiner 6-Pack", 54.00),
        ),
    ),
    (
        "Sleep Systems",
        (
            ("Driftwood 20F Sleeping Bag", 259.00),
            ("Cloudrest Sleeping Pad", 119.00),
            ("Packable Camp Pillow", 35.00),
        ),
    ),
)

# How strongly each category sells in each month (Jan..Dec), on top of the overall seasonality.
_CATEGORY_MONTH_AFFINITY: dict[str, tuple[float, ...]] = {
    "Tents & Shelters": (0.5, 0.6, 0.9, 1.1, 1.4, 1.5, 1.5, 1.3, 1.0, 0.7, 0.5, 0.6),
    "Packs": (0.8, 0.8, 1.0, 1.1, 1.2, 1.2, 1.2, 1.2, 1.1, 0.9, 0.9, 1.1),
    "Footwear": (0.9, 0.9, 1.1, 1.2, 1.2, 1.1, 1.0, 1.0, 1.1, 1.0, 0.9, 1.0),
    "Apparel": (1.4, 1.3, 1.0, 0.9, 0.8, 0.7, 0.7, 0.8, 1.0, 1.3, 1.5, 1.6),
    "Camp Kitchen": (0.7, 0.7, 0.9, 1.0, 1.2, 1.3, 1.3, 1.2, 1.0, 0.8, 0.9, 1.2),
    "Climbing": (0.8, 0.9, 1.1, 1.2, 1.2, 1.1, 1.0, 1.1, 1.2, 1.1, 0.9, 0.8),
    "Sleep Systems": (0.8, 0.8, 0.9, 1.0, 1.2, 1.3, 1.3, 1.2, 1.0, 0.9, 1.0, 1.1),
}

# segment -> (share of customers, quantity range per line, discount choices)
_SEGMENTS: dict[str, tuple[float, tuple[int, int], tuple[float, ...]]] = {
    "Retail": (0.55, (1, 2), (0.0,)),
    "Online": (0.25, (1, 3), (0.0, 0.0, 0.10)),
    "Outfitter": (0.12, (2, 6), (0.10, 0.15)),
    "Corporate": (0.08, (3, 8), (0.05, 0.12)),
}

_FIRST = (
    "Alder",
    "Birch",
    "Cedar",
    "Juniper",
    "Aspen",
    "Willow",
    "Sage",
    "Hawthorn",
    "Rowan",
    "Laurel",
    "Maple",
    "Spruce",
    "Larch",
    "Hazel",
    "Linden",
    "Cypress",
)
_SECOND = (
    "Ridge",
    "Creek",
    "Summit",
    "Hollow",
    "Basin",
    "Meadow",
    "Canyon",
    "Harbor",
    "Prairie",
    "Falls",
    "Peak",
    "Grove",
)
_KIND = {
    "Retail": ("Trading Post", "Outdoor Shop", "Mercantile", "General Store"),
    "Online": ("Online", "Direct", "Web Store"),
    "Outfitter": ("Outfitters", "Guides", "Expeditions", "Adventure Co."),
    "Corporate": ("Corporation", "Holdings", "Group", "Partners"),
}

CUSTOMERS_PER_1000_REVENUE = 1.6  # customers per 1,000 of a region's base monthly revenue


def demo_years(today: date | None = None) -> tuple[int, int]:
    """The two full calendar years before ``today`` (default: the current date), oldest first."""
    today = today if today is not None else date.today()
    return (today.year - 2, today.year - 1)


def build_products() -> tuple[Product, ...]:
    """The fixed catalog, with stable ids and SKUs."""
    products: list[Product] = []
    for cat_index, (category, items) in enumerate(_CATALOG, start=1):
        for item_index, (name, price) in enumerate(items, start=1):
            pid = len(products) + 1
            products.append(Product(pid, f"ATG-{cat_index}{item_index:02d}", name, category, price))
    return tuple(products)


def _build_customers(rng: random.Random) -> list[Customer]:
    segments = list(_SEGMENTS)
    weights = [_SEGMENTS[s][0] for s in segments]
    customers: list[Customer] = []
    used: set[str] = set()
    for region in REGIONS:
        count = round(region.base_revenue / 1000 * CUSTOMERS_PER_1000_REVENUE)
        for _ in range(count):
            segment = rng.choices(segments, weights)[0]
            while True:
                base = f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {rng.choice(_KIND[segment])}"
                name = base if base not in used else f"{base} ({region.hub_city})"
                if name not in used:
                    break
            used.add(name)
            customers.append(Customer(len(customers) + 1, name, region.region_id, segment))
    return customers


def _month_product_weights(products: tuple[Product, ...], month: int) -> list[float]:
    # Cheaper items sell more often; categories follow their own seasonal affinity.
    return [
        _CATEGORY_MONTH_AFFINITY[p.category][month - 1] * (120.0 / (p.unit_price + 60.0)) for p in products
    ]


def _region_month(
    rng: random.Random,
    year: int,
    month: int,
    grown: bool,
    region: Region,
    customers: list[Customer],
    products: tuple[Product, ...],
    weights: list[float],
) -> list[_Order]:
    """Orders for one region and month, drawn until the month's revenue target is met.

    Drawing to a revenue target (rather than a fixed order count) keeps each region's year-over-year growth
    close to its designed rate despite the heavy tail of large outfitter and corporate orders. The random
    draws do not depend on ``year`` (not even on the length of February), so all years get the same figures.
    """
    growth = region.growth if grown else 1.0
    target = region.base_revenue * SEASONALITY[month - 1] * growth * rng.uniform(0.95, 1.05)
    days = calendar.monthrange(year, month)[1]
    orders: list[_Order] = []
    total = 0.0
    while True:
        customer = rng.choice(customers)
        _share, (q_lo, q_hi), discounts = _SEGMENTS[customer.segment]
        discount = rng.choice(discounts)
        line_count = rng.choices((1, 2, 3, 4), (0.35, 0.33, 0.2, 0.12))[0]
        lines: list[tuple[Product, int, float]] = []
        for product in _distinct_products(rng, products, weights, line_count):
            unit_price = round(product.unit_price * (1.0 - discount), 2)
            lines.append((product, rng.randint(q_lo, q_hi), unit_price))
        position = rng.random()  # exactly one draw whatever the month's length
        day = 1 + int(position * days)
        revenue = sum(quantity * price for _p, quantity, price in lines)
        if total + revenue > target and total + revenue - target > target - total:
            return orders  # stopping here lands closer to the target than taking this order
        total += revenue
        orders.append(
            _Order(
                position, f"{year:04d}-{month:02d}-{day:02d}", region.region_id, customer.customer_id, lines
            )
        )


def build_dataset(seed: int = SEED, years: tuple[int, int] | None = None) -> Dataset:
    """Every row of the demo database, computed in memory from ``seed`` (pure and deterministic).

    ``years`` (default ``demo_years()``) are two consecutive years; growth applies in the second. Other years
    give the same rows in the same order, with only ``sale_date`` moved.
    """
    first, last = years if years is not None else demo_years()
    if last != first + 1:
        raise ValueError(f"years must be two consecutive years, got {(first, last)}")
    rng = random.Random(seed)
    products = build_products()
    customers = _build_customers(rng)
    by_region: dict[int, list[Customer]] = {r.region_id: [] for r in REGIONS}
    for customer in customers:
        by_region[customer.region_id].append(customer)
    data = Dataset(regions=REGIONS, products=products, years=(first, last), customers=customers)
    order_id = 0
    for year in (first, last):
        for month in range(1, 13):
            weights = _month_product_weights(products, month)
            orders: list[_Order] = []
            for region in REGIONS:
                orders += _region_month(
                    rng, year, month, year == last, region, by_region[region.region_id], products, weights
                )
            # Chronological (the day grows with the position), and the same order in every year pair: sorting
            # on the day itself would break its ties differently when February has 29 days.
            orders.sort(key=lambda o: (o.position, o.region_id))
            for order in orders:
                order_id += 1
                for product, quantity, unit_price in order.lines:
                    data.sales.append(
                        Sale(
                            sale_id=len(data.sales) + 1,
                            order_id=order_id,
                            sale_date=order.sale_date,
                            region_id=order.region_id,
                            product_id=product.product_id,
                            customer_id=order.customer_id,
                            quantity=quantity,
                            unit_price=unit_price,
                            revenue=round(quantity * unit_price, 2),
                        )
                    )
    return data


def _distinct_products(
    rng: random.Random, products: tuple[Product, ...], weights: list[float], count: int
) -> list[Product]:
    chosen: list[Product] = []
    while len(chosen) < count:
        product = rng.choices(products, weights)[0]
        if product not in chosen:
            chosen.append(product)
    return chosen


SCHEMA = """
CREATE TABLE regions (
    region_id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    manager TEXT NOT NULL,
    hub_city TEXT NOT NULL
);
CREATE TABLE products (
    product_id INTEGER PRIMARY KEY,
    sku TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    unit_price REAL NOT NULL CHECK (unit_price > 0)
);
CREATE TABLE customers (
    customer_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    region_id INTEGER NOT NULL REFERENCES regions(region_id),
    segment TEXT NOT NULL CHECK (segment IN ('Retail', 'Online', 'Outfitter', 'Corporate'))
);
CREATE TABLE sales (
    sale_id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL,
    sale_date TEXT NOT NULL,
    region_id INTEGER NOT NULL REFERENCES regions(region_id),
    product_id INTEGER NOT NULL REFERENCES products(product_id),
    customer_id INTEGER NOT NULL REFERENCES customers(customer_id),
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    unit_price REAL NOT NULL,
    revenue REAL NOT NULL
);
CREATE INDEX idx_sales_date ON sales(sale_date);
CREATE INDEX idx_sales_region_date ON sales(region_id, sale_date);
CREATE INDEX idx_sales_product ON sales(product_id);
CREATE INDEX idx_sales_customer ON sales(customer_id);
CREATE INDEX idx_customers_region ON customers(region_id);
CREATE VIEW monthly_region_revenue AS
    SELECT substr(s.sale_date, 1, 7) AS month, r.name AS region,
           COUNT(*) AS order_lines, SUM(s.quantity) AS units, ROUND(SUM(s.revenue), 2) AS revenue
    FROM sales s JOIN regions r ON r.region_id = s.region_id
    GROUP BY month, r.name;
"""


def _write(conn: sqlite3.Connection, data: Dataset) -> None:
    conn.execute("PRAGMA foreign_keys = ON")
    conn.executescript(SCHEMA)
    with conn:
        conn.executemany(
            "INSERT INTO regions VALUES (?, ?, ?, ?, ?)",
            [(r.region_id, r.code, r.name, r.manager, r.hub_city) for r in data.regions],
        )
        conn.executemany(
            "INSERT INTO products VALUES (?, ?, ?, ?, ?)",
            [(p.product_id, p.sku, p.name, p.category, p.unit_price) for p in data.products],
        )
        conn.executemany(
            "INSERT INTO customers VALUES (?, ?, ?, ?)",
            [(c.customer_id, c.name, c.region_id, c.segment) for c in data.customers],
        )
        conn.executemany(
            "INSERT INTO sales VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    s.sale_id,
                    s.order_id,
                    s.sale_date,
                    s.region_id,
                    s.product_id,
                    s.customer_id,
                    s.quantity,
                    s.unit_price,
                    s.revenue,
                )
                for s in data.sales
            ],
        )
    conn.execute("ANALYZE")


def generate_database(path: Path, seed: int = SEED, years: tuple[int, int] | None = None) -> Path:
    """Write the demo database for ``years`` (default ``demo_years()``) to ``path`` atomically (temp file +
    rename) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = build_dataset(seed, years)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        conn = sqlite3.connect(tmp)
        try:
            _write(conn, data)
        finally:
            conn.close()
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def canonical_dump(path: Path) -> str:
    """The database as SQL text in a stable order: equal dumps mean equal content."""
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def fastest_region(database: Path) -> tuple[str, float]:
    """The region whose revenue grew most last year, and by how many percent: the demo question's true answer,
    read from the database (so tests and benchmarks check answers against data, not a remembered figure)."""
    first, last = (str(year) for year in demo_years())
    conn = sqlite3.connect(f"{Path(database).resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT region, SUM(CASE WHEN month LIKE ? || '%' THEN revenue END),"
            " SUM(CASE WHEN month LIKE ? || '%' THEN revenue END) FROM monthly_region_revenue GROUP BY region",
            (first, last),
        ).fetchall()
    finally:
        conn.close()
    return max(((name, (after / before - 1.0) * 100.0) for name, before, after in rows), key=lambda r: r[1])
