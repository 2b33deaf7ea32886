from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db import Base, IdPk


class CartItem(Base):
    __tablename__ = "cart_items"
    __table_args__ = (UniqueConstraint("shopper_id", "sku_id"),)

    id: Mapped[IdPk]
    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"), index=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    quantity: Mapped[int]
    added_at: Mapped[datetime]
    updated_at: Mapped[datetime]
