"""Insight query runners (PostHog's pattern): a typed query with a ``kind`` → SQL → rows
→ a typed result. ``run_query`` picks the runner for a query's kind."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from siyu.analytics.queries.base import EventFilter, InsightQuery, PropertyFilter, QueryRunner
from siyu.analytics.queries.channels import ChannelsQuery, ChannelsResult, ChannelsRunner
from siyu.analytics.queries.funnel import FunnelQuery, FunnelResult, FunnelRunner, persons_csv
from siyu.analytics.queries.overview import OverviewQuery, OverviewResult, OverviewRunner
from siyu.analytics.queries.pages import PagesQuery, PagesResult, PagesRunner
from siyu.analytics.queries.paths import PathsQuery, PathsResult, PathsRunner
from siyu.analytics.queries.repurchase import RepurchaseQuery, RepurchaseResult, RepurchaseRunner
from siyu.analytics.queries.retention import RetentionQuery, RetentionResult, RetentionRunner
from siyu.analytics.queries.sessions import SessionsQuery, SessionsResult, SessionsRunner
from siyu.analytics.store import AnalyticsStore

RUNNERS: dict[str, type[QueryRunner[Any, Any]]] = {
    FunnelRunner.kind: FunnelRunner,
    RetentionRunner.kind: RetentionRunner,
    PathsRunner.kind: PathsRunner,
    SessionsRunner.kind: SessionsRunner,
    PagesRunner.kind: PagesRunner,
    ChannelsRunner.kind: ChannelsRunner,
    OverviewRunner.kind: OverviewRunner,
    RepurchaseRunner.kind: RepurchaseRunner,
}


def get_runner(query: InsightQuery, database: str) -> QueryRunner[Any, Any]:
    try:
        runner = RUNNERS[query.kind]
    except KeyError:
        raise ValueError(f"no runner for query kind {query.kind!r}") from None
    return runner(query, database=database)


def run_query(query: InsightQuery, store: AnalyticsStore) -> BaseModel:
    return get_runner(query, store.database).run(store)


__all__ = [
    "ChannelsQuery",
    "ChannelsResult",
    "ChannelsRunner",
    "OverviewQuery",
    "OverviewResult",
    "OverviewRunner",
    "RepurchaseQuery",
    "RepurchaseResult",
    "RepurchaseRunner",
    "EventFilter",
    "FunnelQuery",
    "FunnelResult",
    "FunnelRunner",
    "PagesQuery",
    "PagesResult",
    "PagesRunner",
    "PathsQuery",
    "PathsResult",
    "PathsRunner",
    "PropertyFilter",
    "RetentionQuery",
    "RetentionResult",
    "RetentionRunner",
    "SessionsQuery",
    "SessionsResult",
    "SessionsRunner",
    "get_runner",
    "persons_csv",
    "run_query",
]
