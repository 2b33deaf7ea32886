"""The composition root: the running system's parts, built once from settings by
:func:`build_context` (nothing happens at import time) and shared by the web app, the
worker and the CLI. The only module that knows every package; nothing imports it but
the entry points (app, worker, cli, devtools)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx

from siyu import (
    bargain,
    catalog,
    coupon,
    flash_sale,
    group_buy,
    loyalty,
    order,
    payment,
    promotion,
    rising_price,
    tracking,
    versions,
)
from siyu.analytics.store import AnalyticsStore
from siyu.clock import Clock, SystemClock
from siyu.config import PaymentProviderName, Settings, WeChatMode
from siyu.db import Database
from siyu.flash_sale.gate import Gate
from siyu.identity.crypto import PersonalDataCipher
from siyu.identity.service import SandboxWeChatIdentity, WeChatIdentityGateway
from siyu.lifecycle import OrderLifecycle
from siyu.loyalty import tiers as loyalty_tiers
from siyu.loyalty.program import PointsProgram
from siyu.outbox import EventRelay
from siyu.payment.provider import PaymentProvider
from siyu.payment.sandbox import SandboxProvider
from siyu.timers import TimerRunner
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
    flash_gate: Gate  # Redis Lua when SIYU_REDIS_URL is set, else the database
    lifecycle: OrderLifecycle = field(default_factory=OrderLifecycle)
    points: PointsProgram = field(default_factory=PointsProgram)
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
        self.flash_gate.close()
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
    db = Database(settings.sqlalchemy_url, info={versions.MEMO_KEY: versions.VersionedMemo()})
    catalog.track_versions(db.sessionmaker)
    promotion.track_versions(db.sessionmaker)
    loyalty_tiers.track_versions(db.sessionmaker)
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
        flash_gate=flash_sale.open_gate(settings),
        owns_http=owns_http,
        points=PointsProgram.from_settings(settings),
    )
    register_packages(ctx)
    return ctx


def register_packages(ctx: Context) -> None:
    """Every package's subscriptions — order lifecycle steps, outbox handlers, timers —
    for the API, the worker and the CLI alike. A new play (points, commission, group-buy
    seats) is one ``register`` in its package and one line here; on the order lifecycle
    the work steps run in this order, announcements after them."""
    order.register(
        ctx.relay,
        ctx.timers,
        ctx.lifecycle,
        aftersale_window=timedelta(days=ctx.settings.aftersale_window_days),
    )
    catalog.register(ctx.relay, ctx.timers, ctx.lifecycle)
    coupon.register(ctx.relay, ctx.timers, ctx.lifecycle)
    loyalty.register(ctx.relay, ctx.timers, ctx.lifecycle, program=ctx.points)
    loyalty_tiers.register(ctx.relay, ctx.timers, ctx.lifecycle, program=ctx.points)
    group_buy.register(ctx.relay, ctx.timers, ctx.lifecycle)
    flash_sale.register(ctx.relay, ctx.timers, ctx.lifecycle, gate=ctx.flash_gate)
    rising_price.register(ctx.relay, ctx.timers, ctx.lifecycle)
    bargain.register(ctx.relay, ctx.timers, ctx.lifecycle)
    payment.register(ctx.relay, ctx.timers, ctx.lifecycle, providers=ctx.provider)
    tracking.register(ctx.relay, ctx.timers, ctx.lifecycle, analytics=ctx.analytics)
