"""Demo documents about Aurora Trail Gear: memos, notes and policies for the docs worker to index.

The text is written here and filled with figures computed from the same seeded data as the demo database, so a
question answered from the documents and one answered with SQL agree. The documents speak about the same
years as the database (file names included); for given years the output is deterministic.
"""

from __future__ import annotations

import calendar
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from ._figures import Figures, compute_figures, money, pct
from .company import build_dataset


def _overview(f: Figures) -> str:
    regions = "\n".join(
        f"- **{r.region.name}** — hub in {r.region.hub_city}, led by {r.region.manager}; "
        f"{r.customers} active accounts."
        for r in f.regions
    )
    categories = ", ".join(name for name, _ in sorted(f.category_revenue))
    first, last = f.years
    return f"""# {f.company} — Company Overview

{f.company} designs and sells outdoor equipment for hikers, climbers and campers. We sell through our own
retail partners, an online store, professional outfitters and corporate programs.

## At a glance

- Revenue {first}: {money(f.revenue[first])}
- Revenue {last}: {money(f.revenue[last])} ({pct(f.growth_pct)} year over year)
- Orders {last}: {f.orders[last]:,}
- Catalog: {f.product_count} products in seven categories ({categories}),
  list prices from {money(f.price_range[0])} to {money(f.price_range[1])}.

## Regions

We organize sales in five regions:

{regions}

## Mission

Make reliable gear that lasts a decade of weekends, and repair it when it does not.
"""


def _annual_review(f: Figures) -> str:
    first, last = f.years
    rows = "\n".join(
        f"| {r.region.name} | {money(r.revenue[first])} | {money(r.revenue[last])} | {pct(r.growth_pct)} |"
        for r in sorted(f.regions, key=lambda r: -r.growth_pct)
    )
    top = "\n".join(
        f"{i}. {name} ({category}) — {money(amount)}"
        for i, (name, category, amount) in enumerate(f.top_products, 1)
    )
    fast, slow = f.fastest, f.slowest
    return f"""# {last} Annual Review

To: {f.company} leadership team
From: Finance and Sales Operations
Subject: Results for fiscal year {last}

## Summary

Total revenue reached {money(f.revenue[last])} in {last}, {pct(f.growth_pct)} against
{money(f.revenue[first])} in {first}, on {f.orders[last]:,} orders. Growth was uneven: **{fast.region.name}** was
the fastest-growing region at {pct(fast.growth_pct)}, while **{slow.region.name}** declined
{abs(slow.growth_pct):.1f}%.

## Revenue by region

| Region | {first} | {last} | Change |
|---|---|---|---|
{rows}

## Best sellers in {last}

{top}

## What drove the year

- {fast.region.name}: the {fast.region.hub_city} flagship opening in March and the new outfitter partnerships
  around the national parks paid off faster than planned.
- {slow.region.name}: a new big-box competitor in {slow.region.hub_city} and an extreme summer heat wave cut
  retail traffic; online orders held up better than store orders.
- Seasonality stayed familiar: {f.peak_month()} was the strongest month and {f.low_month()} the weakest.

## Priorities for {f.next_year}

1. Replicate the {fast.region.name} outfitter program in the Great Lakes and Pacific Northwest.
2. Execute the {slow.region.name} turnaround plan (see the regional strategy memo).
3. Keep discount depth below the policy ceiling while growing corporate accounts.
"""


def _mountain_west(f: Figures) -> str:
    r = f.region("Mountain West")
    first, last = f.years
    return f"""# Regional Strategy Memo: Mountain West

{f.company} — Owner: {r.region.manager}, Regional Director ({r.region.hub_city})

## Where we stand

Mountain West is our fastest-growing region. Revenue went from {money(r.revenue[first])} in {first} to
{money(r.revenue[last])} in {last} ({pct(r.growth_pct)}), with orders up from {r.orders[first]:,} to
{r.orders[last]:,}.

## Why it works

- The {r.region.hub_city} flagship store opened in March {last} and doubles as a demo and repair center.
- Guided-trip outfitters near the national parks buy tents and packs in volume before each summer season.
- Climbing gyms along the Front Range became reliable corporate accounts for harnesses and ropes.

## Plan for {f.next_year}

- Add two outfitter partners in Utah and Montana.
- Stock the Glacier Insulated Boot and Ember Down Jacket earlier for the winter season.
- Keep the growth profitable: hold outfitter discounts at 15% or less.
"""


def _southwest(f: Figures) -> str:
    r = f.region("Southwest")
    first, last = f.years
    return f"""# Regional Strategy Memo: Southwest Turnaround

{f.company} — Owner: {r.region.manager}, Regional Director ({r.region.hub_city})

## Situation

Southwest revenue fell from {money(r.revenue[first])} in {first} to {money(r.revenue[last])} in {last}
({pct(r.growth_pct)}). It is the only region that declined.

## Causes

1. A national big-box chain opened three stores in the {r.region.hub_city} metro area in early {last}.
2. Record summer heat shortened the hiking season; June and July store traffic dropped sharply.
3. Two long-standing retail partners closed their outdoor departments.

## Turnaround plan

- Shift marketing to the shoulder seasons (October–April), when the desert trails are busiest.
- Push the Sunward UPF Hoodie and Canyon Sport Sandal, which fit the climate.
- Grow online sales with two-day shipping from the {r.region.hub_city} warehouse.
- Review the region again at the end of Q2 {f.next_year}; target: back to flat year over year.
"""


def _catalog(f: Figures) -> str:
    categories = "\n".join(
        f"- {name}: {money(amount)} in {f.last_year} sales" for name, amount in f.category_revenue
    )
    return f"""# Product Catalog Notes

The {f.company} catalog holds {f.product_count} products. List prices run from {money(f.price_range[0])}
(Insulated Camp Mug) to {money(f.price_range[1])} (Basecamp 6P Family Tent). SKUs follow the pattern
ATG-<category><item>.

## Categories by {f.last_year} revenue

{categories}

## Notes by category

- Tents & Shelters sell in spring and early summer; order family tents before April.
- Apparel is counter-seasonal: the Ember Down Jacket and merino base layers peak from October to January.
- Footwear returns are the highest in the catalog; fitting advice at the counter reduces them.
- Camp Kitchen items are frequent add-ons to tent and pack orders.
- Climbing gear sells mostly to outfitters and gyms, in quantities of three or more.
"""


def _playbook(f: Figures) -> str:
    aov = f.revenue[f.last_year] / f.orders[f.last_year]
    return f"""AURORA TRAIL GEAR — SALES PLAYBOOK

1. Know the customer segment
   Retail partners order one or two units per line. Outfitters and corporate accounts order in volume
   and receive a negotiated discount (see the pricing and discount policy).

2. Lead with the system, not the item
   A tent sells better with a sleeping pad, a sleeping bag and a stove. The average {f.last_year} order was
   {money(aov)}; bundles push it higher.

3. Follow the seasons
   Stock tents, packs and camp kitchen gear from March; apparel and insulated boots from September.
   {f.peak_month()} is the busiest month of the year, {f.low_month()} the quietest.

4. Close the loop
   Log every account visit in the CRM within 24 hours. Flag churn risks to the regional director.

5. Escalation
   Discounts above the policy ceiling need approval from the VP of Sales.
"""


def _meeting_notes(f: Figures) -> str:
    fast, slow = f.fastest, f.slowest
    return f"""{f.company} leadership meeting notes — 14 October {f.last_year}

Attendees: CEO, CFO, VP Sales, all five regional directors

1. Q3 results
   - Year to date the company is ahead of {f.first_year}. {fast.region.name} keeps leading growth.
   - {slow.region.name} is behind plan; {slow.region.manager} presented the turnaround plan.

2. Decisions
   - Approve two new outfitter partners in {fast.region.name} for spring {f.next_year}.
   - Freeze new retail accounts in {slow.region.name} until the online channel is fixed.
   - Finance to publish the {f.last_year} annual review in January.

3. Action items
   - {fast.region.manager}: share the outfitter onboarding checklist with the other regions.
   - {slow.region.manager}: shoulder-season campaign draft by 1 November.
   - VP Sales: update the sales playbook with bundle pricing.
"""


def _segments(f: Figures) -> str:
    rows = "\n".join(f"| {seg} | {count} |" for seg, count in f.customers_by_segment.items())
    return f"""# Customer Segments

Who buys from {f.company}, by number of active accounts.

| Segment | Accounts |
|---|---|
{rows}

- **Retail**: independent outdoor shops and general stores; small, frequent orders.
- **Online**: our web store and marketplace resellers; free returns within 60 days.
- **Outfitter**: guide services and trip operators; buy in volume before each season.
- **Corporate**: gyms, schools and company programs; annual contracts with fixed discounts.
"""


def _pricing_html(f: Figures) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Pricing and Discount Policy</title>
<style>body {{ font-family: sans-serif; }} .hidden-note {{ display: none; }}</style>
<script>window.analyticsId = "tracking-should-not-be-indexed";</script>
</head>
<body>
<h1>Pricing and Discount Policy</h1>
<p>Aurora Trail Gear sets list prices once a year in January; they apply to every channel.</p>
<h2>Discount ceilings by segment</h2>
<ul>
<li>Retail: no discount off list price.</li>
<li>Online: up to 10% during the two seasonal promotions.</li>
<li>Outfitter: 10% standard, 15% for partners ordering before the season.</li>
<li>Corporate: 5% to 12% by annual contract.</li>
</ul>
<p>Any discount above the ceiling needs written approval from the VP of Sales.
Price matching against big-box competitors is allowed only in the Southwest region
during the {f.next_year} turnaround.</p>
</body>
</html>
"""


def _seasonality_html(f: Figures) -> str:
    first, last = f.years
    rows = "\n".join(
        f"<tr><td>{calendar.month_name[m]}</td><td>{money(f.monthly_revenue[first][m - 1])}</td>"
        f"<td>{money(f.monthly_revenue[last][m - 1])}</td></tr>"
        for m in range(1, 13)
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Seasonality Brief</title></head>
<body>
<h1>Seasonality Brief</h1>
<p>Demand for {f.company} gear peaks in early summer and again before the holidays. {f.peak_month()} is the strongest month,
{f.low_month()} the weakest. Plan inventory and staffing around this curve.</p>
<table>
<tr><th>Month</th><th>{first}</th><th>{last}</th></tr>
{rows}
</table>
</body>
</html>
"""


def _returns_faq(_f: Figures) -> str:
    return """Returns and warranty FAQ

Q: How long is the warranty?
A: Every Aurora Trail Gear product carries a ten-year warranty against defects in materials and workmanship.

Q: Can customers return used gear?
A: Yes, within 60 days for online orders and 30 days at retail partners, with proof of purchase.

Q: Who pays for repairs?
A: Repairs under warranty are free. Wear-and-tear repairs are done at cost at the Denver repair center.
"""


# File name (``{first}``/``{last}``: the data's first and last year) -> renderer.
DOCUMENTS: dict[str, Callable[[Figures], str]] = {
    "company-overview.md": _overview,
    "annual-review-{last}.md": _annual_review,
    "regional-strategy-mountain-west.md": _mountain_west,
    "regional-strategy-southwest.md": _southwest,
    "product-catalog-notes.md": _catalog,
    "customer-segments.md": _segments,
    "sales-playbook.txt": _playbook,
    "meeting-notes-{last}-10-14.txt": _meeting_notes,
    "returns-and-warranty-faq.txt": _returns_faq,
    "pricing-and-discount-policy.html": _pricing_html,
    "seasonality-brief.html": _seasonality_html,
}


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def document_names(years: tuple[int, int]) -> list[str]:
    """The file names of the documents about ``years`` (first year, last year), in ``DOCUMENTS`` order."""
    first, last = years
    return [name.format(first=first, last=last) for name in DOCUMENTS]


def generate_documents(folder: Path, years: tuple[int, int] | None = None) -> list[Path]:
    """Write the demo documents about ``years`` (default ``demo_years()``) into ``folder`` (created if needed)
    and return their paths, sorted."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    figures = compute_figures(build_dataset(years=years))
    paths: list[Path] = []
    for name, render in zip(document_names(figures.years), DOCUMENTS.values(), strict=True):
        path = folder / name
        _write_atomic(path, render(figures))
        paths.append(path)
    return sorted(paths)
