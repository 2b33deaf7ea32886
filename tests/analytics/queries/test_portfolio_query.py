from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from siyu.analytics.queries.portfolio import PortfolioQuery, PortfolioRunner, shape_portfolio
from siyu.catalog.models import Category, Product, Sku
from siyu.catalog.rules import ProductRole, ProductStatus
from siyu.db import Database
from siyu.identity.models import Shopper
from siyu.order.models import Order, OrderLine, OrderLineAllocation
from siyu.order.rules import OrderStatus

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def _product(session: Session, role: ProductRole, price: int, cost: int | None) -> Sku:
    category = Category(name="c")
    session.add(category)
    session.flush()
    product = Product(
        category_id=category.id,
        title=role.value,
        role=role,
        status=ProductStatus.on_sale,
        created_at=T0,
        updated_at=T0,
    )
    session.add(product)
    session.flush()
    sku = Sku(product_id=product.id, sku_code=f"sku-{role}", price_fen=price, cost_fen=cost)
    session.add(sku)
    session.flush()
    return sku


def _order(
    session: Session,
    shopper: Shopper,
    no: str,
    paid_at: datetime | None,
    lines: list[tuple[Sku, int, int, int]],
) -> None:
    order = Order(
        order_no=no,
        shopper_id=shopper.id,
        status=OrderStatus.paid if paid_at else OrderStatus.pending_payment,
        source="cart",
        subtotal_fen=0,
        total_fen=0,
        address={},
        placed_at=T0,
        pay_deadline=T0 + timedelta(minutes=30),
        paid_at=paid_at,
    )
    session.add(order)
    session.flush()
    for sku, quantity, payable, refunded_qty in lines:
        line = OrderLine(
            order_id=order.id,
            sku_id=sku.id,
            product_id=sku.product_id,
            title="x",
            spec={},
            unit_price_fen=sku.price_fen,
            quantity=quantity,
            payable_fen=payable,
            refunded_fen=payable * refunded_qty // quantity,
            refunded_quantity=refunded_qty,
        )
        session.add(line)
        session.flush()
        discount = sku.price_fen * quantity - payable
        if discount > 0:  # as placement stores it: a promotion's share, then a coupon's
            for source, amount in (
                ("promotion", discount - discount // 3),
                ("coupon", discount // 3),
            ):
                session.add(
                    OrderLineAllocation(
                        order_id=order.id,
                        order_line_id=line.id,
                        source=source,
                        source_id=1,
                        amount_fen=amount,
                    )
                )


def test_sales_and_margin_share_by_role_read_paid_order_lines(database_url: str) -> None:
    # given a traffic SKU (cost 900), a profit SKU (cost 2000), a premium SKU with no
    # cost; an order paid in range, one paid before it, one never paid
    db = Database(database_url)
    with db.transaction() as session:
        shopper = Shopper(openid="o1", registered_at=T0, last_login_at=T0)
        session.add(shopper)
        session.flush()
        traffic = _product(session, ProductRole.traffic, 990, 900)
        profit = _product(session, ProductRole.profit, 5000, 2000)
        premium = _product(session, ProductRole.premium, 20000, None)
        _order(
            session,
            shopper,
            "A1",
            T0 + timedelta(hours=1),
            [(traffic, 2, 1980, 0), (profit, 3, 15000, 1), (premium, 1, 20000, 0)],
        )
        _order(session, shopper, "A2", T0 - timedelta(days=3), [(profit, 1, 5000, 0)])
        _order(session, shopper, "A3", None, [(premium, 1, 20000, 0)])

    # when
    with db.read_session() as session, session.begin():
        result = PortfolioRunner(PortfolioQuery(date_from=T0, date_to=T0 + timedelta(days=1))).run(
            session
        )
    db.dispose()

    # then sales 1980 + 10000 + 20000; margin 180 + 6000 (premium has no cost)
    assert (result.sales_fen, result.margin_fen) == (31980, 6180)
    assert [
        (
            r.role,
            r.sales_fen,
            r.sales_share,
            r.margin_fen,
            r.margin_share,
            r.gap,
            r.lines_without_cost,
        )
        for r in result.roles
    ] == [
        (ProductRole.traffic, 1980, 6.19, 180, 2.91, -13.81, 0),
        (ProductRole.profit, 10000, 31.27, 6000, 97.09, -28.73, 0),
        (ProductRole.premium, 20000, 62.54, 0, 0.0, 42.54, 1),
    ]


def test_sales_are_net_of_the_discounts_allocated_to_each_line(database_url: str) -> None:
    # given a traffic SKU (¥9.90, cost 900) sold 2 for ¥15.00: ¥4.80 of allocated discounts
    db = Database(database_url)
    with db.transaction() as session:
        shopper = Shopper(openid="o1", registered_at=T0, last_login_at=T0)
        session.add(shopper)
        session.flush()
        traffic = _product(session, ProductRole.traffic, 990, 900)
        _order(session, shopper, "D1", T0 + timedelta(hours=1), [(traffic, 2, 1500, 0)])

    # when
    with db.read_session() as session, session.begin():
        result = PortfolioRunner(PortfolioQuery(date_from=T0, date_to=T0 + timedelta(days=1))).run(
            session
        )
    db.dispose()

    # then sales are what the shopper paid and the margin is below cost
    assert (result.sales_fen, result.margin_fen) == (1500, 1500 - 1800)


def test_no_sales_gives_zero_shares_and_full_gaps() -> None:
    result = shape_portfolio([])
    assert [(r.sales_share, r.gap) for r in result.roles] == [
        (0.0, -20.0),
        (0.0, -60.0),
        (0.0, -20.0),
    ]
