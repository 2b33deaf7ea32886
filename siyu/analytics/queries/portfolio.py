"""Product portfolio (产品组合): sales and margin share by product role against the
playbooks' 20 / 60 / 20 (traffic / profit / premium, :mod:`siyu.catalog.rules`).

Why this reads the OLTP store, not ClickHouse: the ``order.paid`` facts carry an order's
amount but not its lines, and role and cost live on products and SKUs. So this insight
is a SQL query over ``orders``, ``order_lines``, ``products`` and ``skus`` in a
``Session``; :func:`shape_portfolio` is the pure part.

- Orders paid in ``[date_from, date_to)`` (``paid_at``) count, whatever their status now.
- Sales per line = shelf subtotal − its ``order_line_allocations`` (every discount
  source) − ``refunded_fen``: GMV net of discounts and refunds.
- Cost per line = SKU ``cost_fen`` × (quantity − refunded quantity), at today's cost.
  Lines whose SKU has no cost are left out of margin and counted in
  ``lines_without_cost``. Margin = sales − cost over the costed lines.
- The role is the product's current role.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, model_validator
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from siyu.analytics.queries.base import percentage
from siyu.catalog.models import Product, Sku
from siyu.catalog.rules import ProductRole
from siyu.order.models import Order, OrderLine, OrderLineAllocation

TARGET_SHARES: dict[ProductRole, float] = {
    ProductRole.traffic: 20.0,
    ProductRole.profit: 60.0,
    ProductRole.premium: 20.0,
}


class PortfolioQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["PortfolioQuery"] = "PortfolioQuery"
    date_from: AwareDatetime
    date_to: AwareDatetime

    @model_validator(mode="after")
    def _check_range(self) -> PortfolioQuery:
        if self.date_from >= self.date_to:
            raise ValueError("date_from must be before date_to")
        return self


class RoleShare(BaseModel):
    role: ProductRole
    sales_fen: int
    sales_share: float  # percent of all sales
    margin_fen: int
    margin_share: float  # percent of all margin (0 when total margin ≤ 0)
    target_share: float
    gap: float  # sales share − target, percentage points
    lines_without_cost: int


class PortfolioResult(BaseModel):
    sales_fen: int
    margin_fen: int
    roles: list[RoleShare]  # traffic, profit, premium


def shape_portfolio(rows: list[tuple[Any, ...]]) -> PortfolioResult:
    """Rows of (role, sales_fen, costed_sales_fen, cost_fen, lines_without_cost)."""
    by_role = {
        ProductRole(r[0]): (int(r[1] or 0), int(r[2] or 0), int(r[3] or 0), int(r[4] or 0))
        for r in rows
    }
    sales = {role: by_role.get(role, (0, 0, 0, 0))[0] for role in ProductRole}
    margin = {
        role: by_role.get(role, (0, 0, 0, 0))[1] - by_role.get(role, (0, 0, 0, 0))[2]
        for role in ProductRole
    }
    total_sales = sum(sales.values())
    total_margin = sum(margin.values())
    roles = []
    for role in ProductRole:
        share = percentage(sales[role], total_sales)
        roles.append(
            RoleShare(
                role=role,
                sales_fen=sales[role],
                sales_share=share,
                margin_fen=margin[role],
                margin_share=percentage(margin[role], total_margin) if total_margin > 0 else 0.0,
                target_share=TARGET_SHARES[role],
                gap=round(share - TARGET_SHARES[role], 2),
                lines_without_cost=by_role.get(role, (0, 0, 0, 0))[3],
            )
        )
    return PortfolioResult(sales_fen=total_sales, margin_fen=total_margin, roles=roles)


class PortfolioRunner:
    """Like the ClickHouse runners, but it runs on an OLTP ``Session``."""

    kind = "PortfolioQuery"

    def __init__(self, query: PortfolioQuery) -> None:
        self.query = query

    def run(self, session: Session) -> PortfolioResult:
        q = self.query
        allocated = (
            select(func.coalesce(func.sum(OrderLineAllocation.amount_fen), 0))
            .where(OrderLineAllocation.order_line_id == OrderLine.id)
            .scalar_subquery()
        )
        line_sales = (
            OrderLine.unit_price_fen * OrderLine.quantity - allocated - OrderLine.refunded_fen
        )
        kept = OrderLine.quantity - OrderLine.refunded_quantity
        has_cost = Sku.cost_fen.is_not(None)
        stmt = (
            select(
                Product.role,
                func.sum(line_sales),
                func.sum(case((has_cost, line_sales), else_=0)),
                func.sum(case((has_cost, Sku.cost_fen * kept), else_=0)),
                func.sum(case((has_cost, 0), else_=1)),
            )
            .select_from(OrderLine)
            .join(Order, Order.id == OrderLine.order_id)
            .join(Product, Product.id == OrderLine.product_id)
            .join(Sku, Sku.id == OrderLine.sku_id)
            .where(
                Order.paid_at.is_not(None),
                Order.paid_at >= q.date_from,
                Order.paid_at < q.date_to,
            )
            .group_by(Product.role)
        )
        return shape_portfolio([tuple(r) for r in session.execute(stmt)])
