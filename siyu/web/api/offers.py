"""The admin routes a coupon template and a promotion share: list (with stats), create,
read, edit and change status, each offer kind's own schemas and service calls.

No ``from __future__ import annotations`` here: each route's body and path parameter
are the offer kind's own classes, set on the endpoint before it is added, and FastAPI
reads them as they are."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import GenericAlias
from typing import Annotated, Any, Generic, Protocol, TypeVar

from fastapi import APIRouter, Path
from pydantic import BaseModel
from sqlalchemy.orm import Session

from siyu.pricing.offer_fields import OfferChanges, ScopedOfferCreate
from siyu.web.api.common import transact_into
from siyu.web.deps import MarketingReader, MarketingWriter, NowDep, ReadSessionDep, SessionDep

OutT = TypeVar("OutT", bound=BaseModel)
StatsT = TypeVar("StatsT")


class _Row(Protocol):
    @property
    def id(self) -> int: ...


RowT = TypeVar("RowT", bound=_Row)


class StatusBody(Protocol):
    @property
    def status(self) -> Any: ...


@dataclass(frozen=True)
class OfferApi(Generic[RowT, OutT, StatsT]):
    """One offer kind's admin API. ``names`` are the route names (``list``, ``create``,
    ``get``, ``update``, ``status`` → e.g. ``list_templates``), ``docs`` their
    descriptions."""

    id_name: str  # "template_id": the path parameter
    out_model: type[OutT]
    create_body: type[ScopedOfferCreate]
    fields_body: type[OfferChanges]
    status_body: type[StatusBody]
    names: Mapping[str, str]
    docs: Mapping[str, str]
    out: Callable[[RowT, datetime, StatsT | None], OutT]
    stats: Callable[[Session, datetime], Mapping[int, StatsT]]
    listing: Callable[[Session], list[RowT]]
    create: Callable[[Session, int, dict[str, Any], datetime], RowT]  # actor id, values
    get: Callable[[Session, int], RowT]
    update: Callable[[Session, int, int, dict[str, Any], datetime], RowT]  # actor, offer id
    set_status: Callable[[Session, int, int, Any, datetime], RowT]  # actor, offer, status

    def with_stats(self, session: Session, now: datetime) -> Callable[[RowT], OutT]:
        """An offer with its stats, read in the caller's transaction."""
        return lambda row: self.out(row, now, self.stats(session, now).get(row.id))

    def mount(self, router: APIRouter) -> None:
        api = self
        offer_id = Annotated[int, Path(alias=self.id_name)]
        by_id = f"/{{{self.id_name}}}"

        def listed(session: ReadSessionDep, now: NowDep, _: MarketingReader) -> list[OutT]:
            with session.begin():
                stats = api.stats(session, now)
                return [api.out(row, now, stats.get(row.id)) for row in api.listing(session)]

        def create(
            body: ScopedOfferCreate, session: SessionDep, now: NowDep, actor: MarketingWriter
        ) -> OutT:
            return transact_into(
                session,
                lambda row: api.out(row, now, None),
                api.create,
                actor.id,
                body.values(),
                now,
            )

        def read(ident: int, session: ReadSessionDep, now: NowDep, _: MarketingReader) -> OutT:
            return transact_into(session, api.with_stats(session, now), api.get, ident)

        def update(
            ident: int, body: OfferChanges, session: SessionDep, now: NowDep, actor: MarketingWriter
        ) -> OutT:
            changes = body.changes()
            return transact_into(
                session, api.with_stats(session, now), api.update, actor.id, ident, changes, now
            )

        def status(
            ident: int, body: StatusBody, session: SessionDep, now: NowDep, actor: MarketingWriter
        ) -> OutT:
            wanted = body.status
            return transact_into(
                session, api.with_stats(session, now), api.set_status, actor.id, ident, wanted, now
            )

        create.__annotations__["body"] = self.create_body
        update.__annotations__["body"] = self.fields_body
        status.__annotations__["body"] = self.status_body
        for endpoint in (read, update, status):
            endpoint.__annotations__["ident"] = offer_id
        routes: list[tuple[str, str, Callable[..., Any], Any, int]] = [
            ("", "GET", listed, GenericAlias(list, (self.out_model,)), 200),
            ("", "POST", create, self.out_model, 201),
            (by_id, "GET", read, self.out_model, 200),
            (by_id, "PATCH", update, self.out_model, 200),
            (f"{by_id}/status", "POST", status, self.out_model, 200),
        ]
        for (path, method, endpoint, model, code), key in zip(
            routes, ("list", "create", "get", "update", "status"), strict=True
        ):
            router.add_api_route(
                path,
                endpoint,
                methods=[method],
                response_model=model,
                status_code=code,
                name=self.names[key],
                description=self.docs.get(key),
            )
