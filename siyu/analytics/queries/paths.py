"""Paths: which pages sessions move through, as a Sankey (nodes, links, exits).

Semantics (PostHog's paths, specs/analytics.md §2.2):

- Sessions are those of :mod:`siyu.analytics.queries.sessions`: one person's client
  events in ``[date_from, date_to)`` ordered by (timestamp, event_id), split where the
  gap is **at least** ``session_idle_seconds`` (30 min: an exact 30:00 gap splits, as
  PostHog's ``x.3 < threshold``). Every client event is activity, not only page views.
- A session's pages are its ``$pageview`` ``page`` values in order with immediate
  repeats collapsed (``A A B A`` → ``A B A``). Sessions without page views are left out.
- The path is at most ``step_limit`` pages (PostHog: 5):
  no anchor → the first pages; ``start_page`` → from the first occurrence of that page
  (sessions without it are left out); ``end_page`` → the pages up to its first
  occurrence, the last ``step_limit`` of them (sessions without it are left out).
  Steps are numbered from 1 at the path's first page, so nodes are ``"{step}_{page}"``.
- Links: step i → step i+1 with the number of sessions taking it; the top
  ``edge_limit`` per step (PostHog's limit, 50, is over all steps) by count, then
  source and target. Exits: the node where the session's page sequence really ends
  (not where a path was cut by the step limit), top ``edge_limit`` per step.
- Counts are sessions. Nodes are those of the kept links and exits.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from siyu.analytics.queries.base import InsightQuery, QueryRunner, SqlParams
from siyu.analytics.queries.sessions import PAGEVIEW, SESSION_IDLE_SECONDS_DEFAULT, bind_sessions

STEP_LIMIT_DEFAULT = 5
EDGE_LIMIT_DEFAULT = 50


class PathsQuery(InsightQuery):
    kind: Literal["PathsQuery"] = "PathsQuery"
    start_page: str | None = None
    end_page: str | None = None
    step_limit: int = Field(default=STEP_LIMIT_DEFAULT, ge=2, le=20)
    edge_limit: int = Field(default=EDGE_LIMIT_DEFAULT, ge=1, le=1000)  # per step
    session_idle_seconds: int = Field(default=SESSION_IDLE_SECONDS_DEFAULT, ge=1, le=86400)

    @model_validator(mode="after")
    def _one_anchor(self) -> PathsQuery:
        if self.start_page is not None and self.end_page is not None:
            raise ValueError("anchor a path at start_page or end_page, not both")
        return self


class PathsNode(BaseModel):
    name: str  # "{step}_{page}"
    step: int
    page: str


class PathsLink(BaseModel):
    source: str  # node name at `step`
    target: str  # node name at `step` + 1
    step: int
    value: int  # sessions


class PathsExit(BaseModel):
    node: str
    step: int
    page: str
    value: int  # sessions that ended on this page


class PathsResult(BaseModel):
    sessions: int  # sessions with a path (after anchoring)
    nodes: list[PathsNode]  # by step, then page
    links: list[PathsLink]  # by step, value descending, source, target
    exits: list[PathsExit]  # by step, value descending, page


def node_name(step: int, page: str) -> str:
    return f"{step}_{page}"


def shape_paths(
    sessions: int,
    links: list[tuple[int, str, str, int]],
    exits: list[tuple[int, str, int]],
) -> PathsResult:
    """The Sankey from kept (step, source, target, value) and (step, page, value)."""
    links = sorted(links, key=lambda x: (x[0], -x[3], x[1], x[2]))
    exits = sorted(exits, key=lambda x: (x[0], -x[2], x[1]))
    nodes = {(s, a) for s, a, _, _ in links} | {(s + 1, b) for s, _, b, _ in links}
    nodes |= {(s, p) for s, p, _ in exits}
    return PathsResult(
        sessions=sessions,
        nodes=[PathsNode(name=node_name(s, p), step=s, page=p) for s, p in sorted(nodes)],
        links=[
            PathsLink(source=node_name(s, a), target=node_name(s + 1, b), step=s, value=v)
            for s, a, b, v in links
        ],
        exits=[PathsExit(node=node_name(s, p), step=s, page=p, value=v) for s, p, v in exits],
    )


class PathsRunner(QueryRunner[PathsQuery, PathsResult]):
    kind = "PathsQuery"

    def build_sql(self) -> tuple[str, dict[str, Any]]:
        q = self.query
        params = SqlParams()
        ctes, values = bind_sessions(q, q.session_idle_seconds, params, self.database)
        steps = params.add("step_limit", "UInt16", q.step_limit)
        if q.start_page is not None:
            anchor = "indexOf(pages, " + params.add("start_page", "String", q.start_page) + ")"
            path = f"arraySlice(pages, anchor, {steps})"
            exited = f"length(pages) - anchor < {steps}"
            keep = "anchor > 0"
        elif q.end_page is not None:
            anchor = "indexOf(pages, " + params.add("end_page", "String", q.end_page) + ")"
            path = f"arraySlice(pages, greatest(1, anchor - {steps} + 1), least(anchor, {steps}))"
            exited = "anchor = length(pages)"
            keep = "anchor > 0"
        else:
            anchor = "1"
            path = f"arraySlice(pages, 1, {steps})"
            exited = f"length(pages) <= {steps}"
            keep = "length(pages) > 0"
        edges = params.add("edge_limit", "UInt32", q.edge_limit)
        sql = (
            f"WITH\n{ctes},\n"
            "paths AS (\n"
            f"    SELECT arrayCompact(arrayMap(x -> x.4, arrayFilter(x -> x.3 = '{PAGEVIEW}', s)))"
            " AS pages,\n"
            f"        {anchor} AS anchor,\n"
            f"        {path} AS path,\n"
            f"        {exited} AS exited\n"
            "    FROM per_person\n"
            "    ARRAY JOIN sessions AS s\n"
            f"    WHERE length(pages) > 0 AND {keep}\n"
            ")\n"
            "SELECT 'link' AS kind, step, source, target, value FROM (\n"
            "    SELECT step, path[step] AS source, path[step + 1] AS target, count() AS value\n"
            "    FROM paths\n"
            "    ARRAY JOIN arrayEnumerate(arrayPopBack(path)) AS step\n"
            "    GROUP BY step, source, target\n"
            "    ORDER BY step, value DESC, source, target\n"
            f"    LIMIT {edges} BY step\n"
            ")\n"
            "UNION ALL\n"
            "SELECT 'exit' AS kind, step, source, '' AS target, value FROM (\n"
            "    SELECT length(path) AS step, path[-1] AS source, count() AS value\n"
            "    FROM paths\n"
            "    WHERE exited\n"
            "    GROUP BY step, source\n"
            "    ORDER BY step, value DESC, source\n"
            f"    LIMIT {edges} BY step\n"
            ")\n"
            "UNION ALL\n"
            "SELECT 'sessions' AS kind, 0 AS step, '' AS source, '' AS target, count() AS value\n"
            "FROM paths"
        )
        return sql, values

    def shape(self, rows: list[tuple[Any, ...]]) -> PathsResult:
        sessions = 0
        links: list[tuple[int, str, str, int]] = []
        exits: list[tuple[int, str, int]] = []
        for kind, step, source, target, value in rows:
            if kind == "link":
                links.append((int(step), str(source), str(target), int(value)))
            elif kind == "exit":
                exits.append((int(step), str(source), int(value)))
            else:
                sessions = int(value)
        return shape_paths(sessions, links, exits)
