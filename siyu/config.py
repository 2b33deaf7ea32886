"""Settings: one validated object, read from the environment (prefix ``SIYU_``).

Defaults are embedded so a fresh install works with no configuration: data lives
under ``./siyu-data/``, WeChat login and payments run in sandbox mode. In
production (``SIYU_ENV=production``) sandbox modes and default secrets are refused.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "siyu-dev-secret-change-me-0123456789abcdef"
DEFAULT_DATA_KEY = "siyu-dev-data-key-change-me-0123456789abcdef"
# /pay refuses an order with less than this left to pay (WeChat's minimum for
# time_expire), so a payment timeout must leave the shopper a minute beyond it.
MIN_TIME_LEFT_TO_PAY = timedelta(minutes=1)
MIN_PAYMENT_TIMEOUT_MINUTES = 2


class Env(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class WeChatMode(StrEnum):
    sandbox = "sandbox"
    live = "live"


class PaymentProviderName(StrEnum):
    sandbox = "sandbox"
    wechatpay = "wechatpay"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIYU_", env_file=None, extra="ignore")

    env: Env = Env.development
    data_dir: Path = Path("./siyu-data")
    database_url: str = ""
    redis_url: str = ""
    analytics_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str = "http://127.0.0.1:8000"
    run_worker: bool = True
    worker_interval_seconds: float = 1.0
    # One line per request on stderr (uvicorn's access log). On a sale day with a
    # reverse proxy keeping its own access log, turning it off is about a tenth more
    # requests per second.
    access_log: bool = True
    # FastAPI's native OpenTelemetry (tracing, metrics, logs), when a provider is
    # configured in the process. Off: no per-request check for one.
    telemetry: bool = False

    # Secrets: signing of session tokens and sandbox notifications; encryption of
    # personal data (phone numbers) at rest.
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)
    data_key: SecretStr = SecretStr(DEFAULT_DATA_KEY)
    shopper_token_ttl_seconds: int = 30 * 24 * 3600
    operator_token_ttl_seconds: int = 12 * 3600

    # WeChat mini-program login.
    wechat_mode: WeChatMode = WeChatMode.sandbox
    wechat_appid: str = "wxsandbox0000000000"
    wechat_secret: SecretStr = SecretStr("")
    wechat_api_base_url: str = "https://api.weixin.qq.com"

    # Payments.
    payment_provider: PaymentProviderName = PaymentProviderName.sandbox
    wechatpay_base_url: str = "https://api.mch.weixin.qq.com"
    wechatpay_mchid: str = ""
    wechatpay_merchant_serial_no: str = ""
    wechatpay_private_key_path: Path | None = None
    wechatpay_public_key_path: Path | None = None
    wechatpay_public_key_id: str = ""
    wechatpay_apiv3_key: SecretStr = SecretStr("")
    wechatpay_notify_url: str = ""

    # Order rules.
    payment_timeout_minutes: int = Field(default=30, le=24 * 60)
    # Pricing: flat shipping (0 = free shipping store), free above a shelf subtotal,
    # and points redemption (100 points = ¥1, at most half of the goods by default).
    shipping_fen: int = Field(default=0, ge=0, le=100_000)
    free_shipping_threshold_fen: int = Field(default=0, ge=0)
    points_per_yuan: int = Field(default=100, ge=1, le=100_000)
    points_max_percent: int = Field(default=50, ge=0, le=100)
    # Points earning (消费1元=1积分 by default, on what was paid net of discounts) and
    # expiry: at the end of the calendar year this many years after the year earned
    # (Asia/Shanghai), unless points never expire.
    points_earn_per_yuan: int = Field(default=1, ge=0, le=1000)
    points_expiry_years: int = Field(default=1, ge=0, le=10)
    points_never_expire: bool = False
    # 注册送积分: points credited once when a shopper registers (0: none).
    points_signup_reward: int = Field(default=0, ge=0, le=100_000)
    auto_confirm_days: int = Field(default=7, ge=1, le=60)
    aftersale_window_days: int = Field(default=7, ge=0, le=90)
    idempotency_ttl_hours: int = Field(default=48, ge=24)
    operator_login_max_failures: int = Field(default=5, ge=1)
    operator_login_window_minutes: int = Field(default=15, ge=1)
    # Redis (optional): every key Siyu writes starts with this prefix.
    redis_key_prefix: str = "siyu:"
    # Flash sale gate: token buckets per shopper and per IP (requests a second, burst),
    # and placements at once per process before the waiting room answers (docs/social.md).
    flash_sale_shopper_rate: float = Field(default=2.0, gt=0)
    flash_sale_shopper_burst: int = Field(default=5, ge=1)
    flash_sale_ip_rate: float = Field(default=200.0, gt=0)
    flash_sale_ip_burst: int = Field(default=400, ge=1)
    flash_sale_max_in_flight: int = Field(default=32, ge=1)
    # Urgency cues (docs/social.md), until an operator saves the store's own: the feed
    # of recent real purchases on/off, and 仅剩N件 at or below this stock (0: never).
    cues_social_proof: bool = True
    cues_low_stock_threshold: int = Field(default=5, ge=0, le=1000)

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'siyu.db'}"

    @property
    def analytics_store_url(self) -> str:
        return self.analytics_url or f"chdb://{self.data_dir / 'analytics'}"

    @property
    def media_dir(self) -> Path:
        """Uploaded files (shoppers' avatars). One folder per installation: with several
        API processes on several hosts, mount shared storage here."""
        return self.data_dir / "media"

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    @property
    def is_chdb(self) -> bool:
        return self.analytics_store_url.startswith("chdb://")

    def single_process_stores(self) -> list[str]:
        """What this configuration keeps in a store that only one process may open:
        empty when several API and worker processes may run side by side."""
        stores = []
        if self.is_sqlite:
            stores.append(
                "SQLite 只允许一个进程写入，请使用 PostgreSQL / SQLite is single-process: "
                "set SIYU_DATABASE_URL=postgresql+psycopg://…"
            )
        if self.is_chdb:
            stores.append(
                "chdb 数据目录只能被一个进程打开，请使用 ClickHouse 服务器 / a chdb folder opens "
                "in one process only: set SIYU_ANALYTICS_URL=clickhouse://host:8123/db"
            )
        return stores

    def check_several_processes(self, what: str) -> list[str]:
        """Refuse (production) or warn about (returned, development) running ``what`` —
        several API processes or a separate worker — on single-process stores."""
        stores = self.single_process_stores()
        if stores and self.env is Env.production:
            raise ValueError(f"SIYU_ENV=production refuses {what}: " + "; ".join(stores))
        return stores

    @model_validator(mode="after")
    def _refuse_unpayable_timeout(self) -> Self:
        if self.payment_timeout_minutes < MIN_PAYMENT_TIMEOUT_MINUTES:
            raise ValueError(
                f"SIYU_PAYMENT_TIMEOUT_MINUTES={self.payment_timeout_minutes} is too short: "
                f"payment (/pay) needs at least {MIN_TIME_LEFT_TO_PAY.seconds // 60} minute "
                f"left on the order, so the timeout must be at least "
                f"{MIN_PAYMENT_TIMEOUT_MINUTES} minutes"
            )
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Self:
        if self.env is not Env.production:
            return self
        problems = []
        if self.wechat_mode is WeChatMode.sandbox:
            problems.append("SIYU_WECHAT_MODE=sandbox is for development only")
        if self.payment_provider is PaymentProviderName.sandbox:
            problems.append("SIYU_PAYMENT_PROVIDER=sandbox is for development only")
        if self.secret_key.get_secret_value() == DEFAULT_SECRET:
            problems.append("SIYU_SECRET_KEY is the default; set a random secret")
        if self.data_key.get_secret_value() == DEFAULT_DATA_KEY:
            problems.append("SIYU_DATA_KEY is the default; set a random key")
        for name in ("secret_key", "data_key"):
            if len(getattr(self, name).get_secret_value()) < 32:
                problems.append(f"SIYU_{name.upper()} must be at least 32 characters")
        if problems:
            raise ValueError("unsafe production settings: " + "; ".join(problems))
        return self
