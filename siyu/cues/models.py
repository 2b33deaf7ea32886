"""The store's urgency-cue settings: one row (id 1) saved by an operator; without it
the settings' defaults (``SIYU_CUES_*``) hold."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db import Base


class CueSettings(Base):
    __tablename__ = "cue_settings"
    __table_args__ = (CheckConstraint("low_stock_threshold >= 0", name="threshold_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # always 1
    social_proof_enabled: Mapped[bool]  # the feed of recent purchases (off switch)
    low_stock_threshold: Mapped[int]  # 仅剩N件 at or below this; 0: never
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    updated_at: Mapped[datetime]
