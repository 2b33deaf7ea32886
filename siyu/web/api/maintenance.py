"""Maintenance routes for ``siyu backup`` while ``siyu serve`` runs.

chdb lets one process open the analytics folder, so while the server runs the backup
command asks it for the tables. Only a caller holding the store's secret key gets them:
it signs a short-lived token of kind ``maintenance`` with ``SIYU_SECRET_KEY``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from fastapi.responses import Response

from siyu.analytics.export import TableInfo, backup_tables, export_table
from siyu.errors import NotFound, Unauthorized
from siyu.identity.tokens import read_token
from siyu.web.deps import CtxDep, NowDep

MAINTENANCE_KIND = "maintenance"


def require_maintenance(
    ctx: CtxDep, now: NowDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    token = (
        authorization[7:].strip()
        if authorization and authorization[:7].lower() == "bearer "
        else ""
    )
    if not token:
        raise Unauthorized(
            "maintenance_token_required", "需要维护令牌 / Maintenance token required"
        )
    read_token(ctx.settings.secret_key.get_secret_value(), token, kind=MAINTENANCE_KIND, now=now)


router = APIRouter(
    prefix="/api/maintenance",
    tags=["maintenance"],
    include_in_schema=False,
    dependencies=[Depends(require_maintenance)],
)


def _tables(ctx: CtxDep) -> list[TableInfo]:
    return backup_tables(ctx.analytics)


@router.get("/analytics")
def analytics_tables(ctx: CtxDep) -> dict[str, Any]:
    """The analytics tables a backup copies (name, engine, CREATE statement)."""
    tables = _tables(ctx)
    return {
        "database": ctx.analytics.database,
        "tables": [{"name": t.name, "engine": t.engine, "ddl": t.ddl} for t in tables],
    }


@router.get("/analytics/{table}")
def analytics_table(table: str, ctx: CtxDep) -> Response:
    """One table as a Parquet file (one consistent snapshot of it)."""
    found = next((t for t in _tables(ctx) if t.name == table), None)
    if found is None:
        raise NotFound("table_not_found", "没有这个分析表 / No such analytics table")
    return Response(export_table(ctx.analytics, found), media_type="application/vnd.apache.parquet")
