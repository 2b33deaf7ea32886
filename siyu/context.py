"""The running system's parts, built once from settings by :func:`build_context`
(nothing happens at import time) and shared by the web app, the worker and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session

from siyu.analytics.store import AnalyticsStore
from siyu.catalog import stock
from siyu.clock import Clock, SystemClock
from siyu.config import PaymentProviderName, Settings, WeChatMode
from siyu.coupon import redemption
from siyu.coupon.service import subscribe_gifts
from siyu.db import Database
from siyu.identity.crypto import PersonalDataCipher
from siyu.identity.service import SandboxWeChatIdentity, WeChatIdentityGateway
from siyu.lifecycle import OrderLifecycle
from siyu.order import service as order
from siyu.order.models import Order
from siyu.order.service import AUTO_CONFIRM_TIMER, PAYMENT_TIMEOUT_TIMER, auto_confirm
from siyu.outbox import EventRelay
from siyu.payment.provider import PaymentProvider
from siyu.payment.refunds import SUBMIT_TIMER, check_refund, get_refund, submit_refund
from siyu.payment.sandbox import SandboxProvider
from siyu.payment.service import expire_unpaid_order
from siyu.timers import TimerRunner
from siyu.tracking.facts import subscribe_facts
from siyu.tracking.holder import LazyAnalyticsStore
from siyu.wechat.login import WeChatApiClient


@dataclass
class Context:
    settings: Settings
    db: Database
    clock: Clock
    wechat_identity: WeChatIdentityGateway
    payments: dict[str, PaymentProvider]
    cipher: PersonalDataCipher
    timers: TimerRunner
    relay: EventRelay
    http: httpx.Client
    analytics: AnalyticsStore  # opened on first use; see siyu.tracking.holder
    lifecycle: OrderLifecycle = field(default_factory=OrderLifecycle)
    owns_http: bool = field(default=True)

    @property
    def payment(self) -> PaymentProvider:
        """The provider new payments go through."""
        return self.payments[self.settings.payment_provider.value]

    def provider(self, name: str | None) -> PaymentProvider:
        return self.payments.get(name or "", self.payment)

    @property
    def sandbox_payment(self) -> SandboxProvider | None:
        provider = self.payments.get("sandbox")
        return provider if isinstance(provider, SandboxProvider) else None

    def close(self) -> None:
        if self.owns_http:
            self.http.close()
        self.analytics.close()
        self.db.dispose()


def _read(path: Path | None, what: str) -> str:
    if path is None:
        raise ValueError(f"{what} is required when SIYU_PAYMENT_PROVIDER=wechatpay")
    return path.read_text()


def build_payment_providers(settings: Settings, http: httpx.Client) -> dict[str, PaymentProvider]:
    secret = settings.secret_key.get_secret_value()
    if settings.payment_provider is PaymentProviderName.sandbox:
        return {"sandbox": SandboxProvider(secret)}
    from siyu.payment.wechatpay import WeChatPayProvider
    from siyu.wechat.pay import WeChatPayClient, WeChatPayConfig

    base = (
        settings.wechatpay_notify_url or settings.public_base_url + "/api/payment/notify/wechatpay"
    )
    config = WeChatPayConfig(
        mchid=settings.wechatpay_mchid,
        appid=settings.wechat_appid,
        merchant_serial_no=settings.wechatpay_merchant_serial_no,
        merchant_private_key_pem=_read(
            settings.wechatpay_private_key_path, "SIYU_WECHATPAY_PRIVATE_KEY_PATH"
        ),
        platform_public_key_pem=_read(
            settings.wechatpay_public_key_path, "SIYU_WECHATPAY_PUBLIC_KEY_PATH"
        ),
        platform_public_key_id=settings.wechatpay_public_key_id,
        apiv3_key=settings.wechatpay_apiv3_key.get_secret_value(),
        notify_url=base,
        refund_notify_url=base.rstrip("/") + "/refund",
        base_url=settings.wechatpay_base_url,
    )
    return {"wechatpay": WeChatPayProvider(WeChatPayClient(http, config), config)}


def build_context(
    settings: Settings,
    *,
    clock: Clock | None = None,
    http: httpx.Client | None = None,
    payments: dict[str, PaymentProvider] | None = None,
    analytics: AnalyticsStore | None = None,
) -> Context:
    owns_http = http is None
    http = http or httpx.Client(timeout=httpx.Timeout(10.0, connect=5.0))
    db = Database(settings.sqlalchemy_url)
    identity: WeChatIdentityGateway
    if settings.wechat_mode is WeChatMode.sandbox:
        identity = SandboxWeChatIdentity()
    else:
        identity = WeChatApiClient(
            http,
            appid=settings.wechat_appid,
            secret=settings.wechat_secret.get_secret_value(),
            base_url=settings.wechat_api_base_url,
        )
    ctx = Context(
        settings=settings,
        db=db,
        clock=clock or SystemClock(),
        wechat_identity=identity,
        payments=payments or build_payment_providers(settings, http),
        cipher=PersonalDataCipher(settings.data_key.get_secret_value()),
        timers=TimerRunner(db),
        relay=EventRelay(db),
        http=http,
        analytics=LazyAnalyticsStore(settings.analytics_store_url, store=analytics),
        owns_http=owns_http,
    )
    build_lifecycle(ctx.lifecycle)
    subscribe_facts(ctx.relay, ctx.analytics)
    subscribe_gifts(ctx.relay)
    ctx.timers.register(
        PAYMENT_TIMEOUT_TIMER,
        lambda s, p, now: expire_unpaid_order(
            s, ctx.provider(_order_provider(s, p["order_id"])), ctx.lifecycle, p, now
        ),
    )
    ctx.timers.register(AUTO_CONFIRM_TIMER, auto_confirm)

    def resubmit_refund(session: Session, payload: dict[str, Any], now: datetime) -> None:
        provider = ctx.provider(_refund_provider(session, payload["out_refund_no"]))
        submit_refund(
            session, provider, ctx.lifecycle, out_refund_no=payload["out_refund_no"], now=now
        )

    ctx.timers.register(SUBMIT_TIMER, resubmit_refund)
    ctx.timers.register(
        "refund.check",
        lambda s, p, now: check_refund(
            s, ctx.provider(_refund_provider(s, p["out_refund_no"])), ctx.lifecycle, p, now
        ),
    )
    return ctx


def build_lifecycle(lifecycle: OrderLifecycle) -> OrderLifecycle:
    """Every package's steps on the order lifecycle, in the order they run. A new
    subscriber (points, commission, group-buy seats) is one line here."""
    order.register_steps(lifecycle)
    stock.register_steps(lifecycle)
    redemption.register_steps(lifecycle)
    order.register_announcements(lifecycle)  # last: subscribers hear of finished work
    return lifecycle


def _order_provider(session: Session, order_id: int) -> str | None:
    order = session.get(Order, order_id)
    return order.payment_provider if order else None


def _refund_provider(session: Session, out_refund_no: str) -> str | None:
    refund = get_refund(session, out_refund_no)
    return refund.provider if refund else None
