"""Figures computed from the seeded demo dataset: the documents quote the same numbers the database holds."""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from dataclasses import dataclass

from .company import COMPANY_NAME, Dataset, Region, build_dataset


@dataclass(frozen=True)
class RegionFigures:
    region: Region
    revenue: dict[int, float]
    orders: dict[int, int]
    customers: int

    @property
    def growth_pct(self) -> float:
        return (self.revenue[2025] / self.revenue[2024] - 1.0) * 100.0


@dataclass(frozen=True)
class Figures:
    company: str
    revenue: dict[int, float]
    orders: dict[int, int]
    order_lines: int
    regions: list[RegionFigures]
    top_products_2025: list[tuple[str, str, float]]
    category_revenue_2025: list[tuple[str, float]]
    monthly_revenue: dict[int, list[float]]
    customers_by_segment: dict[str, int]
    product_count: int
    price_range: tuple[float, float]

    @property
    def growth_pct(self) -> float:
        return (self.revenue[2025] / self.revenue[2024] - 1.0) * 100.0

    @property
    def fastest(self) -> RegionFigures:
        return max(self.regions, key=lambda r: r.growth_pct)

    @property
    def slowest(self) -> RegionFigures:
        return min(self.regions, key=lambda r: r.growth_pct)

    def region(self, name: str) -> RegionFigures:
        return next(r for r in self.regions if r.region.name == name)

    def peak_month(self) -> str:
        both = [a + b for a, b in zip(self.monthly_revenue[2024], self.monthly_revenue[2025], strict=True)]
        return calendar.month_name[both.index(max(both)) + 1]

    def low_month(self) -> str:
        both = [a + b for a, b in zip(self.monthly_revenue[2024], self.monthly_revenue[2025], strict=True)]
        return calendar.month_name[both.index(min(both)) + 1]


def compute_figures(data: Dataset | None = None) -> Figures:
    """Aggregate the dataset into the handful of numbers the documents quote."""
    data = data if data is not None else build_dataset()
    revenue: dict[int, float] = defaultdict(float)
    region_revenue: dict[tuple[int, int], float] = defaultdict(float)
    orders: dict[int, set[int]] = defaultdict(set)
    region_orders: dict[tuple[int, int], set[int]] = defaultdict(set)
    product_2025: dict[int, float] = defaultdict(float)
    monthly: dict[int, list[float]] = {2024: [0.0] * 12, 2025: [0.0] * 12}
    for sale in data.sales:
        year, month = int(sale.sale_date[:4]), int(sale.sale_date[5:7])
        revenue[year] += sale.revenue
        region_revenue[(sale.region_id, year)] += sale.revenue
        orders[year].add(sale.order_id)
        region_orders[(sale.region_id, year)].add(sale.order_id)
        monthly[year][month - 1] += sale.revenue
        if year == 2025:
            product_2025[sale.product_id] += sale.revenue
    customers_per_region = Counter(c.region_id for c in data.customers)
    regions = [
        RegionFigures(
            region=r,
            revenue={y: region_revenue[(r.region_id, y)] for y in (2024, 2025)},
            orders={y: len(region_orders[(r.region_id, y)]) for y in (2024, 2025)},
            customers=customers_per_region[r.region_id],
        )
        for r in data.regions
    ]
    by_id = {p.product_id: p for p in data.products}
    top = sorted(product_2025.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    categories: dict[str, float] = defaultdict(float)
    for pid, amount in product_2025.items():
        categories[by_id[pid].category] += amount
    prices = [p.unit_price for p in data.products]
    return Figures(
        company=COMPANY_NAME,
        revenue={y: revenue[y] for y in (2024, 2025)},
        orders={y: len(orders[y]) for y in (2024, 2025)},
        order_lines=len(data.sales),
        regions=regions,
        top_products_2025=[(by_id[pid].name, by_id[pid].category, amount) for pid, amount in top],
        category_revenue_2025=sorted(categories.items(), key=lambda kv: (-kv[1], kv[0])),
        monthly_revenue=monthly,
        customers_by_segment=dict(sorted(Counter(c.segment for c in data.customers).items())),
        product_count=len(data.products),
        price_range=(min(prices), max(prices)),
    )


def money(amount: float) -> str:
    return f"${amount:,.0f}"


def pct(value: float) -> str:
    return f"{value:+.1f}%"
