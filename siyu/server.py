"""The HTTP server process: uvicorn running the app, with the heap settled after startup.

``siyu serve`` and the benches serve through :func:`build_server`, so what a bench
measures is what production runs.

**Why settle the heap.** Once started, the process holds a few hundred thousand
long-lived objects (FastAPI routes, pydantic schemas, SQLAlchemy metadata, templates,
numpy and scipy for CLV). CPython's cyclic garbage collector walks all of them in
every full collection, and a busy ``/api/track`` (about 600 dicts per batch of 200
events, rows held in the group commit for up to 50 ms) triggers one every few hundred
milliseconds: about a quarter of the server's CPU went to it. :func:`settle_heap`
collects once and moves everything alive to the permanent generation
(:func:`gc.freeze`), which collections skip; objects made later are collected as
usual. What is frozen is never freed by the collector (reference counting still frees
it), so only a server process does this, once, after its startup — not the factory,
which tests call many times in one process.
"""

from __future__ import annotations

import gc
import socket
from typing import Any

import uvicorn


def settle_heap() -> int:
    """Collect, then freeze every live object out of the collector's way; returns how
    many objects are frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


class Server(uvicorn.Server):
    """uvicorn's server, settling the heap once the app's startup has run (``frozen``
    turns non-zero just after ``started`` turns true)."""

    frozen = 0

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.should_exit:
            self.frozen = settle_heap()


def build_server(app: Any, *, host: str, port: int, **options: Any) -> Server:
    """A :class:`Server` for ``app``; ``options`` are ``uvicorn.Config``'s."""
    return Server(uvicorn.Config(app, host=host, port=port, **options))
