"""The tiers' timers on SQLite and PostgreSQL: the member-day reminder and the yearly
review are scheduled once and fire once through the real timer runner; the review
drops a lapsed 钻石 member one level, not four."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from siyu.bootstrap import Context
from siyu.identity.models import Shopper
from siyu.loyalty.tiers import jobs
from siyu.loyalty.tiers.models import GrowthEntry, Member, TierChange
from siyu.outbox import OutboxEvent
from siyu.timers import Timer


def _shopper(ctx: Context, openid: str, now: datetime) -> int:
    with ctx.db.transaction() as session:
        shopper = Shopper(openid=openid, registered_at=now, last_login_at=now)
        session.add(shopper)
        session.flush()
        return shopper.id


def test_member_day_reminder_and_review_fire_once(ctx: Context) -> None:
    # given 14 Dec 2026, 12:00 in Shanghai, and two members: a 钻石 who bought nothing
    # for a year and a 黄金 who bought ¥2,500 last month
    now = datetime(2026, 12, 14, 4, tzinfo=UTC)
    lapsed, active = _shopper(ctx, "lapsed", now), _shopper(ctx, "active", now)
    long_ago = now - timedelta(days=400)
    with ctx.db.transaction() as session:
        session.add(Member(shopper_id=lapsed, growth=12000, level=4, level_since=long_ago))
        session.add(Member(shopper_id=active, growth=2500, level=2, level_since=long_ago))
        session.add_all([
            GrowthEntry(shopper_id=lapsed, amount=12000, reason="order_paid",
                        idempotency_key="t:lapsed", created_at=long_ago),
            GrowthEntry(shopper_id=active, amount=2500, reason="order_paid",
                        idempotency_key="t:active", created_at=now - timedelta(days=30)),
        ])  # fmt: skip

    # when the worker schedules the jobs twice and runs due timers on the 15th at
    # 10:00 and again on 1 January
    for _ in range(2):
        with ctx.db.transaction() as session:
            jobs.schedule_jobs(session, now)
    fired_on_member_day = ctx.timers.run_due(datetime(2026, 12, 15, 2, tzinfo=UTC))
    fired_again = ctx.timers.run_due(datetime(2026, 12, 15, 3, tzinfo=UTC))
    ctx.timers.run_due(datetime(2026, 12, 31, 16, 0, 1, tzinfo=UTC))  # 00:00:01 on 1 Jan

    with ctx.db.transaction() as session:
        timers = session.execute(select(Timer.kind, Timer.key, Timer.status)).all()
        reminders = session.scalars(
            select(OutboxEvent.payload).where(
                OutboxEvent.event_type == "loyalty.member_day_reminder"
            )
        ).all()
        levels = dict(session.execute(select(Member.shopper_id, Member.level)).all())
        changes = session.execute(
            select(TierChange.shopper_id, TierChange.from_level, TierChange.to_level)
        ).all()

    # then one reminder for the 15th (2 timers due: today's birthdays and the reminder)
    assert (fired_on_member_day, fired_again) == (2, 0)
    assert sorted((k, key, str(s)) for k, key, s in timers) == [
        ("loyalty.birthdays", "2026-12-14", "done"),
        ("loyalty.member_day_reminder", "2026-12-15", "done"),
        ("loyalty.tier_review", "2027", "done"),
    ]
    assert reminders == [
        {"date": "2026-12-15", "points_multiplier_percent": 200, "free_shipping": True}
    ]
    # and the review took the lapsed 钻石 to 铂金 only; the active 黄金 kept its tier
    assert levels == {lapsed: 3, active: 2}
    assert [tuple(c) for c in changes] == [(lapsed, 4, 3)]
