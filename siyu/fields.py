"""Request field types shared by the API schemas."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator, Field

MAX_ID = 2**63 - 1  # ids are 64-bit signed integers in every database


def _text_only(value: Any) -> Any:
    """A time must be written as text (ISO 8601 with an offset); a bare number is
    refused rather than read as seconds since 1970."""
    if isinstance(value, int | float):
        raise ValueError("write the time as ISO 8601 text with a UTC offset")
    return value


def not_null(value: object) -> object:
    """PATCH bodies (as a ``mode="before"`` field validator): a field left out keeps its
    value; ``null`` is not a value."""
    if value is None:
        raise ValueError("must not be null")
    return value


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Moment = Annotated[AwareDatetime, BeforeValidator(_text_only)]
