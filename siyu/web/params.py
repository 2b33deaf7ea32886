"""Query strings read into one pydantic model, for the hot routes.

FastAPI can take a query model (``Annotated[Model, Query()]``), but it re-inspects
each field's annotation on every request (``field_annotation_is_sequence`` and
friends, two dozen calls per field): on the product list that was over a third of
the route's CPU, more than the cached page it serves. :func:`read_query` validates
the query string with the model's compiled pydantic validator instead, and raises the
same ``RequestValidationError`` (so the same 422 body); :func:`query_parameters`
documents the model's fields as the operation's OpenAPI query parameters
(``openapi_extra``), as FastAPI would have.

A repeated parameter keeps its last value, as FastAPI does for a scalar field; a list
field takes every value.
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar, get_args, get_origin

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


@cache
def _list_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields a query string may repeat (``?cart_item_ids=1&cart_item_ids=2``)."""
    return tuple(
        name
        for name, field in model.model_fields.items()
        if any(get_origin(t) is list for t in (field.annotation, *get_args(field.annotation)))
    )


def read_query(model: type[M], request: Request) -> M:
    query = request.query_params
    values: dict[str, Any] = dict(query)
    for name in _list_fields(model):
        if name in values:
            values[name] = query.getlist(name)
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        errors = [
            {**err, "loc": ("query", *err["loc"])}
            for err in exc.errors(include_url=False, include_context=False)
        ]
        raise RequestValidationError(errors) from None


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    """``schema`` with every ``$ref`` to the model's own ``$defs`` replaced by the
    definition itself (an enum of a parameter is described in place)."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            here = {k: v for k, v in schema.items() if k != "$ref"}  # e.g. the default
            return {**_inline(defs[ref.removeprefix("#/$defs/")], defs), **here}
        return {k: _inline(v, defs) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_inline(v, defs) for v in schema]
    return schema


def query_parameters(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting each field of ``model`` as a query parameter."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema["properties"].items():
        param: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": _inline(prop, defs),
        }
        if "description" in prop:
            param["description"] = prop["description"]
        parameters.append(param)
    return {"parameters": parameters}
