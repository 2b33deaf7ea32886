"""Event rewards in points, from the outbox: 注册送积分 when a shopper registers (the
store's ``points_signup_reward``, off at 0) and the member tier's birthday points
(``loyalty.birthday_points``, appended by the tiers' daily birthday job).

Each is one :func:`siyu.loyalty.service.grant_reward`, keyed by (shopper, event, ref),
so a redelivered event credits nothing more.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from siyu.loyalty.program import PointsProgram
from siyu.loyalty.rules import RewardEvent
from siyu.loyalty.service import grant_reward
from siyu.loyalty.tiers.jobs import BIRTHDAY_POINTS
from siyu.outbox import DomainEvent

SUBSCRIBER = "loyalty.points_rewards"
EVENT_TYPES = ("shopper.registered", BIRTHDAY_POINTS)


def reward_handler(program: PointsProgram) -> Callable[[Session, DomainEvent], None]:
    def on_event(session: Session, event: DomainEvent) -> None:
        shopper_id = int(event.payload.get("shopper_id") or 0)
        if not shopper_id:
            return
        if event.event_type == "shopper.registered":
            grant_reward(
                session, program, shopper_id=shopper_id, event=RewardEvent.signup,
                points=program.rules(session).signup_reward, ref="", now=event.occurred_at,
            )  # fmt: skip
        elif event.event_type == BIRTHDAY_POINTS:
            grant_reward(
                session, program, shopper_id=shopper_id, event=RewardEvent.birthday,
                points=int(event.payload.get("points") or 0),
                ref=str(event.payload.get("year") or ""), now=event.occurred_at,
            )  # fmt: skip

    return on_event
