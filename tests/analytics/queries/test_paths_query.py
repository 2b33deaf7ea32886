from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from siyu.analytics.queries.paths import PathsQuery, PathsRunner
from siyu.analytics.store import AnalyticsStore
from tests.analytics.queries.reference import TrackedEvent, insert_tracked_events

BASE = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def minute(n: float) -> datetime:
    return BASE + timedelta(minutes=n)


def view(device: str, at: float, page: str) -> TrackedEvent:
    return TrackedEvent("$pageview", device, minute(at), page=page)


def test_a_paths_query_refuses_both_anchors() -> None:
    # when / then
    with pytest.raises(ValidationError):
        PathsQuery(date_from=BASE, date_to=minute(60), start_page="/a", end_page="/b")


def test_paths_collapse_repeats_and_count_flows_and_exits(analytics_store: AnalyticsStore) -> None:
    # given three sessions: /home /home /item /cart; /home /item; /home /search (then a
    # second session of that person 40 minutes later: /item)
    insert_tracked_events(
        analytics_store,
        [
            view("d1", 0, "/home"),
            view("d1", 1, "/home"),
            view("d1", 2, "/item"),
            view("d1", 3, "/cart"),
            view("d2", 0, "/home"),
            view("d2", 1, "/item"),
            view("d3", 0, "/home"),
            view("d3", 1, "/search"),
            view("d3", 41, "/item"),
        ],
    )
    query = PathsQuery(date_from=BASE, date_to=minute(90), start_page="/home", edge_limit=1)

    # when
    result = PathsRunner(query, database=analytics_store.database).run(analytics_store)

    # then /home → /search loses the step-1 tie-break to the bigger /home → /item
    assert result.sessions == 3
    assert [(k.source, k.target, k.value) for k in result.links] == [
        ("1_/home", "2_/item", 2),
        ("2_/item", "3_/cart", 1),
    ]
    # and exits are limited per step too: /item wins the step-2 tie over /search
    assert [(x.node, x.value) for x in result.exits] == [("2_/item", 1), ("3_/cart", 1)]
    assert [n.name for n in result.nodes] == ["1_/home", "2_/item", "3_/cart"]


def test_paths_ending_at_a_page_keep_the_last_steps_before_it(
    analytics_store: AnalyticsStore,
) -> None:
    # given /a /b /c /pay /a and /c /pay
    insert_tracked_events(
        analytics_store,
        [view("d1", i, p) for i, p in enumerate(["/a", "/b", "/c", "/pay", "/a"])]
        + [view("d2", 0, "/c"), view("d2", 1, "/pay")],
    )
    query = PathsQuery(date_from=BASE, date_to=minute(90), end_page="/pay", step_limit=3)

    # when
    result = PathsRunner(query, database=analytics_store.database).run(analytics_store)

    # then
    assert [(k.source, k.target, k.value) for k in result.links] == [
        ("1_/b", "2_/c", 1),
        ("1_/c", "2_/pay", 1),
        ("2_/c", "3_/pay", 1),
    ]
    assert [(x.node, x.value) for x in result.exits] == [("2_/pay", 1)]
