"""The points ledger as a state machine on SQLite: earn (pending), confirm, spend,
expire, refund (pending taken back, spent points given back), cancel, manual
adjustments and rewards, in any order and with repeated idempotency keys. After every
step the balances equal the sums of their entries and of the lots, never go below
zero, and every key has applied once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import func, select

from siyu.db import Database
from siyu.identity.models import Shopper
from siyu.loyalty import ledger
from siyu.loyalty.ledger import InsufficientPoints
from siyu.loyalty.models import PointsBalance, PointsEntry, PointsLot, PointsLotUse
from siyu.loyalty.rules import EntryKind, ExpiryRule, expires_at
from siyu.models import metadata

START = datetime(2026, 12, 20, 4, 0, tzinfo=UTC)
keys = st.integers(0, 5)  # a small pool, so keys repeat often
amounts = st.integers(1, 400)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.db = Database("sqlite://")
        metadata.create_all(self.db.engine)
        self.now = START
        with self.db.transaction() as session:
            shopper = Shopper(openid="o-ledger", registered_at=START, last_login_at=START)
            session.add(shopper)
            session.flush()
            self.shopper_id = shopper.id
        self.applied: dict[str, int] = {}  # key → delta it applied (model)
        self.expected_available = 0
        self.expected_pending = 0
        self.spends: list[int] = []  # entry ids of debits

    def teardown(self) -> None:
        self.db.dispose()

    # --- helpers -------------------------------------------------------------

    def _key(self, op: str, k: int) -> str:
        return f"{op}:{k}"

    def _spendable(self) -> int:
        with self.db.transaction() as session:
            return ledger.spendable(session, self.shopper_id, self.now)

    def _expired_total(self) -> int:
        with self.db.transaction() as session:
            return -int(
                session.scalar(
                    select(func.coalesce(func.sum(PointsEntry.delta), 0)).where(
                        PointsEntry.kind == EntryKind.expire
                    )
                )
                or 0
            )

    # --- rules ---------------------------------------------------------------

    @rule(k=keys, points=amounts)
    def earn(self, k: int, points: int) -> None:
        key = self._key("earn", k)
        with self.db.transaction() as session:
            got = ledger.pend(
                session, shopper_id=self.shopper_id, points=points, key=key, now=self.now
            )
        assert (got is None) == (key in self.applied)
        if got is not None:
            self.applied[key] = points
            self.expected_pending += points

    @precondition(lambda self: self.expected_pending > 0)
    @rule(k=keys, share=st.floats(0.01, 1))
    def confirm(self, k: int, share: float) -> None:
        points = max(1, int(self.expected_pending * share))
        key = self._key("settle", k)
        with self.db.transaction() as session:
            got = ledger.confirm_pending(
                session,
                shopper_id=self.shopper_id,
                points=points,
                key=key,
                expires_at=expires_at(self.now, ExpiryRule(years_after=0)),
                now=self.now,
            )
        assert (got is None) == (key in self.applied)
        if got is not None:
            self.applied[key] = points
            self.expected_pending -= points
            self.expected_available += points

    @precondition(lambda self: self.expected_pending > 0)
    @rule(k=keys, share=st.floats(0.01, 1))
    def refund_pending(self, k: int, share: float) -> None:
        points = max(1, int(self.expected_pending * share))
        key = self._key("unpend", k)
        with self.db.transaction() as session:
            got = ledger.unpend(
                session,
                shopper_id=self.shopper_id,
                points=points,
                kind=EntryKind.order_earn_reversed,
                key=key,
                now=self.now,
            )
        assert (got is None) == (key in self.applied)
        if got is not None:
            self.applied[key] = -points
            self.expected_pending -= points

    @rule(k=keys, points=amounts)
    def spend(self, k: int, points: int) -> None:
        key = self._key("spend", k)
        spendable = self._spendable()
        expired_before = self._expired_total()
        try:
            with self.db.transaction() as session:
                got = ledger.debit(
                    session,
                    shopper_id=self.shopper_id,
                    points=points,
                    kind=EntryKind.order_spend,
                    key=key,
                    now=self.now,
                )
        except InsufficientPoints:
            assert key not in self.applied and points > spendable
            return
        self.expected_available -= self._expired_total() - expired_before
        assert (got is None) == (key in self.applied)
        if got is not None:
            assert points <= spendable
            self.applied[key] = -points
            self.expected_available -= points
            self.spends.append(got)

    @precondition(lambda self: bool(self.spends))
    @rule(k=keys, which=st.integers(0, 100), share=st.floats(0.01, 1))
    def give_back(self, k: int, which: int, share: float) -> None:
        """A refund (part) or a cancel (all) of a spend."""
        spend_id = self.spends[which % len(self.spends)]
        with self.db.transaction() as session:
            uses = session.scalars(select(PointsLotUse).where(PointsLotUse.entry_id == spend_id))
            left = sum(u.points - u.returned for u in uses)
        if left == 0:
            return
        points = max(1, int(left * share))
        key = self._key(f"back{spend_id}", k)
        expired_before = self._expired_total()
        with self.db.transaction() as session:
            got = ledger.give_back(
                session,
                spend_entry_id=spend_id,
                points=points,
                kind=EntryKind.order_spend_returned,
                key=key,
                now=self.now,
            )
        assert (got is None) == (key in self.applied)
        if got is not None:
            self.applied[key] = points
            self.expected_available += points
        self.expected_available -= self._expired_total() - expired_before

    @rule(k=keys, points=amounts, never=st.booleans())
    def adjust_up(self, k: int, points: int, never: bool) -> None:
        key = self._key("adjust", k)
        with self.db.transaction() as session:
            got = ledger.credit(
                session,
                shopper_id=self.shopper_id,
                points=points,
                kind=EntryKind.adjust,
                key=key,
                expires_at=None if never else expires_at(self.now, ExpiryRule(years_after=0)),
                now=self.now,
                operator_id=1,
            )
        assert (got is None) == (key in self.applied)
        if got is not None:
            self.applied[key] = points
            self.expected_available += points

    @rule(days=st.integers(1, 40))
    def pass_time_and_expire(self, days: int) -> None:
        self.now += timedelta(days=days)
        with self.db.transaction() as session:
            expired = ledger.expire_due(session, now=self.now)
        self.expected_available -= expired
        assert self._spendable() == self.expected_available

    # --- invariants ----------------------------------------------------------

    @invariant()
    def balances_are_the_sums_of_their_entries_and_lots(self) -> None:
        with self.db.transaction() as session:
            balance = session.get(PointsBalance, self.shopper_id)
            available, pending = (balance.available, balance.pending) if balance else (0, 0)
            sums = dict(
                session.execute(
                    select(PointsEntry.bucket, func.sum(PointsEntry.delta)).group_by(
                        PointsEntry.bucket
                    )
                ).all()
            )
            lots = session.scalar(select(func.coalesce(func.sum(PointsLot.remaining), 0)))
            negative_lots = session.scalar(select(func.count()).where(PointsLot.remaining < 0))
            keys_seen = session.scalars(select(PointsEntry.idempotency_key)).all()
        assert available >= 0 and pending >= 0
        assert available == int(sums.get("available", 0)) == int(lots or 0)
        assert pending == int(sums.get("pending", 0))
        assert (available, pending) == (self.expected_available, self.expected_pending)
        assert negative_lots == 0
        assert len(keys_seen) == len(set(keys_seen))
        # a confirmation is two entries (":out" and ":in"); every other key one
        model_keys = {
            f"{key}:{side}" if key.startswith("settle") else key
            for key in self.applied
            for side in ("out", "in")
        }
        assert set(keys_seen) - {k for k in keys_seen if k.startswith("expire:")} == model_keys


LedgerMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)
test_the_ledger_keeps_its_balances_under_any_sequence = LedgerMachine.TestCase
