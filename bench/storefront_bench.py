"""How fast the H5 storefront's home shows, against a trivial page of the same server.

The demo store is seeded into a temporary SQLite database and the app is served by
uvicorn in a background thread on 127.0.0.1. Headless Chromium (Debian's
``/usr/bin/chromium``, 375×812) opens, N times each and interleaved:

- ``/shop``            the storefront home (search, categories, traffic banner, featured)
- ``/bench/baseline``  a static HTML page of a few hundred bytes, added to the same app

Every load uses a fresh browser context (empty cache; the cache is also disabled
through CDP). Measured in the page: first contentful paint (``paint`` entries), the
load event (navigation timing ``loadEventEnd``) and, for the storefront, "first
screen": when the focus banner and the first product card are in the DOM (the
playbook's target is ≤ 2 s). Demo product photos are drawn at seed time and served
by Siyu (``/media/products/``); requests leaving loopback are aborted, so only Siyu's
own work is timed.

    .venv/bin/python bench/storefront_bench.py [--runs 20]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from playwright.sync_api import Browser, ViewportSize, sync_playwright
from sqlalchemy import create_engine

from siyu.app import create_app
from siyu.bootstrap import build_context
from siyu.config import Env, Settings
from siyu.devtools.demo import seed_demo
from siyu.models import metadata

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT: ViewportSize = {"width": 375, "height": 812}
TARGET_MS = 2000.0
BASELINE_HTML = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>baseline</title></head>
<body><h1>私域 Siyu</h1><p>A trivial static page: the floor for this server and browser.</p></body>
</html>"""

# Records when the storefront's first screen (banner + a product card) is in the DOM.
FIRST_SCREEN_PROBE = """
(() => {
  const ready = () => document.querySelector('[data-testid=banner]') &&
                      document.querySelector('[data-testid=product-card]');
  const mark = () => { if (!window.__firstScreen && ready()) window.__firstScreen = performance.now(); };
  new MutationObserver(mark).observe(document, {childList: true, subtree: true});
})();
"""
METRICS_JS = """
() => {
  const paint = performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint');
  const nav = performance.getEntriesByType('navigation')[0];
  return {
    fcp: paint ? paint.startTime : null,
    load: nav ? nav.loadEventEnd : null,
    first_screen: window.__firstScreen || null,
    bytes: performance.getEntriesByType('resource').reduce((n, e) => n + (e.transferSize || 0),
                                                          nav ? nav.transferSize : 0),
  };
}
"""


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
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


def measure(browser: Browser, base: str, path: str) -> dict[str, float | None]:
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        page.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith(base) else route.abort()
            ),
        )
        if path == "/shop":
            page.add_init_script(FIRST_SCREEN_PROBE)
        page.goto(base + path, wait_until="load")
        if path == "/shop":
            page.wait_for_function("window.__firstScreen", timeout=15_000)
        page.wait_for_function(
            "performance.getEntriesByType('paint').some(e => e.name === 'first-contentful-paint')",
            timeout=15_000,
        )
        result: dict[str, float | None] = page.evaluate(METRICS_JS)
        return result
    finally:
        context.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} not found: install Debian's chromium", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="siyu-storefront-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'siyu.db'}"
        engine = create_engine(url)
        metadata.create_all(engine)
        engine.dispose()
        settings = Settings(env=Env.test, database_url=url, data_dir=Path(tmp), run_worker=False)
        ctx = build_context(settings)
        seed_demo(ctx)
        app = create_app(ctx=ctx, run_worker=False)

        @app.get("/bench/baseline", response_class=HTMLResponse, include_in_schema=False)
        def baseline() -> str:
            return BASELINE_HTML

        samples: dict[str, list[dict[str, float | None]]] = {"/shop": [], "/bench/baseline": []}
        with serve(app) as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for path in samples:  # one warm-up each: server imports, first SQL, browser start
                measure(browser, base, path)
            for _ in range(args.runs):
                for path in samples:
                    samples[path].append(measure(browser, base, path))
            version = browser.version
            browser.close()
        ctx.close()

    def series(path: str, key: str) -> list[float]:
        return [float(v) for s in samples[path] if (v := s.get(key)) is not None]

    print(f"Storefront home vs a trivial static page — Chromium {version}, 375×812,")
    print(f"{args.runs} loads each (fresh context, cache disabled, demo data, SQLite, loopback)")
    print()
    print(
        f"{'metric (ms)':<24}{'storefront p50':>15}{'p90':>9}{'baseline p50':>14}{'p90':>9}{'ratio p50':>11}"
    )
    for key, label in (("fcp", "first contentful paint"), ("load", "load event")):
        shop, floor = series("/shop", key), series("/bench/baseline", key)
        ratio = statistics.median(shop) / statistics.median(floor)
        print(
            f"{label:<24}{statistics.median(shop):>15.1f}{percentile(shop, 90):>9.1f}"
            f"{statistics.median(floor):>14.1f}{percentile(floor, 90):>9.1f}{ratio:>10.1f}x"
        )
    first = series("/shop", "first_screen")
    print(
        f"{'first screen (data)':<24}{statistics.median(first):>15.1f}{percentile(first, 90):>9.1f}"
    )
    shop_kb = statistics.median(series("/shop", "bytes")) / 1024
    floor_kb = statistics.median(series("/bench/baseline", "bytes")) / 1024
    print(f"{'bytes transferred (KiB)':<24}{shop_kb:>15.1f}{'':>9}{floor_kb:>14.1f}")
    print()
    verdict = "meets" if percentile(first, 90) <= TARGET_MS else "MISSES"
    print(
        f"Playbook target: first screen ≤ {TARGET_MS:.0f} ms — p90 {percentile(first, 90):.0f} ms {verdict} it."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
