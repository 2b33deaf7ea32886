"""Play analytics from the store, on SQLite and PostgreSQL, against figures worked out
by hand: every order source that is not the checkout's is a play (a ``rising_price``
play nobody listed included), campaigns come from the ``activity`` allocations, the
cost counts only the units kept, GMV is net of refunds, a new shopper's first paid
order is the play's, the share funnel reads the shoppers' share attribution, and
nothing after ``now`` counts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from siyu.analytics.queries.plays import PlayFigures, plays_report
from siyu.catalog.models import Category, Product, Sku
from siyu.catalog.rules import ProductRole, ProductStatus
from siyu.clock import SHANGHAI
from siyu.db import Database
from siyu.identity.models import Shopper
from siyu.order.models import Order, OrderLine, OrderLineAllocation
from siyu.order.rules import OrderStatus


def local(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


FROM, TO, NOW = local(11, 1), local(11, 4), local(11, 3, 12)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def _sku(session: Session) -> Sku:
    category = Category(name="c")
    session.add(category)
    session.flush()
    product = Product(
        category_id=category.id, title="p", role=ProductRole.profit,
        status=ProductStatus.on_sale, created_at=local(10, 1), updated_at=local(10, 1),
    )  # fmt: skip
    session.add(product)
    session.flush()
    sku = Sku(product_id=product.id, sku_code="s", price_fen=5900)
    session.add(sku)
    session.flush()
    return sku


def _order(
    session: Session, sku: Sku, shopper: int, source: str, paid_at: datetime | None, *,
    paid: int, saving: int = 0, campaign: int = 0, quantity: int = 1, refunded_units: int = 0,
    refunded: int = 0, placed_at: datetime | None = None,
) -> None:  # fmt: skip
    placed = placed_at or (paid_at - timedelta(minutes=1) if paid_at else local(11, 2))
    order = Order(
        order_no=f"P{shopper}-{placed.isoformat()}", shopper_id=shopper,
        status=OrderStatus.paid if paid_at else OrderStatus.pending_payment, source=source,
        subtotal_fen=paid + saving, total_fen=paid, paid_fen=paid if paid_at else 0,
        refunded_fen=refunded, address={}, placed_at=placed,
        pay_deadline=placed + timedelta(minutes=15), paid_at=paid_at,
    )  # fmt: skip
    session.add(order)
    session.flush()
    line = OrderLine(
        order_id=order.id, sku_id=sku.id, product_id=sku.product_id, title="x", spec={},
        unit_price_fen=5900, quantity=quantity, payable_fen=paid, refunded_fen=refunded,
        refunded_quantity=refunded_units,
    )  # fmt: skip
    session.add(line)
    session.flush()
    if saving:
        session.add(OrderLineAllocation(order_id=order.id, order_line_id=line.id,
                                        source="activity", source_id=campaign, amount_fen=saving))  # fmt: skip
    session.flush()


def seed(session: Session) -> None:
    """Shopper 1 bought from the cart in October; 2 and 3 came through 1's share, 4
    through 2's, 6 through 5's; 5 came on their own."""
    for shopper, sharer in [(1, None), (2, 1), (3, 1), (4, 2), (5, None), (6, 5)]:
        session.add(Shopper(id=shopper, openid=f"o-{shopper}", registered_at=local(10, 1),
                            last_login_at=local(10, 1), first_sharer_id=sharer))  # fmt: skip
        session.flush()
    sku = _sku(session)
    _order(session, sku, 1, "cart", local(10, 20), paid=2000)
    # group buy: campaign 7 (¥39, saving ¥20), campaign 8 (2 units at ¥35, one refunded)
    _order(session, sku, 1, "group_buy", local(11, 1, 10), paid=3900, saving=2000, campaign=7)
    _order(session, sku, 2, "group_buy", local(11, 1, 11), paid=3900, saving=2000, campaign=7)
    _order(session, sku, 3, "group_buy", local(11, 1, 12), paid=7000, saving=4800, campaign=8,
           quantity=2, refunded_units=1, refunded=3500)  # fmt: skip
    # flash sale item 11 (¥19.90): one fully refunded, one unpaid, one kept
    _order(session, sku, 4, "flash_sale", local(11, 2, 10), paid=1990, saving=3910,
           campaign=11, refunded_units=1, refunded=1990)  # fmt: skip
    _order(session, sku, 5, "flash_sale", None, paid=1990, saving=3910, campaign=11,
           placed_at=local(11, 2, 10, 5))  # fmt: skip
    _order(session, sku, 5, "cart", local(11, 2, 11), paid=5900)
    _order(session, sku, 2, "flash_sale", local(11, 2, 12), paid=1990, saving=3910, campaign=11)
    # a play no list names, and its order after now
    _order(session, sku, 6, "rising_price", local(11, 3, 9), paid=5000, saving=900, campaign=3)
    _order(session, sku, 6, "rising_price", local(11, 3, 13), paid=5000, saving=900, campaign=3)


def figures(row: PlayFigures) -> dict[str, object]:
    return {
        "placed": row.orders_placed, "shoppers": row.shoppers, "paid": row.paid_orders,
        "buyers": row.buyers, "gmv": row.gmv_fen, "refunded": row.refunded_fen,
        "refunded_orders": row.refunded_orders, "cost": row.cost_fen, "roi": row.roi,
        "new": row.new_shoppers, "shared": row.shared_visitors, "sharers": row.sharers,
    }  # fmt: skip


def test_each_play_and_campaign_against_figures_worked_out_by_hand(db: Database) -> None:
    # given
    with db.transaction() as session:
        seed(session)

    # when
    with db.read_session() as session, session.begin():
        report = plays_report(session, FROM, TO, NOW)

    # then the plays, by GMV
    assert [r.play for r in report.plays] == ["group_buy", "rising_price", "flash_sale"]
    by_play = {r.play: figures(r) for r in report.plays}
    assert by_play["group_buy"] == {
        "placed": 3, "shoppers": 3, "paid": 3, "buyers": 3, "gmv": 11300, "refunded": 3500,
        "refunded_orders": 1, "cost": 6400, "roi": 1.77, "new": 2, "shared": 2, "sharers": 1,
    }  # fmt: skip
    assert by_play["flash_sale"] == {
        "placed": 3, "shoppers": 3, "paid": 2, "buyers": 2, "gmv": 1990, "refunded": 1990,
        "refunded_orders": 1, "cost": 3910, "roi": 0.51, "new": 1, "shared": 2, "sharers": 2,
    }  # fmt: skip
    assert by_play["rising_price"] == {
        "placed": 1, "shoppers": 1, "paid": 1, "buyers": 1, "gmv": 5000, "refunded": 0,
        "refunded_orders": 0, "cost": 900, "roi": 5.56, "new": 1, "shared": 1, "sharers": 1,
    }  # fmt: skip
    # and the campaigns, by play then GMV
    keys = [(r.play, r.campaign_id) for r in report.campaigns]
    assert keys == [("flash_sale", 11), ("group_buy", 7), ("group_buy", 8), ("rising_price", 3)]
    by_campaign = {(r.play, r.campaign_id): figures(r) for r in report.campaigns}
    assert by_campaign[("group_buy", 7)] == {
        "placed": 2, "shoppers": 2, "paid": 2, "buyers": 2, "gmv": 7800, "refunded": 0,
        "refunded_orders": 0, "cost": 4000, "roi": 1.95, "new": 1, "shared": 1, "sharers": 1,
    }  # fmt: skip
    assert by_campaign[("group_buy", 8)] == {
        "placed": 1, "shoppers": 1, "paid": 1, "buyers": 1, "gmv": 3500, "refunded": 3500,
        "refunded_orders": 1, "cost": 2400, "roi": 1.46, "new": 1, "shared": 1, "sharers": 1,
    }  # fmt: skip
    assert by_campaign[("flash_sale", 11)] == by_play["flash_sale"]
    # and every play together: shopper 2 (group buy and flash sale) counts once
    assert figures(report.total) == {
        "placed": 7, "shoppers": 6, "paid": 6, "buyers": 5, "gmv": 18290, "refunded": 5490,
        "refunded_orders": 2, "cost": 11210, "roi": 1.63, "new": 4, "shared": 4, "sharers": 3,
    }  # fmt: skip


def test_a_range_without_play_orders_is_empty_and_an_empty_range_is_refused(
    db: Database,
) -> None:
    # given
    with db.transaction() as session:
        seed(session)

    # when
    with db.read_session() as session, session.begin():
        october = plays_report(session, local(10, 1), local(10, 31), NOW)
        with pytest.raises(ValueError):
            plays_report(session, TO, FROM, NOW)

    # then
    assert october.plays == [] and october.campaigns == []
    assert (october.total.gmv_fen, october.total.roi) == (0, None)
