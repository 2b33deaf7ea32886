"""The payment provider protocol: what the order flow needs from a payment platform.

Two providers implement it: ``sandbox`` (a simulated cashier, the default for
development) and ``wechatpay`` (WeChat Pay API v3, JSAPI). Both deliver results
through :func:`siyu.payment.service.handle_notification`, the one path that marks
orders paid and refunds succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol


class InvalidNotification(Exception):
    """Forged, stale, undecryptable or foreign notification: answer 401, change nothing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderUnavailable(Exception):
    """The platform could not be reached or refused the call."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PrepayRequest:
    out_trade_no: str
    description: str
    amount_fen: int
    payer_openid: str
    time_expire: datetime


@dataclass(frozen=True)
class PaymentNotice:
    notification_id: str
    kind: Literal["payment", "refund"]
    out_trade_no: str
    transaction_id: str | None
    amount_fen: int  # the amount paid (payment) or refunded (refund)
    out_refund_no: str | None = None
    refund_status: str | None = None  # SUCCESS | CLOSED | ABNORMAL
    provider_refund_id: str | None = None


@dataclass(frozen=True)
class TradeState:
    state: str  # SUCCESS | NOTPAY | CLOSED | USERPAYING | PAYERROR | REFUND | REVOKED
    transaction_id: str | None
    amount_fen: int | None


@dataclass(frozen=True)
class RefundRequest:
    out_refund_no: str
    out_trade_no: str
    refund_fen: int
    total_fen: int
    reason: str


@dataclass(frozen=True)
class RefundState:
    status: str  # SUCCESS | PROCESSING | CLOSED | ABNORMAL
    provider_refund_id: str | None


class PaymentProvider(Protocol):
    name: str

    def prepay(self, request: PrepayRequest, *, now: datetime) -> dict[str, str]: ...

    def parse_notification(
        self, headers: dict[str, str], body: bytes, *, now: datetime
    ) -> PaymentNotice: ...

    def query_trade(self, out_trade_no: str) -> TradeState: ...

    def close_trade(self, out_trade_no: str) -> None: ...

    def refund(self, request: RefundRequest) -> RefundState: ...

    def query_refund(self, out_refund_no: str) -> RefundState: ...
