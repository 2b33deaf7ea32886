"""The points program a store runs: its earning and expiry rules and sign-up reward
(the operator's stored rules, else the settings' defaults) and the earning multipliers
other packages hook in (tiers, member day).

The stored rules are read at the moment points are earned (``rules(session)``), kept in
the database's memo while their content version stands, so a change made by any
process applies to the next earning everywhere and never rewrites past entries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from siyu import versions
from siyu.config import Settings
from siyu.loyalty.models import PointsRules
from siyu.loyalty.rules import EarningRule, ExpiryRule, combined_multiplier

# (session, shopper id, now) → percent (100 = ×1): a tier's or the member day's bonus.
EarningMultiplier = Callable[[Session, int, datetime], int]
RULES_ID = 1


@dataclass(frozen=True)
class RuleSet:
    """The rules in force: points per yuan, expiry, sign-up reward; ``stored`` says
    whether an operator saved them (False: the settings' defaults)."""

    earning: EarningRule
    expiry: ExpiryRule
    signup_reward: int
    stored: bool = False
    updated_at: datetime | None = None


@dataclass(frozen=True)
class _Stored:
    earn_per_yuan: int
    expiry_years: int | None
    signup_reward: int
    updated_at: datetime


def _read_stored(session: Session) -> _Stored | None:
    row = session.get(PointsRules, RULES_ID)
    if row is None:
        return None
    return _Stored(row.earn_per_yuan, row.expiry_years, row.signup_reward, row.updated_at)


@dataclass
class PointsProgram:
    # The defaults, from settings: what holds until an operator saves the rules.
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

    def defaults(self) -> RuleSet:
        return RuleSet(self.earning, self.expiry, self.signup_reward)

    def rules(self, session: Session) -> RuleSet:
        """The rules in force in ``session``'s transaction: the stored ones, else the
        defaults. One primary-key read of the content version when cached."""
        memo = versions.memo_of(session)
        stored = (
            _read_stored(session)
            if memo is None
            else memo.get(
                session,
                "loyalty.points_rules",
                (versions.POINTS_RULES,),
                lambda: _read_stored(session),
            )
        )
        if stored is None:
            return self.defaults()
        return RuleSet(
            earning=EarningRule(points_per_yuan=stored.earn_per_yuan),
            expiry=ExpiryRule(years_after=stored.expiry_years),
            signup_reward=stored.signup_reward,
            stored=True,
            updated_at=stored.updated_at,
        )

    def add_multiplier(self, name: str, multiplier: EarningMultiplier) -> None:
        """How the owner of a bonus (tiers, member day) hooks it in, once at start."""
        if any(n == name for n, _ in self.multipliers):
            raise ValueError(f"points multiplier {name!r} is already registered")
        self.multipliers.append((name, multiplier))

    def multiplier(self, session: Session, shopper_id: int, now: datetime) -> int:
        """The earning multiplier in percent for this shopper now (100 with no hooks)."""
        return combined_multiplier(m(session, shopper_id, now) for _, m in self.multipliers)
