"""The event catalog (siyu/events.py): docs/events.md is generated from it and current;
names are unique, every server fact is reserved for the server, and the console's
names are the catalog's."""

from __future__ import annotations

from pathlib import Path

from siyu.events import BY_NAME, CATALOG, SERVER_EVENTS, STORE_FUNNEL, display_name, markdown
from siyu.tracking.facts import FACT_EVENTS
from siyu.tracking.rules import RESERVED_PREFIXES

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def test_docs_events_md_is_generated_from_the_catalog() -> None:
    assert DOC.read_text(encoding="utf-8") == markdown(), (
        "docs/events.md is stale: run `python -m siyu.events > docs/events.md`"
    )


def test_names_are_unique_and_every_event_has_both_names() -> None:
    assert len(BY_NAME) == len(CATALOG)
    for spec in CATALOG:
        assert spec.zh and spec.en and spec.meaning, spec.name
        assert spec.zh != spec.en


def test_server_events_are_the_reserved_ones_the_facts_record() -> None:
    assert FACT_EVENTS == SERVER_EVENTS
    for spec in CATALOG:
        assert spec.name.startswith(RESERVED_PREFIXES) == (spec.source == "server"), spec.name


def test_display_names() -> None:
    assert [display_name(name) for name in STORE_FUNNEL] == [
        "浏览页面",
        "浏览商品",
        "加入购物车",
        "支付成功",
    ]
    assert display_name("order.paid", "en") == "Order paid"
    assert display_name("my_custom_event", "en") == "my_custom_event"


def test_store_pages_have_names_and_unknown_paths_stay_as_they_are() -> None:
    from siyu.devtools import simulation
    from siyu.events import PAGES, page_name

    simulated = [simulation.HOME, simulation.CATEGORY, simulation.PRODUCT, simulation.CART]
    simulated += [simulation.CHECKOUT, simulation.ORDER, simulation.COUPONS]
    assert set(simulated) <= set(PAGES)
    assert page_name("pages/product/detail") == "商品详情页"
    assert page_name("/pages/product/detail?id=3", "en") == "Product page"
    assert page_name("pages/custom/landing") == "pages/custom/landing"
