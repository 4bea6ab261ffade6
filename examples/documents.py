"""Demo documents about Aurora Trail Gear: memos, notes and policies for the docs worker to index.

The text is written here and filled with figures computed from the same seeded data as the demo database, so a
question answered from the documents and one answered with SQL agree. Output is deterministic.
"""

from __future__ import annotations

import calendar
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from ._figures import Figures, compute_figures, money, pct


def _overview(f: Figures) -> str:
    regions = "\n".join(
        f"- **{r.region.name}** — hub in {r.region.hub_city}, led by {r.region.manager}; "
        f"{r.customers} active accounts."
        for r in f.regions
    )
    categories = ", ".join(name for name, _ in sorted(f.category_revenue_2025))
    return f"""# {f.company} — Company Overview

{f.company} designs and sells outdoor equipment for hikers, climbers and campers. We sell through our own
retail partners, an online store, professional outfitters and corporate programs.

## At a glance

- Revenue 2024: {money(f.revenue[2024])}
- Revenue 2025: {money(f.revenue[2025])} ({pct(f.growth_pct)} year over year)
- Orders 2025: {f.orders[2025]:,}
- Catalog: {f.product_count} products in seven categories ({categories}),
  list prices from {money(f.price_range[0])} to {money(f.price_range[1])}.

## Regions

We organize sales in five regions:

{regions}

## Mission

Make reliable gear that lasts a decade of weekends, and repair it when it does not.
"""


def _annual_review(f: Figures) -> str:
    rows = "\n".join(
        f"| {r.region.name} | {money(r.revenue[2024])} | {money(r.revenue[2025])} | {pct(r.growth_pct)} |"
        for r in sorted(f.regions, key=lambda r: -r.growth_pct)
    )
    top = "\n".join(
        f"{i}. {name} ({category}) — {money(amount)}"
        for i, (name, category, amount) in enumerate(f.top_products_2025, 1)
    )
    fast, slow = f.fastest, f.slowest
    return f"""# 2025 Annual Review

To: {f.company} leadership team
From: Finance and Sales Operations
Subject: Results for fiscal year 2025

## Summary

Total revenue reached {money(f.revenue[2025])} in 2025, {pct(f.growth_pct)} against
{money(f.revenue[2024])} in 2024, on {f.orders[2025]:,} orders. Growth was uneven: **{fast.region.name}** was
the fastest-growing region at {pct(fast.growth_pct)}, while **{slow.region.name}** declined
{abs(slow.growth_pct):.1f}%.

## Revenue by region

| Region | 2024 | 2025 | Change |
|---|---|---|---|
{rows}

## Best sellers in 2025

{top}

## What drove the year

- {fast.region.name}: the {fast.region.hub_city} flagship opening in March and the new outfitter partnerships
  around the national parks paid off faster than planned.
- {slow.region.name}: a new big-box competitor in {slow.region.hub_city} and an extreme summer heat wave cut
  retail traffic; online orders held up better than store orders.
- Seasonality stayed familiar: {f.peak_month()} was the strongest month and {f.low_month()} the weakest.

## Priorities for 2026

1. Replicate the {fast.region.name} outfitter program in the Great Lakes and Pacific Northwest.
2. Execute the {slow.region.name} turnaround plan (see the regional strategy memo).
3. Keep discount depth below the policy ceiling while growing corporate accounts.
"""


def _mountain_west(f: Figures) -> str:
    r = f.region("Mountain West")
    return f"""# Regional Strategy Memo: Mountain West

{f.company} — Owner: {r.region.manager}, Regional Director ({r.region.hub_city})

## Where we stand

Mountain West is our fastest-growing region. Revenue went from {money(r.revenue[2024])} in 2024 to
{money(r.revenue[2025])} in 2025 ({pct(r.growth_pct)}), with orders up from {r.orders[2024]:,} to
{r.orders[2025]:,}.

## Why it works

- The {r.region.hub_city} flagship store opened in March 2025 and doubles as a demo and repair center.
- Guided-trip outfitters near the national parks buy tents and packs in volume before each summer season.
- Climbing gyms along the Front Range became reliable corporate accounts for harnesses and ropes.

## Plan for 2026

- Add two outfitter partners in Utah and Montana.
- Stock the Glacier Insulated Boot and Ember Down Jacket earlier for the winter season.
- Keep the growth profitable: hold outfitter discounts at 15% or less.
"""


def _southwest(f: Figures) -> str:
    r = f.region("Southwest")
    return f"""# Regional Strategy Memo: Southwest Turnaround

{f.company} — Owner: {r.region.manager}, Regional Director ({r.region.hub_city})

## Situation

Southwest revenue fell from {money(r.revenue[2024])} in 2024 to {money(r.revenue[2025])} in 2025
({pct(r.growth_pct)}). It is the only region that declined.

## Causes

1. A national big-box chain opened three stores in the {r.region.hub_city} metro area in early 2025.
2. Record summer heat shortened the hiking season; June and July store traffic dropped sharply.
3. Two long-standing retail partners closed their outdoor departments.

## Turnaround plan

- Shift marketing to the shoulder seasons (October–April), when the desert trails are busiest.
- Push the Sunward UPF Hoodie and Canyon Sport Sandal, which fit the climate.
- Grow online sales with two-day shipping from the {r.region.hub_city} warehouse.
- Review the region again at the end of Q2 2026; target: back to flat year over year.
"""


def _catalog(f: Figures) -> str:
    categories = "\n".join(
        f"- {name}: {money(amount)} in 2025 sales" for name, amount in f.category_revenue_2025
    )
    return f"""# Product Catalog Notes

The {f.company} catalog holds {f.product_count} products. List prices run from {money(f.price_range[0])}
(Insulated Camp Mug) to {money(f.price_range[1])} (Basecamp 6P Family Tent). SKUs follow the pattern
ATG-<category><item>.

## Categories by 2025 revenue

{categories}

## Notes by category

- Tents & Shelters sell in spring and early summer; order family tents before April.
- Apparel is counter-seasonal: the Ember Down Jacket and merino base layers peak from October to January.
- Footwear returns are the highest in the catalog; fitting advice at the counter reduces them.
- Camp Kitchen items are frequent add-ons to tent and pack orders.
- Climbing gear sells mostly to outfitters and gyms, in quantities of three or more.
"""


def _playbook(f: Figures) -> str:
    aov = f.revenue[2025] / f.orders[2025]
    return f"""AURORA TRAIL GEAR — SALES PLAYBOOK

1. Know the customer segment
   Retail partners order one or two units per line. Outfitters and corporate accounts order in volume
   and receive a negotiated discount (see the pricing and discount policy).

2. Lead with the system, not the item
   A tent sells better with a sleeping pad, a sleeping bag and a stove. The average 2025 order was
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
    return f"""{f.company} leadership meeting notes — 14 October 2025

Attendees: CEO, CFO, VP Sales, all five regional directors

1. Q3 results
   - Year to date the company is ahead of 2024. {fast.region.name} keeps leading growth.
   - {slow.region.name} is behind plan; {slow.region.manager} presented the turnaround plan.

2. Decisions
   - Approve two new outfitter partners in {fast.region.name} for spring 2026.
   - Freeze new retail accounts in {slow.region.name} until the online channel is fixed.
   - Finance to publish the 2025 annual review in January.

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


def _pricing_html(_f: Figures) -> str:
    return """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Pricing and Discount Policy</title>
<style>body { font-family: sans-serif; } .hidden-note { display: none; }</style>
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
during the 2026 turnaround.</p>
</body>
</html>
"""


def _seasonality_html(f: Figures) -> str:
    rows = "\n".join(
        f"<tr><td>{calendar.month_name[m]}</td><td>{money(f.monthly_revenue[2024][m - 1])}</td>"
        f"<td>{money(f.monthly_revenue[2025][m - 1])}</td></tr>"
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
<tr><th>Month</th><th>2024</th><th>2025</th></tr>
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


DOCUMENTS: dict[str, Callable[[Figures], str]] = {
    "company-overview.md": _overview,
    "annual-review-2025.md": _annual_review,
    "regional-strategy-mountain-west.md": _mountain_west,
    "regional-strategy-southwest.md": _southwest,
    "product-catalog-notes.md": _catalog,
    "customer-segments.md": _segments,
    "sales-playbook.txt": _playbook,
    "meeting-notes-2025-10-14.txt": _meeting_notes,
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


def generate_documents(folder: Path) -> list[Path]:
    """Write the demo documents into ``folder`` (created if needed) and return their paths, sorted."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    figures = compute_figures()
    paths: list[Path] = []
    for name, render in DOCUMENTS.items():
        path = folder / name
        _write_atomic(path, render(figures))
        paths.append(path)
    return sorted(paths)
