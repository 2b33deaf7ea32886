"""Real-browser test support: Debian's Chromium driven by Playwright, and the app
served by uvicorn on a loopback port. Without /usr/bin/chromium browser tests skip,
unless CI=true, where they fail."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from tests.conftest import IN_CI

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def require_chromium() -> None:
    """Call at module level in browser test modules."""
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} not found: install Debian's chromium to run browser tests"
    if IN_CI:
        pytest.fail(message + " (CI=true: browser tests are required)", pytrace=False)
    pytest.skip(message, allow_module_level=True)


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` under uvicorn in a thread; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@contextmanager
def launch_chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright, with the flags this machine needs."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def open_page(
    browser: Any,
    base_url: str,
    *,
    width: int,
    height: int,
    errors: list[str],
    accept_downloads: bool = False,
    timeout_ms: int = 10_000,
) -> Any:
    """A zh-CN tab kept on the app's origin (nothing else is fetched), collecting
    script errors into ``errors``."""
    context = browser.new_context(
        viewport={"width": width, "height": height},
        locale="zh-CN",
        accept_downloads=accept_downloads,
    )
    context.set_default_timeout(timeout_ms)
    page = context.new_page()
    page.route(
        "**/*",
        lambda route: (
            route.continue_() if route.request.url.startswith(base_url) else route.abort()
        ),
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page
