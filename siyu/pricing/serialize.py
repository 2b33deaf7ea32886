"""A quote as plain JSON: stored on the order and returned by the checkout API."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from siyu.pricing.info import Quote

_QUOTE = TypeAdapter(Quote)


def quote_to_dict(quote: Quote) -> dict[str, Any]:
    data: dict[str, Any] = _QUOTE.dump_python(quote, mode="json")
    return data
