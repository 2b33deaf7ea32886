"""Shopper use cases: WeChat login (find or register), device stitching, phone binding,
the profile (nickname, avatar)."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.address.rules import is_cn_mobile
from siyu.db import get_or_raise
from siyu.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    UnsupportedMediaType,
    UpstreamError,
    UpstreamUnavailable,
)
from siyu.identity.crypto import PersonalDataCipher
from siyu.identity.models import Shopper, ShopperDevice
from siyu.identity.rules import (
    AVATAR_MAX_BYTES,
    AVATAR_PREFIX,
    NICKNAME_MAX,
    EntryAttribution,
    clean_nickname,
    is_avatar_url,
    sniff_image,
)
from siyu.outbox import append_event
from siyu.wechat.login import PhoneInfo, SessionInfo, WeChatApiError


class WeChatIdentityGateway(Protocol):
    """What login needs from WeChat: the live client or the sandbox stand-in."""

    def code_to_session(self, js_code: str) -> SessionInfo: ...

    def get_phone_number(self, code: str, *, openid: str | None = None) -> PhoneInfo: ...


class SandboxWeChatIdentity:
    """Development stand-in: any login code is the openid; a phone code is the number."""

    def code_to_session(self, js_code: str) -> SessionInfo:
        # Readable openids for short codes; long ones are hashed to fit the column.
        name = js_code if len(js_code) <= 48 else hashlib.sha256(js_code.encode()).hexdigest()[:48]
        return SessionInfo(
            openid=f"sandbox-{name}", session_key=secrets.token_hex(16), unionid=None
        )

    def get_phone_number(self, code: str, *, openid: str | None = None) -> PhoneInfo:
        digits = code.removeprefix("+86")
        if not is_cn_mobile(digits):
            raise WeChatApiError(40029, "sandbox phone code must be an 11-digit mobile number")
        return PhoneInfo(phone_number=digits, pure_phone_number=digits, country_code="86")


def wechat_error_to_domain(exc: WeChatApiError) -> DomainError:
    code = exc.errcode
    if code == 40029:
        return InvalidInput("invalid_code", "微信登录凭证无效，请重新登录 / Invalid WeChat code")
    if code == 40163:
        return InvalidInput(
            "code_used", "微信登录凭证已使用，请重新登录 / WeChat code already used"
        )
    if code == 45011:
        return TooManyRequests("wechat_rate_limited", "操作太频繁，请稍后再试 / Too many attempts")
    if code == 40226:
        return Forbidden("risky_user", "该微信账号存在风险，暂无法登录 / Account blocked by WeChat")
    if code == -1:
        return UpstreamUnavailable("wechat_busy", "微信系统繁忙，请稍后再试 / WeChat is busy")
    return UpstreamError("wechat_error", f"微信接口错误 {code} / WeChat error {code}: {exc.errmsg}")


@dataclass(frozen=True)
class LoginResult:
    shopper: Shopper
    is_new: bool


def remember_device(
    session: Session, shopper_id: int, anonymous_id: str | None, now: datetime
) -> None:
    if not anonymous_id:
        return
    device = session.get(ShopperDevice, (anonymous_id, shopper_id))
    if device is None:
        session.add(
            ShopperDevice(
                anonymous_id=anonymous_id,
                shopper_id=shopper_id,
                first_seen_at=now,
                last_seen_at=now,
            )
        )
    else:
        device.last_seen_at = now


def login_shopper(
    session: Session,
    gateway: WeChatIdentityGateway,
    *,
    code: str,
    entry: EntryAttribution,
    anonymous_id: str | None,
    now: datetime,
    nickname: str | None = None,
) -> LoginResult:
    """Log a shopper in by their WeChat code, registering them on first login. A
    ``nickname`` (WeChat's 头像昵称填写, or what was typed in sandbox) is kept, through
    the rule of :func:`clean_nickname`, for a new shopper or one without a nickname;
    an existing nickname is never overwritten here."""
    cleaned = None
    if nickname is not None:
        cleaned = clean_nickname(nickname)
        if cleaned is None:
            raise InvalidInput(
                "invalid_profile",
                f"昵称须为 1–{NICKNAME_MAX} 个字且不含控制字符 / "
                f"A nickname is 1–{NICKNAME_MAX} characters without control characters",
                {"nickname": "invalid"},
            )
    try:
        info = gateway.code_to_session(code)
    except WeChatApiError as exc:
        raise wechat_error_to_domain(exc) from exc
    shopper = session.scalar(select(Shopper).where(Shopper.openid == info.openid))
    is_new = shopper is None
    if shopper is None:
        sharer = (
            entry.sharer_id if entry.sharer_id and session.get(Shopper, entry.sharer_id) else None
        )
        shopper = Shopper(
            openid=info.openid,
            unionid=info.unionid,
            registered_at=now,
            last_login_at=now,
            first_scene=entry.scene,
            first_channel_code=entry.channel_code,
            first_sharer_id=sharer,
            first_anonymous_id=anonymous_id,
        )
        session.add(shopper)
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:
            # A concurrent first login of the same person won the insert.
            shopper = session.scalar(select(Shopper).where(Shopper.openid == info.openid))
            if shopper is None:
                raise
            is_new = False
        else:
            _shopper_event(
                session,
                "shopper.registered",
                shopper,
                now,
                scene=entry.scene,
                channel_code=entry.channel_code,
                sharer_id=sharer,
                anonymous_id=anonymous_id,
            )
    if not is_new:
        shopper.last_login_at = now
        if info.unionid and not shopper.unionid:
            shopper.unionid = info.unionid
    if cleaned is not None and not shopper.nickname:
        shopper.nickname = cleaned
    remember_device(session, shopper.id, anonymous_id, now)
    _shopper_event(
        session,
        "shopper.logged_in",
        shopper,
        now,
        anonymous_id=anonymous_id,
        scene=entry.scene,
        is_new=is_new,
    )
    return LoginResult(shopper=shopper, is_new=is_new)


def _shopper_event(
    session: Session, name: str, shopper: Shopper, now: datetime, **payload: Any
) -> None:
    """An outbox event about ``shopper``: its payload is the shopper's id, then ``payload``."""
    append_event(
        session,
        name,
        aggregate_type="shopper",
        aggregate_id=shopper.id,
        now=now,
        payload={"shopper_id": shopper.id, **payload},
    )


def get_shopper(session: Session, shopper_id: int) -> Shopper:
    missing = NotFound("shopper_not_found", "用户不存在 / Shopper not found")
    return get_or_raise(session, Shopper, shopper_id, missing)


def update_profile(
    session: Session,
    *,
    shopper_id: int,
    nickname: str | None = None,
    avatar_url: str | None = None,
) -> Shopper:
    """Set the shopper's nickname and / or avatar; a field left None stays as it is.
    Nothing changes unless every given field is valid."""
    errors: dict[str, str] = {}
    cleaned = None
    if nickname is not None:
        cleaned = clean_nickname(nickname)
        if cleaned is None:
            errors["nickname"] = "invalid"
    if avatar_url is not None and not is_avatar_url(avatar_url):
        errors["avatar_url"] = "invalid"
    if errors:
        raise InvalidInput(
            "invalid_profile",
            f"昵称须为 1–{NICKNAME_MAX} 个字且不含控制字符，头像须为 https 地址 / "
            f"A nickname is 1–{NICKNAME_MAX} characters without control characters; an "
            "avatar is an https URL",
            errors,
        )
    shopper = get_shopper(session, shopper_id)
    if cleaned is not None:
        shopper.nickname = cleaned
    if avatar_url is not None:
        shopper.avatar_url = avatar_url
    return shopper


def store_avatar(media_dir: Path, data: bytes) -> str:
    """Keep an uploaded avatar image; returns its URL path. Files are named by their
    SHA-256, so the same image is stored once and a URL never changes content.
    Raises :class:`PayloadTooLarge` / :class:`UnsupportedMediaType`."""
    if len(data) > AVATAR_MAX_BYTES:
        raise PayloadTooLarge(
            "avatar_too_large",
            f"头像不能超过 {AVATAR_MAX_BYTES // 1024 // 1024} MB / "
            f"An avatar must be at most {AVATAR_MAX_BYTES // 1024 // 1024} MB",
        )
    kind = sniff_image(data)
    if kind is None:
        raise UnsupportedMediaType(
            "unsupported_image",
            "头像须为 PNG、JPEG、WebP 或 GIF 图片 / An avatar must be a PNG, JPEG, WebP or GIF image",
        )
    name = f"{hashlib.sha256(data).hexdigest()}.{kind}"
    folder = media_dir / "avatars"
    target = folder / name
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{name}.{secrets.token_hex(4)}.part"
        partial.write_bytes(data)
        os.replace(partial, target)  # atomic: readers never see half a file
    return AVATAR_PREFIX + name


def bind_phone(
    session: Session,
    gateway: WeChatIdentityGateway,
    cipher: PersonalDataCipher,
    *,
    shopper_id: int,
    code: str,
    now: datetime,
) -> str:
    """Bind the phone number WeChat vouches for; returns it masked (138****8000)."""
    shopper = get_shopper(session, shopper_id)
    try:
        info = gateway.get_phone_number(code, openid=shopper.openid)
    except WeChatApiError as exc:
        raise wechat_error_to_domain(exc) from exc
    phone = info.phone_number
    lookup = cipher.lookup_hash(phone)
    owner = session.scalar(
        select(Shopper.id).where(Shopper.phone_hash == lookup, Shopper.id != shopper.id)
    )
    if owner is not None:
        raise Conflict(
            "phone_in_use", "该手机号已绑定其他账号 / This phone number is bound to another account"
        )
    shopper.phone_encrypted = cipher.encrypt(phone)
    shopper.phone_hash = lookup
    _shopper_event(session, "shopper.phone_bound", shopper, now)
    return mask_phone(phone)


def find_shopper_by_phone(
    session: Session, cipher: PersonalDataCipher, phone: str
) -> Shopper | None:
    return session.scalar(select(Shopper).where(Shopper.phone_hash == cipher.lookup_hash(phone)))


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def shopper_labels(session: Session, cipher: PersonalDataCipher, ids: list[int]) -> dict[int, str]:
    """How an operator tells shoppers apart in a list: nickname · masked phone
    (张小明 · 138****8000), either alone when the other is missing; shoppers without
    either, or not found, are left out (the caller names them by id)."""
    from cryptography.exceptions import InvalidTag

    wanted = sorted(set(ids))
    if not wanted:
        return {}
    labels: dict[int, str] = {}
    rows = session.execute(
        select(Shopper.id, Shopper.nickname, Shopper.phone_encrypted).where(Shopper.id.in_(wanted))
    )
    for shopper_id, nickname, phone_encrypted in rows:
        phone = ""
        if phone_encrypted:
            try:
                phone = mask_phone(cipher.decrypt(phone_encrypted))
            except (ValueError, InvalidTag):
                phone = ""
        label = " · ".join(part for part in ((nickname or "").strip(), phone) if part)
        if label:
            labels[int(shopper_id)] = label
    return labels


SEARCH_LIMIT = 50


def search_shoppers(
    session: Session, cipher: PersonalDataCipher, text: str, *, limit: int = 20
) -> list[Shopper]:
    """An operator's search: ``text`` is a shopper id, a phone number (matched by its
    lookup hash, never decrypted) or part of a nickname; matches by id first."""
    text = text.strip().lstrip("#")
    if not text:
        return []
    found: dict[int, Shopper] = {}
    if text.isdigit() and len(text) <= 18:
        by_id = session.get(Shopper, int(text))
        if by_id is not None:
            found[by_id.id] = by_id
    if is_cn_mobile(text):
        by_phone = find_shopper_by_phone(session, cipher, text)
        if by_phone is not None:
            found.setdefault(by_phone.id, by_phone)
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    for shopper in session.scalars(
        select(Shopper)
        .where(Shopper.nickname.like(pattern, escape="\\"))
        .order_by(Shopper.id.desc())
        .limit(min(limit, SEARCH_LIMIT))
    ):
        found.setdefault(shopper.id, shopper)
    return list(found.values())[: min(limit, SEARCH_LIMIT)]
