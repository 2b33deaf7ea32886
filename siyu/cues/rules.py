"""Urgency-cue rules (促单提示), pure.

Every cue is a fact, never invented:
- **social proof**: recent real purchases of the item — paid orders only (not
  pending, cancelled or refunded, in full or in part) — with the buyer's name masked
  ("张*刚刚购买了…") and how long ago; a store can switch it off;
- **low stock**: the real stock, shown ("仅剩3件") when it is at or below the store's
  threshold and above zero (threshold 0: never);
- **countdowns**: the real end time of each play running on the item.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

FEED_WINDOW = timedelta(days=3)  # purchases older than this are not "recent"
FEED_SIZE = 10
MAX_THRESHOLD = 1000


@dataclass(frozen=True)
class CueRules:
    social_proof_enabled: bool
    low_stock_threshold: int


@dataclass(frozen=True)
class Purchase:
    masked_name: str
    title: str
    paid_at: datetime


def minutes_ago(paid_at: datetime, now: datetime) -> int:
    return max(int((now - paid_at).total_seconds() // 60), 0)


def purchase_text(purchase: Purchase, now: datetime) -> tuple[str, str]:
    """(zh-CN, en): 张*刚刚购买了…, 张*5分钟前购买了…, 张*3小时前购买了…"""
    m = minutes_ago(purchase.paid_at, now)
    if m < 1:
        when_zh, when_en = "刚刚", "just now"
    elif m < 60:
        when_zh, when_en = f"{m}分钟前", f"{m} min ago"
    elif m < 24 * 60:
        when_zh, when_en = f"{m // 60}小时前", f"{m // 60} h ago"
    else:
        when_zh, when_en = f"{m // (24 * 60)}天前", f"{m // (24 * 60)} d ago"
    return (
        f"{purchase.masked_name}{when_zh}购买了{purchase.title}",
        f"{purchase.masked_name} bought {purchase.title} {when_en}",
    )


def low_stock(stock: int, threshold: int) -> tuple[str, str] | None:
    """The hint for this stock, or None when it is plentiful, gone, or hints are off."""
    if threshold <= 0 or not 0 < stock <= threshold:
        return None
    return f"仅剩{stock}件", f"Only {stock} left"
