"""``POST /api/track``: batches of client events from the mini-program and the H5 store."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from siyu.context import Context
from siyu.tracking import service
from siyu.tracking.buffer import IngestUnavailable
from siyu.tracking.rules import MAX_BODY_BYTES
from siyu.tracking.schemas import TrackRejection, TrackResponse, track_body_schema
from siyu.web.deps import CtxDep, OptionalShopper
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


def tracking_state(app: FastAPI) -> service.TrackingState:
    state: service.TrackingState | None = getattr(app.state, "tracking", None)
    if state is None:
        state = app.state.tracking = service.TrackingState()
    return state


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise service.too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise service.too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _ingest(
    ctx: Context,
    state: service.TrackingState,
    raw: bytes,
    headers: dict[str, str],
    client: str,
    shopper_id: int | None,
) -> service.PendingTrack:
    body = service.read_body(
        raw,
        content_type=headers.get("content-type"),
        content_encoding=headers.get("content-encoding"),
    )
    batch = service.decode_batch(body)
    now = ctx.clock.now()
    wait = state.limiter.acquire(service.device_keys(batch.events, f"ip:{client}"), now)
    if wait > 0:
        raise HTTPException(
            429,
            "上报过于频繁，请稍后再试 / Too many batches from this device; retry later",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    return service.submit_batch(ctx.analytics, state, batch, received_at=now, shopper_id=shopper_id)


def _unavailable(exc: IngestUnavailable) -> JSONResponse:
    return JSONResponse(
        error_body(exc.code, exc.message),
        503,
        headers={"Retry-After": str(exc.retry_after)},
    )


@router.post(
    "/track",
    response_model=TrackResponse,
    responses=_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": track_body_schema()}},
        }
    },
)
async def track(
    request: Request, ctx: CtxDep, shopper: OptionalShopper
) -> TrackResponse | JSONResponse:
    """上报埋点事件（每批 ≤ 500 个，可 gzip）；无效事件逐条返回，其余照常入库，重试不重复计数。

    Report client events (≤ 500 per batch, gzip welcome). Invalid events are listed one
    by one in ``rejected`` while the valid ones are stored; resending a batch never
    double counts (events dedup on ``event_id``). With a shopper's bearer token, events
    default to that shopper, must not name another, and link the device to them.
    A 200 means the accepted events are stored; a 503 means none were acknowledged
    (ingestion busy or a write failed): resend the batch after ``Retry-After``.
    """
    raw = await _read_body(request)
    try:
        pending = await run_in_threadpool(
            _ingest,
            ctx,
            tracking_state(request.app),
            raw,
            dict(request.headers),
            request.client.host if request.client else "unknown",
            shopper.id if shopper else None,
        )
        if pending.buffer is not None:  # group commit: wait for the combined insert
            await pending.buffer.wait_async(pending.stored)
    except IngestUnavailable as exc:
        return _unavailable(exc)
    result = pending.result
    return TrackResponse(
        accepted=result.accepted,
        rejected=[
            TrackRejection(index=r.index, code=r.code, message=r.message) for r in result.rejected
        ],
    )
