"""The flash sale's front door: the buy route's gate answered before FastAPI runs.

In a sale's second minute nearly every request to ``POST /api/app/flash-sales/items/
{id}/buy`` is refused by the gate — sold out, not on, or pressed too often — and the
framework's routing, dependency solving and response checking cost many times the
gate's one Redis round trip. This ASGI middleware reads such a request itself (the
Idempotency-Key, the bearer token, a small JSON body), asks the gate once, and answers
those refusals in the API's error shape, and a shopper at their limit whose key is none
of their passes (not a retry). Everything else — a pass through the gate, a shopper at
their limit who may be retrying (the route replays the order), an item the gate has not
loaded, a gate that cannot be reached, and every request it cannot read cleanly (no token, a bad key, a body that does
not validate) — goes on to the route unchanged, with the gate's answer in
``scope["siyu.flash_admission"]`` when it asked, so the route never asks twice and
produces every other answer exactly as before.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from siyu import idempotency
from siyu.errors import DomainError
from siyu.fields import MAX_ID
from siyu.flash_sale import service
from siyu.flash_sale.rules import Refusal
from siyu.flash_sale.script_client import ScriptError
from siyu.web.api.flash_sale import ADMISSION, TOO_OFTEN, BuyIn, waiting
from siyu.web.deps import AppContext, shopper_of
from siyu.web.errors import domain_error_response

BUY_PATH = re.compile(r"/api/app/flash-sales/items/([1-9][0-9]{0,18})/buy")
MAX_FRONT_BODY = 16 * 1024  # a buy's body is a quantity and an address: far less
ANSWERED_HERE = (Refusal.sold_out, Refusal.not_running)


class FlashFront:
    def __init__(self, app: ASGIApp, ctx: AppContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        match = BUY_PATH.fullmatch(scope["path"])
        headers = dict(scope["headers"]) if match else {}
        declared = headers.get(b"content-length", b"")
        if (
            match is None
            or int(match[1]) > MAX_ID
            or not headers.get(b"content-type", b"").startswith(b"application/json")
            or not declared.isdigit()
            or int(declared) > MAX_FRONT_BODY
        ):
            await self.app(scope, receive, send)
            return
        try:
            key = headers[b"idempotency-key"].decode("latin-1")
            idempotency.check_key(key)
            shopper = shopper_of(self.ctx, headers[b"authorization"].decode("latin-1"))
        except (KeyError, DomainError):  # the route answers it, as always
            await self.app(scope, receive, send)
            return
        messages, whole = await _read(receive, int(declared))
        replay = _replaying(messages, receive)
        if not whole:  # longer than declared, or the client left: the route decides
            await self.app(scope, replay, send)
            return
        body = b"".join(m.get("body", b"") for m in messages)
        try:
            quantity = BuyIn.model_validate_json(body).quantity
        except ValidationError:
            await self.app(scope, replay, send)
            return
        item_id = int(match[1])
        client = scope.get("client")
        ip = client[0] if client else "-"
        gate = self.ctx.flash_gate
        try:
            admission = await gate.admit_async(
                item_id, shopper.id, ip, quantity, self.ctx.clock.now(), key=key
            )
        except (ConnectionError, OSError, ScriptError):  # the route asks, and answers that
            await self.app(scope, replay, send)
            return
        if admission.refusal is Refusal.rate_limited:
            await waiting("rate_limited", TOO_OFTEN, admission.retry_after)(scope, replay, send)
            return
        if admission.refusal in ANSWERED_HERE or (
            admission.refusal is Refusal.limit and not admission.maybe_retry
        ):
            assert admission.refusal is not None
            answer = domain_error_response(service.refusal_error(admission.refusal))
            await answer(scope, replay, send)
            return
        await self.app({**scope, ADMISSION: admission}, replay, send)


async def _read(receive: Receive, declared: int) -> tuple[list[Message], bool]:
    """The request's messages up to its last body chunk; whether it came whole, in at
    most the declared size."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, False
        size += len(message.get("body", b""))
        if size > declared:
            return messages, False
        if not message.get("more_body", False):
            return messages, True


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """A receive that gives the messages read here, in order, then the connection's."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def install_flash_front(app: Any, ctx: AppContext) -> None:
    app.add_middleware(FlashFront, ctx=ctx)
