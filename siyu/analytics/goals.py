"""Stage goals from the growth playbook, as editable targets shown against actuals.

Targets live in ``<data_dir>/goals.json`` (no migration): cold start — DAU ≥ 5,000 and
next-day retention ≥ 40 %; growth — active persons +30 % month over month and
conversion 8 %; mature — repurchase ≥ 35 % and LTV (net revenue per paying shopper)
+50 %. Who may edit them is the ``goals.write`` permission (``docs/roles.md``).

Actuals, all over complete Shanghai days before today:

- ``dau``: average daily distinct persons (any event) over the last 7 days.
- ``retention_pct``: next-day retention of ``activity_event`` (recurring, daily cohorts
  of the last 7 days that have a next day), weighted by cohort size.
- ``shopper_growth_pct``: distinct active persons in the last 30 days vs the 30 before.
- ``conversion_pct``: funnel ``activity_event`` → ``conversion_event`` within 7 days
  over the last 30 days.
- ``repurchase_pct``: paying shoppers of the last 90 days (RFM) with 2+ orders.
- ``ltv_growth_pct``: net revenue per paying shopper, last 90 days vs the 90 before.

The two events default to the catalog's (``siyu.events``: ``$pageview`` and
``order.paid``); :func:`unseen_events` names a chosen event the store has never
received, which the page flags instead of showing an unexplained 暂无数据.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from siyu.analytics.queries.base import EventFilter, format_utc
from siyu.analytics.queries.funnel import FunnelQuery, FunnelRunner
from siyu.analytics.queries.retention import RetentionQuery, RetentionRunner
from siyu.analytics.rfm import RfmQuery
from siyu.analytics.schema import PERSON_ID, events_with_persons
from siyu.analytics.store import AnalyticsStore
from siyu.clock import SHANGHAI
from siyu.events import ORDER_PAID, PAGE_VIEW

log = logging.getLogger(__name__)

GOALS_FILE = "goals.json"


class Goals(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dau: int = Field(default=5000, ge=0, le=1_000_000_000)
    retention_pct: float = Field(default=40, ge=0, le=100)
    shopper_growth_pct: float = Field(default=30, ge=-100, le=100_000)
    conversion_pct: float = Field(default=8, ge=0, le=100)
    repurchase_pct: float = Field(default=35, ge=0, le=100)
    ltv_growth_pct: float = Field(default=50, ge=-100, le=100_000)
    activity_event: str = Field(default=PAGE_VIEW, min_length=1, max_length=100)
    conversion_event: str = Field(default=ORDER_PAID, min_length=1, max_length=100)


# stage → the goals shown in it, in order
STAGES: dict[str, tuple[str, ...]] = {
    "cold_start": ("dau", "retention_pct"),
    "growth": ("shopper_growth_pct", "conversion_pct"),
    "mature": ("repurchase_pct", "ltv_growth_pct"),
}
NUMBER_FIELDS = tuple(key for keys in STAGES.values() for key in keys)
TEXT_FIELDS = ("activity_event", "conversion_event")


class GoalsService:
    """Reads and writes the targets file; a missing or unreadable file means defaults."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> GoalsService:
        return cls(Path(data_dir) / GOALS_FILE)

    def load(self) -> Goals:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Goals()
        try:
            return Goals.model_validate_json(raw)
        except ValidationError:
            log.warning("ignoring unreadable goals file %s", self.path)
            return Goals()

    def save(self, goals: Goals) -> None:
        """Atomically: write a temporary file beside it, then rename over it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(goals.model_dump(), ensure_ascii=False, indent=2) + "\n"
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".goals-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


# ------------------------------------------------------------------------ actuals


def _start(day: date) -> datetime:
    return datetime.combine(day, time(), SHANGHAI)


def _change_pct(current: float, previous: float) -> float | None:
    return None if previous == 0 else round(100 * (current - previous) / previous, 2)


def active_persons(store: AnalyticsStore, first: date, end: date) -> int:
    """Distinct persons with any event in Shanghai days ``[first, end)``."""
    sql = (
        f"SELECT uniqExact({PERSON_ID}) FROM {events_with_persons(store.database)} "
        "WHERE e.timestamp >= {start:DateTime64(3, 'UTC')} "
        "AND e.timestamp < {end:DateTime64(3, 'UTC')}"
    )
    params = {"start": format_utc(_start(first)), "end": format_utc(_start(end))}
    return int(store.query(sql, params).scalar() or 0)


def daily_active_average(store: AnalyticsStore, first: date, end: date) -> float:
    sql = (
        f"SELECT toDate(e.timestamp, 'Asia/Shanghai') AS day, uniqExact({PERSON_ID}) "
        f"FROM {events_with_persons(store.database)} "
        "WHERE e.timestamp >= {start:DateTime64(3, 'UTC')} "
        "AND e.timestamp < {end:DateTime64(3, 'UTC')} GROUP BY day"
    )
    params = {"start": format_utc(_start(first)), "end": format_utc(_start(end))}
    total = sum(int(row[1]) for row in store.query(sql, params).rows)
    return round(total / max(1, (end - first).days), 1)


def unseen_events(store: AnalyticsStore, goals: Goals) -> tuple[str, ...]:
    """The goals' events (activity, conversion) that no event received so far carries."""
    wanted = sorted({goals.activity_event, goals.conversion_event})
    params = {f"e{i}": name for i, name in enumerate(wanted)}
    listed = ", ".join(f"{{{key}:String}}" for key in params)
    sql = f"SELECT DISTINCT event FROM {store.database}.events WHERE event IN ({listed})"
    seen = {str(row[0]) for row in store.query(sql, params).rows}
    return tuple(name for name in wanted if name not in seen)


def compute_actuals(store: AnalyticsStore, goals: Goals, today: date) -> dict[str, float | None]:
    actuals: dict[str, float | None] = {}
    actuals["dau"] = daily_active_average(store, today - timedelta(days=7), today)

    retention = RetentionRunner(
        RetentionQuery(
            date_from=_start(today - timedelta(days=8)),
            date_to=_start(today),
            target_event=EventFilter(event=goals.activity_event),
            returning_event=EventFilter(event=goals.activity_event),
            period="day",
            total_intervals=2,
        ),
        database=store.database,
    ).run(store)
    with_next = [c for c in retention.cohorts if len(c.values) > 1]
    size = sum(c.size for c in with_next)
    returned = sum(c.values[1].count for c in with_next)
    actuals["retention_pct"] = round(100 * returned / size, 2) if size else None

    current = active_persons(store, today - timedelta(days=30), today)
    previous = active_persons(store, today - timedelta(days=60), today - timedelta(days=30))
    actuals["shopper_growth_pct"] = _change_pct(current, previous)

    if goals.activity_event == goals.conversion_event:
        actuals["conversion_pct"] = None
    else:
        funnel = FunnelRunner(
            FunnelQuery(
                date_from=_start(today - timedelta(days=30)),
                date_to=_start(today),
                steps=(
                    EventFilter(event=goals.activity_event),
                    EventFilter(event=goals.conversion_event),
                ),
                window_interval=7,
                window_unit="day",
            ),
            database=store.database,
        ).run(store)
        steps = funnel.series[0].steps if funnel.series else []
        actuals["conversion_pct"] = (
            steps[1].conversion_from_first if steps and steps[0].count else None
        )

    last = today - timedelta(days=1)
    recent = RfmQuery(date_from=today - timedelta(days=90), date_to=last).run(store)
    before = RfmQuery(
        date_from=today - timedelta(days=180), date_to=today - timedelta(days=91)
    ).run(store)
    buyers = len(recent.customers)
    repeat = sum(1 for c in recent.customers if c.frequency >= 2)
    actuals["repurchase_pct"] = round(100 * repeat / buyers, 2) if buyers else None

    def per_buyer(customers: list[Any]) -> float:
        return sum(c.monetary_fen for c in customers) / len(customers) if customers else 0.0

    actuals["ltv_growth_pct"] = _change_pct(
        per_buyer(list(recent.customers)), per_buyer(list(before.customers))
    )
    return actuals
