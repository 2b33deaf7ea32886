"""The sandbox provider: a simulated cashier for development and demos.

Paying at the sandbox cashier produces a notification signed with an HMAC of the
server secret, which goes through the same notification handler as WeChat Pay's:
forged or stale ones are refused, duplicates change nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime

from siyu.payment.provider import (
    InvalidNotification,
    PaymentNotice,
    PrepayRequest,
    RefundRequest,
    RefundState,
    TradeState,
)

MAX_SKEW_SECONDS = 300
SIGNATURE_HEADER = "x-siyu-sandbox-signature"
TIMESTAMP_HEADER = "x-siyu-sandbox-timestamp"


class SandboxProvider:
    name = "sandbox"

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"siyu/sandbox-pay/" + secret.encode()).digest()

    def _sign(self, timestamp: str, body: bytes) -> str:
        return hmac.new(self._key, timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()

    def prepay(self, request: PrepayRequest, *, now: datetime) -> dict[str, str]:
        return {
            "provider": self.name,
            "out_trade_no": request.out_trade_no,
            "amount_fen": str(request.amount_fen),
            "cashier": "sandbox",
        }

    def build_notification(
        self,
        *,
        out_trade_no: str,
        amount_fen: int,
        now: datetime,
        transaction_id: str | None = None,
        notification_id: str | None = None,
    ) -> tuple[dict[str, str], bytes]:
        body = json.dumps(
            {
                "id": notification_id or f"SBX-{secrets.token_hex(12)}",
                "event_type": "TRANSACTION.SUCCESS",
                "out_trade_no": out_trade_no,
                "transaction_id": transaction_id or f"SBT{secrets.token_hex(12).upper()}",
                "amount_fen": amount_fen,
            }
        ).encode()
        timestamp = str(int(now.timestamp()))
        return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: self._sign(timestamp, body)}, body

    def parse_notification(
        self, headers: dict[str, str], body: bytes, *, now: datetime
    ) -> PaymentNotice:
        lower = {k.lower(): v for k, v in headers.items()}
        timestamp = lower.get(TIMESTAMP_HEADER, "")
        signature = lower.get(SIGNATURE_HEADER, "")
        if not timestamp.isdigit() or not signature:
            raise InvalidNotification("missing_signature")
        if not hmac.compare_digest(signature, self._sign(timestamp, body)):
            raise InvalidNotification("bad_signature")
        if abs(now.timestamp() - int(timestamp)) > MAX_SKEW_SECONDS:
            raise InvalidNotification("stale_timestamp")
        try:
            data = json.loads(body)
            return PaymentNotice(
                notification_id=str(data["id"]),
                kind="payment",
                out_trade_no=str(data["out_trade_no"]),
                transaction_id=str(data["transaction_id"]),
                amount_fen=int(data["amount_fen"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidNotification("malformed") from exc

    def query_trade(self, out_trade_no: str) -> TradeState:
        # The sandbox keeps no state of its own: only notifications mark orders paid.
        return TradeState(state="NOTPAY", transaction_id=None, amount_fen=None)

    def close_trade(self, out_trade_no: str) -> None:
        return None

    def refund(self, request: RefundRequest) -> RefundState:
        return RefundState(status="SUCCESS", provider_refund_id=f"SBR-{request.out_refund_no}")

    def query_refund(self, out_refund_no: str) -> RefundState:
        return RefundState(status="SUCCESS", provider_refund_id=f"SBR-{out_refund_no}")
