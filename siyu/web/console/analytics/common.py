"""What the analytics pages share: reading a date range and filters from the query string
(Shanghai calendar days), the known event names, CSV responses and plotly chart JSON."""

from __future__ import annotations

import csv
import io
import json
import logging
import math
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
from siyu.events import page_name
from siyu.identity.crypto import PersonalDataCipher
from siyu.identity.rules import Permission
from siyu.identity.service import shopper_labels
from siyu.web.console.base import ConsoleUser, has_message, render, request_locale
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


class QueryForm(FormState):
    """A page's GET form being read from the query string, in the operator's words and
    at ``now``: each reader keeps the raw value to refill the field with and notes what
    is wrong with it, by field name."""

    def __init__(self, request: Request, now: datetime) -> None:
        super().__init__()
        self.params = request.query_params
        self.t = console_t(request)
        self.now = now

    @property
    def today(self) -> date:
        return today_shanghai(self.now)

    def text(self, name: str) -> str:
        """A field's value, stripped (kept as typed)."""
        value = (self.params.get(name) or "").strip()
        self.values[name] = value
        return value

    def day_range(self, default_days: int) -> DayRange | None:
        """``date_from``/``date_to`` (YYYY-MM-DD, Shanghai, both inclusive)."""
        t, params, today = self.t, self.params, self.today
        first = parse_day(params.get("date_from"), today - timedelta(days=default_days - 1))
        last = parse_day(params.get("date_to"), today)
        self.values["date_from"] = params.get("date_from") or (first.isoformat() if first else "")
        self.values["date_to"] = params.get("date_to") or (last.isoformat() if last else "")
        if first is None:
            self.errors["date_from"] = t("analytics.error.date")
        if last is None:
            self.errors["date_to"] = t("analytics.error.date")
        if first is None or last is None:
            return None
        if first > last:
            self.errors["date_to"] = t("analytics.error.date_order")
            return None
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            self.errors["date_from"] = t("analytics.error.range_too_long", days=MAX_RANGE_DAYS)
            return None
        return DayRange(first, last)

    def property_filter(self) -> tuple[PropertyFilter, ...]:
        """An optional ``prop_key`` = ``prop_value`` condition on the events' properties."""
        key, value = self.text("prop_key"), self.text("prop_value")
        if not key:
            if value:
                self.errors["prop_key"] = self.t("analytics.error.prop_key")
            return ()
        if len(key) > PROPERTY_KEY_MAX or len(value) > PROPERTY_VALUE_MAX:
            self.errors["prop_key"] = self.t("analytics.error.too_long")
            return ()
        return (PropertyFilter(key=key, value=value),)

    def number(self, name: str, default: int, low: int, high: int) -> int:
        raw = (self.params.get(name) or "").strip()
        self.values[name] = raw or str(default)
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            self.errors[name] = self.t("analytics.error.int_range", low=low, high=high)
            return default
        return value

    def choice(self, name: str, choices: Sequence[str], default: str) -> str:
        raw = self.params.get(name)
        value = default if raw is None else raw
        self.values[name] = value
        if value not in choices:
            self.errors[name] = self.t("analytics.error.choice")
            return default
        return value

    def invalid(self) -> None:
        """The values each pass but the query they make together does not."""
        self.errors["_form"] = self.t("analytics.error.invalid")


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


def csv_download(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """A CSV export: ``header`` then ``rows``, as an attachment named ``filename``."""
    return csv_response(csv_text(header, rows), filename)


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


def heat(percentage: float) -> str:
    """A cell's background: darker green for a higher share (readable text either way)."""
    alpha = 0.08 + 0.8 * max(0.0, min(percentage, 100.0)) / 100
    return f"background-color: rgba(7,193,96,{alpha:.2f})"


DURATION_UNITS: dict[str, tuple[str, str, str, str]] = {
    "zh": ("天", "小时", "分", "秒"),
    "en": ("d", "h", "min", "s"),
}


def format_seconds(seconds: float | None, locale: str = "zh") -> str:
    """A duration in words a person reads at a glance: 42 秒, 2 分 38 秒, 3 小时 20 分,
    2 天 4 小时 (en: 42 s, 2 min 38 s, 3 h 20 min, 2 d 4 h)."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    day, hour, minute, second = DURATION_UNITS["en" if locale.startswith("en") else "zh"]
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} {day} {hours} {hour}"
    if hours:
        return f"{hours} {hour} {minutes} {minute}"
    if minutes:
        return f"{minutes} {minute} {secs} {second}"
    return f"{secs} {second}"


def plain_number(value: float | None, digits: int | None = None, trim: bool = False) -> str:
    """A number as an operator reads it, never in scientific notation: thousands
    separated, and with ``digits`` decimals, or by default as many as four significant
    figures need (47,877 · 12.35 · 0.2430 · 0.000123), ``trim`` dropping trailing zeros
    (8.50 → 8.5); a dash for none or not finite."""
    if value is None or not math.isfinite(value):
        return "—"
    if digits is None:
        magnitude = abs(value)
        if magnitude == 0 or magnitude >= 1000:
            digits = 0
        else:
            digits = min(6, max(0, 3 - math.floor(math.log10(magnitude))))
    text = f"{value:,.{digits}f}"
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text.lstrip("-").strip("0.,") == "" else text


def shopper_namer(
    session: Any, cipher: PersonalDataCipher, ids: list[int], t: Translator
) -> Callable[[int], str]:
    """Each shopper's name in a list (nickname · masked phone, from the identity
    service); one it has nothing for is named by id (顾客 21)."""
    with session.begin():
        labels = shopper_labels(session, cipher, ids)
    return lambda shopper_id: labels.get(shopper_id) or t("analytics.shopper_id", id=shopper_id)


def channel_name(value: str, locale: str) -> str:
    """A channel group's name (``channel.group.*``: direct → 直接进入 / 收藏); a
    channel code the catalog does not name is its own."""
    message_id = f"channel.group.{value}"
    if value and has_message(locale, message_id):
        return translator("console", locale)(message_id)
    return value


def page_label(locale: str) -> Callable[[str], str]:
    """The operator's name of a page path (``siyu.events.PAGES``), in ``locale``."""
    return lambda path: page_name(path, locale)


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


def figure(
    data: list[dict[str, Any]],
    *,
    height: int = 320,
    margin: dict[str, int] | None = None,
    **layout: Any,
) -> dict[str, Any]:
    """A plotly figure: the traces in ``data`` over the shared layout, with the chart's
    own margin and any further layout (axes, bar or funnel mode)."""
    spec = base_layout(height)
    if margin is not None:
        spec["margin"] = margin
    spec.update(layout)
    return {"data": data, "layout": spec}


def trace(kind: str, name: str, x: list[Any], y: list[Any], **style: Any) -> dict[str, Any]:
    """One plotly trace of ``kind`` (``mode`` first among the style, as plotly writes it)."""
    mode = {"mode": style.pop("mode")} if "mode" in style else {}
    return {"type": kind, **mode, "name": name, "x": x, "y": y, **style}


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
    request: Request,
    user: ConsoleUser,
    tab: str,
    state: FormState | None,
    chart: dict[str, Any] | None = None,
    **context: Any,
) -> HTMLResponse:
    """One analytics tab: ``analytics_<tab>.html`` with the tab bar lit, the query as
    read (422 when a value could not be used), this query's string for the CSV links,
    the page's plotly ``chart`` (none without one), the chart library's version, and
    ``seconds``, ``plain``, ``page_name`` and ``heat`` to write durations, numbers
    (never ``nan`` or ``1e+04``) and page names with and shade shares."""
    from siyu.web.console.dashboard import chart_script

    context.setdefault("base_qs", this_query(request))
    if chart is not None:
        context["chart_json"] = chart_json(chart)
        context["chart_src"] = chart_script(chart)
    locale = request_locale(request)
    context.setdefault("seconds", lambda value: format_seconds(value, locale))
    context.setdefault("plain", plain_number)
    context.setdefault("page_name", page_label(locale))
    context.setdefault("channel_name", lambda value: channel_name(value, locale))
    context.setdefault("heat", heat)
    return render(
        request,
        f"analytics_{tab}.html",
        user=user,
        status=INVALID_STATUS if state is not None and state.errors else 200,
        active=f"analytics_{tab}",
        tab=tab,
        state=state,
        **context,
    )


Q = TypeVar("Q")


def required(read: Callable[..., Q | None], request: Request, now: datetime, *extra: Any) -> Q:
    """The query a CSV export needs, read as its page reads it (``read(form, *extra)``);
    a value it cannot use is a 400 naming the first problem."""
    form = QueryForm(request, now)
    query = read(form, *extra)
    if query is None:
        raise bad_request(first_error(form))
    return query
