"""Operator accounts: creation by an owner, password login with rate limiting, roles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.db import get_or_raise
from siyu.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from siyu.identity.audit import AuditTrail
from siyu.identity.models import Operator, OperatorLoginAttempt
from siyu.identity.rules import Role, is_strong_password

_hasher = PasswordHasher()
# Verifying against this keeps the timing of "no such user" equal to "wrong password".
_DUMMY_HASH = _hasher.hash("siyu-dummy-password-0")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def operator_snapshot(op: Operator) -> dict[str, object]:
    return {
        "username": op.username,
        "display_name": op.display_name,
        "role": str(op.role),
        "is_active": op.is_active,
    }


_OPERATORS = AuditTrail("operator", operator_snapshot)


def create_operator(
    session: Session,
    *,
    username: str,
    display_name: str,
    password: str,
    role: Role,
    now: datetime,
    actor_id: int | None = None,
) -> Operator:
    username = username.strip().lower()
    if not is_strong_password(password):
        raise InvalidInput(
            "weak_password",
            "密码至少 10 位，且包含字母和数字 / Password needs 10+ characters with letters and digits",
            {"password": "weak"},
        )
    if session.scalar(select(Operator.id).where(Operator.username == username)) is not None:
        raise Conflict(
            "username_taken", "用户名已存在 / Username already exists", {"username": "taken"}
        )
    op = Operator(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=role,
        created_at=now,
    )
    session.add(op)
    session.flush()
    if actor_id is not None:
        _OPERATORS.created(session, op, operator_id=actor_id, now=now)
    return op


@dataclass(frozen=True)
class LoginOutcome:
    """The attempt is recorded either way, so the caller commits before raising."""

    operator: Operator | None
    error: DomainError | None


def authenticate_operator(
    session: Session,
    *,
    username: str,
    password: str,
    client_ip: str,
    now: datetime,
    max_failures: int,
    window: timedelta,
) -> LoginOutcome:
    """Check a password; after ``max_failures`` failures in ``window`` for a username
    (or from an address) further attempts are refused until the window passes."""
    username = username.strip().lower()
    since = now - window
    failures = (
        session.scalar(
            select(func.count())
            .select_from(OperatorLoginAttempt)
            .where(
                OperatorLoginAttempt.attempted_at >= since,
                OperatorLoginAttempt.succeeded.is_(False),
                (OperatorLoginAttempt.username == username)
                | (OperatorLoginAttempt.client_ip == client_ip),
            )
        )
        or 0
    )
    if failures >= max_failures:
        return LoginOutcome(
            None,
            TooManyRequests(
                "too_many_login_attempts",
                "登录失败次数过多，请稍后再试 / Too many failed logins, try again later",
            ),
        )
    op = session.scalar(select(Operator).where(Operator.username == username))
    ok = False
    try:
        ok = _hasher.verify(op.password_hash if op else _DUMMY_HASH, password) and op is not None
    except (VerificationError, InvalidHashError):
        ok = False
    session.add(
        OperatorLoginAttempt(username=username, client_ip=client_ip, succeeded=ok, attempted_at=now)
    )
    if not ok or op is None:
        return LoginOutcome(
            None, Unauthorized("bad_credentials", "用户名或密码错误 / Wrong username or password")
        )
    if not op.is_active:
        return LoginOutcome(
            None, Forbidden("operator_disabled", "账号已停用 / This account is disabled")
        )
    if _hasher.check_needs_rehash(op.password_hash):
        op.password_hash = hash_password(password)
    op.last_login_at = now
    return LoginOutcome(op, None)


def get_operator(session: Session, operator_id: int) -> Operator:
    missing = NotFound("operator_not_found", "账号不存在 / Operator not found")
    return get_or_raise(session, Operator, operator_id, missing)


def list_operators(session: Session) -> list[Operator]:
    return list(session.scalars(select(Operator).order_by(Operator.id)))


def update_operator(
    session: Session,
    *,
    actor_id: int,
    operator_id: int,
    role: Role | None,
    is_active: bool | None,
    display_name: str | None,
    now: datetime,
) -> Operator:
    op = get_operator(session, operator_id)
    if operator_id == actor_id and (is_active is False or (role and role is not Role.owner)):
        raise InvalidInput(
            "cannot_demote_self", "不能停用或降级自己的账号 / You cannot demote or disable yourself"
        )
    with _OPERATORS.change(session, op, "update", operator_id=actor_id, now=now):
        if role is not None:
            op.role = role
        if display_name is not None:
            op.display_name = display_name
        if is_active is not None and is_active != op.is_active:
            op.is_active = is_active
            op.token_version += 1  # revoke outstanding sessions
        session.flush()
        if op.role is not Role.owner or not op.is_active:
            remaining = session.scalar(
                select(func.count())
                .select_from(Operator)
                .where(Operator.role == Role.owner, Operator.is_active.is_(True))
            )
            if not remaining:
                raise InvalidInput(
                    "last_owner", "至少保留一个店主账号 / Keep at least one active owner"
                )
    return op


def change_password(
    session: Session, *, operator_id: int, old_password: str, new_password: str, now: datetime
) -> None:
    op = get_operator(session, operator_id)
    try:
        _hasher.verify(op.password_hash, old_password)
    except (VerificationError, InvalidHashError) as exc:
        raise Unauthorized("bad_credentials", "原密码错误 / Current password is wrong") from exc
    if not is_strong_password(new_password):
        raise InvalidInput(
            "weak_password",
            "密码至少 10 位，且包含字母和数字 / Password needs 10+ characters with letters and digits",
            {"new_password": "weak"},
        )
    op.password_hash = hash_password(new_password)
    op.token_version += 1
    _OPERATORS.record(
        session, op.id, "change_password", operator_id=op.id, before=None, after=None, now=now
    )
