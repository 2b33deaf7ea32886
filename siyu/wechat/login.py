"""Mini-program server API: code2Session, phone number and the stable access token.

Protocol facts: specs/wechat.md section 1. The access token is cached in-process
(thread-safe, single-flight) until ``expires_at - 300 s``. The ``session_key`` is
never logged and never shown in ``repr``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.weixin.qq.com"
TOKEN_SAFETY_MARGIN = timedelta(seconds=300)
# invalid credential / not latest, access token expired, invalid access token
TOKEN_ERRCODES = frozenset({40001, 42001, 40014})
SYSTEM_BUSY = -1
WATERMARK_MISMATCH = -2


class WeChatApiError(Exception):
    """A failed call to the WeChat server API.

    ``errcode`` is WeChat's code; ``-1`` (system busy) also covers network
    errors, 5xx answers and unreadable bodies, ``-2`` a phone-number watermark
    for another appid.
    """

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat API error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


@dataclass(frozen=True)
class SessionInfo:
    openid: str
    session_key: str = field(repr=False)
    unionid: str | None


@dataclass(frozen=True)
class PhoneInfo:
    phone_number: str
    pure_phone_number: str
    country_code: str


class WeChatApiClient:
    def __init__(
        self,
        http: httpx.Client,
        *,
        appid: str,
        secret: str,
        base_url: str = DEFAULT_BASE_URL,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._http = http
        self._appid = appid
        self._secret = secret
        self._base_url = base_url.rstrip("/")
        self._now = now or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_expires_at: datetime | None = None

    # -- login -------------------------------------------------------------

    def code_to_session(self, js_code: str) -> SessionInfo:
        payload = self._call(
            "GET",
            "/sns/jscode2session",
            params={
                "appid": self._appid,
                "secret": self._secret,
                "js_code": js_code,
                "grant_type": "authorization_code",
            },
        )
        openid = payload.get("openid")
        session_key = payload.get("session_key")
        unionid = payload.get("unionid")
        if not isinstance(openid, str) or not openid or not isinstance(session_key, str):
            raise WeChatApiError(SYSTEM_BUSY, "jscode2session answer lacks openid/session_key")
        if unionid is not None and not isinstance(unionid, str):
            raise WeChatApiError(SYSTEM_BUSY, "jscode2session answer has a non-string unionid")
        return SessionInfo(openid=openid, session_key=session_key, unionid=unionid or None)

    # -- access token --------------------------------------------------------

    def get_access_token(self, *, force_refresh: bool = False) -> str:
        """The current access token, from the in-process cache when still fresh.

        ``force_refresh=True`` skips the local cache and asks ``stable_token``
        again in *normal* mode (the platform's force mode invalidates the token
        for every other holder and is limited to 20 calls a day, so it is never
        used here).
        """
        if not force_refresh:
            cached = self._fresh_cached_token()
            if cached is not None:
                return cached
        with self._lock:
            if not force_refresh:
                cached = self._fresh_cached_token()
                if cached is not None:
                    return cached
            return self._fetch_token()

    def refresh_access_token(self, stale_token: str) -> str:
        """Replace a token WeChat rejected (40001/42001/40014), single-flight.

        If another thread already replaced ``stale_token`` the cached
        replacement is returned without calling WeChat again.
        """
        with self._lock:
            if self._token is not None and self._token != stale_token:
                cached = self._fresh_cached_token()
                if cached is not None:
                    return cached
            return self._fetch_token()

    def _fresh_cached_token(self) -> str | None:
        token, expires_at = self._token, self._token_expires_at
        if token is None or expires_at is None:
            return None
        if self._now() >= expires_at - TOKEN_SAFETY_MARGIN:
            return None
        return token

    def _fetch_token(self) -> str:
        """Call ``stable_token`` in normal mode; the caller holds ``self._lock``."""
        fetched_at = self._now()
        payload = self._call(
            "POST",
            "/cgi-bin/stable_token",
            json_body={
                "grant_type": "client_credential",
                "appid": self._appid,
                "secret": self._secret,
                "force_refresh": False,
            },
        )
        token = payload.get("access_token")
        expires_in = payload.get("expires_in")
        if (
            not isinstance(token, str)
            or not token
            or not isinstance(expires_in, int)
            or isinstance(expires_in, bool)
        ):
            raise WeChatApiError(SYSTEM_BUSY, "stable_token answer lacks access_token/expires_in")
        self._token = token
        self._token_expires_at = fetched_at + timedelta(seconds=expires_in)
        logger.info("wechat access token fetched, expires_in=%s", expires_in)
        return token

    # -- phone number ----------------------------------------------------------

    def get_phone_number(self, code: str, *, openid: str | None = None) -> PhoneInfo:
        body: dict[str, Any] = {"code": code}
        if openid is not None:
            body["openid"] = openid
        token = self.get_access_token()
        try:
            payload = self._phone_call(token, body)
        except WeChatApiError as exc:
            if exc.errcode not in TOKEN_ERRCODES:
                raise
            logger.info("wechat rejected the access token (errcode %s); refreshing", exc.errcode)
            token = self.refresh_access_token(token)
            payload = self._phone_call(token, body)
        return self._parse_phone_info(payload)

    def _phone_call(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call(
            "POST",
            "/wxa/business/getuserphonenumber",
            params={"access_token": token},
            json_body=body,
        )

    def _parse_phone_info(self, payload: dict[str, Any]) -> PhoneInfo:
        info = payload.get("phone_info")
        if not isinstance(info, dict):
            raise WeChatApiError(SYSTEM_BUSY, "getuserphonenumber answer lacks phone_info")
        watermark = info.get("watermark")
        watermark_appid = watermark.get("appid") if isinstance(watermark, dict) else None
        if watermark_appid != self._appid:
            raise WeChatApiError(
                WATERMARK_MISMATCH,
                f"phone number watermark appid {watermark_appid!r} is not ours",
            )
        phone_number = info.get("phoneNumber")
        pure_phone_number = info.get("purePhoneNumber")
        country_code = info.get("countryCode")
        if isinstance(country_code, int) and not isinstance(country_code, bool):
            country_code = str(country_code)
        if (
            not isinstance(phone_number, str)
            or not isinstance(pure_phone_number, str)
            or not isinstance(country_code, str)
        ):
            raise WeChatApiError(SYSTEM_BUSY, "getuserphonenumber answer has malformed phone_info")
        return PhoneInfo(
            phone_number=phone_number,
            pure_phone_number=pure_phone_number,
            country_code=country_code,
        )

    # -- transport -----------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One HTTP call; returns the JSON object of a successful answer.

        The query string may hold the secret or the access token, so neither
        the URL nor the request is put into messages or logs.
        """
        try:
            response = self._http.request(
                method, self._base_url + path, params=params, json=json_body
            )
        except httpx.HTTPError as exc:
            logger.warning("wechat api %s %s failed: %s", method, path, type(exc).__name__)
            raise WeChatApiError(
                SYSTEM_BUSY, f"network error calling {path}: {type(exc).__name__}"
            ) from exc
        if response.status_code >= 500:
            raise WeChatApiError(SYSTEM_BUSY, f"HTTP {response.status_code} from {path}")
        try:
            payload = response.json()
        except ValueError:
            raise WeChatApiError(
                SYSTEM_BUSY, f"non-JSON answer (HTTP {response.status_code}) from {path}"
            ) from None
        if not isinstance(payload, dict):
            raise WeChatApiError(SYSTEM_BUSY, f"answer from {path} is not a JSON object")
        errcode = payload.get("errcode", 0)
        if errcode is None:
            errcode = 0
        if not isinstance(errcode, int) or isinstance(errcode, bool):
            raise WeChatApiError(SYSTEM_BUSY, f"answer from {path} has a non-integer errcode")
        if errcode != 0:
            errmsg = payload.get("errmsg")
            logger.info("wechat api %s answered errcode %s", path, errcode)
            raise WeChatApiError(errcode, errmsg if isinstance(errmsg, str) else "")
        if not response.is_success:
            raise WeChatApiError(SYSTEM_BUSY, f"HTTP {response.status_code} from {path}")
        return payload
