"""Brute-force Python references for the insight runners, over the same events.

Written for obviousness, not speed: funnel levels try every chain of distinct events;
conversion times replay PostHog's ordered-funnel UDF step by step; retention walks
every person's periods. The events go into a store with ``tests.helpers.insert_events``.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from siyu.analytics.queries.base import EventFilter, PropertyFilter, percentage
from siyu.analytics.queries.funnel import FunnelQuery, FunnelResult, FunnelSeries, FunnelStep
from siyu.analytics.queries.pages import PagesQuery, PagesResult, PageStats
from siyu.analytics.queries.retention import (
    RetentionCell,
    RetentionCohort,
    RetentionQuery,
    RetentionResult,
)
from siyu.analytics.store import AnalyticsStore
from siyu.clock import SHANGHAI
from tests.helpers import insert_events


@dataclass(frozen=True)
class Event:
    event: str
    anonymous_id: str
    at: datetime
    shopper_id: int = 0
    channel: str = ""
    properties: dict[str, str] = field(default_factory=dict)


def person_key(shopper_id: int, anonymous_id: str, links: dict[str, int]) -> str:
    """The reference's PERSON_ID: the shopper, via the event or a device link, else the device."""
    if shopper_id:
        return str(shopper_id)
    if links.get(anonymous_id):
        return str(links[anonymous_id])
    return "a:" + anonymous_id


def person_of(e: Event, links: dict[str, int]) -> str:
    return person_key(e.shopper_id, e.anonymous_id, links)


def matches_properties(e: Event, filters: Sequence[PropertyFilter]) -> bool:
    for f in filters:
        value = e.properties.get(f.key, "")
        if (value == f.value) != (f.operator == "exact"):
            return False
    return True


def matches(e: Event, f: EventFilter) -> bool:
    return e.event == f.event and matches_properties(e, f.properties)


def ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


# --- funnels --------------------------------------------------------------------------


def furthest_chain(events: list[tuple[int, frozenset[int]]], n: int, window: int) -> int:
    """The longest k with k distinct events matching steps 1..k, timestamps
    non-decreasing, the last within ``window`` of the first — by trying every chain."""
    best = 0

    def extend(step: int, start: int, last: int, used: frozenset[int]) -> None:
        nonlocal best
        best = max(best, step - 1)
        if step > n:
            return
        for i, (ts, steps) in enumerate(events):
            if i not in used and step in steps and ts >= last and ts - start <= window:
                extend(step + 1, start, ts, used | {i})

    for i, (ts, steps) in enumerate(events):
        if 1 in steps:
            extend(2, ts, ts, frozenset({i}))
    return best


def posthog_attempt(
    events: list[tuple[int, frozenset[int]]], n: int, window: int
) -> tuple[int, list[int]]:
    """PostHog's ordered-funnel UDF (funnel-udf/src/steps.rs), without exclusions:
    returns the furthest step and the timestamps of the first attempt to reach it."""
    starts = [0] * (n + 1)
    timings: list[list[int]] = [[] for _ in range(n + 1)]
    max_step, max_timings = 0, []
    by_ts: dict[int, list[list[int]]] = defaultdict(list)
    for ts, steps in sorted(events, key=lambda x: x[0]):
        by_ts[ts].append(sorted(steps))
    for ts in sorted(by_ts):
        lists = by_ts[ts]
        if all(s == lists[0] for s in lists):
            order = [k for s in lists for k in reversed(s)]
        else:
            order = sorted(k for s in lists for k in s)
        for k in order:
            prev_start = ts if k == 1 else starts[k - 1]
            if k > 1 and starts[k - 1] == 0:
                continue
            if ts - prev_start > window or (starts[k] != 0 and starts[k] == prev_start):
                continue
            starts[k] = prev_start
            timings[k] = ([] if k == 1 else timings[k - 1]) + [ts]
            if k > max_step:
                max_step, max_timings = k, timings[k]
    return max_step, max_timings


def funnel_reference(
    query: FunnelQuery, events: Sequence[Event], links: dict[str, int]
) -> FunnelResult:
    n = len(query.steps)
    per_person: dict[str, list[tuple[int, frozenset[int], Event]]] = defaultdict(list)
    for e in events:
        if not (query.date_from <= e.at < query.date_to):
            continue
        if not matches_properties(e, query.properties):
            continue
        steps = frozenset(k for k, s in enumerate(query.steps, 1) if matches(e, s))
        if steps:
            per_person[person_of(e, links)].append((ms(e.at), steps, e))
    groups: dict[str | None, list[tuple[int, list[int]]]] = defaultdict(list)
    for rows in per_person.values():
        plain = [(ts, steps) for ts, steps, _ in rows]
        level = furthest_chain(plain, n, query.window_ms)
        if level == 0:
            continue
        reached, attempt = posthog_attempt(plain, n, query.window_ms)
        usable = attempt[: min(level, reached)]
        deltas = [b - a for a, b in zip(usable, usable[1:], strict=False)]
        key: str | None = None
        if query.breakdown is not None:
            first = min((ts, breakdown_of(e, query)) for ts, matched, e in rows if 1 in matched)
            key = first[1]
        groups[key].append((level, deltas))
    series = []
    for key, people in groups.items():
        counts = [sum(1 for level, _ in people if level >= k) for k in range(1, n + 1)]
        shaped = []
        for k in range(1, n + 1):
            previous = counts[k - 2] if k > 1 else counts[0]
            times = [d[k - 2] for _, d in people if len(d) >= k - 1] if k > 1 else []
            shaped.append(
                FunnelStep(
                    order=k,
                    event=query.steps[k - 1].event,
                    count=counts[k - 1],
                    conversion_from_first=percentage(counts[k - 1], counts[0]),
                    conversion_from_previous=percentage(counts[k - 1], previous),
                    dropped=previous - counts[k - 1],
                    average_conversion_time=sum(times) / len(times) / 1000 if times else None,
                    median_conversion_time=statistics.median(times) / 1000 if times else None,
                )
            )
        series.append(FunnelSeries(breakdown_value=key, steps=shaped))
    if query.breakdown is None and not series:
        series = [FunnelSeries(breakdown_value=None, steps=_empty_steps(query))]
    series.sort(key=lambda s: (-s.steps[0].count, s.breakdown_value or ""))
    return FunnelResult(series=series)


def _empty_steps(query: FunnelQuery) -> list[FunnelStep]:
    return [
        FunnelStep(
            order=k,
            event=s.event,
            count=0,
            conversion_from_first=0.0,
            conversion_from_previous=0.0,
            dropped=0,
            average_conversion_time=None,
            median_conversion_time=None,
        )
        for k, s in enumerate(query.steps, 1)
    ]


def breakdown_of(e: Event, query: FunnelQuery) -> str:
    assert query.breakdown is not None
    if query.breakdown.type == "channel":
        return e.channel
    return e.properties.get(query.breakdown.property or "", "")


def funnel_persons_reference(
    query: FunnelQuery, events: Sequence[Event], links: dict[str, int], step: int, dropped: bool
) -> list[str]:
    n = len(query.steps)
    per_person: dict[str, list[tuple[int, frozenset[int]]]] = defaultdict(list)
    for e in events:
        if query.date_from <= e.at < query.date_to and matches_properties(e, query.properties):
            steps = frozenset(k for k, s in enumerate(query.steps, 1) if matches(e, s))
            if steps:
                per_person[person_of(e, links)].append((ms(e.at), steps))
    found = []
    for person, rows in per_person.items():
        level = furthest_chain(rows, n, query.window_ms)
        if (level == step - 1) if dropped else (level >= step):
            found.append(person)
    return sorted(found)


# --- retention ------------------------------------------------------------------------


def retention_reference(
    query: RetentionQuery, events: Sequence[Event], links: dict[str, int]
) -> RetentionResult:
    starts = query.period_starts()
    first_day = starts[0]
    days = 7 if query.period == "week" else 1

    def period(at: datetime) -> int:
        return (at.astimezone(SHANGHAI).date() - first_day).days // days

    range_start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=SHANGHAI)
    start_periods: dict[str, set[int]] = defaultdict(set)
    first_start: dict[str, datetime] = {}
    return_periods: dict[str, set[int]] = defaultdict(set)
    for e in events:
        if e.at >= query.date_to or not matches_properties(e, query.properties):
            continue
        person = person_of(e, links)
        if matches(e, query.target_event):
            if person not in first_start or e.at < first_start[person]:
                first_start[person] = e.at
            if e.at >= range_start:
                start_periods[person].add(period(e.at))
        if matches(e, query.returning_event) and e.at >= range_start:
            return_periods[person].add(period(e.at))
    if query.retention_type == "first_time":
        start_periods = defaultdict(set)
        for person, at in first_start.items():
            if at >= range_start:
                start_periods[person].add(period(at))
    cohorts = []
    for index, start in enumerate(starts):
        members = [p for p, periods in start_periods.items() if index in periods]
        size = len(members)
        values = []
        for offset in range(min(query.total_intervals, len(starts) - index)):
            if offset == 0:
                count = size
            else:
                count = sum(1 for p in members if index + offset in return_periods[p])
            values.append(
                RetentionCell(offset=offset, count=count, percentage=percentage(count, size))
            )
        cohorts.append(RetentionCohort(period_start=start, size=size, values=values))
    return RetentionResult(period=query.period, cohorts=cohorts)


def at(base: datetime, seconds: float) -> datetime:
    return base + timedelta(seconds=seconds)


# --- sessions and paths ---------------------------------------------------------------

from siyu.analytics.queries.paths import PathsQuery, PathsResult, shape_paths  # noqa: E402
from siyu.analytics.queries.sessions import (  # noqa: E402
    SessionRow,
    SessionsQuery,
    SessionsResult,
    session_stats,
)


@dataclass(frozen=True)
class TrackedEvent:
    """A client event with a page and JSON properties of any type (for sessions and
    paths); its ``event_id`` is its position in the inserted list (see ``tracked_id``)."""

    event: str
    anonymous_id: str
    at: datetime
    page: str = ""
    shopper_id: int = 0
    channel: str = ""
    properties: dict[str, object] = field(default_factory=dict)
    source: str = "client"


def tracked_id(index: int) -> str:
    return f"ev{index:05d}"


def insert_tracked_events(
    store: AnalyticsStore, events: Sequence[TrackedEvent], links: dict[str, int] | None = None
) -> None:
    """Insert ``events`` with their positions as event ids (see ``tracked_id``)."""
    insert_events(
        store, [{**vars(e), "event_id": tracked_id(i)} for i, e in enumerate(events)], links
    )


def tracked_person(e: TrackedEvent, links: dict[str, int]) -> str:
    return person_key(e.shopper_id, e.anonymous_id, links)


def split_sessions(
    date_from: datetime,
    date_to: datetime,
    filters: Sequence[PropertyFilter],
    idle_seconds: int,
    events: Sequence[TrackedEvent],
    links: dict[str, int],
) -> list[tuple[str, list[TrackedEvent]]]:
    """(person, events) per session: walk each person's events in (time, id) order and
    start a new session whenever the gap since the previous one is ≥ the idle time."""
    per_person: dict[str, list[tuple[int, str, TrackedEvent]]] = defaultdict(list)
    for i, e in enumerate(events):
        if e.source != "client" or not (date_from <= e.at < date_to):
            continue
        if any(
            (str(e.properties.get(f.key, "")) == f.value) != (f.operator == "exact")
            for f in filters
        ):
            continue
        per_person[tracked_person(e, links)].append((ms(e.at), tracked_id(i), e))
    sessions: list[tuple[str, list[TrackedEvent]]] = []
    for person, rows in sorted(per_person.items()):
        rows.sort(key=lambda r: (r[0], r[1]))
        previous: int | None = None
        for ts, _, e in rows:
            if previous is None or ts - previous >= idle_seconds * 1000:
                sessions.append((person, []))
            sessions[-1][1].append(e)
            previous = ts
    return sessions


LIFECYCLE = {"$launch", "$show", "$hide", "$page_leave"}


def dwell_of(e: TrackedEvent) -> float | None:
    value = e.properties.get("duration_ms")
    if e.event != "$page_leave" or isinstance(value, bool):
        return None
    if not isinstance(value, int | float) or value < 0:
        return None
    return float(value)


def sessions_reference(
    query: SessionsQuery, events: Sequence[TrackedEvent], links: dict[str, int]
) -> SessionsResult:
    sessions = split_sessions(
        query.date_from,
        query.date_to,
        query.properties,
        query.session_idle_seconds,
        events,
        links,
    )
    groups: dict[str | None, list[list[TrackedEvent]]] = defaultdict(list)
    for _, evs in sessions:
        groups[evs[0].channel if query.breakdown else None].append(evs)
    series = []
    for key, group in groups.items():
        durations = [ms(evs[-1].at) - ms(evs[0].at) for evs in group]
        pageviews = [sum(1 for e in evs if e.event == "$pageview") for evs in group]
        interactions = [
            sum(1 for e in evs if e.event != "$pageview" and e.event not in LIFECYCLE)
            for evs in group
        ]
        dwells = [d for evs in group for e in evs if (d := dwell_of(e)) is not None]
        series.append(
            session_stats(
                key,
                sessions=len(group),
                total_duration_ms=sum(durations),
                median_duration_ms=float(statistics.median(durations)),
                pageviews=sum(pageviews),
                with_pageviews=sum(1 for p in pageviews if p > 0),
                bounces=sum(
                    1 for p, n in zip(pageviews, interactions, strict=True) if p == 1 and n == 0
                ),
                dwell_ms=sum(dwells),
                dwell_count=len(dwells),
            )
        )
    if not series and query.breakdown is None:
        series = [session_stats(None, 0, 0, None, 0, 0, 0, 0.0, 0)]
    series.sort(key=lambda s: (-s.sessions, s.breakdown_value or ""))
    return SessionsResult(series=series)


def pages_reference(
    query: PagesQuery, events: Sequence[TrackedEvent], links: dict[str, int]
) -> PagesResult:
    """The pages table, page by page, from the same sessions."""
    sessions = split_sessions(
        query.date_from, query.date_to, query.properties, query.session_idle_seconds, events, links
    )
    views: dict[str, int] = defaultdict(int)
    visitors: dict[str, set[str]] = defaultdict(set)
    dwells: dict[str, list[float]] = defaultdict(list)
    measured: dict[str, set[str]] = defaultdict(set)
    long_stays: dict[str, set[str]] = defaultdict(set)
    entries: dict[str, int] = defaultdict(int)
    bounces: dict[str, int] = defaultdict(int)
    exits: dict[str, int] = defaultdict(int)
    for person, evs in sessions:
        for e in evs:
            if not e.page:
                continue
            if e.event == "$pageview":
                views[e.page] += 1
                visitors[e.page].add(person)
            dwell = dwell_of(e)
            if dwell is not None:
                dwells[e.page].append(dwell)
                measured[e.page].add(person)
                if dwell >= 60_000:
                    long_stays[e.page].add(person)
        pages = [e.page for e in evs if e.event == "$pageview"]
        if pages:
            interactions = sum(
                1 for e in evs if e.event != "$pageview" and e.event not in LIFECYCLE
            )
            entries[pages[0]] += 1
            bounces[pages[0]] += len(pages) == 1 and interactions == 0
            exits[pages[-1]] += 1

    def rate(part: int, whole: int) -> float | None:
        return round(100 * part / whole, 2) if whole else None

    listed = [p for p in set(views) | set(measured) if p]
    rows = [
        PageStats(
            page=p,
            views=views[p],
            visitors=len(visitors[p]),
            average_dwell=round(statistics.mean(dwells[p]) / 1000, 3) if dwells[p] else None,
            median_dwell=round(statistics.median(dwells[p]) / 1000, 3) if dwells[p] else None,
            long_stay_rate=rate(len(long_stays[p]), len(measured[p])),
            entries=entries[p],
            bounce_rate=rate(bounces[p], entries[p]),
            exits=exits[p],
            exit_rate=rate(exits[p], views[p]),
        )
        for p in listed
    ]
    rows.sort(key=lambda r: (-r.views, r.page))
    return PagesResult(pages=rows[: query.limit])


def session_rows_reference(
    query: SessionsQuery, events: Sequence[TrackedEvent], links: dict[str, int]
) -> list[SessionRow]:
    rows = []
    for person, evs in split_sessions(
        query.date_from, query.date_to, query.properties, query.session_idle_seconds, events, links
    ):
        views = sum(1 for e in evs if e.event == "$pageview")
        other = sum(1 for e in evs if e.event != "$pageview" and e.event not in LIFECYCLE)
        rows.append(
            SessionRow(
                person_id=person,
                start_ms=ms(evs[0].at),
                duration=(ms(evs[-1].at) - ms(evs[0].at)) / 1000,
                pageviews=views,
                is_bounce=None if views == 0 else (views == 1 and other == 0),
                channel=evs[0].channel,
            )
        )
    return sorted(rows, key=lambda r: (r.person_id, r.start_ms))


def paths_reference(
    query: PathsQuery, events: Sequence[TrackedEvent], links: dict[str, int]
) -> PathsResult:
    n = query.step_limit
    link_counts: dict[tuple[int, str, str], int] = defaultdict(int)
    exit_counts: dict[tuple[int, str], int] = defaultdict(int)
    total = 0
    for _, evs in split_sessions(
        query.date_from, query.date_to, query.properties, query.session_idle_seconds, events, links
    ):
        pages: list[str] = []
        for e in evs:
            if e.event == "$pageview" and (not pages or pages[-1] != e.page):
                pages.append(e.page)
        if not pages:
            continue
        if query.start_page is not None:
            if query.start_page not in pages:
                continue
            begin = pages.index(query.start_page)
            path = pages[begin : begin + n]
            exited = begin + len(path) == len(pages)
        elif query.end_page is not None:
            if query.end_page not in pages:
                continue
            end = pages.index(query.end_page) + 1
            path = pages[max(0, end - n) : end]
            exited = end == len(pages)
        else:
            path = pages[:n]
            exited = len(path) == len(pages)
        total += 1
        for step, (a, b) in enumerate(zip(path, path[1:], strict=False), 1):
            link_counts[(step, a, b)] += 1
        if exited:
            exit_counts[(len(path), path[-1])] += 1
    kept_links = []
    for step in sorted({s for s, _, _ in link_counts}):
        ranked = sorted(
            ((s, a, b, v) for (s, a, b), v in link_counts.items() if s == step),
            key=lambda x: (-x[3], x[1], x[2]),
        )
        kept_links += ranked[: query.edge_limit]
    kept_exits = []
    for step in sorted({s for s, _ in exit_counts}):
        ranked_exits = sorted(
            ((s, p, v) for (s, p), v in exit_counts.items() if s == step),
            key=lambda x: (-x[2], x[1]),
        )
        kept_exits += ranked_exits[: query.edge_limit]
    return shape_paths(total, kept_links, kept_exits)
