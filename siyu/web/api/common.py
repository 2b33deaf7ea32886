"""What the routers share: one service call in its own transaction, its answer validated
into the response model while the transaction still loads its relations; the answer of
a route that only acts (204); a response model read off an object's attributes; a
stored image served for good."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from fastapi import Response
from fastapi.responses import FileResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")
P = ParamSpec("P")


def transact_into(
    session: Session,
    render: Callable[[Any], R],
    call: Callable[Concatenate[Session, P], object],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> R:
    """``call(session, …)`` in a transaction, its result through ``render`` (inside the
    transaction, so ``render`` may still load relations)."""
    with session.begin():
        return render(call(session, *args, **kwargs))


def transact(
    session: Session,
    out: type[M],
    call: Callable[Concatenate[Session, P], object],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> M:
    """``call(session, …)`` in a transaction, its result as ``out``."""
    return transact_into(session, out.model_validate, call, *args, **kwargs)


def transact_list(
    session: Session,
    out: type[M],
    call: Callable[Concatenate[Session, P], Iterable[object]],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> list[M]:
    """``call(session, …)`` in a transaction, each row it returns as ``out``."""
    with session.begin():
        return [out.model_validate(row) for row in call(session, *args, **kwargs)]


def transact_no_content(
    session: Session,
    call: Callable[Concatenate[Session, P], object],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> Response:
    """``call(session, …)`` in a transaction, answered with an empty 204."""
    with session.begin():
        call(session, *args, **kwargs)
    return Response(status_code=204)


def from_fields(out: type[M], source: object, /, **given: Any) -> M:
    """``out`` from the attributes of ``source`` that it has fields for, with ``given``
    values beside or instead of them (an attribute ``given`` replaces is never read)."""
    read = {
        f: getattr(source, f) for f in out.model_fields if f not in given and hasattr(source, f)
    }
    return out.model_validate(read | given)


def immutable_file(path: Path, media_type: str) -> FileResponse:
    """A stored file named by its content: cached for good, never sniffed or run."""
    return FileResponse(
        path,
        media_type=media_type,
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
        },
    )
