"""The server process ``siyu serve`` runs (siyu.server): the app served by uvicorn,
the heap settled once its startup has run."""

from __future__ import annotations

import gc
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from siyu.app import create_app
from siyu.server import Server, build_server
from tests.conftest import make_settings


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """This test process goes on after the server: give it its collector back."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def _run(server: Server, sock: socket.socket) -> threading.Thread:
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not (server.started and server.frozen):  # frozen right after it starts
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    return thread


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_serve_settles_the_heap_after_startup(
    sqlite_url: str, tmp_path: Path, unfrozen: None
) -> None:
    app = create_app(make_settings(sqlite_url, tmp_path), run_worker=False)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = build_server(app, host="127.0.0.1", port=port, log_level="warning")
    assert server.frozen == 0 and gc.get_freeze_count() == 0
    thread = _run(server, sock)
    try:
        # the app, its routes and its context were alive at startup: frozen, out of
        # the collector's way
        assert server.frozen > 10_000
        assert gc.get_freeze_count() > 10_000  # less as frozen objects are freed
        assert not any(o is app for o in gc.get_objects())  # generations 0–2 only
        response = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=10)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "ok"

        # what is made afterwards is still collected: a garbage cycle goes away
        first, second = _Node(), _Node()
        first.other, second.other = second, first
        probe = weakref.ref(first)
        del first, second
        assert probe() is not None
        gc.collect()
        assert probe() is None
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()
    assert not thread.is_alive()
