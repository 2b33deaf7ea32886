"""The points program a store runs: its earning and expiry rules (from settings) and
the earning multipliers other packages hook in (tiers, member day)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from siyu.config import Settings
from siyu.loyalty.rules import EarningRule, ExpiryRule, combined_multiplier

# (session, shopper id, now) → percent (100 = ×1): a tier's or the member day's bonus.
EarningMultiplier = Callable[[Session, int, datetime], int]


@dataclass
class PointsProgram:
    earning: EarningRule = EarningRule()
    expiry: ExpiryRule = ExpiryRule()
    signup_reward: int = 0  # points credited once at registration
    multipliers: list[tuple[str, EarningMultiplier]] = field(default_factory=list)

    @classmethod
    def from_settings(cls, settings: Settings) -> PointsProgram:
        return cls(
            earning=EarningRule(points_per_yuan=settings.points_earn_per_yuan),
            expiry=ExpiryRule(
                years_after=None if settings.points_never_expire else settings.points_expiry_years
            ),
            signup_reward=settings.points_signup_reward,
        )

    def add_multiplier(self, name: str, multiplier: EarningMultiplier) -> None:
        """How the owner of a bonus (tiers, member day) hooks it in, once at start."""
        if any(n == name for n, _ in self.multipliers):
            raise ValueError(f"points multiplier {name!r} is already registered")
        self.multipliers.append((name, multiplier))

    def multiplier(self, session: Session, shopper_id: int, now: datetime) -> int:
        """The earning multiplier in percent for this shopper now (100 with no hooks)."""
        return combined_multiplier(m(session, shopper_id, now) for _, m in self.multipliers)
