"""Figures computed from the seeded demo dataset: the documents quote the same numbers the database holds."""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from dataclasses import dataclass

from .company import COMPANY_NAME, Dataset, Region, build_dataset


@dataclass(frozen=True)
class RegionFigures:
    region: Region
    years: tuple[int, int]
    revenue: dict[int, float]
    orders: dict[int, int]
    customers: int

    @property
    def growth_pct(self) -> float:
        first, last = self.years
        return (self.revenue[last] / self.revenue[first] - 1.0) * 100.0


@dataclass(frozen=True)
class Figures:
    company: str
    years: tuple[int, int]  # (first year, last year) of the data
    revenue: dict[int, float]
    orders: dict[int, int]
    order_lines: int
    regions: list[RegionFigures]
    top_products: list[tuple[str, str, float]]  # best sellers of the last year
    category_revenue: list[tuple[str, float]]  # revenue by category in the last year
    monthly_revenue: dict[int, list[float]]
    customers_by_segment: dict[str, int]
    product_count: int
    price_range: tuple[float, float]

    @property
    def first_year(self) -> int:
        return self.years[0]

    @property
    def last_year(self) -> int:
        return self.years[1]

    @property
    def next_year(self) -> int:
        """The year after the data: the one the plans in the documents are for."""
        return self.years[1] + 1

    @property
    def growth_pct(self) -> float:
        return (self.revenue[self.last_year] / self.revenue[self.first_year] - 1.0) * 100.0

    @property
    def fastest(self) -> RegionFigures:
        return max(self.regions, key=lambda r: r.growth_pct)

    @property
    def slowest(self) -> RegionFigures:
        return min(self.regions, key=lambda r: r.growth_pct)

    def region(self, name: str) -> RegionFigures:
        return next(r for r in self.regions if r.region.name == name)

    def _both_years_by_month(self) -> list[float]:
        first, last = self.monthly_revenue[self.first_year], self.monthly_revenue[self.last_year]
        return [a + b for a, b in zip(first, last, strict=True)]

    def peak_month(self) -> str:
        both = self._both_years_by_month()
        return calendar.month_name[both.index(max(both)) + 1]

    def low_month(self) -> str:
        both = self._both_years_by_month()
        return calendar.month_name[both.index(min(both)) + 1]


def compute_figures(data: Dataset | None = None) -> Figures:
    """Aggregate the dataset (default ``build_dataset()``) into the handful of numbers the documents quote."""
    data = data if data is not None else build_dataset()
    years = data.years
    last = years[1]
    revenue: dict[int, float] = defaultdict(float)
    region_revenue: dict[tuple[int, int], float] = defaultdict(float)
    orders: dict[int, set[int]] = defaultdict(set)
    region_orders: dict[tuple[int, int], set[int]] = defaultdict(set)
    product_last: dict[int, float] = defaultdict(float)
    monthly: dict[int, list[float]] = {y: [0.0] * 12 for y in years}
    for sale in data.sales:
        year, month = int(sale.sale_date[:4]), int(sale.sale_date[5:7])
        revenue[year] += sale.revenue
        region_revenue[(sale.region_id, year)] += sale.revenue
        orders[year].add(sale.order_id)
        region_orders[(sale.region_id, year)].add(sale.order_id)
        monthly[year][month - 1] += sale.revenue
        if year == last:
            product_last[sale.product_id] += sale.revenue
    customers_per_region = Counter(c.region_id for c in data.customers)
    regions = [
        RegionFigures(
            region=r,
            years=years,
            revenue={y: region_revenue[(r.region_id, y)] for y in years},
            orders={y: len(region_orders[(r.region_id, y)]) for y in years},
            customers=customers_per_region[r.region_id],
        )
        for r in data.regions
    ]
    by_id = {p.product_id: p for p in data.products}
    top = sorted(product_last.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    categories: dict[str, float] = defaultdict(float)
    for pid, amount in product_last.items():
        categories[by_id[pid].category] += amount
    prices = [p.unit_price for p in data.products]
    return Figures(
        company=COMPANY_NAME,
        years=years,
        revenue={y: revenue[y] for y in years},
        orders={y: len(orders[y]) for y in years},
        order_lines=len(data.sales),
        regions=regions,
        top_products=[(by_id[pid].name, by_id[pid].category, amount) for pid, amount in top],
        category_revenue=sorted(categories.items(), key=lambda kv: (-kv[1], kv[0])),
        monthly_revenue=monthly,
        customers_by_segment=dict(sorted(Counter(c.segment for c in data.customers).items())),
        product_count=len(data.products),
        price_range=(min(prices), max(prices)),
    )


def money(amount: float) -> str:
    return f"${amount:,.0f}"


def pct(value: float) -> str:
    return f"{value:+.1f}%"
