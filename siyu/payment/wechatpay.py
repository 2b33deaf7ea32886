"""The WeChat Pay provider: adapts :class:`siyu.wechat.pay.WeChatPayClient` to the
payment provider protocol, and checks what the client leaves to its caller: a
notification must be for our merchant and our app (specs/wechat.md §2.5)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from siyu.payment.provider import (
    InvalidNotification,
    PaymentNotice,
    PrepayRequest,
    ProviderUnavailable,
    RefundRequest,
    RefundState,
    TradeState,
)
from siyu.wechat.pay import NotificationRejected, WeChatPayClient, WeChatPayConfig, WeChatPayError


@contextmanager
def _upstream() -> Iterator[None]:
    """A WeChat Pay call: its refusal or failure is the provider being unavailable."""
    try:
        yield
    except WeChatPayError as exc:
        raise ProviderUnavailable(exc.code, exc.message) from exc


def _refund_state(data: dict[str, Any]) -> RefundState:
    return RefundState(
        status=str(data.get("status", "PROCESSING")), provider_refund_id=data.get("refund_id")
    )


class WeChatPayProvider:
    name = "wechatpay"

    def __init__(self, client: WeChatPayClient, config: WeChatPayConfig) -> None:
        self.client = client
        self.config = config

    def prepay(self, request: PrepayRequest, *, now: datetime) -> dict[str, str]:
        with _upstream():
            prepay_id = self.client.jsapi_prepay(
                out_trade_no=request.out_trade_no,
                description=request.description,
                amount_fen=request.amount_fen,
                payer_openid=request.payer_openid,
                time_expire=request.time_expire,
            )
        return self.client.request_payment_params(prepay_id, now=now)

    def parse_notification(
        self, headers: dict[str, str], body: bytes, *, now: datetime
    ) -> PaymentNotice:
        try:
            notification = self.client.parse_notification(headers, body, now=now)
        except NotificationRejected as exc:
            raise InvalidNotification(exc.reason) from exc
        r = notification.resource
        if r.get("mchid") != self.config.mchid:
            raise InvalidNotification("foreign_merchant")
        try:
            if notification.event_type == "TRANSACTION.SUCCESS":
                if r.get("appid") != self.config.appid:
                    raise InvalidNotification("foreign_app")
                if r.get("trade_state") != "SUCCESS":
                    raise InvalidNotification("not_success")
                return PaymentNotice(
                    notification_id=notification.id,
                    kind="payment",
                    out_trade_no=str(r["out_trade_no"]),
                    transaction_id=str(r["transaction_id"]),
                    amount_fen=int(r["amount"]["total"]),
                )
            if notification.event_type.startswith("REFUND."):
                return PaymentNotice(
                    notification_id=notification.id,
                    kind="refund",
                    out_trade_no=str(r["out_trade_no"]),
                    transaction_id=r.get("transaction_id"),
                    amount_fen=int(r["amount"]["refund"]),
                    out_refund_no=str(r["out_refund_no"]),
                    refund_status=str(r["refund_status"]),
                    provider_refund_id=r.get("refund_id"),
                )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidNotification("malformed") from exc
        raise InvalidNotification(f"unsupported_event:{notification.event_type}")

    def query_trade(self, out_trade_no: str) -> TradeState:
        try:
            data = self.client.query_order(out_trade_no)
        except WeChatPayError as exc:
            if exc.code == "ORDER_NOT_EXIST":
                return TradeState(state="NOTPAY", transaction_id=None, amount_fen=None)
            raise ProviderUnavailable(exc.code, exc.message) from exc
        amount = data.get("amount") or {}
        return TradeState(
            state=str(data.get("trade_state", "")),
            transaction_id=data.get("transaction_id"),
            amount_fen=amount.get("total"),
        )

    def close_trade(self, out_trade_no: str) -> None:
        try:
            self.client.close_order(out_trade_no)
        except WeChatPayError as exc:
            if exc.code in ("ORDER_NOT_EXIST", "ORDERCLOSED"):
                return
            raise ProviderUnavailable(exc.code, exc.message) from exc

    def refund(self, request: RefundRequest) -> RefundState:
        with _upstream():
            data = self.client.refund(
                out_refund_no=request.out_refund_no,
                out_trade_no=request.out_trade_no,
                refund_fen=request.refund_fen,
                total_fen=request.total_fen,
                reason=request.reason,
            )
        return _refund_state(data)

    def query_refund(self, out_refund_no: str) -> RefundState:
        with _upstream():
            data = self.client.query_refund(out_refund_no)
        return _refund_state(data)
