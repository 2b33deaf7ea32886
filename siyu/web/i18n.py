"""User-facing strings for the console and storefront, in zh-CN (default) and en.

Catalogs are flat JSON files, one per domain and locale (``locales/console/zh_CN.json``,
``locales/shop/en.json``), keyed by a stable message id (``nav.orders``). Every id must
exist in every locale of its domain: a test fails otherwise, and a missing id renders
as the id itself, never as a blank.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path

from siyu.clock import SHANGHAI, as_utc
from siyu.money import format_yuan

LOCALES = ("zh-CN", "en")
DEFAULT_LOCALE = "zh-CN"
LOCALE_DIR = Path(__file__).resolve().parent / "locales"

Translator = Callable[..., str]


DOMAINS = ("console", "shop")


@cache
def catalog(domain: str, locale: str) -> dict[str, str]:
    path = LOCALE_DIR / domain / f"{locale.replace('-', '_')}.json"
    data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return data


def pick_locale(requested: str | None) -> str:
    if requested:
        for locale in LOCALES:
            if requested.lower().startswith(locale.lower().split("-")[0]):
                return locale
    return DEFAULT_LOCALE


def translator(domain: str, locale: str) -> Translator:
    messages = catalog(domain, locale)

    def gettext(message_id: str, **params: object) -> str:
        text = messages.get(message_id, message_id)
        return text.format(**params) if params else text

    return gettext


def format_shanghai(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Times are stored in UTC and shown in Asia/Shanghai."""
    if value is None:
        return "—"
    return as_utc(value).astimezone(SHANGHAI).strftime(fmt)


def format_money(fen: int | None) -> str:
    return "—" if fen is None else format_yuan(fen)
