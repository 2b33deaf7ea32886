from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db import Base, IdPk, StrEnumType
from siyu.identity.rules import Role


class Shopper(Base):
    __tablename__ = "shoppers"

    id: Mapped[IdPk]
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64), index=True)
    nickname: Mapped[str] = mapped_column(String(64), default="")
    avatar_url: Mapped[str] = mapped_column(String(512), default="")
    phone_encrypted: Mapped[str | None] = mapped_column(Text)
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    registered_at: Mapped[datetime]
    last_login_at: Mapped[datetime]
    # Entry attribution, written once at registration.
    first_scene: Mapped[int | None]
    first_channel_code: Mapped[str | None] = mapped_column(String(32), index=True)
    first_sharer_id: Mapped[int | None]
    first_anonymous_id: Mapped[str | None] = mapped_column(String(64))
    # Set once by the shopper (siyu.loyalty.tiers): the birthday gift's date.
    birthday: Mapped[date | None]
    # Set by an operator (anti-fraud): a blocked shopper's bargain cuts do not count.
    blocked_at: Mapped[datetime | None]


class ShopperDevice(Base):
    """Anonymous device ids seen for a shopper: stitches pre-login browsing to a person."""

    __tablename__ = "shopper_devices"

    anonymous_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"), primary_key=True)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class Operator(Base):
    __tablename__ = "operators"

    id: Mapped[IdPk]
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(StrEnumType(Role, 16))
    is_active: Mapped[bool] = mapped_column(default=True)
    token_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class OperatorLoginAttempt(Base):
    __tablename__ = "operator_login_attempts"
    __table_args__ = (Index("ix_login_attempts_user_at", "username", "attempted_at"),)

    id: Mapped[IdPk]
    username: Mapped[str] = mapped_column(String(64))
    client_ip: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool]
    attempted_at: Mapped[datetime]


class AuditLog(Base):
    __tablename__ = "audit_logs"

    id: Mapped[IdPk]
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    at: Mapped[datetime] = mapped_column(index=True)
