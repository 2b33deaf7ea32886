"""Check-in tables: the store's rule (one row, defaults from ``CheckinRule``) and one
row per shopper per local date, unique, which is what makes a second check-in on the
same Beijing date impossible even when two requests race."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db import Base, IdPk


class CheckinSettings(Base):
    """The store's check-in rule; ``rewards`` is a list of {points, coupon_template_id},
    cycle day 1 first. No row yet means the defaults of ``CheckinRule``."""

    __tablename__ = "checkin_settings"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    rewards: Mapped[list[Any]]
    makeup_enabled: Mapped[bool]
    makeup_cost_points: Mapped[int]
    makeups_per_month: Mapped[int]
    updated_at: Mapped[datetime]


class Checkin(Base):
    __tablename__ = "checkins"
    __table_args__ = (UniqueConstraint("shopper_id", "local_date", name="uq_checkins_day"),)

    id: Mapped[IdPk]
    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"))
    local_date: Mapped[date]  # Asia/Shanghai
    is_makeup: Mapped[bool] = mapped_column(default=False)
    streak: Mapped[int]  # as of this check-in (0 for a make-up: it earns nothing)
    cycle_day: Mapped[int]
    points: Mapped[int] = mapped_column(default=0)  # the reward credited
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("shopper_coupons.id"))
    created_at: Mapped[datetime]
