"""Analytics pages of the console (permission ``analytics.read``). Each page reads a GET
form from the query string (Shanghai calendar days, so every view is a shareable link),
asks a runner in ``siyu.analytics`` for the numbers, and shows a chart, a table and a
CSV export; bad input answers 422 with words next to the field.

- ``funnels.py``: funnel with drop-off persons, retention cohorts, page paths
- ``customers.py``: the RFM grid, channel attribution and ROI
- ``traffic.py``: the KPI overview, sessions and the pages table
- ``sales.py``: repurchase and cohort LTV, the product portfolio, customer lifetime value
- ``loyalty.py``: points flows and liability, tiers over time, check-in retention,
  member repurchase (read from the store)
- ``plays.py``: 活动效果 — per play and campaign the share funnel, GMV against the
  play's cost, ROI and new shoppers (read from the store)
- ``goals.py``: the playbook's stage goals against actuals
- ``common.py``: what they share (date ranges, filters, CSV, chart layout)
"""

from __future__ import annotations

from fastapi import APIRouter

from siyu.web.console.analytics import customers, funnels, goals, loyalty, plays, sales, traffic
from siyu.web.console.analytics.customers import RFM_TABLE_LIMIT

ROUTERS: tuple[APIRouter, ...] = (
    funnels.router,
    customers.router,
    goals.router,
    traffic.router,
    sales.router,
    loyalty.router,
    plays.router,
)

__all__ = ["RFM_TABLE_LIMIT", "ROUTERS"]
