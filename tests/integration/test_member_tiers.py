"""Member tiers through the real order path on SQLite and PostgreSQL: growth on
payment from the member-priced lines, one upgrade however often the provider
notifies, a one-line partial refund that takes back exactly that line's share, the
priority after-sales flag and the birthday gift once a year."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, datetime
from typing import Any, TypeVar

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from siyu.aftersale.rules import AfterSaleKind
from siyu.aftersale.service import list_aftersales, request_aftersale
from siyu.bootstrap import Context
from siyu.clock import FrozenClock
from siyu.coupon.models import ShopperCoupon
from siyu.identity.models import Operator
from siyu.loyalty.tiers import jobs, service
from siyu.loyalty.tiers.models import BirthdayGift, GrowthEntry, Member, TierChange
from siyu.loyalty.tiers.program import save_program
from siyu.loyalty.tiers.rules import DEFAULT_PROGRAM
from siyu.order.models import Order, OrderLine, OrderLineAllocation
from siyu.order.service import apply_refund
from siyu.outbox import OutboxEvent
from tests.helpers import ADDRESS, create_product, operator_headers, shopper_headers

T = TypeVar("T")
NOTIFY = "/api/payment/notify/sandbox"


def _concurrently(n: int, work: Callable[[int], T]) -> list[T]:
    barrier = threading.Barrier(n)

    def run(i: int) -> T:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return [f.result() for f in [pool.submit(run, i) for i in range(n)]]


def _program(client: TestClient, ctx: Context, admin: dict[str, str]) -> int:
    """青铜 9折 from 0, 白银 from 100 yuan with priority after-sales and a birthday
    coupon and 100 points; returns the birthday coupon template."""
    template = client.post(
        "/api/admin/coupon-templates",
        json={"name": "生日券", "kind": "cash_off", "amount_fen": 1000, "valid_days": 30},
        headers=admin,
    )
    assert template.status_code == 201, template.text
    tiers = list(DEFAULT_PROGRAM.tiers)
    tiers[0] = replace(tiers[0], discount_percent=90)
    tiers[1] = replace(
        tiers[1], threshold=100, priority_aftersale=True,
        birthday_coupon_template_id=template.json()["id"], birthday_points=100,
    )  # fmt: skip
    with ctx.db.transaction() as session:
        actor = session.scalars(select(Operator.id)).first()
        assert actor is not None
        save_program(
            session, actor_id=actor, tiers=tiers, member_day=DEFAULT_PROGRAM.member_day,
            review=DEFAULT_PROGRAM.review, sku_prices={}, now=ctx.clock.now(),
        )  # fmt: skip
    return int(template.json()["id"])


def _order(client: TestClient, ctx: Context) -> dict[str, Any]:
    admin = operator_headers(client, ctx)
    template_id = _program(client, ctx, admin)
    product = create_product(
        client, admin,
        skus=[{"spec": {"规格": "500g"}, "price_fen": 9990, "stock": 10},
              {"spec": {"规格": "挂耳"}, "price_fen": 4590, "stock": 10}],
    )  # fmt: skip
    shopper = shopper_headers(client, "member")
    beans, ears = (s["id"] for s in product["skus"])
    placed = client.post(
        "/api/app/orders",
        json={"items": [{"sku_id": beans, "quantity": 1}, {"sku_id": ears, "quantity": 2}],
              "address": ADDRESS},
        headers=shopper | {"Idempotency-Key": str(uuid.uuid4())},
    )  # fmt: skip
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    assert client.post(f"/api/app/orders/{order_id}/pay", headers=shopper).status_code == 200
    shopper_id = client.get("/api/app/me", headers=shopper).json()["id"]
    return {"order_id": order_id, "shopper_id": shopper_id, "template_id": template_id,
            "total": placed.json()["total_fen"], "skus": (beans, ears)}  # fmt: skip


def _pay(client: TestClient, ctx: Context, order_id: int, times: int) -> Counter[int]:
    sandbox = ctx.sandbox_payment
    assert sandbox is not None
    with ctx.db.transaction() as session:
        order = session.get(Order, order_id)
        assert order is not None
        notes = [
            sandbox.build_notification(
                out_trade_no=order.order_no,
                amount_fen=order.total_fen,
                now=ctx.clock.now(),
                transaction_id="SBT-TIERS-1",
                notification_id=f"SBX-{i % 3}",
            )  # fmt: skip
            for i in range(times)
        ]
    responses = _concurrently(
        times, lambda i: client.post(NOTIFY, content=notes[i][1], headers=notes[i][0])
    )
    return Counter(r.status_code for r in responses)


def test_growth_upgrade_and_a_one_line_refund_to_the_fen(client: TestClient, ctx: Context) -> None:
    # given a member-priced order (青铜 9折): ¥99.90 beans and 2 × ¥45.90 挂耳
    shop = _order(client, ctx)
    assert shop["total"] == 8991 + 8262  # 9990 − 999, 9180 − 918; ships free over ¥99

    # when the provider notifies 50 times at once
    assert _pay(client, ctx, shop["order_id"], 50) == {204: 50}

    # then growth is the yuan paid for the goods, once, and the shopper moved up once
    with ctx.db.transaction() as session:
        member = session.get(Member, shop["shopper_id"])
        assert member is not None and (member.growth, member.level) == (172, 1)
        assert session.scalar(select(func.count()).select_from(GrowthEntry)) == 1
        changes = session.execute(select(TierChange.from_level, TierChange.to_level)).all()
        assert [tuple(c) for c in changes] == [(0, 1)]
        events = session.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.event_type == "loyalty.tier_changed")
        ).all()
        assert [(e["from_level"], e["to_level"], e["name_zh"]) for e in events] == [
            (0, 1, "白银会员")
        ]
        lines = {
            line.sku_id: line
            for line in session.scalars(
                select(OrderLine).where(OrderLine.order_id == shop["order_id"])
            )
        }
        ears = lines[shop["skus"][1]]
        member_rows = session.execute(
            select(OrderLineAllocation.order_line_id, OrderLineAllocation.amount_fen).where(
                OrderLineAllocation.order_id == shop["order_id"],
                OrderLineAllocation.source == "member_tier",
                OrderLineAllocation.source_id == 0,
            )
        ).all()
        assert sorted(a for _, a in member_rows) == [918, 999]
        assert service.is_priority_aftersale(session, shop["shopper_id"]) is True

    # when one of the two 挂耳 is refunded
    with ctx.db.transaction() as session:
        aftersale = request_aftersale(
            session, shopper_id=shop["shopper_id"], order_id=shop["order_id"],
            kind=AfterSaleKind.refund_only, reason="不想要了", lines=[(ears.id, 1)],
            window_days=7, now=ctx.clock.now(),
        )  # fmt: skip
        assert (aftersale.refund_fen, aftersale.priority) == (4131, True)
        assert list_aftersales(session)[0].id == aftersale.id
        apply_refund(
            session, ctx.lifecycle, order_id=shop["order_id"], out_refund_no="RF-TIERS-1",
            amount_fen=aftersale.refund_fen, kind="aftersale", restock=False,
            parts=list(aftersale.lines), now=ctx.clock.now(),
        )  # fmt: skip

    # then exactly that line's share comes back: ¥41.31 of ¥82.62 (its member saving
    # ¥9.18 halved with it), and growth falls to the yuan still kept, without a downgrade
    with ctx.db.transaction() as session:
        member = session.get(Member, shop["shopper_id"])
        assert member is not None and (member.growth, member.level) == (131, 1)  # 13122 fen
        entries = session.execute(
            select(GrowthEntry.amount, GrowthEntry.reason).order_by(GrowthEntry.id)
        ).all()
        assert [tuple(e) for e in entries] == [(172, "order_paid"), (-41, "order_refunded")]
        assert (
            service.earning_multiplier_percent(session, shop["shopper_id"], ctx.clock.now()) == 110
        )


def test_the_birthday_gift_is_granted_once_a_year(
    client: TestClient, ctx: Context, clock: FrozenClock
) -> None:
    # given a 白银 member whose birthday is tomorrow in Shanghai
    shop = _order(client, ctx)
    assert _pay(client, ctx, shop["order_id"], 1) == {204: 1}
    now = clock.now()
    with ctx.db.transaction() as session:
        jobs.set_birthday(session, shop["shopper_id"], date(1995, 11, 3))
    birthday = datetime(2026, 11, 2, 16, 0, 1, tzinfo=now.tzinfo)  # 00:00:01 on 3 Nov

    # when the daily birthday job runs three times that day
    for _ in range(3):
        with ctx.db.transaction() as session:
            jobs.run_birthdays(session, {}, birthday)

    # then one gift: one coupon of the tier's template and one points event
    with ctx.db.transaction() as session:
        gifts = session.execute(select(BirthdayGift.year, BirthdayGift.level)).all()
        assert [tuple(g) for g in gifts] == [(2026, 1)]
        coupons = session.scalars(
            select(ShopperCoupon.template_id).where(ShopperCoupon.source == "gift_birthday")
        ).all()
        assert coupons == [shop["template_id"]]
        points = session.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.event_type == "loyalty.birthday_points")
        ).all()
        assert [(p["shopper_id"], p["points"]) for p in points] == [(shop["shopper_id"], 100)]
        # and the birthday cannot be moved to farm another gift
        try:
            jobs.set_birthday(session, shop["shopper_id"], date(1995, 12, 3))
        except Exception as exc:
            assert getattr(exc, "code", "") == "birthday_already_set"
        else:
            raise AssertionError("a second birthday was accepted")
