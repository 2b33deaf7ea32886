"""Checks for the console walk (tests/console/test_console_walk_browser.py): what an
operator must never read on a console page, in zh-CN and in en.

A page's visible text is checked after the data the store's users typed (product
titles, nicknames, addresses, notes, coupon and promotion names…) has been taken out:
that text is the store's, not the console's, and may be in any language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from siyu.events import CATALOG
from siyu.tracking.rules import ChannelGroup

DATA = "\u2063"  # what a data string is replaced with: an invisible separator

# Words a zh-CN console may show in Latin letters: brand and technical names, units
# (and any single letter: R/F/M, "N 件", sizes in examples).
ALLOWED_WORDS = frozenset(
    {
        # metrics and models
        "GMV",
        "UV",
        "PV",
        "ROI",
        "CAC",
        "LTV",
        "CLV",
        "RFM",
        "BG",
        "NBD",
        "Gamma",
        "SKU",
        "SPU",
        "AOV",
        # formats and technical names
        "CSV",
        "ID",
        "API",
        "URL",
        "QR",
        "H5",
        "JSON",
        "HTTPS",
        "https",
        "PNG",  # image formats, as an upload hint names them
        "JPEG",
        "WebP",
        # brands and product names
        "Siyu",
        "Redis",  # the flash-sale gate's store, named on the session board
        "WeChat",
        "Admin",
        "App",
        "scene",  # the WeChat mini-program code's parameter, named as WeChat names it
        "Ctrl",
        "DAU",
        "vs",
        # units
        "px",
        "ms",
        "KB",
        "MB",
    }
)

EVENT_CODES = frozenset(spec.name for spec in CATALOG)
CHANNEL_CODES = frozenset(group.value for group in ChannelGroup)
# Chinese an en page may show: the zh name of a discount, explained next to it.
EN_ALLOWED_CHINESE = frozenset({"九折"})
CJK = re.compile(r"[\u3001-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]+")

NON_FINITE = re.compile(r"(?<![A-Za-z])(?:nan|-?inf|-?infinity)(?![A-Za-z])", re.IGNORECASE)
SCIENTIFIC = re.compile(r"(?<![\w.])\d+(?:\.\d+)?[eE][+-]?\d+(?![\w.])")
PAGE_PATH = re.compile(r"(?<![\w/])/?pages/[\w\-/]+")
DOTTED_CODE = re.compile(r"(?<![\w$.])[a-z][a-z_]*\.[a-z][a-z_]*(?![\w.(])")
DURATION = re.compile(r"(?<![\w.])\d+(?:\.\d+)? ?(?:h|m|s|min|sec)(?: \d+ ?[ms])?(?![A-Za-z])")
RAW_JSON = re.compile(r'[{\[]"[^\n]*?"\s*:[^\n]*?[}\]](?=\s|$)')
CODE_TOKEN = re.compile(r"(?<![\w$])\$?[A-Za-z_][\w]*(?:\.[a-z_]+)?(?![\w])")
SNAKE_CODE = re.compile(r"(?<![\w$])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w])")
WORD = re.compile(r"(?<![\w'])[A-Za-z]+(?:'[a-z]+)?(?![\w'])")


@dataclass(frozen=True, order=True)
class Finding:
    """``text`` seen on ``page``, in ``context`` (the text around it, ``…`` for data)."""

    kind: str
    page: str
    text: str
    context: str


JSON_KEY = re.compile(r'"(\w+)"\s*:')


def _finding(kind: str, page: str, text: str, start: int, end: int) -> Finding:
    seen = text[start:end].replace(DATA, "…")
    if kind == "raw JSON":  # one finding per shape of record, not per record
        return Finding(kind, page, "keys " + ", ".join(JSON_KEY.findall(seen)), seen)
    return Finding(kind, page, seen, _context(text, start, end))


def scrub(text: str, data: Iterable[str]) -> str:
    """``text`` with every occurrence of the store's data strings replaced by DATA
    (longest first, so a title is removed before a word inside it; Latin strings only
    as whole words, so a one-letter size does not eat the letter out of a label)."""
    for value in sorted({d.strip() for d in data if d and d.strip()}, key=len, reverse=True):
        if value.isascii():
            if len(value) < 2:
                continue
            text = re.sub(rf"(?<![\w]){re.escape(value)}(?![\w])", DATA, text)
        else:
            text = text.replace(value, DATA)
    return text


def _context(text: str, start: int, end: int, width: int = 18) -> str:
    left = text[max(0, start - width) : start].split("\n")[-1]
    right = text[end : end + width].split("\n")[0]
    return f"{left}[{text[start:end]}]{right}".replace(DATA, "…")


def zh_findings(page: str, text: str) -> list[Finding]:
    """What a zh-CN page must not show: non-finite numbers, scientific notation, raw
    event/channel/page/audit codes, the ``default`` stacking group, durations in
    Latin units and English words outside ALLOWED_WORDS."""
    found: list[Finding] = []
    taken = [False] * len(text)

    def add(kind: str, match: re.Match[str]) -> None:
        start, end = match.span()
        if any(taken[start:end]):
            return
        for i in range(start, end):
            taken[i] = True
        found.append(_finding(kind, page, text, start, end))

    for match in RAW_JSON.finditer(text):
        add("raw JSON", match)
    for match in NON_FINITE.finditer(text):
        add("non-finite number", match)
    for match in SCIENTIFIC.finditer(text):
        add("scientific notation", match)
    for match in PAGE_PATH.finditer(text):
        add("raw page path", match)
    for match in CODE_TOKEN.finditer(text):
        token = match.group()
        if token in EVENT_CODES or token.startswith("$"):
            add("raw event code", match)
        elif token in CHANNEL_CODES:
            add("raw channel code", match)
        elif token == "default":
            add("raw stacking group", match)
    for match in DOTTED_CODE.finditer(text):
        add("raw dotted code (audit action)", match)
    for match in SNAKE_CODE.finditer(text):
        add("raw snake_case code", match)
    for match in DURATION.finditer(text):
        add("duration in Latin units", match)
    for match in WORD.finditer(text):
        if len(match.group()) > 1 and match.group() not in ALLOWED_WORDS:
            add("English word", match)
    return found


def en_findings(page: str, text: str) -> list[Finding]:
    """What an en page must not show: Chinese (ideographs, CJK punctuation, full-width
    forms) outside the store's data, nor a non-finite number or scientific notation."""
    found = [
        _finding("Chinese in en", page, text, *m.span())
        for m in CJK.finditer(text)
        if m.group() not in EN_ALLOWED_CHINESE
    ]
    for kind, pattern in (("non-finite number", NON_FINITE), ("scientific notation", SCIENTIFIC)):
        found += [_finding(kind, page, text, *m.span()) for m in pattern.finditer(text)]
    return found


def report(findings: Iterable[Finding]) -> str:
    """Every finding, by kind, then page, then what was seen (with one example of its
    context and how often it was seen there)."""
    unique = sorted(set(findings))
    lines = [f"{len(unique)} findings on the console walk (kind / page / text seen):"]
    for kind in sorted({f.kind for f in unique}):
        lines.append(f"== {kind}")
        for page in sorted({f.page for f in unique if f.kind == kind}):
            lines.append(f"  {page}")
            seen: dict[str, list[Finding]] = {}
            for f in unique:
                if f.kind == kind and f.page == page:
                    seen.setdefault(f.text, []).append(f)
            for text, items in seen.items():
                times = f" (×{len(items)})" if len(items) > 1 else ""
                lines.append(f"    {text!r}{times}  e.g. {items[0].context!r}")
    return "\n".join(lines)
