"""WeChat Pay API v3 client for mini-program (JSAPI) payments, public-key mode.

Protocol facts: specs/wechat.md section 2. Every request is signed with the
merchant key (2.2); every 2xx answer, 204s included, and every callback is
verified with the WeChat Pay platform public key (2.3). Callback resources are
AES-256-GCM decrypted with the APIv3 key (2.5). Business checks on the
decrypted resource (mchid, appid, amount) belong to the caller.
"""

from __future__ import annotations

import binascii
import json
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from wechatpayv3.utils import (
    aes_decrypt,
    load_private_key,
    load_public_key,
    rsa_sign,
    rsa_verify,
)

logger = logging.getLogger(__name__)

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
CHINA_STANDARD_TIME = timezone(timedelta(hours=8))
DEFAULT_BASE_URL = "https://api.mch.weixin.qq.com"


class WeChatPayError(Exception):
    """A failed WeChat Pay call.

    ``status_code`` is the HTTP status (0 for network errors), ``code`` the
    WeChat code (e.g. ``SIGN_ERROR``, ``INVALID_REQUEST``, ``ORDERPAID``) or one
    of ours: ``NETWORK_ERROR``, ``INVALID_SIGNATURE`` (a 2xx answer that is
    unsigned or not signed by the platform key), ``MALFORMED_RESPONSE``.
    """

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(f"WeChat Pay error {status_code} {code}: {message}")
        self.status_code = status_code
        self.code = code
        self.message = message


class NotificationRejected(Exception):
    """A callback that must be answered with 4xx and not acted upon.

    ``reason`` is one of ``bad_signature``, ``stale_timestamp``,
    ``bad_signature_type``, ``unknown_serial``, ``decrypt_failed``, ``malformed``.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class WeChatPayConfig:
    mchid: str
    appid: str
    merchant_serial_no: str
    merchant_private_key_pem: str = field(repr=False)
    platform_public_key_pem: str = field(repr=False)
    platform_public_key_id: str
    apiv3_key: str = field(repr=False)
    notify_url: str
    refund_notify_url: str
    base_url: str = DEFAULT_BASE_URL


@dataclass(frozen=True)
class Notification:
    """A verified, decrypted callback. ``resource`` is the decrypted plaintext
    (transaction or refund), e.g. ``resource["out_trade_no"]``,
    ``resource["mchid"]``, ``resource["appid"]``, ``resource["amount"]["total"]``."""

    id: str
    event_type: str
    create_time: str
    resource: dict[str, Any]


class WeChatPayClient:
    def __init__(
        self,
        http: httpx.Client,
        config: WeChatPayConfig,
        *,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._http = http
        self._config = config
        self._base_url = config.base_url.rstrip("/")
        self._now = now or (lambda: datetime.now(UTC))
        try:
            self._private_key = load_private_key(config.merchant_private_key_pem)
            self._platform_key = load_public_key(config.platform_public_key_pem)
        except Exception as exc:  # wechatpayv3 raises a bare Exception
            raise ValueError(f"cannot load WeChat Pay keys: {exc}") from None
        if self._private_key is None or self._platform_key is None:
            raise ValueError("WeChat Pay merchant private key and platform public key are required")

    # -- payments ------------------------------------------------------------

    def jsapi_prepay(
        self,
        *,
        out_trade_no: str,
        description: str,
        amount_fen: int,
        payer_openid: str,
        time_expire: datetime,
        attach: str | None = None,
    ) -> str:
        """Create (or, with identical params, re-fetch) a JSAPI order; returns prepay_id."""
        if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
            raise ValueError("amount_fen must be a positive integer")
        body: dict[str, Any] = {
            "appid": self._config.appid,
            "mchid": self._config.mchid,
            "description": description,
            "out_trade_no": out_trade_no,
            "time_expire": _rfc3339_china(time_expire),
            "notify_url": self._config.notify_url,
            "amount": {"total": amount_fen, "currency": "CNY"},
            "payer": {"openid": payer_openid},
        }
        if attach is not None:
            body["attach"] = attach
        status, payload = self._request_json("POST", "/v3/pay/transactions/jsapi", body=body)
        prepay_id = payload.get("prepay_id")
        if not isinstance(prepay_id, str) or not prepay_id:
            raise WeChatPayError(status, "MALFORMED_RESPONSE", "prepay answer lacks prepay_id")
        return prepay_id

    def request_payment_params(self, prepay_id: str, *, now: datetime) -> dict[str, str]:
        """The parameters for ``wx.requestPayment`` (spec 2.4); appId is for logging."""
        _require_aware(now, "now")
        app_id = self._config.appid
        time_stamp = str(int(now.timestamp()))
        nonce_str = secrets.token_hex(16).upper()
        package = f"prepay_id={prepay_id}"
        message = f"{app_id}\n{time_stamp}\n{nonce_str}\n{package}\n"
        return {
            "appId": app_id,
            "timeStamp": time_stamp,
            "nonceStr": nonce_str,
            "package": package,
            "signType": "RSA",
            "paySign": self._sign(message),
        }

    def query_order(self, out_trade_no: str) -> dict[str, Any]:
        _, payload = self._request_json(
            "GET",
            f"/v3/pay/transactions/out-trade-no/{_segment(out_trade_no)}",
            params={"mchid": self._config.mchid},
        )
        return payload

    def close_order(self, out_trade_no: str) -> None:
        self._request(
            "POST",
            f"/v3/pay/transactions/out-trade-no/{_segment(out_trade_no)}/close",
            body={"mchid": self._config.mchid},
        )

    # -- refunds -------------------------------------------------------------

    def refund(
        self,
        *,
        out_refund_no: str,
        out_trade_no: str,
        refund_fen: int,
        total_fen: int,
        reason: str,
    ) -> dict[str, Any]:
        """Request a refund; retry with the same ``out_refund_no`` (it is the
        idempotency key). A success answer only means accepted (PROCESSING)."""
        for name, value in (("refund_fen", refund_fen), ("total_fen", total_fen)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer")
        body: dict[str, Any] = {
            "out_trade_no": out_trade_no,
            "out_refund_no": out_refund_no,
            "reason": reason,
            "notify_url": self._config.refund_notify_url,
            "amount": {"refund": refund_fen, "total": total_fen, "currency": "CNY"},
        }
        _, payload = self._request_json("POST", "/v3/refund/domestic/refunds", body=body)
        return payload

    def query_refund(self, out_refund_no: str) -> dict[str, Any]:
        _, payload = self._request_json(
            "GET", f"/v3/refund/domestic/refunds/{_segment(out_refund_no)}"
        )
        return payload

    # -- callbacks -------------------------------------------------------------

    def parse_notification(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        now: datetime,
        max_skew_seconds: int = 300,
    ) -> Notification:
        """Verify (on the raw body bytes) and decrypt a payment or refund callback.

        Raises :class:`NotificationRejected`; answer it with a 4xx so WeChat retries.
        """
        _require_aware(now, "now")
        lowered = {key.lower(): value for key, value in headers.items()}
        text = self._verify_signed(lowered.get, body, now=now, max_skew_seconds=max_skew_seconds)
        try:
            envelope = json.loads(text)
        except ValueError:
            raise NotificationRejected("malformed", "body is not JSON") from None
        if not isinstance(envelope, dict):
            raise NotificationRejected("malformed", "body is not a JSON object")
        event_id = envelope.get("id")
        event_type = envelope.get("event_type")
        create_time = envelope.get("create_time")
        resource = envelope.get("resource")
        if (
            not isinstance(event_id, str)
            or not isinstance(event_type, str)
            or not isinstance(create_time, str)
            or not isinstance(resource, dict)
        ):
            raise NotificationRejected("malformed", "id/event_type/create_time/resource missing")
        resource_type = envelope.get("resource_type", "encrypt-resource")
        if resource_type != "encrypt-resource":
            raise NotificationRejected("malformed", f"resource_type {resource_type!r}")
        plaintext = self._decrypt_resource(resource)
        return Notification(
            id=event_id, event_type=event_type, create_time=create_time, resource=plaintext
        )

    def _decrypt_resource(self, resource: dict[str, Any]) -> dict[str, Any]:
        algorithm = resource.get("algorithm")
        ciphertext = resource.get("ciphertext")
        nonce = resource.get("nonce")
        associated_data = resource.get("associated_data")
        if associated_data is None:
            associated_data = ""
        if algorithm != "AEAD_AES_256_GCM":
            raise NotificationRejected("malformed", f"algorithm {algorithm!r}")
        if (
            not isinstance(ciphertext, str)
            or not isinstance(nonce, str)
            or not isinstance(associated_data, str)
        ):
            raise NotificationRejected("malformed", "ciphertext/nonce/associated_data missing")
        try:
            plaintext = aes_decrypt(
                nonce=nonce,
                ciphertext=ciphertext,
                associated_data=associated_data,
                apiv3_key=self._config.apiv3_key,
            )
        except (ValueError, binascii.Error):  # bad base64, bad nonce length, not UTF-8
            plaintext = None
        if not isinstance(plaintext, str):
            raise NotificationRejected("decrypt_failed", "AES-GCM authentication failed")
        try:
            decoded = json.loads(plaintext)
        except ValueError:
            raise NotificationRejected("malformed", "decrypted resource is not JSON") from None
        if not isinstance(decoded, dict):
            raise NotificationRejected("malformed", "decrypted resource is not a JSON object")
        return decoded

    # -- signing and verification --------------------------------------------

    def _sign(self, message: str) -> str:
        signature: str = rsa_sign(private_key=self._private_key, sign_str=message)
        return signature

    def _verify_signed(
        self,
        header: Callable[[str], str | None],
        body: bytes,
        *,
        now: datetime | None,
        max_skew_seconds: int,
    ) -> str:
        """Check the five Wechatpay-* headers against ``body``; returns it decoded.

        ``header`` looks names up in lower case. ``now=None`` skips the
        freshness check.
        """
        if header("wechatpay-signature-type") != SIGNATURE_TYPE:
            raise NotificationRejected("bad_signature_type", "expected " + SIGNATURE_TYPE)
        if header("wechatpay-serial") != self._config.platform_public_key_id:
            raise NotificationRejected("unknown_serial", "not our platform public key id")
        timestamp = header("wechatpay-timestamp")
        nonce = header("wechatpay-nonce")
        signature = header("wechatpay-signature")
        if not timestamp or not timestamp.isdigit():
            raise NotificationRejected("malformed", "Wechatpay-Timestamp missing or not a number")
        if now is not None and abs(now.timestamp() - int(timestamp)) > max_skew_seconds:
            raise NotificationRejected("stale_timestamp", f"timestamp {timestamp}")
        if not nonce or not signature:
            raise NotificationRejected("bad_signature", "Wechatpay-Nonce/Signature missing")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise NotificationRejected("bad_signature", "body is not UTF-8") from None
        verified = rsa_verify(
            timestamp=timestamp,
            nonce=nonce,
            body=text,
            signature=signature,
            public_key=self._platform_key,
        )
        if verified is not True:
            raise NotificationRejected("bad_signature", "signature does not verify")
        return text

    # -- transport -----------------------------------------------------------

    def _request_json(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        status, raw = self._request(method, path, params=params, body=body)
        try:
            payload = json.loads(raw)
        except ValueError:
            raise WeChatPayError(status, "MALFORMED_RESPONSE", "answer is not JSON") from None
        if not isinstance(payload, dict):
            raise WeChatPayError(status, "MALFORMED_RESPONSE", "answer is not a JSON object")
        return status, payload

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> tuple[int, bytes]:
        """Send one signed request; return (status, raw body) of a verified 2xx."""
        canonical_url = path + ("?" + urlencode(params) if params else "")
        body_text = (
            json.dumps(body, ensure_ascii=False, separators=(",", ":")) if body is not None else ""
        )
        timestamp = str(int(self._now().timestamp()))
        nonce = secrets.token_hex(16).upper()
        signature = self._sign(f"{method}\n{canonical_url}\n{timestamp}\n{nonce}\n{body_text}\n")
        config = self._config
        headers = {
            "Authorization": (
                f'{SIGNATURE_TYPE} mchid="{config.mchid}",nonce_str="{nonce}",'
                f'signature="{signature}",timestamp="{timestamp}",'
                f'serial_no="{config.merchant_serial_no}"'
            ),
            "Accept": "application/json",
            "Wechatpay-Serial": config.platform_public_key_id,
        }
        content: bytes | None = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = body_text.encode("utf-8")
        try:
            response = self._http.request(
                method, self._base_url + canonical_url, headers=headers, content=content
            )
        except httpx.HTTPError as exc:
            logger.warning("wechatpay %s %s failed: %s", method, path, type(exc).__name__)
            raise WeChatPayError(0, "NETWORK_ERROR", f"{type(exc).__name__}: {exc}") from exc
        raw = response.content
        status = response.status_code
        if 200 <= status < 300:
            try:
                self._verify_signed(
                    lambda name: response.headers.get(name), raw, now=None, max_skew_seconds=0
                )
            except NotificationRejected as exc:
                logger.error("wechatpay answer to %s %s failed verification", method, path)
                raise WeChatPayError(status, "INVALID_SIGNATURE", str(exc)) from None
            return status, raw
        raise _error_from(status, raw)


def _error_from(status: int, raw: bytes) -> WeChatPayError:
    try:
        payload = json.loads(raw)
    except ValueError:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("code"), str):
        message = payload.get("message")
        return WeChatPayError(status, payload["code"], message if isinstance(message, str) else "")
    snippet = raw[:200].decode("utf-8", errors="replace")
    return WeChatPayError(status, f"HTTP_{status}", snippet)


def _segment(value: str) -> str:
    """Percent-encode one path segment (``|`` and ``*`` are valid in WeChat ids)."""
    return quote(value, safe="")


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def _rfc3339_china(value: datetime) -> str:
    _require_aware(value, "time_expire")
    return value.astimezone(CHINA_STANDARD_TIME).isoformat(timespec="seconds")
