"""``POST /api/track``: batches of client events from the mini-program and the H5 store."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from siyu.tracking import ingest
from siyu.tracking.buffer import IngestUnavailable
from siyu.tracking.rules import MAX_BODY_BYTES
from siyu.tracking.schemas import TrackResponse, track_body_schema
from siyu.web.deps import AppContext, optional_shopper_of
from siyu.web.errors import error_body

router = APIRouter(prefix="/api", tags=["tracking"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "JSON 格式错误 / Malformed JSON or gzip"},
    413: {"description": "超过 1 MB 或 500 个事件 / Over 1 MB or 500 events"},
    415: {"description": "非 JSON 或非 gzip / Not JSON, or an encoding other than gzip"},
    422: {"description": '请求体结构错误 / The body is not {"batch": [...]}'},
    429: {"description": "该设备上报过于频繁，见 Retry-After / Too many batches; see Retry-After"},
    503: {
        "description": "写入繁忙或失败，未确认任何事件，见 Retry-After 后重试 / "
        "Ingestion busy or failed: nothing was acknowledged; retry after Retry-After"
    },
}


def tracking_state(app: FastAPI) -> ingest.TrackingState:
    state: ingest.TrackingState | None = getattr(app.state, "tracking", None)
    if state is None:
        state = app.state.tracking = ingest.TrackingState()
    return state


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ingest.too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ingest.too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(
    ctx: AppContext, state: ingest.TrackingState, request: Request, raw: bytes
) -> tuple[ingest.DecodedBatch, datetime]:
    """The batch and its receipt time, once the device's rate allows it."""
    headers = request.headers
    body = ingest.read_body(
        raw,
        content_type=headers.get("content-type"),
        content_encoding=headers.get("content-encoding"),
    )
    batch = ingest.decode_batch(body)
    now = ctx.clock.now()
    client = request.client.host if request.client else "unknown"
    wait = state.limiter.acquire(ingest.device_keys(batch.events, f"ip:{client}"), now)
    if wait > 0:
        raise HTTPException(
            429,
            "上报过于频繁，请稍后再试 / Too many batches from this device; retry later",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    return batch, now


def _unavailable(exc: IngestUnavailable) -> JSONResponse:
    return JSONResponse(
        error_body(exc.code, exc.message),
        503,
        headers={"Retry-After": str(exc.retry_after)},
    )


def _answer(result: ingest.TrackResult) -> Response:
    """``TrackResponse`` as JSON, written directly (the same bytes FastAPI would write)."""
    rejected = [{"index": r.index, "code": r.code, "message": r.message} for r in result.rejected]
    return Response(
        orjson.dumps({"accepted": result.accepted, "rejected": rejected}),
        media_type="application/json",
    )


# The bearer token is read from the header by hand (no dependency injection on this
# hot route); it is documented as the OptionalShopper dependency documented it.
_AUTHORIZATION_PARAMETER = {
    "in": "header",
    "name": "authorization",
    "required": False,
    "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Authorization"},
}


@router.post(
    "/track",
    response_model=TrackResponse,
    responses=_ERRORS,
    openapi_extra={
        "parameters": [_AUTHORIZATION_PARAMETER],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": track_body_schema()}},
        },
    },
)
async def track(request: Request) -> Response:
    """上报埋点事件（每批 ≤ 500 个，可 gzip）；无效事件逐条返回，其余照常入库，重试不重复计数。

    Report client events (≤ 500 per batch, gzip welcome). Invalid events are listed one
    by one in ``rejected`` while the valid ones are stored; resending a batch never
    double counts (events dedup on ``event_id``). With a shopper's bearer token, events
    default to that shopper, must not name another, and link the device to them.
    A 200 means the accepted events are stored; a 503 means none were acknowledged
    (ingestion busy or a write failed): resend the batch after ``Retry-After``.
    """
    # Decoding, validating and queueing are CPU work without I/O: they run here, on the
    # event loop (a worker thread would only add a hand-over: the GIL serialises them
    # anyway). What writes to the store (linking devices, a store without group commit)
    # runs in the thread pool.
    ctx: AppContext = request.app.state.ctx
    authorization = request.headers.get("authorization")
    shopper = optional_shopper_of(ctx, authorization) if authorization else None
    shopper_id = shopper.id if shopper else None
    raw = await _read_body(request)
    state = tracking_state(request.app)
    batch, now = _decode(ctx, state, request, raw)
    store = ctx.analytics
    try:
        buffer = ingest.ingest_buffer(store)
        if buffer is None:
            pending = await run_in_threadpool(
                ingest.submit_batch, store, state, batch, received_at=now, shopper_id=shopper_id
            )
        else:
            queued = ingest.queue_batch(
                buffer, state, batch, received_at=now, shopper_id=shopper_id
            )
            if queued.links:
                await run_in_threadpool(ingest.link_new_devices, store, state, queued.links, now)
            pending = queued.pending
        if pending.buffer is not None:  # group commit: wait for the combined insert
            await pending.buffer.wait_async(pending.stored)
    except IngestUnavailable as exc:
        return _unavailable(exc)
    return _answer(pending.result)
