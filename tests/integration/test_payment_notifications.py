"""Payment and refund notifications have no double effects (specs/wechat.md §2.5, §5.4):
duplicates, concurrent deliveries, late and reordered ones, forgeries, wrong amounts
and money for orders that are already closed."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from siyu.app import create_app
from siyu.bootstrap import Context, build_context
from siyu.catalog.models import Product, Sku
from siyu.clock import FrozenClock
from siyu.outbox import OutboxEvent
from siyu.payment.models import PaymentNotification, Refund
from siyu.payment.provider import ProviderUnavailable, RefundRequest, RefundState
from siyu.payment.sandbox import SandboxProvider
from siyu.payment.wechatpay import WeChatPayProvider
from siyu.worker import Worker
from tests.conftest import make_settings
from tests.fakes.wechatpay import FakeWeChatPay, generate_rsa_key_pair
from tests.helpers import create_product, operator_headers, place_order, shopper_headers

T = TypeVar("T")

SANDBOX_NOTIFY = "/api/payment/notify/sandbox"
WECHATPAY_NOTIFY = "/api/payment/notify/wechatpay"
WECHATPAY_REFUND_NOTIFY = "/api/payment/notify/wechatpay/refund"


# -- fixtures and helpers ----------------------------------------------------------


@dataclass(frozen=True)
class Shop:
    client: TestClient
    ctx: Context
    clock: FrozenClock
    admin: dict[str, str]
    shopper: dict[str, str]
    product_id: int
    sku_id: int


@dataclass(frozen=True)
class PlacedOrder:
    id: int
    order_no: str
    total_fen: int


class RefundAnswerLost:
    """WeChat Pay accepts the refund but its answer never reaches us (a timeout)."""

    name = "wechatpay"

    def __init__(self, inner: WeChatPayProvider) -> None:
        self.inner = inner

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.inner, attr)

    def refund(self, request: RefundRequest) -> RefundState:
        self.inner.refund(request)
        raise ProviderUnavailable("NETWORK_ERROR", "ReadTimeout")


class RefundNotifiedBeforeAnswer:
    """WeChat Pay finishes the refund and its notification is handled while the
    synchronous answer (PROCESSING) is still on its way back to us."""

    name = "wechatpay"

    def __init__(self, inner: WeChatPayProvider, fake: FakeWeChatPay) -> None:
        self.inner = inner
        self.fake = fake
        self.deliver: Callable[[dict[str, str], bytes], None] = lambda h, b: None
        self.wait_for_notification = True
        self.threads: list[threading.Thread] = []

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.inner, attr)

    def refund(self, request: RefundRequest) -> RefundState:
        answer = self.inner.refund(request)
        if self.threads:  # WeChat Pay finishes (and notifies) a refund once
            return answer
        headers, body = self.fake.complete_refund(request.out_refund_no)
        thread = threading.Thread(target=self.deliver, args=(headers, body))
        thread.start()
        self.threads.append(thread)
        if self.wait_for_notification:
            thread.join(timeout=10)
        return answer


@pytest.fixture
def sandbox_shop(client: TestClient, ctx: Context, clock: FrozenClock) -> Shop:
    return _open_shop(client, ctx, clock)


@contextmanager
def _wechatpay_shop(
    database_url: str, tmp_path: Path, clock: FrozenClock, provider: Any
) -> Iterator[Shop]:
    settings = make_settings(database_url, tmp_path, payment_provider="wechatpay")
    context = build_context(settings, clock=clock, payments={"wechatpay": provider})
    try:
        with TestClient(create_app(ctx=context, run_worker=False)) as test_client:
            yield _open_shop(test_client, context, clock)
    finally:
        context.close()


@pytest.fixture
def wechatpay_shop(
    database_url: str,
    tmp_path: Path,
    wechatpay_clock: FrozenClock,
    wechatpay_provider: WeChatPayProvider,
) -> Iterator[Shop]:
    with _wechatpay_shop(database_url, tmp_path, wechatpay_clock, wechatpay_provider) as shop:
        yield shop


def _open_shop(client: TestClient, ctx: Context, clock: FrozenClock) -> Shop:
    admin = operator_headers(client, ctx)
    product = create_product(
        client, admin, skus=[{"spec": {"烘焙": "中度"}, "price_fen": 5900, "stock": 10}]
    )
    return Shop(
        client=client,
        ctx=ctx,
        clock=clock,
        admin=admin,
        shopper=shopper_headers(client, "alice"),
        product_id=product["id"],
        sku_id=product["skus"][0]["id"],
    )


def _order_and_start_payment(shop: Shop, quantity: int = 2) -> PlacedOrder:
    placed = place_order(shop.client, shop.shopper, shop.sku_id, quantity)
    assert placed.status_code == 201, placed.text
    started = shop.client.post(f"/api/app/orders/{placed.json()['id']}/pay", headers=shop.shopper)
    assert started.status_code == 200, started.text
    order = placed.json()
    return PlacedOrder(order["id"], order["order_no"], order["total_fen"])


def _sandbox_notification(
    shop: Shop,
    order: PlacedOrder,
    *,
    amount_fen: int | None = None,
    transaction_id: str = "SBT-0001",
    notification_id: str | None = None,
) -> tuple[dict[str, str], bytes]:
    sandbox = shop.ctx.sandbox_payment
    assert sandbox is not None
    return sandbox.build_notification(
        out_trade_no=order.order_no,
        amount_fen=order.total_fen if amount_fen is None else amount_fen,
        now=shop.clock.now(),
        transaction_id=transaction_id,
        notification_id=notification_id,
    )


def _post(shop: Shop, path: str, notification: tuple[dict[str, str], bytes]) -> httpx.Response:
    headers, body = notification
    return shop.client.post(path, content=body, headers=headers)


def _concurrently(n: int, work: Callable[[], T]) -> list[T]:
    """Run ``work`` from ``n`` threads released at the same moment."""
    barrier = threading.Barrier(n)

    def run() -> T:
        barrier.wait()
        return work()

    with ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(run) for _ in range(n)]
        return [f.result() for f in futures]


def _order(shop: Shop, order_id: int) -> dict[str, Any]:
    response = shop.client.get(f"/api/admin/orders/{order_id}", headers=shop.admin)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _events(shop: Shop, order_id: int, event_type: str) -> int:
    with shop.ctx.db.transaction() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(
                    OutboxEvent.event_type == event_type,
                    OutboxEvent.aggregate_id == str(order_id),
                )
            )
            or 0
        )


def _sales_count(shop: Shop) -> int:
    with shop.ctx.db.transaction() as session:
        product = session.get(Product, shop.product_id)
        assert product is not None
        return product.sales_count


def _stock(shop: Shop) -> int:
    with shop.ctx.db.transaction() as session:
        sku = session.get(Sku, shop.sku_id)
        assert sku is not None
        return sku.stock


def _notification_outcomes(shop: Shop) -> list[tuple[str, str]]:
    with shop.ctx.db.transaction() as session:
        rows = session.execute(
            select(PaymentNotification.notification_id, PaymentNotification.outcome).order_by(
                PaymentNotification.id
            )
        ).all()
        return [(row[0], row[1]) for row in rows]


def _refunds(shop: Shop) -> list[tuple[str, str, int, str]]:
    with shop.ctx.db.transaction() as session:
        return [
            (r.out_refund_no, r.kind, r.amount_fen, str(r.status))
            for r in session.scalars(select(Refund).order_by(Refund.id))
        ]


def _paid_completed_order_with_return_request(shop: Shop, fake: FakeWeChatPay) -> tuple[int, int]:
    """A paid, shipped, completed wechatpay order of 2 × 5900 and a pending request to
    return one unit; returns (order id, after-sales id)."""
    order = _order_and_start_payment(shop)
    assert _post(shop, WECHATPAY_NOTIFY, fake.pay(order.order_no)).status_code == 204
    shipped = shop.client.post(
        f"/api/admin/orders/{order.id}/ship",
        json={"carrier": "顺丰", "tracking_no": "SF1234567890"},
        headers=shop.admin,
    )
    assert shipped.status_code == 200, shipped.text
    confirmed = shop.client.post(f"/api/app/orders/{order.id}/confirm", headers=shop.shopper)
    assert confirmed.status_code == 200, confirmed.text
    line_id = confirmed.json()["lines"][0]["id"]
    request = shop.client.post(
        "/api/app/aftersales",
        json={
            "order_id": order.id,
            "kind": "return_refund",
            "reason": "不喜欢",
            "lines": [{"order_line_id": line_id, "quantity": 1}],
        },
        headers=shop.shopper,
    )
    assert request.status_code == 201, request.text
    return order.id, request.json()["id"]


# -- (a) duplicates ------------------------------------------------------------------


def test_the_same_notification_delivered_twice_pays_the_order_once(sandbox_shop: Shop) -> None:
    # given an order for 2 units awaiting payment and its payment notification
    shop = sandbox_shop
    order = _order_and_start_payment(shop)
    notification = _sandbox_notification(shop, order, notification_id="SBX-dup-1")

    # when the notification is delivered twice
    first = _post(shop, SANDBOX_NOTIFY, notification)
    second = _post(shop, SANDBOX_NOTIFY, notification)

    # then both are acknowledged and the payment took effect once
    assert (first.status_code, second.status_code) == (204, 204)
    paid = _order(shop, order.id)
    assert (paid["status"], paid["paid_fen"], paid["transaction_id"]) == (
        "paid",
        11800,
        "SBT-0001",
    )
    assert _events(shop, order.id, "order.paid") == 1
    assert _sales_count(shop) == 2
    assert _notification_outcomes(shop) == [("SBX-dup-1", "applied")]


def test_five_concurrent_deliveries_of_one_notification_pay_the_order_once(
    sandbox_shop: Shop,
) -> None:
    # given an order awaiting payment and its payment notification
    shop = sandbox_shop
    order = _order_and_start_payment(shop)
    notification = _sandbox_notification(shop, order, notification_id="SBX-burst-1")

    # when five copies arrive at the same moment
    responses = _concurrently(5, lambda: _post(shop, SANDBOX_NOTIFY, notification))

    # then every copy is acknowledged and the payment took effect once
    assert [r.status_code for r in responses] == [204] * 5
    paid = _order(shop, order.id)
    assert (paid["status"], paid["paid_fen"]) == ("paid", 11800)
    assert _events(shop, order.id, "order.paid") == 1
    assert _sales_count(shop) == 2
    assert _notification_outcomes(shop) == [("SBX-burst-1", "applied")]


def test_five_concurrent_wechat_notifications_for_one_payment_pay_the_order_once(
    wechatpay_shop: Shop, fake_wechatpay: FakeWeChatPay
) -> None:
    # given an order paid at WeChat Pay, which re-sends its notification over five
    # network paths, each copy signed and encrypted afresh, some with new ids
    shop = wechatpay_shop
    order = _order_and_start_payment(shop)
    first = fake_wechatpay.pay(order.order_no)
    event_id = json.loads(first[1])["id"]
    copies = [first] + [
        fake_wechatpay.notification_for(order.order_no, event_id=event_id if i % 2 else None)
        for i in range(4)
    ]
    lock = threading.Lock()

    def deliver() -> int:
        with lock:
            copy = copies.pop()
        return _post(shop, WECHATPAY_NOTIFY, copy).status_code

    # when all five arrive at the same moment
    statuses = _concurrently(5, deliver)

    # then all are acknowledged and the payment took effect once
    assert statuses == [204] * 5
    paid = _order(shop, order.id)
    transaction_id = fake_wechatpay.transactions[order.order_no]["transaction_id"]
    assert (paid["status"], paid["paid_fen"], paid["transaction_id"]) == (
        "paid",
        11800,
        transaction_id,
    )
    assert _events(shop, order.id, "order.paid") == 1
    assert _sales_count(shop) == 2
    outcomes = sorted(outcome for _, outcome in _notification_outcomes(shop))
    assert outcomes == ["applied", "duplicate", "duplicate"]  # 3 distinct ids recorded
    assert _refunds(shop) == []


# -- (b) duplicates after the order moved on -------------------------------------------


def test_a_duplicate_notification_after_shipping_leaves_the_order_shipped(
    wechatpay_shop: Shop, fake_wechatpay: FakeWeChatPay
) -> None:
    # given a paid order that was shipped
    shop = wechatpay_shop
    order = _order_and_start_payment(shop)
    notification = fake_wechatpay.pay(order.order_no)
    assert _post(shop, WECHATPAY_NOTIFY, notification).status_code == 204
    shipped = shop.client.post(
        f"/api/admin/orders/{order.id}/ship",
        json={"carrier": "顺丰", "tracking_no": "SF1234567890"},
        headers=shop.admin,
    )
    assert shipped.json()["status"] == "shipped"

    # when WeChat Pay re-sends the notification, as is and under a new id (litemall #271)
    same = _post(shop, WECHATPAY_NOTIFY, notification)
    resent = _post(shop, WECHATPAY_NOTIFY, fake_wechatpay.notification_for(order.order_no))

    # then both are acknowledged and the order is still shipped, paid once
    assert (same.status_code, resent.status_code) == (204, 204)
    after = _order(shop, order.id)
    assert (after["status"], after["paid_fen"], after["payment_flag"]) == ("shipped", 11800, None)
    assert after["shipped_at"] == shipped.json()["shipped_at"]
    assert _events(shop, order.id, "order.paid") == 1
    assert _sales_count(shop) == 2
    assert [outcome for _, outcome in _notification_outcomes(shop)] == ["applied", "duplicate"]
    assert _refunds(shop) == []


# -- (c) reordered -----------------------------------------------------------------------


@pytest.fixture
def lost_answer_shop(
    database_url: str,
    tmp_path: Path,
    wechatpay_clock: FrozenClock,
    wechatpay_provider: WeChatPayProvider,
) -> Iterator[Shop]:
    provider = RefundAnswerLost(wechatpay_provider)
    with _wechatpay_shop(database_url, tmp_path, wechatpay_clock, provider) as shop:
        yield shop


def test_a_refund_notification_before_the_lost_refund_answer_applies_the_refund_once(
    lost_answer_shop: Shop, fake_wechatpay: FakeWeChatPay
) -> None:
    # given a provider whose refund answer is lost after WeChat Pay accepted the refund
    shop = lost_answer_shop
    order_id, aftersale_id = _paid_completed_order_with_return_request(shop, fake_wechatpay)
    approved = shop.client.post(f"/api/admin/aftersales/{aftersale_id}/approve", headers=shop.admin)
    assert approved.json()["status"] == "refunding"
    [(out_refund_no, _, _, status)] = _refunds(shop)
    assert (status, fake_wechatpay.refunds[out_refund_no]["status"]) == ("pending", "PROCESSING")

    # when the refund notification arrives before any answer was recorded
    notified = _post(shop, WECHATPAY_REFUND_NOTIFY, fake_wechatpay.complete_refund(out_refund_no))

    # and later the backstop timer re-submits the same refund and reconciles
    shop.clock.advance(timedelta(minutes=11))
    Worker(shop.ctx).drain()

    # then the refund took effect exactly once
    assert notified.status_code == 204, notified.text
    assert _refunds(shop) == [(out_refund_no, "aftersale", 5900, "succeeded")]
    after = _order(shop, order_id)
    assert (after["refunded_fen"], after["lines"][0]["refunded_quantity"]) == (5900, 1)
    assert _stock(shop) == 10 - 2 + 1
    assert _events(shop, order_id, "refund.succeeded") == 1
    aftersale = shop.client.get(f"/api/admin/aftersales/{aftersale_id}", headers=shop.admin)
    assert aftersale.json()["status"] == "refunded"


@pytest.fixture
def racing_provider(
    wechatpay_provider: WeChatPayProvider, fake_wechatpay: FakeWeChatPay
) -> RefundNotifiedBeforeAnswer:
    return RefundNotifiedBeforeAnswer(wechatpay_provider, fake_wechatpay)


@pytest.fixture
def racing_shop(
    database_url: str,
    tmp_path: Path,
    wechatpay_clock: FrozenClock,
    racing_provider: RefundNotifiedBeforeAnswer,
) -> Iterator[Shop]:
    with _wechatpay_shop(database_url, tmp_path, wechatpay_clock, racing_provider) as shop:
        yield shop


def test_a_refund_notification_racing_the_refund_answer_applies_the_refund_once(
    racing_shop: Shop, racing_provider: RefundNotifiedBeforeAnswer, fake_wechatpay: FakeWeChatPay
) -> None:
    # given a provider whose refund notification is handled while the PROCESSING answer
    # is still in flight. (SQLite has one writer: there the notification waits for the
    # answer's transaction; PostgreSQL lets it commit first, the true reordering.)
    shop, provider = racing_shop, racing_provider
    provider.wait_for_notification = shop.ctx.db.dialect == "postgresql"
    responses: list[int] = []
    provider.deliver = lambda headers, body: responses.append(
        shop.client.post(WECHATPAY_REFUND_NOTIFY, content=body, headers=headers).status_code
    )
    order_id, aftersale_id = _paid_completed_order_with_return_request(shop, fake_wechatpay)

    # when the operator approves (the refund is submitted, notified, then answered)
    approved = shop.client.post(f"/api/admin/aftersales/{aftersale_id}/approve", headers=shop.admin)
    for thread in provider.threads:
        thread.join(timeout=30)

    # and the reconciliation timers run later
    shop.clock.advance(timedelta(minutes=11))
    Worker(shop.ctx).drain()

    # then the refund took effect exactly once and stays succeeded
    assert approved.status_code == 200, approved.text
    assert responses == [204]
    [(out_refund_no, kind, amount_fen, status)] = _refunds(shop)
    assert (kind, amount_fen, status) == ("aftersale", 5900, "succeeded")
    after = _order(shop, order_id)
    assert (after["refunded_fen"], after["lines"][0]["refunded_quantity"]) == (5900, 1)
    assert _stock(shop) == 10 - 2 + 1
    assert _events(shop, order_id, "refund.succeeded") == 1
    aftersale = shop.client.get(f"/api/admin/aftersales/{aftersale_id}", headers=shop.admin)
    assert aftersale.json()["status"] == "refunded"
    assert fake_wechatpay.refunds[out_refund_no]["status"] == "SUCCESS"


def test_a_payment_notification_after_the_timeout_query_paid_the_order_changes_nothing(
    wechatpay_shop: Shop, fake_wechatpay: FakeWeChatPay
) -> None:
    # given an order paid at WeChat Pay whose notification was delayed
    shop = wechatpay_shop
    order = _order_and_start_payment(shop)
    _, delayed_body = fake_wechatpay.pay(order.order_no)
    event_id = json.loads(delayed_body)["id"]
    transaction_id = fake_wechatpay.transactions[order.order_no]["transaction_id"]

    # and the payment timeout, which asked WeChat Pay and applied the payment
    shop.clock.advance(timedelta(minutes=31))
    assert Worker(shop.ctx).tick()[0] == 1
    assert _order(shop, order.id)["status"] == "paid"

    # when the notification finally arrives (a retry of the same event)
    late = _post(
        shop,
        WECHATPAY_NOTIFY,
        fake_wechatpay.notification_for(
            order.order_no, event_id=event_id, timestamp=shop.clock.now()
        ),
    )

    # then it is acknowledged and changes nothing
    assert late.status_code == 204, late.text
    after = _order(shop, order.id)
    assert (after["status"], after["paid_fen"], after["transaction_id"]) == (
        "paid",
        11800,
        transaction_id,
    )
    assert after["payment_flag"] is None
    assert _events(shop, order.id, "order.paid") == 1
    assert _sales_count(shop) == 2
    assert _notification_outcomes(shop) == [(event_id, "duplicate")]
    assert _refunds(shop) == []


# -- (d) forgeries -------------------------------------------------------------------------


def _forged(fake: FakeWeChatPay, order_no: str, now: datetime) -> tuple[dict[str, str], bytes]:
    return fake.notification_for(order_no, sign_with=generate_rsa_key_pair().private_key)


def _stale(fake: FakeWeChatPay, order_no: str, now: datetime) -> tuple[dict[str, str], bytes]:
    return fake.notification_for(order_no, timestamp=now - timedelta(minutes=5, seconds=1))


def _tampered_resigned(
    fake: FakeWeChatPay, order_no: str, now: datetime
) -> tuple[dict[str, str], bytes]:
    # A correct signature over a ciphertext that was altered: only AES-GCM catches it.
    _, body = fake.notification_for(order_no)
    envelope = json.loads(body)
    ciphertext = envelope["resource"]["ciphertext"]
    envelope["resource"]["ciphertext"] = ("A" if ciphertext[0] != "A" else "B") + ciphertext[1:]
    tampered = json.dumps(envelope).encode()
    return fake.sign_notification(tampered), tampered


def _tampered_body(
    fake: FakeWeChatPay, order_no: str, now: datetime
) -> tuple[dict[str, str], bytes]:
    headers, body = fake.notification_for(order_no)
    return headers, body.replace(b'"TRANSACTION.SUCCESS"', b'"TRANSACTION.SUCCESS" ')


@pytest.mark.parametrize(
    ("forge", "reason"),
    [
        (_forged, "bad_signature"),
        (_stale, "stale_timestamp"),
        (_tampered_resigned, "decrypt_failed"),
        (_tampered_body, "bad_signature"),
    ],
)
def test_a_forged_stale_or_tampered_wechat_notification_is_refused_and_changes_nothing(
    wechatpay_shop: Shop,
    fake_wechatpay: FakeWeChatPay,
    forge: Callable[[FakeWeChatPay, str, datetime], tuple[dict[str, str], bytes]],
    reason: str,
) -> None:
    # given an order awaiting payment (paid at the fake, so the content is plausible)
    shop = wechatpay_shop
    order = _order_and_start_payment(shop)
    fake_wechatpay.pay(order.order_no)

    # when a notification that is not authentic arrives
    response = _post(
        shop, WECHATPAY_NOTIFY, forge(fake_wechatpay, order.order_no, shop.clock.now())
    )

    # then it is refused with 401 and nothing changed, nothing recorded
    assert response.status_code == 401
    assert response.json()["code"] == "FAIL"
    assert response.json()["error"]["code"] == "invalid_notification"
    assert response.json()["error"]["message"] == f"notification rejected: {reason}"
    after = _order(shop, order.id)
    assert (after["status"], after["paid_fen"], after["transaction_id"]) == (
        "pending_payment",
        0,
        None,
    )
    assert _events(shop, order.id, "order.paid") == 0
    assert _notification_outcomes(shop) == []


@pytest.mark.parametrize(
    ("signer_secret", "age", "reason"),
    [
        ("another-secret-0123456789abcdef0123456789", timedelta(0), "bad_signature"),
        (None, timedelta(minutes=5, seconds=1), "stale_timestamp"),
    ],
)
def test_a_forged_or_stale_sandbox_notification_is_refused_and_changes_nothing(
    sandbox_shop: Shop, signer_secret: str | None, age: timedelta, reason: str
) -> None:
    # given an order awaiting payment
    shop = sandbox_shop
    order = _order_and_start_payment(shop)
    signer = (
        SandboxProvider(signer_secret) if signer_secret is not None else shop.ctx.sandbox_payment
    )
    assert signer is not None

    # when a notification signed with another secret, or too old, arrives
    notification = signer.build_notification(
        out_trade_no=order.order_no, amount_fen=order.total_fen, now=shop.clock.now() - age
    )
    response = _post(shop, SANDBOX_NOTIFY, notification)

    # then it is refused and nothing changed
    assert response.status_code == 401
    assert response.json()["error"]["message"] == f"notification rejected: {reason}"
    assert _order(shop, order.id)["status"] == "pending_payment"
    assert _notification_outcomes(shop) == []


# -- (e) wrong amount ------------------------------------------------------------------------


def test_a_wechat_notification_with_the_wrong_amount_flags_the_order_and_does_not_pay_it(
    wechatpay_shop: Shop, fake_wechatpay: FakeWeChatPay
) -> None:
    # given an order of 11800 fen awaiting payment
    shop = wechatpay_shop
    order = _order_and_start_payment(shop)

    # when an authentic notification says 1 fen was paid
    response = _post(shop, WECHATPAY_NOTIFY, fake_wechatpay.pay(order.order_no, amount_fen=1))

    # then it is acknowledged (a retry would not fix it) and the order is flagged, unpaid
    assert response.status_code == 204
    after = _order(shop, order.id)
    assert (after["status"], after["paid_fen"], after["payment_flag"]) == (
        "pending_payment",
        0,
        "amount_mismatch",
    )
    transaction_id = fake_wechatpay.transactions[order.order_no]["transaction_id"]
    assert after["payment_flag_detail"] == (
        f"notified 1 fen, order total 11800 fen, transaction {transaction_id}"
    )
    assert _events(shop, order.id, "order.paid") == 0
    assert _events(shop, order.id, "order.payment_flagged") == 1
    assert [outcome for _, outcome in _notification_outcomes(shop)] == ["amount_mismatch"]
    assert _sales_count(shop) == 0


def test_a_sandbox_notification_with_the_wrong_amount_flags_the_order(sandbox_shop: Shop) -> None:
    # given an order of 11800 fen awaiting payment
    shop = sandbox_shop
    order = _order_and_start_payment(shop)

    # when the notification says 11700 fen
    response = _post(shop, SANDBOX_NOTIFY, _sandbox_notification(shop, order, amount_fen=11700))

    # then the order is flagged and not paid
    assert response.status_code == 204
    after = _order(shop, order.id)
    assert (after["status"], after["paid_fen"], after["payment_flag"]) == (
        "pending_payment",
        0,
        "amount_mismatch",
    )


# -- (f) money for a closed order ---------------------------------------------------------------


def test_a_payment_for_an_order_cancelled_by_the_timeout_is_flagged_and_refunded(
    sandbox_shop: Shop,
) -> None:
    # given an order cancelled by the payment timeout, its stock released
    shop = sandbox_shop
    order = _order_and_start_payment(shop)
    shop.clock.advance(timedelta(minutes=31))
    assert Worker(shop.ctx).tick()[0] == 1
    assert _order(shop, order.id)["status"] == "cancelled"
    assert _stock(shop) == 10

    # when the money arrives anyway
    response = _post(shop, SANDBOX_NOTIFY, _sandbox_notification(shop, order))

    # then the order stays cancelled, is flagged, and an automatic refund is recorded
    assert response.status_code == 204
    after = _order(shop, order.id)
    assert (after["status"], after["paid_fen"], after["payment_flag"]) == (
        "cancelled",
        0,
        "paid_after_cancel",
    )
    assert _refunds(shop) == [("SRSBT-0001", "stray_payment", 11800, "pending")]
    assert _stock(shop) == 10
    assert _sales_count(shop) == 0

    # when the refund timer fires, the refund is submitted and succeeds
    shop.clock.advance(timedelta(seconds=30))
    Worker(shop.ctx).drain()
    assert _refunds(shop) == [("SRSBT-0001", "stray_payment", 11800, "succeeded")]
    final = _order(shop, order.id)
    assert (final["status"], final["refunded_fen"]) == ("cancelled", 0)
    assert _events(shop, order.id, "refund.succeeded") == 1


def test_a_wechat_payment_for_a_cancelled_order_is_refunded_through_wechat_pay(
    wechatpay_shop: Shop, fake_wechatpay: FakeWeChatPay
) -> None:
    # given an order the shopper cancelled while WeChat Pay's cashier was still open
    shop = wechatpay_shop
    order = _order_and_start_payment(shop)
    cancelled = shop.client.post(f"/api/app/orders/{order.id}/cancel", headers=shop.shopper)
    assert cancelled.json()["status"] == "cancelled"
    assert _stock(shop) == 10

    # when the shopper pays anyway and WeChat Pay notifies
    response = _post(shop, WECHATPAY_NOTIFY, fake_wechatpay.pay(order.order_no))

    # then the order stays cancelled and is flagged; a refund is recorded
    assert response.status_code == 204
    transaction_id = fake_wechatpay.transactions[order.order_no]["transaction_id"]
    out_refund_no = f"SR{transaction_id}"
    after = _order(shop, order.id)
    assert (after["status"], after["payment_flag"]) == ("cancelled", "paid_after_cancel")
    assert _refunds(shop) == [(out_refund_no, "stray_payment", 11800, "pending")]

    # when the refund timer fires, the full amount is refunded at WeChat Pay
    shop.clock.advance(timedelta(seconds=30))
    Worker(shop.ctx).tick()
    assert fake_wechatpay.refunds[out_refund_no]["amount"] == {"refund": 11800, "total": 11800}
    assert _refunds(shop) == [(out_refund_no, "stray_payment", 11800, "processing")]
    refund_notice = _post(
        shop, WECHATPAY_REFUND_NOTIFY, fake_wechatpay.complete_refund(out_refund_no)
    )

    # then the refund succeeds; the order's own totals and the stock are untouched
    assert refund_notice.status_code == 204
    assert _refunds(shop) == [(out_refund_no, "stray_payment", 11800, "succeeded")]
    final = _order(shop, order.id)
    assert (final["status"], final["paid_fen"], final["refunded_fen"]) == ("cancelled", 0, 0)
    assert _stock(shop) == 10
    assert _sales_count(shop) == 0
