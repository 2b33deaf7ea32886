"""What the analytics pages share: reading a date range and filters from the query string
(Shanghai calendar days), the known event names, CSV responses and plotly chart JSON."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response

from siyu.analytics.queries.base import PropertyFilter
from siyu.analytics.store import AnalyticsStore
from siyu.clock import SHANGHAI
from siyu.errors import InvalidInput
from siyu.identity.rules import Permission
from siyu.web.console.base import ConsoleUser, render, request_locale
from siyu.web.console.security import may
from siyu.web.i18n import Translator, translator

log = logging.getLogger(__name__)

Analyst = Annotated[ConsoleUser, Depends(may(Permission.analytics_read))]

MAX_RANGE_DAYS = 366
MAX_KNOWN_EVENTS = 200
PROPERTY_KEY_MAX = 100
PROPERTY_VALUE_MAX = 500


@dataclass
class FormState:
    """Raw values to refill the form with and the errors found, by field name."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DayRange:
    """Inclusive Shanghai calendar days."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), SHANGHAI)

    @property
    def end(self) -> datetime:
        """Exclusive: midnight after ``last``."""
        return datetime.combine(self.last + timedelta(days=1), time(), SHANGHAI)


def today_shanghai(now: datetime) -> date:
    return now.astimezone(SHANGHAI).date()


def parse_day(raw: str | None, default: date) -> date | None:
    if raw is None or not raw.strip():
        return default
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        return None


def read_day_range(
    request: Request, state: FormState, t: Translator, now: datetime, default_days: int
) -> DayRange | None:
    """``date_from``/``date_to`` (YYYY-MM-DD, Shanghai, both inclusive)."""
    today = today_shanghai(now)
    params = request.query_params
    first = parse_day(params.get("date_from"), today - timedelta(days=default_days - 1))
    last = parse_day(params.get("date_to"), today)
    state.values["date_from"] = params.get("date_from") or (first.isoformat() if first else "")
    state.values["date_to"] = params.get("date_to") or (last.isoformat() if last else "")
    if first is None:
        state.errors["date_from"] = t("analytics.error.date")
    if last is None:
        state.errors["date_to"] = t("analytics.error.date")
    if first is None or last is None:
        return None
    if first > last:
        state.errors["date_to"] = t("analytics.error.date_order")
        return None
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        state.errors["date_from"] = t("analytics.error.range_too_long", days=MAX_RANGE_DAYS)
        return None
    return DayRange(first, last)


def read_property_filter(
    request: Request, state: FormState, t: Translator
) -> tuple[PropertyFilter, ...]:
    """An optional ``prop_key`` = ``prop_value`` condition on the events' properties."""
    key = (request.query_params.get("prop_key") or "").strip()
    value = (request.query_params.get("prop_value") or "").strip()
    state.values["prop_key"], state.values["prop_value"] = key, value
    if not key:
        if value:
            state.errors["prop_key"] = t("analytics.error.prop_key")
        return ()
    if len(key) > PROPERTY_KEY_MAX or len(value) > PROPERTY_VALUE_MAX:
        state.errors["prop_key"] = t("analytics.error.too_long")
        return ()
    return (PropertyFilter(key=key, value=value),)


def read_int(
    request: Request,
    state: FormState,
    t: Translator,
    name: str,
    default: int,
    low: int,
    high: int,
) -> int:
    raw = (request.query_params.get(name) or "").strip()
    state.values[name] = raw or str(default)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        state.errors[name] = t("analytics.error.int_range", low=low, high=high)
        return default
    return value


def read_choice(
    request: Request,
    state: FormState,
    t: Translator,
    name: str,
    choices: Sequence[str],
    default: str,
) -> str:
    raw = request.query_params.get(name)
    value = default if raw is None else raw
    state.values[name] = value
    if value not in choices:
        state.errors[name] = t("analytics.error.choice")
        return default
    return value


def known_events(store: AnalyticsStore) -> list[str]:
    """Distinct event names in the store, alphabetically (at most 200)."""
    result = store.query(
        f"SELECT DISTINCT event FROM {store.database}.events ORDER BY event "
        f"LIMIT {MAX_KNOWN_EVENTS}"
    )
    return [str(row[0]) for row in result.rows]


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def csv_response(text: str, filename: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"; '
            f"filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "no-store",
        },
    )


def bad_request(message: str) -> InvalidInput:
    return InvalidInput("invalid_analytics_query", message)


def first_error(state: FormState) -> str:
    return next(iter(state.errors.values()))


def chart_json(spec: dict[str, Any]) -> str:
    """A plotly figure as JSON safe to write into an inline ``<script>``."""
    return json.dumps(spec, ensure_ascii=False).replace("</", "<\\/")


def query_string(pairs: Iterable[tuple[str, Any]]) -> str:
    return urlencode([(k, str(v)) for k, v in pairs if v is not None and v != ""])


def format_seconds(seconds: float | None) -> str:
    """A conversion time in words a person reads at a glance: 45s, 12m 5s, 3h 20m, 2d 4h."""
    if seconds is None:
        return "—"
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


CHART_FONT = {"family": 'system-ui, "WenQuanYi Micro Hei", "Noto Sans CJK SC", sans-serif'}


def base_layout(height: int = 320) -> dict[str, Any]:
    return {
        "margin": {"l": 140, "r": 24, "t": 16, "b": 40},
        "height": height,
        "font": CHART_FONT,
        "legend": {"orientation": "h", "y": -0.15},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
    }


INVALID_STATUS = 422  # a form value the page cannot use


def console_t(request: Request) -> Translator:
    """The console's words in the operator's language."""
    return translator("console", request_locale(request))


def this_query(request: Request) -> str:
    """The page's own query string (for the CSV link beside it)."""
    return query_string(request.query_params.multi_items())


def fixed(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def tab_page(
    request: Request, user: ConsoleUser, tab: str, state: FormState | None, **context: Any
) -> HTMLResponse:
    """One analytics tab: ``analytics_<tab>.html`` with the tab bar lit, the query as
    read (422 when a value could not be used), this query's string for the CSV links
    and the chart library's version."""
    from siyu.web.console.dashboard import plotly_version

    context.setdefault("base_qs", this_query(request))
    return render(
        request,
        f"analytics_{tab}.html",
        user=user,
        status=INVALID_STATUS if state is not None and state.errors else 200,
        active=f"analytics_{tab}",
        tab=tab,
        state=state,
        plotly_version=plotly_version(),
        **context,
    )


Q = TypeVar("Q")


def required(read: Callable[..., Q | None], request: Request, now: datetime, *extra: Any) -> Q:
    """The query a CSV export needs, read as its page reads it (``read(request, state,
    t, now, *extra)``); a value it cannot use is a 400 naming the first problem."""
    state = FormState()
    query = read(request, state, console_t(request), now, *extra)
    if query is None:
        raise bad_request(first_error(state))
    return query
