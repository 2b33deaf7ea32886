"""Member tiers by growth value, member prices, member day, birthday gifts and
priority after-sales (see docs/loyalty.md, "Member tiers")."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from siyu.lifecycle import OrderLifecycle
    from siyu.loyalty.program import PointsProgram
    from siyu.outbox import EventRelay
    from siyu.timers import TimerRunner


def register_steps(lifecycle: OrderLifecycle) -> None:
    from siyu.loyalty.tiers import service

    service.register_steps(lifecycle)


def register(
    relay: EventRelay, timers: TimerRunner, lifecycle: OrderLifecycle, *, program: PointsProgram
) -> None:
    """Growth on the order lifecycle; the daily, member-day and yearly jobs as timers;
    the tier's and the member day's points multiplier on the points program."""
    from siyu.loyalty.tiers import jobs, service

    register_steps(lifecycle)
    jobs.register_timers(timers)
    program.add_multiplier("loyalty.tiers", service.earning_multiplier_percent)


def track_versions(factory: sessionmaker[Session]) -> None:
    """The tier table, its SKU prices and the member-day settings change prices: an
    edit moves the offers version on (``siyu.versions.OFFERS``)."""
    from siyu import versions
    from siyu.loyalty.tiers.models import MemberProgram, MemberSkuPrice, MemberTier

    versions.watch(factory, versions.OFFERS, (MemberTier, MemberSkuPrice, MemberProgram))
