"""Message catalogs: every id used in the console or the storefront exists in every
locale of its domain, and every locale of a domain has the same ids and placeholders.

Ids are found by scanning for the translation call with a literal id, ``t("nav.orders")``
(templates, routes, storefront scripts). Ids built at run time (``"order.status." ~ s``)
are listed here from the enums they come from, so a new status without words fails.
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest

from siyu.aftersale.rules import AfterSaleKind, AfterSaleStatus
from siyu.catalog.rules import ProductRole, ProductStatus
from siyu.dashboard.rules import METRIC_KEYS, Period
from siyu.identity.rules import Role
from siyu.order.rules import OrderStatus
from siyu.web.console.base import NAV
from siyu.web.i18n import LOCALE_DIR, LOCALES

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "siyu" / "web"
# t("id") or t('id') followed by "," or ")": a literal id, not the start of a built one.
CALL_RE = re.compile(r"""\bt\(\s*(["'])([A-Za-z0-9_.\-]+)\1\s*[,)]""")


def catalogs(domain: str) -> dict[str, dict[str, str]]:
    files = sorted((LOCALE_DIR / domain).glob("*.json"))
    return {f.stem: json.loads(f.read_text(encoding="utf-8")) for f in files}


def present_domains() -> list[str]:
    return sorted(d.name for d in LOCALE_DIR.iterdir() if d.is_dir() and any(d.glob("*.json")))


def ids_called_in(paths: list[Path]) -> dict[str, set[str]]:
    """id → the files that use it."""
    found: dict[str, set[str]] = {}
    for path in paths:
        for match in CALL_RE.finditer(path.read_text(encoding="utf-8")):
            found.setdefault(match.group(2), set()).add(str(path.relative_to(ROOT)))
    return found


def console_sources() -> list[Path]:
    console = WEB / "console"
    return sorted([*console.rglob("*.html"), *console.rglob("*.py")])


def storefront_sources() -> list[Path]:
    storefront = WEB / "storefront"
    return sorted([*storefront.glob("static/*.js"), *storefront.rglob("*.html")])


def console_built_ids() -> set[str]:
    """Ids the console composes from enums and constants at run time."""
    ids = {f"order.status.{s}" for s in OrderStatus}
    ids |= {f"product.status.{s}" for s in ProductStatus}
    ids |= {f"product.role.{r}" for r in ProductRole}
    ids |= {f"product.role_hint.{r}" for r in ProductRole}
    ids |= {f"aftersale.status.{s}" for s in AfterSaleStatus}
    ids |= {f"aftersale.kind.{k}" for k in AfterSaleKind}
    ids |= {f"role.{r}" for r in Role} | {f"role_hint.{r}" for r in Role}
    ids |= {f"nav.{entry.key}" for entry in NAV}
    ids |= {f"metric.{key}" for key in METRIC_KEYS}
    ids |= {f"dashboard.period.{p.value}" for p in Period}
    for kind in ("title", "what_next"):
        ids |= {f"error.{kind}.{code}" for code in ("403", "404", "500", "other")}
    python = "\n".join(p.read_text(encoding="utf-8") for p in (WEB / "console").glob("*.py"))
    ids |= {f"notice.{n}" for n in re.findall(r"[?&]notice=([a-z_]+)", python)}
    ids |= {f"notice.{n}" for n in re.findall(r"_back\([^,]+,\s*\"([a-z_]+)\"", python)}
    ids |= {f"notice.{s}" for s in (ProductStatus.on_sale, ProductStatus.off_sale)}
    ids |= set(re.findall(r"\"(field\.[a-z_]+)\"", python))
    forms = (WEB / "console" / "forms.py").read_text(encoding="utf-8")
    ids |= set(re.findall(r"\"(field\.[a-z_]+)\"", forms))
    return ids


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("domain", present_domains())
def test_every_locale_of_a_domain_has_the_same_ids(domain: str) -> None:
    by_locale = catalogs(domain)
    all_ids = set().union(*(set(c) for c in by_locale.values()))

    missing = {locale: sorted(all_ids - set(messages)) for locale, messages in by_locale.items()}

    assert {locale: ids for locale, ids in missing.items() if ids} == {}


@pytest.mark.parametrize("domain", present_domains())
def test_every_supported_locale_has_a_catalog(domain: str) -> None:
    expected = {locale.replace("-", "_") for locale in LOCALES}

    assert set(catalogs(domain)) == expected


@pytest.mark.parametrize("domain", present_domains())
def test_translations_are_not_blank_and_keep_their_placeholders(domain: str) -> None:
    by_locale = catalogs(domain)
    reference = by_locale.get("zh_CN") or next(iter(by_locale.values()))
    problems = []
    for locale, messages in by_locale.items():
        for message_id, text in messages.items():
            if not isinstance(text, str) or not text.strip():
                problems.append(f"{locale}:{message_id} is blank")
            elif message_id in reference and placeholders(text) != placeholders(
                reference[message_id]
            ):
                problems.append(f"{locale}:{message_id} placeholders differ")

    assert problems == []


def test_every_id_the_console_uses_is_in_every_console_locale() -> None:
    used = ids_called_in(console_sources())
    wanted = set(used) | console_built_ids()
    assert len(used) > 100  # the scan finds the console's calls

    missing = {
        locale: sorted(wanted - set(messages)) for locale, messages in catalogs("console").items()
    }

    assert {locale: ids for locale, ids in missing.items() if ids} == {}


def test_every_id_the_storefront_uses_is_in_every_shop_locale() -> None:
    used = ids_called_in(storefront_sources())
    shop = catalogs("shop")
    if not shop:
        if used:
            pytest.fail(f"the storefront uses {len(used)} message ids but has no shop catalogs")
        pytest.skip("no storefront catalogs or scripts yet")

    missing = {locale: sorted(set(used) - set(messages)) for locale, messages in shop.items()}

    assert {locale: ids for locale, ids in missing.items() if ids} == {}


def test_the_scan_sees_literal_ids_and_skips_built_ones(tmp_path: Path) -> None:
    # given
    source = tmp_path / "page.html"
    source.write_text(
        """{{ t("nav.orders") }} {{ t('a.b', n=1) }} {{ t("order.status." ~ s) }}
        t("x.y" ) not_t("no.no")""",
        encoding="utf-8",
    )

    # when
    found = {m.group(2) for m in CALL_RE.finditer(source.read_text(encoding="utf-8"))}

    # then
    assert found == {"nav.orders", "a.b", "x.y"}
