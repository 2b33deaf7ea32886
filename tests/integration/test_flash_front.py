"""The flash sale's front door (``siyu.web.api.flash_front``) in front of a recording
app, with the Redis gate: the refusals it may answer (sold out, not on, too often) it
answers itself in the API's error shape; everything else reaches the app unchanged —
the same body bytes, and the gate's answer in the scope when it asked the gate."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from siyu.bootstrap import Context
from siyu.config import Settings
from siyu.flash_sale.gate import ItemLoad
from siyu.flash_sale.rules import Refusal
from siyu.identity.tokens import TokenClaims, issue_token
from siyu.web.api.flash_front import FlashFront
from siyu.web.api.flash_sale import ADMISSION
from tests.conftest import REDIS_URL, make_settings

SOLD_OUT, ON_SALE, LATER = 7001, 7002, 7003


@pytest.fixture
def database_url(tmp_path: Path) -> str:  # the door reads no database
    return f"sqlite:///{tmp_path / 'siyu.db'}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path, redis_prefix: str) -> Settings:
    return make_settings(database_url, tmp_path, redis_url=REDIS_URL, redis_key_prefix=redis_prefix,
                         flash_sale_shopper_burst=3, flash_sale_shopper_rate=0.1)  # fmt: skip


class Recorder:
    """The app behind the door: records what reached it, answers 299."""

    def __init__(self) -> None:
        self.seen: list[tuple[Scope, bytes]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        self.seen.append((scope, body))
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"app"})


@pytest.fixture
def door(ctx: Context) -> Iterator[tuple[TestClient, Recorder]]:
    now = ctx.clock.now()
    for item_id, left, starts in ((SOLD_OUT, 0, -1), (ON_SALE, 50, -1), (LATER, 50, 60)):
        ctx.flash_gate.load(ItemLoad(item_id, left, 2, now + timedelta(minutes=starts),
                                     now + timedelta(minutes=90), {}))  # fmt: skip
    recorder = Recorder()
    with TestClient(FlashFront(recorder, ctx)) as client:
        yield client, recorder


def _token(ctx: Context, shopper_id: int) -> str:
    secret = ctx.settings.secret_key.get_secret_value()
    expires = int(ctx.clock.now().timestamp()) + 3600
    return issue_token(secret, TokenClaims("shopper", shopper_id, expires))


def _buy(client: TestClient, ctx: Context, item_id: int, body: Any = None, **headers: str) -> Any:
    sent = {"Authorization": f"Bearer {_token(ctx, 41)}", "Idempotency-Key": str(uuid.uuid4()),
            "Content-Type": "application/json"} | headers  # fmt: skip
    content = body if isinstance(body, bytes) else json.dumps(body or {"quantity": 1}).encode()
    return client.post(f"/api/app/flash-sales/items/{item_id}/buy", content=content,
                       headers={k: v for k, v in sent.items() if v})  # fmt: skip


def test_the_door_answers_sold_out_and_not_on_itself(
    door: tuple[TestClient, Recorder], ctx: Context
) -> None:
    client, recorder = door
    sold_out = _buy(client, ctx, SOLD_OUT)
    later = _buy(client, ctx, LATER)
    assert sold_out.status_code == later.status_code == 409
    assert sold_out.json()["error"]["code"] == "flash_sold_out"
    assert later.json()["error"]["code"] == "flash_not_running"
    assert recorder.seen == []
    assert ctx.flash_gate.stats(SOLD_OUT)["refusals"] == 1


def test_a_pass_reaches_the_app_with_the_same_body_and_the_gate_s_answer(
    door: tuple[TestClient, Recorder], ctx: Context
) -> None:
    client, recorder = door
    body = {"quantity": 2, "note": "门口 note"}
    assert _buy(client, ctx, ON_SALE, body, **{"Idempotency-Key": "first"}).status_code == 299
    ((scope, received),) = recorder.seen
    assert json.loads(received) == body
    admission = scope[ADMISSION]
    assert admission.passed and admission.refusal is None
    assert ctx.flash_gate.counts(ON_SALE) is not None
    assert ctx.flash_gate.counts(ON_SALE).units_left == 48  # type: ignore[union-attr]
    # at the limit now: a retry of that pass goes on to the route (to replay its order)
    assert _buy(client, ctx, ON_SALE, body, **{"Idempotency-Key": "first"}).status_code == 299
    assert recorder.seen[-1][0][ADMISSION].refusal is Refusal.limit
    # and a new request is told at the door: nothing to replay
    fresh = _buy(client, ctx, ON_SALE)
    assert fresh.status_code == 409
    assert fresh.json()["error"]["code"] == "flash_limit"
    assert len(recorder.seen) == 2


def test_a_shopper_whose_units_the_gate_did_not_see_pass_goes_on_to_the_route(
    door: tuple[TestClient, Recorder], ctx: Context
) -> None:
    # given units loaded from the database (the gate never saw the keys of those buys)
    client, recorder = door
    now = ctx.clock.now()
    ctx.flash_gate.load(ItemLoad(ON_SALE, 50, 2, now - timedelta(minutes=1),
                                 now + timedelta(minutes=90), {41: 2}), force=True)  # fmt: skip
    # then a buy at the limit may be a retry of one of them: the route looks it up
    assert _buy(client, ctx, ON_SALE).status_code == 299
    assert recorder.seen[-1][0][ADMISSION].maybe_retry is True


def test_a_shopper_pressing_too_often_is_told_to_wait_at_the_door(
    door: tuple[TestClient, Recorder], ctx: Context
) -> None:
    client, recorder = door
    answers = [_buy(client, ctx, SOLD_OUT) for _ in range(4)]
    assert [a.status_code for a in answers] == [409, 409, 409, 429]
    assert answers[3].json()["error"]["code"] == "rate_limited"
    assert int(answers[3].headers["Retry-After"]) >= 1
    assert recorder.seen == []


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b'{"quantity": 0}', {}),  # does not validate: the route says why
        (b"not json", {}),
        (None, {"Authorization": ""}),  # no token: the route's 401
        (None, {"Authorization": "Bearer forged"}),
        (None, {"Idempotency-Key": ""}),
        (None, {"Idempotency-Key": "\x01bad"}),
        (None, {"Content-Type": "text/plain"}),
        (b'{"quantity": 1, "note": "' + b"x" * 20_000 + b'"}', {}),  # past the door's size
    ],
)
def test_what_the_door_cannot_read_cleanly_reaches_the_app_untouched(
    door: tuple[TestClient, Recorder], ctx: Context, body: bytes | None, headers: dict[str, str]
) -> None:
    client, recorder = door
    sent = body if body is not None else json.dumps({"quantity": 1}).encode()
    assert _buy(client, ctx, SOLD_OUT, sent, **headers).status_code == 299
    ((scope, received),) = recorder.seen
    assert received == sent
    assert ADMISSION not in scope
    assert ctx.flash_gate.stats(SOLD_OUT)["requests"] == 0


def test_other_paths_and_methods_pass_by(door: tuple[TestClient, Recorder], ctx: Context) -> None:
    client, recorder = door
    assert client.get(f"/api/app/flash-sales/items/{SOLD_OUT}/buy").status_code == 299
    assert client.post("/api/app/flash-sales/items/0/buy", json={}).status_code == 299
    assert client.post("/api/app/orders", json={"x": 1}).status_code == 299
    assert [ADMISSION in scope for scope, _ in recorder.seen] == [False, False, False]
