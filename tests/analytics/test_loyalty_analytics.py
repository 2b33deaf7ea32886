"""Loyalty analytics from the store, on SQLite and PostgreSQL, against tables computed by
hand: points flows and the outstanding liability across the Shanghai midnight, tier
distribution from the tier history (an upgrade, then a downgrade), check-in cohorts and
streaks, and the repurchase rate of members against non-members."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from siyu.analytics.queries.loyalty import (
    FLOWS,
    STREAK_BUCKETS,
    Period,
    checkin_retention,
    fen_value,
    flow_of,
    level_at,
    local_date,
    loyalty_report,
    member_repurchase,
    periods,
    points_flows,
    streak_runs,
    tier_distribution,
)
from siyu.catalog.models import Category, Product, Sku
from siyu.catalog.rules import ProductRole, ProductStatus
from siyu.clock import SHANGHAI
from siyu.db import Database
from siyu.identity.models import Shopper
from siyu.loyalty import ledger
from siyu.loyalty.checkin.models import Checkin
from siyu.loyalty.models import PointsEntry
from siyu.loyalty.rules import Bucket, EntryKind
from siyu.loyalty.tiers.models import TierChange
from siyu.order.models import Order, OrderLine
from siyu.order.rules import OrderStatus


def local(month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=SHANGHAI)


def d(month: int, day: int) -> date:
    return date(2026, month, day)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def add_shopper(session: Session, shopper_id: int, registered_at: datetime) -> None:
    session.add(
        Shopper(
            id=shopper_id,
            openid=f"o-{shopper_id}",
            registered_at=registered_at,
            last_login_at=registered_at,
        )
    )
    session.flush()


# ------------------------------------------------------------------------- pure


def test_every_entry_kind_has_exactly_one_flow_or_is_the_settling_transfer() -> None:
    for kind in EntryKind:
        for delta in (5, -5):
            flow = flow_of(kind, delta)
            assert flow is None or flow in FLOWS, kind
    assert flow_of(EntryKind.order_settled, 5) is None
    assert (flow_of(EntryKind.adjust, 3), flow_of(EntryKind.adjust, -3)) == ("issued", "reversed")
    assert flow_of(EntryKind.order_earn_reversed, -3) == "reversed"
    assert flow_of(EntryKind.order_spend_returned, 3) == "returned"


def test_points_are_worth_fen_at_the_redemption_rate_rounded_down() -> None:
    assert fen_value(143, 100) == 143
    assert fen_value(143, 30) == 476  # 14300 / 30 = 476.67
    assert fen_value(143, None) is None


def test_weeks_start_on_monday_and_are_clipped_to_the_range() -> None:
    spans = periods(local(11, 1), local(11, 12), "week")  # Sunday 1 Nov … Wednesday 11 Nov
    assert [s.first for s in spans] == [d(11, 1), d(11, 2), d(11, 9)]
    assert spans[0].end == local(11, 2) and spans[-1].end == local(11, 12)
    assert len(periods(local(11, 1), local(11, 4), "day")) == 3


def test_streak_runs_are_maximal_runs_of_consecutive_dates() -> None:
    days = [d(11, 1), d(11, 2), d(11, 4), d(11, 3), d(11, 6), d(11, 6)]
    assert streak_runs(days) == [(d(11, 4), 4), (d(11, 6), 1)]
    assert streak_runs([]) == []


def test_level_at_reads_the_history_not_the_current_level() -> None:
    from siyu.analytics.queries.loyalty import _Change

    changes = [_Change(local(11, 1, 12), 0, 2), _Change(local(11, 3), 2, 1)]
    assert level_at(changes, local(11, 1, 12)) == 0  # the change at that instant: not yet
    assert level_at(changes, local(11, 2)) == 2
    assert level_at(changes, local(11, 4)) == 1
    assert level_at([], local(11, 4)) == 0


# ------------------------------------------------------------------------ points


def seed_points(session: Session) -> None:
    """Shopper 1: 100 points before the range; 30 pending at 23:59:59 on 1 Nov; 40
    spent at 00:00:00 on 2 Nov; a refund takes 10 pending back, 15 spent come back, 20
    settle; 50 credited on 2 Nov expire at midnight (swept at 00:00 on 3 Nov); on 3 Nov
    an operator adds 5 and takes 3, a refund after settlement takes 2 from available,
    and 7 credited at 11:30 are past expiry at 11:45 but not swept by noon. Shopper 2:
    20 before the range, a mall exchange of 10, a lottery draw of 5 winning 8."""
    add_shopper(session, 1, local(10, 1))
    add_shopper(session, 2, local(10, 1))
    credit, debit = ledger.credit, ledger.debit
    kind = EntryKind
    credit(
        session,
        shopper_id=1,
        points=100,
        kind=kind.reward,
        key="signup1",
        expires_at=None,
        now=local(10, 31, 10),
    )
    credit(
        session,
        shopper_id=2,
        points=20,
        kind=kind.reward,
        key="signup2",
        expires_at=None,
        now=local(10, 30, 10),
    )
    debit(
        session, shopper_id=2, points=10, kind=kind.mall_exchange, key="mall", now=local(11, 1, 8)
    )
    debit(session, shopper_id=2, points=5, kind=kind.lottery_draw, key="draw", now=local(11, 1, 9))
    credit(
        session,
        shopper_id=2,
        points=8,
        kind=kind.lottery_prize,
        key="prize",
        expires_at=None,
        now=local(11, 1, 9),
    )
    ledger.pend(session, shopper_id=1, points=30, key="order:1:earn", now=local(11, 1, 23, 59, 59))
    spend = debit(
        session,
        shopper_id=1,
        points=40,
        kind=kind.order_spend,
        key="order:2:spend",
        now=local(11, 2),
    )
    ledger.unpend(
        session,
        shopper_id=1,
        points=10,
        kind=kind.order_earn_reversed,
        key="refund:1:earn",
        now=local(11, 2, 10),
    )
    assert spend is not None
    ledger.give_back(
        session,
        spend_entry_id=spend,
        points=15,
        kind=kind.order_spend_returned,
        key="refund:2:spend",
        now=local(11, 2, 11),
    )
    ledger.confirm_pending(
        session,
        shopper_id=1,
        points=20,
        key="order:1:settle",
        expires_at=None,
        now=local(11, 2, 12),
    )
    credit(
        session,
        shopper_id=1,
        points=50,
        kind=kind.reward,
        key="checkin",
        expires_at=local(11, 3),
        now=local(11, 2, 13),
    )
    assert ledger.expire_due(session, now=local(11, 3)) == 50
    credit(
        session,
        shopper_id=1,
        points=5,
        kind=kind.adjust,
        key="adjust:+",
        expires_at=None,
        now=local(11, 3, 9),
    )
    debit(session, shopper_id=1, points=3, kind=kind.adjust, key="adjust:-", now=local(11, 3, 10))
    debit(
        session,
        shopper_id=1,
        points=2,
        kind=kind.order_earn_reversed,
        key="refund:3:earn",
        now=local(11, 3, 10, 30),
    )
    credit(session, shopper_id=1, points=7, kind=kind.reward, key="late",
           expires_at=local(11, 3, 11, 45), now=local(11, 3, 11, 30))  # fmt: skip


def test_points_flows_per_shanghai_day_and_the_liability(db: Database) -> None:
    # given
    with db.transaction() as session:
        seed_points(session)

    # when 1–3 Nov, at noon on 3 Nov, 100 points = ¥1
    with db.read_session() as session, session.begin():
        report = points_flows(
            session, local(11, 1), local(11, 4), local(11, 3, 12), points_per_yuan=100
        )

    # then, day by day (the pending 30 at 23:59:59 is 1 Nov's, the spend at 00:00 2 Nov's)
    assert (report.opening_available, report.opening_pending) == (120, 0)
    table = [
        (p.first, p.issued, p.reversed, p.spent, p.returned, p.expired, p.net,
         p.available, p.pending, p.outstanding, p.outstanding_fen)
        for p in report.periods
    ]  # fmt: skip
    assert table == [
        (d(11, 1), 38, 0, 15, 0, 0, 23, 113, 30, 143, 143),
        (d(11, 2), 50, 10, 40, 15, 0, 15, 158, 0, 158, 158),
        (d(11, 3), 12, 5, 0, 0, 50, -43, 115, 0, 115, 115),
    ]
    assert report.periods[-1].as_of == local(11, 3, 12)  # the day running: as of now
    assert report.totals == {
        "issued": 100, "reversed": 15, "spent": 55, "returned": 15, "expired": 50,
    }  # fmt: skip
    assert report.net == -5 == 115 - 120
    # and now: 115 on the balances, 7 of them past expiry, so 108 live
    now = report.now
    assert (now.available, now.pending, now.overdue, now.live, now.outstanding) == (
        115, 0, 7, 108, 108,
    )  # fmt: skip
    assert (now.live_fen, now.outstanding_fen) == (108, 108)


def test_points_flows_per_week_and_without_a_rate(db: Database) -> None:
    # given
    with db.transaction() as session:
        seed_points(session)

    # when by week: Sunday 1 Nov is the end of its week, 2–3 Nov start the next
    with db.read_session() as session, session.begin():
        report = points_flows(session, local(11, 1), local(11, 4), local(11, 3, 12), period="week")

    # then
    table = [
        (p.first, p.issued, p.reversed, p.spent, p.returned, p.expired, p.outstanding)
        for p in report.periods
    ]
    assert table == [(d(11, 1), 38, 0, 15, 0, 0, 143), (d(11, 2), 62, 15, 40, 15, 50, 115)]
    assert report.periods[0].outstanding_fen is None and report.now.live_fen is None


def test_points_in_a_range_before_any_entry_and_after_now(db: Database) -> None:
    # given
    with db.transaction() as session:
        seed_points(session)

    # when
    with db.read_session() as session, session.begin():
        early = points_flows(session, local(9, 1), local(9, 3), local(11, 3, 12))
        ahead = points_flows(session, local(11, 3), local(11, 10), local(11, 3, 12))

    # then
    assert [p.outstanding for p in early.periods] == [0, 0]
    assert [p.first for p in ahead.periods] == [d(11, 3)]  # no rows for days to come
    assert ahead.periods[0].outstanding == 115


# ------------------------------------------------------------------------- tiers


def test_tier_distribution_follows_upgrades_then_a_downgrade(db: Database) -> None:
    # given shopper 4 at 铂金 since October; shopper 1 upgraded to 白银 at 23:59:59 on
    # 1 Nov, to 黄金 at noon on 2 Nov, reviewed down to 白银 at midnight on 3 Nov;
    # shopper 2 (registered 1 Nov) up to 白银 on 2 Nov; shopper 3 registered at 23:00 on 2 Nov
    with db.transaction() as session:
        add_shopper(session, 4, local(10, 1))
        add_shopper(session, 1, local(10, 20))
        add_shopper(session, 2, local(11, 1, 10))
        add_shopper(session, 3, local(11, 2, 23))
        add_shopper(session, 5, local(11, 4, 9))  # after now
        for shopper, old, new, at in [
            (4, 0, 3, local(10, 15)),
            (1, 0, 1, local(11, 1, 23, 59, 59)),
            (2, 0, 1, local(11, 2, 9)),
            (1, 1, 2, local(11, 2, 12)),
            (1, 2, 1, local(11, 3)),
        ]:
            reason = "upgrade" if new > old else "review"
            session.add(
                TierChange(
                    shopper_id=shopper, from_level=old, to_level=new, reason=reason, growth=0, at=at
                )
            )

    # when
    with db.read_session() as session, session.begin():
        report = tier_distribution(
            session, local(11, 1), local(11, 4), local(11, 3, 12), levels=range(5)
        )

    # then
    assert report.levels == [0, 1, 2, 3, 4]
    assert [(p.first, p.shoppers) for p in report.periods] == [
        (d(11, 1), {0: 1, 1: 1, 2: 0, 3: 1, 4: 0}),
        (d(11, 2), {0: 1, 1: 1, 2: 1, 3: 1, 4: 0}),
        (d(11, 3), {0: 1, 1: 2, 2: 0, 3: 1, 4: 0}),
    ]
    assert [p.total for p in report.periods] == [3, 4, 4]
    assert (report.upgrades, report.downgrades) == (3, 1)


# ----------------------------------------------------------------------- check-in


def seed_checkins(session: Session, base: int = 0) -> None:
    """Shopper 1 from 30 Oct to 2 Nov; 2 from 1 to 4 Nov; 3 on 1 and 3 Nov; 4 makes up
    3 Nov on 4 Nov and checks in 4 and 5 Nov; 5 on 5 Nov; 6 every day 23 Sep – 1 Nov."""
    days: dict[int, list[date]] = {
        1: [d(10, 30), d(10, 31), d(11, 1), d(11, 2)],
        2: [d(11, 1), d(11, 2), d(11, 3), d(11, 4)],
        3: [d(11, 1), d(11, 3)],
        4: [d(11, 4), d(11, 5)],
        5: [d(11, 5)],
        6: [date(2026, 9, 23) + timedelta(days=i) for i in range(40)],
    }
    for shopper in days:
        add_shopper(session, base + shopper, local(9, 1))
    for shopper, dates in days.items():
        for day in dates:
            at = datetime.combine(day, datetime.min.time(), SHANGHAI) + timedelta(hours=9)
            session.add(
                Checkin(
                    shopper_id=base + shopper, local_date=day, streak=1, cycle_day=1, created_at=at
                )
            )
    session.add(
        Checkin(
            shopper_id=base + 4,
            local_date=d(11, 3),
            is_makeup=True,
            streak=0,
            cycle_day=0,
            created_at=local(11, 4, 10),
        )
    )


def test_checkin_cohorts_and_streaks_by_day(db: Database) -> None:
    # given
    with db.transaction() as session:
        seed_checkins(session)

    # when 1–5 Nov, days 1…3, at noon on 5 Nov
    with db.read_session() as session, session.begin():
        report = checkin_retention(session, local(11, 1), local(11, 6), local(11, 5, 12), days=3)

    # then shoppers 2 and 3 start on 1 Nov, 4 on 4 Nov (the make-up is no first visit), 5 on 5 Nov
    table = [(c.first, c.shoppers, c.reached, c.returned, c.kept) for c in report.cohorts]
    assert table == [
        (d(11, 1), 2, [2, 2, 2], [1, 2, 1], [1, 1, 1]),
        (d(11, 4), 1, [1, 0, 0], [1, None, None], [1, None, None]),
        (d(11, 5), 1, [0, 0, 0], [None, None, None], [None, None, None]),
    ]
    first = report.cohorts[0]
    assert (first.share(1), first.share(2), first.share(2, kept=True)) == (50.0, 100.0, 50.0)
    assert report.cohorts[2].share(1) is None
    overall = report.overall
    assert overall is not None
    assert (overall.shoppers, overall.reached, overall.returned, overall.kept) == (
        4, [3, 2, 2], [2, 2, 1], [2, 1, 1],
    )  # fmt: skip
    # and the streaks ending 1–5 Nov: 4 (shopper 1, from 30 Oct), 4, 1, 1, 3 (with the
    # make-up), 1, and shopper 6's 40 days, read far enough back to land in 31+
    by_bucket = {(b.low, b.high): b.streaks for b in report.streaks}
    assert by_bucket == {
        (1, 1): 3, (2, 2): 0, (3, 3): 1, (4, 4): 2, (5, 5): 0, (6, 6): 0, (7, 7): 0,
        (8, 14): 0, (15, 30): 0, (31, None): 1,
    }  # fmt: skip
    assert [(b.low, b.high) for b in report.streaks] == list(STREAK_BUCKETS)
    assert report.streak_count == 7 and report.ongoing == 3
    assert (report.checkins, report.checkin_shoppers) == (13, 6)


def test_checkin_cohorts_by_week(db: Database) -> None:
    # given
    with db.transaction() as session:
        seed_checkins(session)

    # when
    with db.read_session() as session, session.begin():
        report = checkin_retention(
            session, local(11, 1), local(11, 6), local(11, 5, 12), days=3, period="week"
        )

    # then Sunday 1 Nov closes its week; 4 and 5 Nov share the week of 2 Nov
    table = [(c.first, c.shoppers, c.reached, c.returned) for c in report.cohorts]
    assert table == [
        (d(11, 1), 2, [2, 2, 2], [1, 2, 1]),
        (d(11, 2), 2, [1, 0, 0], [1, None, None]),
    ]


# -------------------------------------------------------------- member repurchase


def _sku(session: Session) -> Sku:
    category = Category(name="c")
    session.add(category)
    session.flush()
    product = Product(
        category_id=category.id,
        title="p",
        role=ProductRole.profit,
        status=ProductStatus.on_sale,
        created_at=local(10, 1),
        updated_at=local(10, 1),
    )
    session.add(product)
    session.flush()
    sku = Sku(product_id=product.id, sku_code="s", price_fen=1000)
    session.add(sku)
    session.flush()
    return sku


def _order(
    session: Session, sku: Sku, shopper: int, no: str, paid_at: datetime | None, refunded: int = 0
) -> None:
    placed = paid_at or local(11, 1)
    order = Order(
        order_no=no,
        shopper_id=shopper,
        status=OrderStatus.paid if paid_at else OrderStatus.pending_payment,
        source="cart",
        subtotal_fen=2000,
        total_fen=2000,
        paid_fen=2000 if paid_at else 0,
        refunded_fen=1000 * refunded,
        address={},
        placed_at=placed,
        pay_deadline=placed + timedelta(minutes=30),
        paid_at=paid_at,
    )
    session.add(order)
    session.flush()
    session.add(
        OrderLine(
            order_id=order.id,
            sku_id=sku.id,
            product_id=sku.product_id,
            title="x",
            spec={},
            unit_price_fen=1000,
            quantity=2,
            payable_fen=2000,
            refunded_fen=1000 * refunded,
            refunded_quantity=refunded,
        )
    )


def seed_repurchase(session: Session, base: int = 0) -> None:
    """Shopper 1 (白银 since October) pays twice; shopper 2 is lifted to 白银 by their
    first order and pays again; shopper 3 pays twice but the second is fully refunded;
    shopper 4 (黄金) pays once in the range and once before; shopper 5 (青铜) pays twice,
    one order half refunded, and leaves a third unpaid."""
    for shopper in range(1, 6):
        add_shopper(session, base + shopper, local(10, 1))
    sku = _sku(session)
    for shopper, old, new, at in [
        (1, 0, 1, local(10, 15)),
        (2, 0, 1, local(11, 1, 12)),
        (4, 0, 2, local(10, 10)),
    ]:
        session.add(
            TierChange(
                shopper_id=base + shopper,
                from_level=old,
                to_level=new,
                reason="upgrade",
                growth=0,
                at=at,
            )
        )
    _order(session, sku, base + 1, f"A1-{base}", local(11, 1, 10))
    _order(session, sku, base + 1, f"A2-{base}", local(11, 2, 10))
    _order(session, sku, base + 2, f"B1-{base}", local(11, 1, 12))
    _order(session, sku, base + 2, f"B2-{base}", local(11, 2, 23, 59, 59))
    _order(session, sku, base + 3, f"C1-{base}", local(11, 1, 9))
    _order(session, sku, base + 3, f"C2-{base}", local(11, 2, 9), refunded=2)
    _order(session, sku, base + 4, f"D0-{base}", local(10, 20))
    _order(session, sku, base + 4, f"D1-{base}", local(11, 2, 15))
    _order(session, sku, base + 5, f"E1-{base}", local(11, 1, 8))
    _order(session, sku, base + 5, f"E2-{base}", local(11, 3, 8), refunded=1)
    _order(session, sku, base + 5, f"E3-{base}", None)
    _order(session, sku, base + 5, f"E4-{base}", local(11, 3, 13))  # after now


def test_members_repurchase_against_non_members(db: Database) -> None:
    # given
    with db.transaction() as session:
        seed_repurchase(session)

    # when
    with db.read_session() as session, session.begin():
        report = member_repurchase(session, local(11, 1), local(11, 4), local(11, 3, 12))
        gold = member_repurchase(
            session, local(11, 1), local(11, 4), local(11, 3, 12), member_level=2
        )

    # then members (白银+ before their first order): 1 and 4; shopper 2 was 青铜 then
    m, n = report.members, report.non_members
    assert (m.buyers, m.repeat_buyers, m.orders, m.rate) == (2, 1, 3, 50.0)
    assert (n.buyers, n.repeat_buyers, n.orders, n.rate) == (3, 2, 5, 66.67)
    by_level = {k: (g.buyers, g.repeat_buyers, g.orders) for k, g in report.by_level.items()}
    assert by_level == {0: (3, 2, 5), 1: (1, 1, 2), 2: (1, 0, 1)}
    assert (report.everyone.buyers, report.everyone.repeat_buyers) == (5, 3)
    assert (gold.members.buyers, gold.members.repeat_buyers, gold.non_members.buyers) == (1, 0, 4)


def test_the_report_gathers_the_four_and_refuses_an_empty_range(db: Database) -> None:
    # given
    with db.transaction() as session:
        seed_repurchase(session)

    # when
    with db.read_session() as session, session.begin():
        report = loyalty_report(
            session, local(11, 1), local(11, 4), local(11, 3, 12), levels=range(5)
        )
        with pytest.raises(ValueError):
            loyalty_report(session, local(11, 4), local(11, 4), local(11, 3, 12))

    # then
    assert report.repurchase.members.buyers == 2
    assert [p.total for p in report.tiers.periods] == [5, 5, 5]
    assert report.points.periods[0].outstanding == 0
    assert report.checkin.overall is None


# ------------------------------------------------------- brute-force references

SIGNED: dict[EntryKind, int] = {  # the sign each kind's entries carry
    EntryKind.order_earn: 1,
    EntryKind.reward: 1,
    EntryKind.lottery_prize: 1,
    EntryKind.order_spend_returned: 1,
    EntryKind.order_earn_reversed: -1,
    EntryKind.order_spend: -1,
    EntryKind.mall_exchange: -1,
    EntryKind.lottery_draw: -1,
    EntryKind.checkin_makeup: -1,
    EntryKind.expire: -1,
}


@pytest.mark.parametrize("period", ["day", "week"])
def test_points_flows_match_a_python_reference_over_random_entries(
    db: Database, period: Period
) -> None:
    # given 300 entries of every kind at random seconds around the Shanghai midnights
    rng = random.Random(14)
    base = local(10, 29)
    entries = []
    with db.transaction() as session:
        add_shopper(session, 1, local(10, 1))
        for i in range(300):
            kind = rng.choice(list(EntryKind))
            sign = SIGNED.get(kind) or rng.choice((1, -1))
            at = base + timedelta(seconds=rng.randrange(0, 9 * 86400))
            if i % 10 == 0:  # exactly at a midnight, or a second before
                at = local(11, 1 + i % 5) - timedelta(seconds=i % 20 == 0)
            bucket = rng.choice(list(Bucket))
            delta = sign * rng.randint(1, 50)
            entries.append((at, kind, bucket, delta))
            session.add(
                PointsEntry(
                    shopper_id=1, bucket=bucket, delta=delta, kind=kind,
                    idempotency_key=f"k{i}", created_at=at,
                )
            )  # fmt: skip
    date_from, date_to, now = local(11, 1), local(11, 6), local(11, 4, 15)

    # when
    with db.read_session() as session, session.begin():
        report = points_flows(session, date_from, date_to, now, period=period, points_per_yuan=7)

    # then each period's flows and end balances are the reference's
    expected = []
    for span in periods(date_from, date_to, period):
        if expected and span.start >= now:
            break
        as_of = min(span.end, now)
        flows = dict.fromkeys(FLOWS, 0)
        for at, kind, _, delta in entries:
            if span.start <= at < as_of and (flow := flow_of(kind, delta)) is not None:
                flows[flow] += abs(delta)
        available = sum(x for at, _, b, x in entries if at < as_of and b is Bucket.available)
        pending = sum(x for at, _, b, x in entries if at < as_of and b is Bucket.pending)
        expected.append((span.first, flows, available, pending, (available + pending) * 100 // 7))
    got = [
        (p.first, {f: getattr(p, f) for f in FLOWS}, p.available, p.pending, p.outstanding_fen)
        for p in report.periods
    ]
    assert got == expected
    assert len(got) == (4 if period == "day" else 2)


def test_tier_distribution_matches_a_python_reference_over_random_histories(
    db: Database,
) -> None:
    # given 40 shoppers registering over October and November, with random walks of
    # upgrades and downgrades, some at a midnight exactly
    rng = random.Random(8)
    registered: dict[int, datetime] = {}
    history: dict[int, list[tuple[datetime, int, int]]] = {}
    with db.transaction() as session:
        for shopper in range(1, 41):
            joined = local(10, 1) + timedelta(seconds=rng.randrange(0, 40 * 86400))
            registered[shopper] = joined
            add_shopper(session, shopper, joined)
            level, at, walk = 0, joined, []
            for _ in range(rng.randint(0, 4)):
                at += timedelta(seconds=rng.randrange(1, 6 * 86400))
                if rng.random() < 0.2:
                    at = datetime.combine(local_date(at), datetime.min.time(), SHANGHAI)
                new = max(0, min(4, level + rng.choice((-1, 1, 1, 2))))
                if new == level:
                    continue
                walk.append((at, level, new))
                session.add(
                    TierChange(
                        shopper_id=shopper, from_level=level, to_level=new,
                        reason="upgrade" if new > level else "review", growth=0, at=at,
                    )
                )  # fmt: skip
                level = new
            history[shopper] = walk
    date_from, date_to, now = local(10, 20), local(11, 20), local(11, 15, 8)

    # when
    with db.read_session() as session, session.begin():
        report = tier_distribution(session, date_from, date_to, now, levels=range(5))

    # then
    def held(shopper: int, at: datetime) -> int:
        before = [new for when, _, new in history[shopper] if when < at]
        if before:
            return before[-1]
        return history[shopper][0][1] if history[shopper] else 0

    for row in report.periods:
        counts = Counter(held(s, row.as_of) for s, t in registered.items() if t < row.as_of)
        assert row.shoppers == {level: counts.get(level, 0) for level in range(5)}, row.first
    assert len(report.periods) == 27  # 20 Oct … 14 Nov, and 15 Nov as of now
