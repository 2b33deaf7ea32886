"""After-sales rules.

- A shopper may ask for 仅退款 (refund only) or 退货退款 (return and refund), for the
  whole order or some units of some lines. Before shipping only refund-only makes
  sense; a return needs goods that were shipped.
- After receipt (completed), requests are accepted for ``window_days`` (7天无理由 by
  default); before receipt there is no deadline yet.
- A line refunds what was paid for it: ``payable × units / quantity`` rounded down,
  and the request that takes the last units gets the remainder, so a line never
  refunds more or less than it was paid in total, to the fen. Shipping is refunded
  only when nothing was shipped and every line is refunded in full.
- One request may be open per order at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class AfterSaleKind(StrEnum):
    refund_only = "refund_only"
    return_refund = "return_refund"


class AfterSaleStatus(StrEnum):
    pending = "pending"
    refunding = "refunding"  # approved, refund submitted
    refunded = "refunded"
    rejected = "rejected"
    cancelled = "cancelled"
    refund_failed = "refund_failed"


OPEN_STATUSES = frozenset({AfterSaleStatus.pending, AfterSaleStatus.refunding})


@dataclass(frozen=True)
class LineState:
    line_id: int
    quantity: int
    payable_fen: int
    refunded_quantity: int
    refunded_fen: int


def is_within_window(completed_at: datetime | None, now: datetime, window_days: int) -> bool:
    if completed_at is None:
        return True
    return now <= completed_at + timedelta(days=window_days)


def line_refund_fen(line: LineState, units: int) -> int:
    remaining_units = line.quantity - line.refunded_quantity
    if not 1 <= units <= remaining_units:
        raise ValueError(f"units must be between 1 and {remaining_units}")
    if units == remaining_units:
        return line.payable_fen - line.refunded_fen
    return line.payable_fen * units // line.quantity


def refunds_everything(lines: list[LineState], request: dict[int, int]) -> bool:
    return all(request.get(li.line_id, 0) == li.quantity - li.refunded_quantity for li in lines)
