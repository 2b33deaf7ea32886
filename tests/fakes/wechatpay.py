"""A fake WeChat Pay API v3 gateway (api.mch.weixin.qq.com), public-key mode.

A real HTTP server on 127.0.0.1 (port 0). It checks the merchant's request
signature (spec 2.2), signs every answer with its own platform key (2.3) and
builds signed, AES-GCM encrypted callbacks (2.5, 2.6). Its crypto is written
against ``cryptography`` directly, independently of the client under test.
"""

from __future__ import annotations

import json
import re
import secrets
import string
import threading
from base64 import b64decode, b64encode
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
CHINA_STANDARD_TIME = timezone(timedelta(hours=8))
MAX_REQUEST_SKEW_SECONDS = 300
OUT_TRADE_NO = re.compile(r"^[0-9A-Za-z_\-|*]{6,32}$")
OUT_REFUND_NO = re.compile(r"^[0-9A-Za-z_\-|*@]{1,64}$")
PAID_STATES = ("SUCCESS", "REFUND")


@dataclass(frozen=True)
class RsaKeyPair:
    private_key: rsa.RSAPrivateKey
    private_key_pem: str  # PKCS#8
    public_key_pem: str  # SubjectPublicKeyInfo


@dataclass(frozen=True)
class MerchantKeys:
    private_key_pem: str
    public_key_pem: str
    serial_no: str


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str  # raw path with query, exactly as signed
    headers: dict[str, str]
    body: bytes


def generate_rsa_key_pair() -> RsaKeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    return RsaKeyPair(private_key=key, private_key_pem=private_pem, public_key_pem=public_pem)


def generate_merchant_keys() -> MerchantKeys:
    pair = generate_rsa_key_pair()
    return MerchantKeys(
        private_key_pem=pair.private_key_pem,
        public_key_pem=pair.public_key_pem,
        serial_no=secrets.token_hex(20).upper(),
    )


def load_private_key_pem(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def rsa_sign_bytes(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")


def rsa_verify_bytes(public_key_pem: str, message: bytes, signature_b64: str) -> bool:
    key = serialization.load_pem_public_key(public_key_pem.encode("ascii"))
    assert isinstance(key, rsa.RSAPublicKey)
    try:
        key.verify(
            b64decode(signature_b64, validate=True), message, padding.PKCS1v15(), hashes.SHA256()
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def _rfc3339(value: datetime) -> str:
    return value.astimezone(CHINA_STANDARD_TIME).isoformat(timespec="seconds")


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


class _ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class FakeWeChatPay:
    def __init__(
        self,
        merchant_public_key_pem: str,
        *,
        mchid: str,
        appid: str,
        apiv3_key: str,
        merchant_serial_no: str | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        if len(apiv3_key.encode("utf-8")) != 32:
            raise ValueError("the APIv3 key is 32 bytes")
        self.merchant_public_key_pem = merchant_public_key_pem
        self.mchid = mchid
        self.appid = appid
        self.apiv3_key = apiv3_key
        self.merchant_serial_no = merchant_serial_no
        self._now = now or (lambda: datetime.now(UTC))
        platform = generate_rsa_key_pair()
        self.platform_private_key = platform.private_key
        self.platform_public_key_pem = platform.public_key_pem
        self.platform_public_key_id = "PUB_KEY_ID_01" + "".join(
            secrets.choice(string.digits) for _ in range(30)
        )
        self.transactions: dict[str, dict[str, Any]] = {}  # by out_trade_no
        self.refunds: dict[str, dict[str, Any]] = {}  # by out_refund_no
        self.requests: list[ReceivedRequest] = []
        # Knobs for verification tests: sign answers with another key, or not at all.
        self.response_signing_key: rsa.RSAPrivateKey | None = None
        self.sign_responses = True
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "FakeWeChatPay is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- test control: callbacks -------------------------------------------------

    def pay(
        self, out_trade_no: str, *, amount_fen: int | None = None
    ) -> tuple[dict[str, str], bytes]:
        """Mark the order paid; return a signed, encrypted TRANSACTION.SUCCESS
        callback. ``amount_fen`` overrides the amount in the callback only."""
        with self._lock:
            tx = self.transactions[out_trade_no]
            if tx["trade_state"] != "NOTPAY":
                raise ValueError(f"{out_trade_no} is {tx['trade_state']}, not NOTPAY")
            tx["trade_state"] = "SUCCESS"
            tx["trade_state_desc"] = "支付成功"
            tx["transaction_id"] = "4200" + "".join(
                secrets.choice(string.digits) for _ in range(24)
            )
            tx["success_time"] = _rfc3339(self._now())
        return self.notification_for(out_trade_no, amount_fen=amount_fen)

    def notification_for(
        self,
        out_trade_no: str,
        *,
        timestamp: datetime | int | None = None,
        sign_with: rsa.RSAPrivateKey | None = None,
        event_id: str | None = None,
        amount_fen: int | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """A TRANSACTION.SUCCESS callback for the order's current state: a
        re-send, or with ``sign_with``/``timestamp`` a forgery or a stale one."""
        with self._lock:
            plaintext = self._transaction_view(self.transactions[out_trade_no])
        if amount_fen is not None:
            plaintext["amount"]["total"] = amount_fen
            plaintext["amount"]["payer_total"] = amount_fen
        return self._notification(
            event_type="TRANSACTION.SUCCESS",
            summary="支付成功",
            original_type="transaction",
            associated_data="transaction",
            plaintext=plaintext,
            timestamp=timestamp,
            sign_with=sign_with,
            event_id=event_id,
        )

    def complete_refund(
        self, out_refund_no: str, *, event_id: str | None = None
    ) -> tuple[dict[str, str], bytes]:
        """Mark the refund SUCCESS; return a signed REFUND.SUCCESS callback."""
        with self._lock:
            refund = self.refunds[out_refund_no]
            refund["status"] = "SUCCESS"
            refund["success_time"] = _rfc3339(self._now())
            plaintext = {
                "mchid": self.mchid,
                "out_trade_no": refund["out_trade_no"],
                "transaction_id": refund["transaction_id"],
                "out_refund_no": out_refund_no,
                "refund_id": refund["refund_id"],
                "refund_status": "SUCCESS",
                "success_time": refund["success_time"],
                "user_received_account": refund["user_received_account"],
                "amount": {
                    "total": refund["amount"]["total"],
                    "refund": refund["amount"]["refund"],
                    "payer_total": refund["amount"]["total"],
                    "payer_refund": refund["amount"]["refund"],
                },
            }
        return self._notification(
            event_type="REFUND.SUCCESS",
            summary="退款成功",
            original_type="refund",
            associated_data="",
            plaintext=plaintext,
            timestamp=None,
            sign_with=None,
            event_id=event_id,
        )

    def sign_notification(
        self,
        body: bytes,
        *,
        timestamp: datetime | int | None = None,
        sign_with: rsa.RSAPrivateKey | None = None,
    ) -> dict[str, str]:
        """The five Wechatpay-* headers (plus Content-Type) for any body."""
        if timestamp is None:
            timestamp = self._now()
        ts = str(int(timestamp.timestamp())) if isinstance(timestamp, datetime) else str(timestamp)
        headers = self._signature_headers(body, ts, sign_with or self.platform_private_key)
        headers["Content-Type"] = "application/json"
        return headers

    def encrypt_resource(
        self, plaintext: dict[str, Any], *, associated_data: str, original_type: str
    ) -> dict[str, str]:
        nonce = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(12))
        data = json.dumps(plaintext, ensure_ascii=False).encode("utf-8")
        ciphertext = AESGCM(self.apiv3_key.encode("utf-8")).encrypt(
            nonce.encode("ascii"), data, associated_data.encode("utf-8")
        )
        return {
            "original_type": original_type,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": b64encode(ciphertext).decode("ascii"),
            "associated_data": associated_data,
            "nonce": nonce,
        }

    def deliver(self, url: str, headers: dict[str, str], body: bytes) -> httpx.Response:
        """POST a callback to the merchant like WeChat Pay does."""
        with httpx.Client(timeout=10) as client:
            return client.post(url, headers=headers, content=body)

    def _notification(
        self,
        *,
        event_type: str,
        summary: str,
        original_type: str,
        associated_data: str,
        plaintext: dict[str, Any],
        timestamp: datetime | int | None,
        sign_with: rsa.RSAPrivateKey | None,
        event_id: str | None,
    ) -> tuple[dict[str, str], bytes]:
        envelope = {
            "id": event_id or "EV-" + secrets.token_hex(16),
            "create_time": _rfc3339(self._now()),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": self.encrypt_resource(
                plaintext, associated_data=associated_data, original_type=original_type
            ),
        }
        body = json.dumps(envelope, ensure_ascii=False).encode("utf-8")
        return self.sign_notification(body, timestamp=timestamp, sign_with=sign_with), body

    def _signature_headers(self, body: bytes, ts: str, key: rsa.RSAPrivateKey) -> dict[str, str]:
        nonce = secrets.token_hex(16)
        message = f"{ts}\n{nonce}\n".encode("ascii") + body + b"\n"
        return {
            "Wechatpay-Serial": self.platform_public_key_id,
            "Wechatpay-Signature": rsa_sign_bytes(key, message),
            "Wechatpay-Timestamp": ts,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature-Type": SIGNATURE_TYPE,
        }

    # -- views -----------------------------------------------------------------

    def _transaction_view(self, tx: dict[str, Any]) -> dict[str, Any]:
        view: dict[str, Any] = {
            "appid": tx["appid"],
            "mchid": tx["mchid"],
            "out_trade_no": tx["out_trade_no"],
            "trade_state": tx["trade_state"],
            "trade_state_desc": tx["trade_state_desc"],
            "attach": tx["attach"] or "",
            "amount": {"total": tx["amount"]["total"], "currency": "CNY", "payer_currency": "CNY"},
            "payer": {},
        }
        if tx["transaction_id"] is not None:
            view.update(
                transaction_id=tx["transaction_id"],
                trade_type="JSAPI",
                bank_type="OTHERS",
                success_time=tx["success_time"],
                payer={"openid": tx["payer"]["openid"]},
            )
            view["amount"]["payer_total"] = tx["amount"]["total"]
        return view

    def _refund_view(self, refund: dict[str, Any]) -> dict[str, Any]:
        view = {
            key: refund[key]
            for key in (
                "refund_id",
                "out_refund_no",
                "transaction_id",
                "out_trade_no",
                "channel",
                "user_received_account",
                "create_time",
                "status",
                "funds_account",
            )
        }
        if refund["success_time"] is not None:
            view["success_time"] = refund["success_time"]
        total, refunded = refund["amount"]["total"], refund["amount"]["refund"]
        view["amount"] = {
            "total": total,
            "refund": refunded,
            "payer_total": total,
            "payer_refund": refunded,
            "settlement_total": total,
            "settlement_refund": refunded,
            "discount_refund": 0,
            "currency": "CNY",
            "from": [],
        }
        return view

    # -- HTTP --------------------------------------------------------------------

    def _handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any] | None]:
        with self._lock:
            self.requests.append(ReceivedRequest(method, raw_path, headers, body))
            try:
                self._authenticate(method, raw_path, headers, body)
                return self._route(method, raw_path, headers, body)
            except _ApiError as exc:
                return exc.status, {"code": exc.code, "message": exc.message}

    def _authenticate(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> None:
        def reject(message: str) -> _ApiError:
            return _ApiError(401, "SIGN_ERROR", message)

        authorization = headers.get("authorization", "")
        prefix = SIGNATURE_TYPE + " "
        if not authorization.startswith(prefix):
            raise reject("Http头Authorization值格式错误")
        items = dict(re.findall(r'(\w+)="([^"]*)"', authorization[len(prefix) :]))
        if not {"mchid", "nonce_str", "signature", "timestamp", "serial_no"} <= items.keys():
            raise reject("Http头Authorization值格式错误")
        if items["mchid"] != self.mchid:
            raise reject("Http头Authorization中的mchid与请求的商户号不一致")
        if self.merchant_serial_no is not None and items["serial_no"] != self.merchant_serial_no:
            raise reject("商户证书序列号有误")
        if not items["timestamp"].isdigit():
            raise reject("Http头Authorization中的timestamp格式错误")
        if abs(self._now().timestamp() - int(items["timestamp"])) > MAX_REQUEST_SKEW_SECONDS:
            raise reject("Http头Authorization中的timestamp与发起请求的时间不得超过5分钟")
        message = (
            f"{method}\n{raw_path}\n{items['timestamp']}\n{items['nonce_str']}\n".encode()
            + body
            + b"\n"
        )
        if not rsa_verify_bytes(self.merchant_public_key_pem, message, items["signature"]):
            raise reject("签名错误")
        serial = headers.get("wechatpay-serial")
        if serial is not None and serial != self.platform_public_key_id:
            raise _ApiError(400, "PARAM_ERROR", "Wechatpay-Serial 不是有效的微信支付公钥ID")

    def _route(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any] | None]:
        parts = urlsplit(raw_path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        segments = [unquote(segment) for segment in parts.path.split("/")[1:]]
        match method, segments:
            case "POST", ["v3", "pay", "transactions", "jsapi"]:
                return 200, self._prepay(_json_object(headers, body))
            case "GET", ["v3", "pay", "transactions", "out-trade-no", out_trade_no]:
                if query.get("mchid") != self.mchid:
                    raise _ApiError(400, "PARAM_ERROR", "mchid 不正确")
                return 200, self._transaction_view(self._transaction(out_trade_no))
            case "POST", ["v3", "pay", "transactions", "out-trade-no", out_trade_no, "close"]:
                self._close(out_trade_no, _json_object(headers, body))
                return 204, None
            case "POST", ["v3", "refund", "domestic", "refunds"]:
                return 200, self._refund(_json_object(headers, body))
            case "GET", ["v3", "refund", "domestic", "refunds", out_refund_no]:
                refund = self.refunds.get(out_refund_no)
                if refund is None:
                    raise _ApiError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
                return 200, self._refund_view(refund)
        raise _ApiError(404, "NOT_FOUND", "no such API")

    def _transaction(self, out_trade_no: str) -> dict[str, Any]:
        tx = self.transactions.get(out_trade_no)
        if tx is None:
            raise _ApiError(404, "ORDER_NOT_EXIST", "订单不存在")
        return tx

    def _prepay(self, request: dict[str, Any]) -> dict[str, Any]:
        for name in ("appid", "mchid", "description", "out_trade_no", "notify_url"):
            if not isinstance(request.get(name), str) or not request[name]:
                raise _ApiError(
                    400, "PARAM_ERROR", f"输入源“/body/{name}”映射到字段“{name}”必填性规则校验失败"
                )
        if request["appid"] != self.appid or request["mchid"] != self.mchid:
            raise _ApiError(400, "PARAM_ERROR", "appid和mch_id不匹配")
        if len(request["description"]) > 127:
            raise _ApiError(400, "PARAM_ERROR", "description 长度超过127")
        if not OUT_TRADE_NO.match(request["out_trade_no"]):
            raise _ApiError(400, "PARAM_ERROR", "out_trade_no 格式错误")
        notify_url = request["notify_url"]
        notify_parts = urlsplit(notify_url)
        if (
            len(notify_url) > 255
            or notify_parts.scheme not in ("http", "https")
            or "?" in notify_url
            or notify_parts.query
        ):
            raise _ApiError(400, "PARAM_ERROR", "notify_url 格式错误（不能携带参数）")
        amount = request.get("amount")
        if not isinstance(amount, dict) or not _is_positive_int(amount.get("total")):
            raise _ApiError(400, "PARAM_ERROR", "amount.total 必须为大于0的整数")
        if amount.get("currency", "CNY") != "CNY":
            raise _ApiError(400, "PARAM_ERROR", "amount.currency 只支持CNY")
        payer = request.get("payer")
        if not isinstance(payer, dict) or not isinstance(payer.get("openid"), str):
            raise _ApiError(400, "PARAM_ERROR", "payer.openid 必填")
        attach = request.get("attach")
        if attach is not None and (not isinstance(attach, str) or len(attach) > 128):
            raise _ApiError(400, "PARAM_ERROR", "attach 长度超过128")
        time_expire = request.get("time_expire")
        if time_expire is not None:
            try:
                expires = datetime.fromisoformat(time_expire)
            except (TypeError, ValueError):
                raise _ApiError(400, "PARAM_ERROR", "time_expire 格式错误") from None
            if expires.tzinfo is None or expires <= self._now():
                raise _ApiError(400, "PARAM_ERROR", "time_expire 格式错误或已过期")
        existing = self.transactions.get(request["out_trade_no"])
        if existing is not None:
            if existing["trade_state"] in PAID_STATES:
                raise _ApiError(400, "ORDERPAID", "该订单已支付")
            if existing["trade_state"] == "CLOSED":
                raise _ApiError(400, "ORDERCLOSED", "该订单已关闭")
            if existing["request"] != request:
                raise _ApiError(400, "INVALID_REQUEST", "同一out_trade_no的请求参数与首次不一致")
            return {"prepay_id": existing["prepay_id"]}
        prepay_id = "wx" + secrets.token_hex(17)
        self.transactions[request["out_trade_no"]] = {
            "appid": request["appid"],
            "mchid": request["mchid"],
            "out_trade_no": request["out_trade_no"],
            "description": request["description"],
            "attach": attach,
            "notify_url": notify_url,
            "time_expire": time_expire,
            "amount": {"total": amount["total"], "currency": "CNY"},
            "payer": {"openid": payer["openid"]},
            "prepay_id": prepay_id,
            "trade_state": "NOTPAY",
            "trade_state_desc": "订单未支付",
            "transaction_id": None,
            "success_time": None,
            "request": request,
        }
        return {"prepay_id": prepay_id}

    def _close(self, out_trade_no: str, request: dict[str, Any]) -> None:
        if request.get("mchid") != self.mchid:
            raise _ApiError(400, "PARAM_ERROR", "mchid 不正确")
        tx = self._transaction(out_trade_no)
        if tx["trade_state"] in PAID_STATES:
            raise _ApiError(400, "ORDERPAID", "该订单已支付")
        tx["trade_state"] = "CLOSED"
        tx["trade_state_desc"] = "订单已关闭"

    def _refund(self, request: dict[str, Any]) -> dict[str, Any]:
        out_refund_no = request.get("out_refund_no")
        if not isinstance(out_refund_no, str) or not OUT_REFUND_NO.match(out_refund_no):
            raise _ApiError(400, "PARAM_ERROR", "out_refund_no 格式错误")
        amount = request.get("amount")
        if (
            not isinstance(amount, dict)
            or not _is_positive_int(amount.get("refund"))
            or not _is_positive_int(amount.get("total"))
            or amount.get("currency") != "CNY"
        ):
            raise _ApiError(400, "PARAM_ERROR", "amount 格式错误")
        reason = request.get("reason")
        if reason is not None and (not isinstance(reason, str) or len(reason.encode()) > 80):
            raise _ApiError(400, "PARAM_ERROR", "reason 超过80字节")
        existing = self.refunds.get(out_refund_no)
        if existing is not None:
            return self._refund_view(existing)
        tx = self._find_paid_transaction(request)
        if amount["total"] != tx["amount"]["total"]:
            raise _ApiError(400, "INVALID_REQUEST", "订单金额与原订单金额不一致")
        refunded = sum(
            refund["amount"]["refund"]
            for refund in self.refunds.values()
            if refund["out_trade_no"] == tx["out_trade_no"] and refund["status"] != "CLOSED"
        )
        if refunded + amount["refund"] > tx["amount"]["total"]:
            raise _ApiError(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
        refund = {
            "refund_id": "50" + "".join(secrets.choice(string.digits) for _ in range(27)),
            "out_refund_no": out_refund_no,
            "transaction_id": tx["transaction_id"],
            "out_trade_no": tx["out_trade_no"],
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": _rfc3339(self._now()),
            "success_time": None,
            "status": "PROCESSING",
            "funds_account": request.get("funds_account") or "AVAILABLE",
            "reason": reason,
            "notify_url": request.get("notify_url"),
            "amount": {"refund": amount["refund"], "total": amount["total"]},
        }
        self.refunds[out_refund_no] = refund
        tx["trade_state"] = "REFUND"
        tx["trade_state_desc"] = "转入退款"
        return self._refund_view(refund)

    def _find_paid_transaction(self, request: dict[str, Any]) -> dict[str, Any]:
        tx: dict[str, Any] | None = None
        if isinstance(request.get("out_trade_no"), str):
            tx = self.transactions.get(request["out_trade_no"])
        elif isinstance(request.get("transaction_id"), str):
            tx = next(
                (
                    t
                    for t in self.transactions.values()
                    if t["transaction_id"] == request["transaction_id"]
                ),
                None,
            )
        else:
            raise _ApiError(400, "PARAM_ERROR", "transaction_id 和 out_trade_no 必须二选一")
        if tx is None:
            raise _ApiError(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        if tx["trade_state"] not in PAID_STATES:
            raise _ApiError(400, "INVALID_REQUEST", "订单未支付，不能退款")
        return tx

    def _respond_headers(self, body: bytes) -> dict[str, str]:
        if not self.sign_responses:
            return {}
        ts = str(int(self._now().timestamp()))
        return self._signature_headers(
            body, ts, self.response_signing_key or self.platform_private_key
        )


def _json_object(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    if (headers.get("content-type") or "").split(";")[0].strip() != "application/json":
        raise _ApiError(400, "PARAM_ERROR", "Content-Type 必须为 application/json")
    try:
        value = json.loads(body)
    except ValueError:
        raise _ApiError(400, "PARAM_ERROR", "请求体不是合法的JSON") from None
    if not isinstance(value, dict):
        raise _ApiError(400, "PARAM_ERROR", "请求体必须为JSON对象")
    return value


def _make_handler(fake: FakeWeChatPay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {key.lower(): value for key, value in self.headers.items()}
            status, payload = fake._handle(method, self.path, headers, body)
            data = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            for name, value in fake._respond_headers(data).items():
                self.send_header(name, value)
            if status != 204:
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if data:
                self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
