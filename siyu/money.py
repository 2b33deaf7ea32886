"""Money is integer fen (分). Formatting and rounding live here and in pricing only.

Two ways to write an amount, the same in zh-CN and en: :func:`format_yuan` for a
price or a total (``¥1,234.50``) and :func:`short_yuan` for rule words and the value
an operator types (``满199减9.9``, ``19.9``). :func:`zhe` writes a percentage off as
折. The storefront's ``SY.money`` (``static/core.js``) writes ``format_yuan``'s form."""

from __future__ import annotations


def format_yuan(fen: int) -> str:
    """``12345`` → ``"¥123.45"``; negative amounts keep their sign before the symbol."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def short_yuan(fen: int) -> str:
    """``19900`` → ``"199"``, ``990`` → ``"9.9"``, ``1990`` → ``"19.9"``, ``5`` →
    ``"0.05"``: no symbol, no separators, no trailing zeros (满199减30, a form value)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    if not cents:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{cents:02d}".rstrip("0")


def zhe(percent_off: int) -> str:
    """Percent off as 折: 10 → ``"9"`` (九折), 15 → ``"8.5"``, 12 → ``"8.8"``."""
    tenths = 100 - percent_off
    return str(tenths // 10) if tenths % 10 == 0 else f"{tenths // 10}.{tenths % 10}"


def allocate_proportionally(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` fen over ``weights`` in proportion, in integer fen, so that the
    parts sum exactly to ``total`` (largest-remainder method, ties to the earlier line)."""
    if total < 0:
        raise ValueError("total must not be negative")
    weight_sum = sum(weights)
    if weight_sum <= 0:
        if total == 0:
            return [0] * len(weights)
        raise ValueError("cannot allocate a positive total over zero weights")
    floors = [total * w // weight_sum for w in weights]
    short = total - sum(floors)  # 0 <= short < len(weights)
    if short:
        # The ``short`` largest remainders get one fen more; ties to the earlier line
        # (a reverse sort is stable, so equal remainders keep their order).
        remainders = [total * w % weight_sum for w in weights]
        if short == 1:
            floors[remainders.index(max(remainders))] += 1
        else:
            order = sorted(range(len(weights)), key=remainders.__getitem__, reverse=True)
            for i in order[:short]:
                floors[i] += 1
    return floors
