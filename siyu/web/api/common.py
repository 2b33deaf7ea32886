"""What the routers share: one service call in its own transaction, its answer validated
into the response model while the transaction still loads its relations."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Concatenate, ParamSpec, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session

M = TypeVar("M", bound=BaseModel)
P = ParamSpec("P")


def transact(
    session: Session,
    out: type[M],
    call: Callable[Concatenate[Session, P], object],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> M:
    """``call(session, …)`` in a transaction, its result as ``out``."""
    with session.begin():
        return out.model_validate(call(session, *args, **kwargs))


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
