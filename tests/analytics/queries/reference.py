"""Brute-force Python references for the insight runners, over the same events.

Written for obviousness, not speed: funnel levels try every chain of distinct events;
conversion times replay PostHog's ordered-funnel UDF step by step; retention walks
every person's periods. Also inserts the events into a store.
"""

from __future__ import annotations

import json
import statistics
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from siyu.analytics.queries.base import EventFilter, PropertyFilter, percentage
from siyu.analytics.queries.funnel import FunnelQuery, FunnelResult, FunnelSeries, FunnelStep
from siyu.analytics.queries.retention import (
    RetentionCell,
    RetentionCohort,
    RetentionQuery,
    RetentionResult,
)
from siyu.analytics.store import AnalyticsStore
from siyu.clock import SHANGHAI


@dataclass(frozen=True)
class Event:
    event: str
    anonymous_id: str
    at: datetime
    shopper_id: int = 0
    channel: str = ""
    properties: dict[str, str] = field(default_factory=dict)


def insert_events(
    store: AnalyticsStore, events: Sequence[Event], links: dict[str, int] | None = None
) -> None:
    columns = [
        "event_id",
        "event",
        "anonymous_id",
        "shopper_id",
        "timestamp",
        "client_time",
        "received_at",
        "channel",
        "properties",
    ]
    rows = []
    for e in events:
        ts = e.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        props = json.dumps(e.properties)
        rows.append(
            (uuid.uuid4().hex, e.event, e.anonymous_id, e.shopper_id, ts, ts, ts, e.channel, props)
        )
    store.insert("events", columns, rows)
    if links:
        store.insert(
            "person_links",
            ["anonymous_id", "shopper_id", "linked_at"],
            [(anon, shopper, "2026-01-01 00:00:00.000") for anon, shopper in links.items()],
        )


def person_of(e: Event, links: dict[str, int]) -> str:
    if e.shopper_id:
        return str(e.shopper_id)
    if links.get(e.anonymous_id):
        return str(links[e.anonymous_id])
    return "a:" + e.anonymous_id


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
