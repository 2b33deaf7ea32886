"""Route groups that refuse a whole path prefix at once.

FastAPI (≥ 0.137) includes a router lazily: every request asks every included router,
and each asks each of its routes, with some scope bookkeeping per candidate — about
70 candidates and 350 route tests for one request to the ~200 routes of the API,
console and storefront, which cost more than the work of a small route
(fastapi/fastapi#16159). :func:`include_grouped` puts the routers that share a
path prefix (``/api/app``, ``/api/admin``, ``/console``…) under one
:class:`PrefixGroup`, which answers "no" with one string test for every path
outside its prefix, so a request only walks the routes of its own group.

A group holds its routers' routes themselves, not the routers (an ``APIRoute``
already carries its full path, tags, dependencies and schema flag): FastAPI's lazy
include walks one more level of candidates, each with its scope bookkeeping, for every
router included, and matches twice (once to choose, once to handle). The few hottest
routers (``direct``) skip even the group: their routes are the app's own.

Routes, their order within a group, dependencies and the OpenAPI document are the
same as with one ``include_router`` per router. A router given here must hold only
routes (no included routers of its own).
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Scope


class PrefixGroup(APIRouter):
    """Routers whose paths all start with ``prefix`` (a whole path segment)."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.guard = prefix.rstrip("/")

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = get_route_path(scope)
        if not path.startswith(self.guard) or (
            len(path) > len(self.guard) and path[len(self.guard)] != "/"
        ):
            return Match.NONE, {}
        return super().matches(scope)


def group_key(prefix: str, depth: int = 2) -> str:
    """The first ``depth`` segments of a router's prefix: ``/api/app/orders`` → ``/api/app``."""
    return "/".join(prefix.rstrip("/").split("/")[: depth + 1])


def include_grouped(
    app: FastAPI,
    routers: Iterable[APIRouter],
    *,
    depth: int = 2,
    direct: Iterable[APIRouter] = (),
) -> None:
    """Include ``routers`` in ``app``, one :class:`PrefixGroup` per prefix key (the first
    ``depth`` segments); groups keep the order of their first router, routers their
    order within a group. The routes of the ``direct`` routers (the hottest few) are
    the app's own, ahead of every group: matched by their path pattern alone."""
    app.router.routes.extend(route for router in direct for route in router.routes)
    groups: dict[str, PrefixGroup] = {}
    for router in routers:
        key = group_key(router.prefix, depth)
        if not key:
            raise ValueError("a grouped router needs a path prefix")
        group = groups.get(key)
        if group is None:
            group = groups[key] = PrefixGroup(key)
        if any(not isinstance(route, APIRoute) for route in router.routes):
            raise ValueError(f"{router.prefix}: a grouped router holds only API routes")
        group.routes.extend(router.routes)
    for group in groups.values():
        app.include_router(group)
