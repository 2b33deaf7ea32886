"""Periods of the loyalty analytics: Asia/Shanghai days and weeks cut to the range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, func
from sqlalchemy.orm import Session

from siyu.analytics.queries.base import TIMEZONE
from siyu.clock import SHANGHAI

Period = Literal["day", "week"]
STREAK_LOOKBACK_DAYS = 31  # enough to put every run ending in the range in its bucket
DEFAULT_MEMBER_LEVEL = 1

# ------------------------------------------------------------------------ periods


@dataclass(frozen=True)
class PeriodSpan:
    """One period: its first Shanghai day and its instants ``[start, end)``."""

    first: date
    start: datetime
    end: datetime


def local_date(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), SHANGHAI)


def period_key(day: date, period: Period) -> date:
    return day - timedelta(days=day.weekday()) if period == "week" else day


def periods(date_from: datetime, date_to: datetime, period: Period) -> list[PeriodSpan]:
    """The days (or Monday-started weeks, the first and last clipped) of the range."""
    first = local_date(date_from)
    last = local_date(date_to - timedelta(microseconds=1))
    spans: list[PeriodSpan] = []
    day = first
    while day <= last:
        key = period_key(day, period)
        nxt = min(key + timedelta(days=7 if period == "week" else 1), last + timedelta(days=1))
        spans.append(
            PeriodSpan(
                first=day,
                start=max(_midnight(day), date_from),
                end=min(_midnight(nxt), date_to),
            )
        )
        day = nxt
    return spans


def local_day(column: Any, dialect: str) -> ColumnElement[Any]:
    """The Asia/Shanghai calendar date of a UTC timestamp column, in SQL (PostgreSQL:
    ``timezone()``; SQLite stores naive UTC text and Shanghai keeps no summer time)."""
    if dialect == "postgresql":
        return func.date(func.timezone(TIMEZONE, column))
    return func.date(column, "+8 hours")


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name
