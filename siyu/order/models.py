from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from siyu.db import Base, IdPk, StrEnumType
from siyu.order.rules import OrderStatus


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_shopper_placed", "shopper_id", "placed_at"),
        Index("ix_orders_status_placed", "status", "placed_at"),
        CheckConstraint("total_fen >= 0", name="total_not_negative"),
        CheckConstraint("refunded_fen <= paid_fen", name="refund_within_paid"),
    )

    id: Mapped[IdPk]
    order_no: Mapped[str] = mapped_column(String(32), unique=True)  # also out_trade_no
    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"))
    status: Mapped[OrderStatus] = mapped_column(StrEnumType(OrderStatus, 24))
    # "cart" | "buy_now" | the play it was placed through ("group_buy", ...)
    source: Mapped[str] = mapped_column(String(16))
    subtotal_fen: Mapped[int]
    discount_fen: Mapped[int] = mapped_column(default=0)
    shipping_fen: Mapped[int] = mapped_column(default=0)
    total_fen: Mapped[int]
    paid_fen: Mapped[int] = mapped_column(default=0)
    refunded_fen: Mapped[int] = mapped_column(default=0)
    address: Mapped[dict[str, Any]]
    note: Mapped[str] = mapped_column(String(200), default="")
    placed_at: Mapped[datetime]
    pay_deadline: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    # Set once, when the after-sales window closed and the ``settled`` steps ran.
    settled_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(32))
    carrier: Mapped[str | None] = mapped_column(String(32))
    tracking_no: Mapped[str | None] = mapped_column(String(64))
    payment_provider: Mapped[str | None] = mapped_column(String(16))
    transaction_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Set when a payment notification does not match the order (amount, late payment).
    payment_flag: Mapped[str | None] = mapped_column(String(32))
    payment_flag_detail: Mapped[str | None] = mapped_column(Text)
    # At most one after-sales request open per order; set and cleared conditionally.
    open_aftersale_id: Mapped[int | None]
    # Set while a play holds fulfilment back ("group_buy": until the group completes);
    # shipping is refused until the play clears it.
    hold: Mapped[str | None] = mapped_column(String(24))

    # The quote the shopper was charged (siyu.pricing): discounts, allocations, hints.
    pricing: Mapped[dict[str, Any]] = mapped_column(default=dict)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.id", lazy="selectin"
    )


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("refunded_fen <= payable_fen", name="refund_within_payable"),
        CheckConstraint("refunded_quantity <= quantity", name="refund_qty_within_qty"),
    )

    id: Mapped[IdPk]
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    title: Mapped[str] = mapped_column(String(120))
    spec: Mapped[dict[str, Any]]
    image_url: Mapped[str] = mapped_column(String(512), default="")
    unit_price_fen: Mapped[int]
    quantity: Mapped[int]
    payable_fen: Mapped[int]
    refunded_fen: Mapped[int] = mapped_column(default=0)
    refunded_quantity: Mapped[int] = mapped_column(default=0)

    order: Mapped[Order] = relationship(back_populates="lines")
    allocations: Mapped[list[OrderLineAllocation]] = relationship(
        order_by="OrderLineAllocation.id", lazy="selectin", viewonly=True
    )

    @property
    def discount_fen(self) -> int:
        """Every saving on this line (member price, promotions, coupon, points)."""
        return sum(a.amount_fen for a in self.allocations)


class OrderLineAllocation(Base):
    """One discount source's share of one order line, to the fen, written once from the
    quote at placement. Refunds, after-sales, commission and analytics read these rows;
    they sum to the line's discount and, over an order, to the order's discount."""

    __tablename__ = "order_line_allocations"
    __table_args__ = (
        Index("ix_order_line_allocations_source", "source", "source_id"),
        CheckConstraint("amount_fen > 0", name="allocation_positive"),
    )

    id: Mapped[IdPk]
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # DiscountSource
    source_id: Mapped[int]  # promotion id, shopper coupon id, 0 for points
    amount_fen: Mapped[int]


class OrderDiscount(Base):
    """One saving an order received, by source: redemption stats read these rows."""

    __tablename__ = "order_discounts"
    __table_args__ = (Index("ix_order_discounts_source", "source", "source_id"),)

    id: Mapped[IdPk]
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # DiscountSource
    source_id: Mapped[int]  # promotion id or shopper coupon id (0: points, shipping)
    template_id: Mapped[int | None]  # coupons: their template
    kind: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int]
