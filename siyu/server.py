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
from uvicorn.supervisors import multiprocess


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


# --- several API processes ------------------------------------------------------------
#
# ``siyu serve --workers N`` runs uvicorn's supervisor: the parent binds the socket and
# spawns N processes that share it, restarts one that dies and stops them all on
# SIGTERM/SIGINT. Each process builds its app from the environment
# (:func:`app_from_environment`) and serves with :class:`Server`, so every one of them
# settles its heap after its own startup.


class _SettledProcess(multiprocess.Process):
    """uvicorn's worker process, serving with :class:`Server` instead of uvicorn's."""

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = Server(config=self.config)
        return self._server


class Supervisor(multiprocess.Multiprocess):
    """uvicorn's multi-process supervisor whose processes serve with :class:`Server`."""

    def run(self) -> None:
        # The supervisor makes (and remakes) its processes with its module's ``Process``;
        # this parent process does nothing but supervise, so the name is rebound for good.
        setattr(multiprocess, "Process", _SettledProcess)  # noqa: B010
        super().run()


def app_from_environment() -> Any:
    """The app factory each API process calls: settings from the environment (the
    supervisor sets ``SIYU_RUN_WORKER`` for its processes)."""
    from siyu.app import create_app
    from siyu.config import Settings

    return create_app(Settings())


def serve_processes(
    *,
    host: str,
    port: int,
    processes: int,
    factory: str = "siyu.server:app_from_environment",
    **options: Any,
) -> None:
    """Serve the app ``factory`` (an import string) builds from ``processes`` API
    processes sharing one socket, until stopped."""
    config = uvicorn.Config(
        factory,
        factory=True,
        host=host,
        port=port,
        workers=processes,
        **options,
    )
    Supervisor(config, sockets=[config.bind_socket()]).run()
