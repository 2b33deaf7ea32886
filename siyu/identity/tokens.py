"""Signed, expiring bearer tokens for shoppers and operators (HMAC-SHA256).

The token carries who and until when; the server stores nothing per session. An
operator token also carries the account's ``token_version``, bumped on password
change or deactivation, which revokes every token issued before.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from siyu.errors import Unauthorized


@dataclass(frozen=True)
class TokenClaims:
    kind: str  # "shopper" | "operator"
    subject_id: int
    expires_at: int
    version: int = 0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, body: str) -> str:
    return _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())


def issue_token(secret: str, claims: TokenClaims) -> str:
    body = _b64(
        json.dumps(
            {"k": claims.kind, "i": claims.subject_id, "e": claims.expires_at, "v": claims.version},
            separators=(",", ":"),
        ).encode()
    )
    return f"{body}.{_sign(secret, body)}"


def read_token(secret: str, token: str, *, kind: str, now: datetime) -> TokenClaims:
    invalid = Unauthorized(
        "invalid_token", "登录已失效，请重新登录 / Session invalid, please log in"
    )
    try:
        body, signature = token.split(".", 1)
        if not hmac.compare_digest(signature, _sign(secret, body)):
            raise invalid
        data = json.loads(_unb64(body))
        claims = TokenClaims(str(data["k"]), int(data["i"]), int(data["e"]), int(data["v"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise invalid from exc
    if claims.kind != kind:
        raise invalid
    if claims.expires_at < now.timestamp():
        raise Unauthorized(
            "token_expired", "登录已过期，请重新登录 / Session expired, please log in"
        )
    return claims
