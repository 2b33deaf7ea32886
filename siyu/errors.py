"""Domain errors: a stable string code, a human message, optional per-field details.

The web layer maps each kind to one HTTP status in one handler and renders
``{"error": {"code", "message", "fields"}}``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    http_status: ClassVar[int] = 400

    def __init__(self, code: str, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields or {}
        # More of the answer beside code/message/fields (``quote_changed`` carries the
        # new quote); the handler adds these keys to the error object.
        self.extra: dict[str, Any] = {}

    def __init_subclass__(cls, http_status: int | None = None, **kwargs: Any) -> None:
        """A kind of error names its HTTP status in its class line:
        ``class NotFound(DomainError, http_status=404)``."""
        super().__init_subclass__(**kwargs)
        if http_status is not None:
            cls.http_status = http_status


class InvalidInput(DomainError, http_status=422): ...


class NotFound(DomainError, http_status=404): ...


class Conflict(DomainError, http_status=409): ...


class PayloadTooLarge(DomainError, http_status=413): ...


class UnsupportedMediaType(DomainError, http_status=415): ...


class Unauthorized(DomainError, http_status=401): ...


class Forbidden(DomainError, http_status=403): ...


class TooManyRequests(DomainError, http_status=429): ...


class UpstreamUnavailable(DomainError, http_status=503): ...


class UpstreamError(DomainError, http_status=502): ...
