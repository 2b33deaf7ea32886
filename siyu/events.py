"""The catalog of tracked events: every event name the store records, who records it,
what its properties mean, and the name an operator reads in zh-CN and en.

Three sources write events, all through ``siyu.tracking.ingest``:

- ``sdk``: recorded by the tracking SDK on its own (``clients/track``): launches, shows,
  hides, page views and leaves, shares, logins on the device;
- ``client``: named by the store's pages (a ``data-track`` element or ``track(name)``);
- ``server``: facts the server records when the order seam or identity says so
  (``siyu.tracking.facts``); clients may not send these (reserved prefixes).

The console shows :func:`display_name` wherever an event appears (funnel steps,
retention pickers, goals); a custom event the catalog does not know keeps its own name.
``docs/events.md`` is generated from this module (``python -m siyu.events``) and a test
checks it is current.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Literal

Source = Literal["sdk", "client", "server"]
Locale = Literal["zh", "en"]

# Properties every client event carries (set by the SDK).
COMMON_PROPERTIES: tuple[tuple[str, str], ...] = (
    ("$session_id", "the visit the event belongs to (30 minutes of inactivity ends one)"),
    ("$lib / $lib_version", "the SDK that sent it"),
    ("$platform", "miniprogram or h5"),
    ("$share_depth", "how many shares away from the first sharer the device arrived"),
)


@dataclass(frozen=True)
class EventSpec:
    name: str
    zh: str
    en: str
    source: Source
    meaning: str
    properties: tuple[tuple[str, str], ...] = ()

    def display(self, locale: str) -> str:
        return self.en if locale.startswith("en") else self.zh


CATALOG: tuple[EventSpec, ...] = (
    EventSpec(
        "$launch",
        "打开小程序",
        "App launched",
        "sdk",
        "The mini-program or H5 store was opened (cold start); carries the entry scene.",
        (
            ("scene", "WeChat scene value of the entry (1007 chat share, 1047 QR code, ...)"),
            ("channel", "channel code from the entry query (c=...)"),
            ("sharer_id", "the shopper whose share brought the device"),
        ),
    ),
    EventSpec(
        "$show",
        "回到前台",
        "App shown",
        "sdk",
        "The store came to the foreground (also after a launch).",
        (("hidden_ms", "how long it was in the background"),),
    ),
    EventSpec(
        "$hide",
        "切到后台",
        "App hidden",
        "sdk",
        "The store went to the background.",
        (("duration_ms", "how long it was in the foreground"),),
    ),
    EventSpec(
        "$pageview",
        "浏览页面",
        "Page viewed",
        "sdk",
        "A page (or an H5 route) was shown; ``page`` is its path.",
    ),
    EventSpec(
        "$page_leave",
        "离开页面",
        "Page left",
        "sdk",
        "The shopper left a page; the time spent on it gives dwell and bounce.",
        (("duration_ms", "time on the page"),),
    ),
    EventSpec(
        "$share",
        "分享",
        "Shared",
        "sdk",
        "The shopper shared a page or product card.",
        (
            ("sharer_id", "the shopper who shared"),
            ("share_depth", "share generation (1 for a first share)"),
            ("share_path", "the path the share opens"),
            ("from_sharer_id", "who shared it to this shopper, if anyone"),
        ),
    ),
    EventSpec(
        "$identify",
        "登录识别",
        "Identified",
        "sdk",
        "The device's shopper changed (login); links earlier anonymous events to them.",
        (("previous_shopper_id", "the shopper before, 0 when anonymous"),),
    ),
    EventSpec(
        "product_view",
        "浏览商品",
        "Product viewed",
        "client",
        "A product detail page was viewed.",
        (("product_id", "the product"),),
    ),
    EventSpec(
        "add_to_cart",
        "加入购物车",
        "Added to cart",
        "client",
        "The shopper pressed 加入购物车 on a product.",
        (("product_id", "the product"),),
    ),
    EventSpec(
        "buy_now",
        "立即购买",
        "Buy now",
        "client",
        "The shopper pressed 立即购买 on a product.",
        (("product_id", "the product"),),
    ),
    EventSpec(
        "submit_order",
        "点击提交订单",
        "Submit order pressed",
        "client",
        "The shopper pressed 提交订单 at checkout (a press; the order itself is order.placed).",
        (("source", "cart or buy_now"), ("lines", "number of order lines")),
    ),
    EventSpec(
        "pay",
        "点击去支付",
        "Pay pressed",
        "client",
        "The shopper pressed 去支付 for an order (a press; the payment itself is order.paid).",
        (("order_id", "the order"),),
    ),
    EventSpec(
        "shopper.registered",
        "注册",
        "Registered",
        "server",
        "A new shopper account was created (first WeChat login); carries the entry.",
        (
            ("scene / channel", "entry scene and channel code of the registering visit"),
            ("sharer_id", "the shopper whose share brought them"),
        ),
    ),
    EventSpec(
        "shopper.logged_in",
        "登录",
        "Logged in",
        "server",
        "A shopper logged in; links the device to the shopper.",
    ),
    EventSpec(
        "order.placed",
        "下单成功",
        "Order placed",
        "server",
        "An order was placed (not yet paid).",
        (("order_id", "the order"), ("amount_fen", "amount payable, in fen")),
    ),
    EventSpec(
        "order.paid",
        "支付成功",
        "Order paid",
        "server",
        "A payment landed (``siyu.order.service.mark_paid``); revenue counts from here.",
        (("order_id", "the order"), ("amount_fen", "amount paid, in fen")),
    ),
    EventSpec(
        "order.cancelled",
        "订单取消",
        "Order cancelled",
        "server",
        "An unpaid order was cancelled by the shopper, the operator or the timeout.",
        (("order_id", "the order"), ("reason", "shopper, operator or timeout")),
    ),
    EventSpec(
        "order.completed",
        "订单完成",
        "Order completed",
        "server",
        "The shopper confirmed receipt (or it was confirmed automatically).",
        (("order_id", "the order"),),
    ),
    EventSpec(
        "refund.succeeded",
        "退款成功",
        "Refund succeeded",
        "server",
        "Money went back to the shopper (whole or part of an order).",
        (("order_id", "the order"), ("amount_fen", "amount refunded, in fen")),
    ),
    EventSpec(
        "coupon.used",
        "使用优惠券",
        "Coupon used",
        "server",
        "A coupon was spent on a paid order.",
        (
            ("coupon_id", "the shopper's coupon"),
            ("template_id", "its coupon template"),
            ("order_id", "the order"),
            ("amount_fen", "the discount it gave, in fen"),
        ),
    ),
)

BY_NAME: dict[str, EventSpec] = {spec.name: spec for spec in CATALOG}
SERVER_EVENTS: frozenset[str] = frozenset(s.name for s in CATALOG if s.source == "server")

# The store's own funnel and the events the stage goals default to.
PAGE_VIEW = "$pageview"
PRODUCT_VIEW = "product_view"
ADD_TO_CART = "add_to_cart"
ORDER_PAID = "order.paid"
STORE_FUNNEL: tuple[str, ...] = (PAGE_VIEW, PRODUCT_VIEW, ADD_TO_CART, ORDER_PAID)


def display_name(name: str, locale: str = "zh") -> str:
    """The operator's name for an event; a name the catalog does not know is its own."""
    spec = BY_NAME.get(name)
    return spec.display(locale) if spec else name


# The store's pages (mini-program paths, as ``page`` on events), with the names an
# operator reads; a path the catalog does not know is shown as it is.
PAGES: dict[str, tuple[str, str]] = {
    "pages/index/index": ("首页", "Home page"),
    "pages/category/index": ("分类页", "Category page"),
    "pages/product/detail": ("商品详情页", "Product page"),
    "pages/cart/index": ("购物车", "Cart"),
    "pages/order/confirm": ("确认订单页", "Checkout page"),
    "pages/order/detail": ("订单详情页", "Order page"),
    "pages/coupon/center": ("领券中心", "Coupon center"),
}


def page_name(path: str, locale: str = "zh") -> str:
    """The operator's name for a page path (a leading ``/`` and a query are ignored);
    a path the catalog does not know is its own."""
    key = path.strip().lstrip("/").split("?", 1)[0]
    names = PAGES.get(key)
    if names is None:
        return path
    return names[1] if locale.startswith("en") else names[0]


SOURCE_TITLES: dict[Source, str] = {
    "sdk": "Recorded by the SDK",
    "client": "Named by the store's pages",
    "server": "Recorded by the server",
}


def markdown() -> str:
    """``docs/events.md``."""
    lines = [
        "# Tracked events",
        "",
        "<!-- generated by `python -m siyu.events > docs/events.md`; do not edit -->",
        "",
        "Every event the store records, from `siyu/events.py`. The console shows the",
        "中文 / English name; a custom event the catalog does not know keeps its own name.",
        "Clients may not send the server's events (names starting `order.`, `refund.`,",
        "`shopper.`, `coupon.`, `payment.`).",
        "",
        "Every client event also carries: "
        + "; ".join(f"`{key}` ({meaning})" for key, meaning in COMMON_PROPERTIES)
        + ".",
    ]
    for source, title in SOURCE_TITLES.items():
        lines += ["", f"## {title}", "", "| event | 中文 | English | meaning | properties |"]
        lines.append("|---|---|---|---|---|")
        for spec in CATALOG:
            if spec.source != source:
                continue
            props = "<br>".join(f"`{key}`: {meaning}" for key, meaning in spec.properties)
            lines.append(
                f"| `{spec.name}` | {spec.zh} | {spec.en} | {spec.meaning} | {props or '—'} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(markdown())
