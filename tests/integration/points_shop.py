"""A small shop for the points tests: two SKUs whose prices round, a shopper with
points, and the steps of an order through the HTTP API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from siyu.bootstrap import Context
from siyu.loyalty.models import PointsBalance, PointsEntry
from siyu.loyalty.rules import RewardEvent
from siyu.loyalty.service import grant_reward
from siyu.worker import Worker
from tests.helpers import ADDRESS, create_product, operator_headers, shopper_headers

A_PRICE, B_PRICE = 3333, 1999


@dataclass
class Shop:
    client: TestClient
    ctx: Context
    admin: dict[str, str]
    shopper: dict[str, str]
    shopper_id: int
    sku_a: int
    sku_b: int

    def give(self, points: int) -> None:
        with self.ctx.db.transaction() as session:
            grant_reward(
                session,
                self.ctx.points,
                shopper_id=self.shopper_id,
                event=RewardEvent.review,
                points=points,
                ref=uuid.uuid4().hex,
                now=self.ctx.clock.now(),
            )

    def balance(self) -> tuple[int, int]:
        """(available, pending)."""
        with self.ctx.db.transaction() as session:
            row = session.get(PointsBalance, self.shopper_id)
            return (row.available, row.pending) if row else (0, 0)

    def entries(self) -> list[tuple[str, str, int, str]]:
        """(kind, bucket, delta, key) of the shopper's entries, oldest first."""
        with self.ctx.db.transaction() as session:
            rows = session.scalars(
                select(PointsEntry)
                .where(PointsEntry.shopper_id == self.shopper_id)
                .order_by(PointsEntry.id)
            )
            return [(str(e.kind), str(e.bucket), e.delta, e.idempotency_key) for e in rows]

    def quote(self, sku_id: int, quantity: int, use_points: bool = True) -> dict[str, Any]:
        response = self.client.get(
            "/api/app/checkout/quote",
            params={"sku_id": sku_id, "quantity": quantity, "use_points": use_points},
            headers=self.shopper,
        )
        assert response.status_code == 200, response.text
        return dict(response.json()["quote"])

    def place(
        self, items: dict[int, int], *, use_points: bool = True, expected: int | None = None
    ) -> Any:
        body: dict[str, Any] = {
            "items": [{"sku_id": s, "quantity": q} for s, q in items.items()],
            "address": ADDRESS,
            "use_points": use_points,
        }
        if expected is not None:
            body["expected_total_fen"] = expected
        return self.client.post(
            "/api/app/orders",
            json=body,
            headers=self.shopper | {"Idempotency-Key": str(uuid.uuid4())},
        )

    def pay(self, order_id: int) -> dict[str, Any]:
        started = self.client.post(f"/api/app/orders/{order_id}/pay", headers=self.shopper)
        assert started.status_code == 200, started.text
        paid = self.client.post(f"/api/app/orders/{order_id}/sandbox-pay", headers=self.shopper)
        assert paid.json()["status"] == "paid", paid.text
        return dict(paid.json())

    def ship_and_confirm(self, order_id: int) -> dict[str, Any]:
        shipped = self.client.post(
            f"/api/admin/orders/{order_id}/ship",
            json={"carrier": "顺丰", "tracking_no": "SF1234567890"},
            headers=self.admin,
        )
        assert shipped.status_code == 200, shipped.text
        done = self.client.post(f"/api/app/orders/{order_id}/confirm", headers=self.shopper)
        assert done.status_code == 200, done.text
        return dict(done.json())

    def ask_refund(self, order_id: int, lines: list[tuple[int, int]], kind: str) -> int:
        asked = self.client.post(
            "/api/app/aftersales",
            json={
                "order_id": order_id,
                "kind": kind,
                "reason": "不想要了",
                "lines": [{"order_line_id": li, "quantity": q} for li, q in lines],
            },
            headers=self.shopper,
        )
        assert asked.status_code == 201, asked.text
        return int(asked.json()["id"])

    def approve(self, aftersale_id: int) -> None:
        self.admin = operator_headers(self.client, self.ctx)  # sessions expire over days
        approved = self.client.post(
            f"/api/admin/aftersales/{aftersale_id}/approve", headers=self.admin
        )
        assert approved.json()["status"] == "refunded", approved.text

    def refund(
        self, order_id: int, lines: list[tuple[int, int]], kind: str = "refund_only"
    ) -> None:
        self.approve(self.ask_refund(order_id, lines, kind))

    def pass_time(self, delta: timedelta) -> None:
        self.ctx.clock.advance(delta)  # type: ignore[attr-defined]
        Worker(self.ctx).drain()


def open_shop(client: TestClient, ctx: Context, code: str = "points") -> Shop:
    admin = operator_headers(client, ctx)
    product = create_product(
        client,
        admin,
        skus=[
            {"spec": {"款": "A"}, "price_fen": A_PRICE, "stock": 1000},
            {"spec": {"款": "B"}, "price_fen": B_PRICE, "stock": 1000},
        ],
    )
    shopper = shopper_headers(client, code)
    shopper_id = client.get("/api/app/me", headers=shopper).json()["id"]
    a, b = (int(s["id"]) for s in product["skus"])
    return Shop(client, ctx, admin, shopper, int(shopper_id), a, b)
