from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from siyu.aftersale.rules import AfterSaleKind, AfterSaleStatus
from siyu.db import Base, IdPk, StrEnumType


class AfterSale(Base):
    __tablename__ = "aftersales"

    id: Mapped[IdPk]
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"), index=True)
    kind: Mapped[AfterSaleKind] = mapped_column(StrEnumType(AfterSaleKind, 16))
    status: Mapped[AfterSaleStatus] = mapped_column(StrEnumType(AfterSaleStatus, 16), index=True)
    reason: Mapped[str] = mapped_column(String(200))
    # [{"order_line_id", "quantity", "amount_fen"}]
    lines: Mapped[list[Any]]
    refund_fen: Mapped[int]
    decision_reason: Mapped[str | None] = mapped_column(String(200))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    requested_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The shopper's tier has priority after-sales (极速售后): first in the queue.
    priority: Mapped[bool] = mapped_column(default=False, server_default=false())
