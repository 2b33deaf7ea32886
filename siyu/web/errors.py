"""One error shape everywhere: ``{"error": {"code", "message", "fields"}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from siyu.errors import DomainError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
}


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def domain_error_response(exc: DomainError) -> JSONResponse:
    """A domain error in the API's error shape, with its status."""
    body = error_body(exc.code, exc.message, exc.fields)
    body["error"].update(exc.extra)
    return JSONResponse(body, exc.http_status)


TOO_LARGE_MESSAGE = "请求体过大 / The request body is too large"


class BodyLimit:
    """At most ``max_body_size`` bytes of request body, refused in the API's error shape.

    A declared Content-Length over the limit is answered at once, before the app runs;
    a body that grows past it while streaming in (chunked) ends the request with a 413
    from the exception handlers. (FastAPI's own ``max_body_size`` answers the first case
    in plain text, past any handler.)"""

    def __init__(
        self, app: ASGIApp, max_body_size: int, larger: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_body_size = max_body_size
        self.larger = larger or {}  # path prefix → its own limit (the console's uploads)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        limit = next(
            (n for prefix, n in self.larger.items() if path.startswith(prefix)),
            self.max_body_size,
        )
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            response = JSONResponse(error_body("payload_too_large", TOO_LARGE_MESSAGE), 413)
            await response(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, TOO_LARGE_MESSAGE)
            return message

        await self.app(scope, limited, send)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(loc[-1] if loc else "request")


def install_error_handlers(
    app: FastAPI, *, max_body_size: int | None = None, larger: dict[str, int] | None = None
) -> None:
    if max_body_size is not None:
        app.add_middleware(BodyLimit, max_body_size=max_body_size, larger=larger)

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return domain_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields: dict[str, str] = {}
        for err in exc.errors():
            fields.setdefault(_field_name(tuple(err.get("loc", ()))), str(err.get("msg", "")))
        return JSONResponse(
            error_body(
                "invalid_input",
                "请求参数有误，请检查标出的字段 / Some fields are invalid; see fields",
                fields,
            ),
            422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(exc.detail)),
            exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: Exception) -> JSONResponse:
        # A value that passed validation but the database cannot hold: an integer past
        # 64 bits (SQLite raises OverflowError, PostgreSQL a DataError) or text
        # PostgreSQL refuses. It came from the request; the transaction rolled back.
        log.warning(
            "database refused a value on %s %s: %s",
            request.method,
            request.url.path,
            type(exc).__name__,
        )
        return JSONResponse(
            error_body(
                "value_out_of_range",
                "参数值超出允许范围 / A value in the request is out of range",
            ),
            422,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body("internal_error", "服务器开小差了，请稍后再试 / Something went wrong"), 500
        )
