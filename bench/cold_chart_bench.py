"""How long a console chart page (the dashboard and its plotly trend chart, which loads
plotly.js: the 1.2 MB "finance" bundle when installed, else the 4.8 MB full one) takes
to load in a cold browser.

The demo store is seeded into a temporary SQLite database and the app is served by
uvicorn in a background thread on 127.0.0.1. One request per static asset warms the
server first (imports, first SQL, any one-off precompression), then headless Chromium
(Debian's ``/usr/bin/chromium``) signs in through the login form's HTTP endpoints and
opens ``/console/dashboard`` N times, each in a fresh browser context (empty
cache, also disabled through CDP). Measured in the page: the load event (navigation
timing ``loadEventEnd``), first contentful paint, and the bytes transferred.

``--mbps`` additionally throttles the network through CDP (e.g. ``--mbps 20`` for a
typical office/4G link) so the effect of the transfer size shows beyond loopback.

    .venv/bin/python bench/cold_chart_bench.py [--runs 10] [--mbps 20]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import create_engine

from siyu.app import create_app
from siyu.bootstrap import build_context
from siyu.config import Env, Settings
from siyu.devtools.demo import seed_demo
from siyu.devtools.demo_data import DEMO_PASSWORD
from siyu.models import metadata

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.browser import CHROMIUM, CHROMIUM_ARGS, serve

PAGE = "/console/dashboard"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
METRICS_JS = """
() => {
  const paint = performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint');
  const nav = performance.getEntriesByType('navigation')[0];
  return {
    fcp: paint ? paint.startTime : null,
    load: nav ? nav.loadEventEnd : null,
    bytes: performance.getEntriesByType('resource').reduce((n, e) => n + (e.transferSize || 0),
                                                          nav ? nav.transferSize : 0),
  };
}
"""


def warm_up(base: str) -> None:
    """Fetch the page's assets once, the way a browser asks for them."""
    with httpx.Client(base_url=base, timeout=60) as http:
        html = http.get("/console/login").text
        for src in re.findall(r'(?:src|href)="(/console/static/[^"]+)"', html):
            http.get(src, headers={"Accept-Encoding": "gzip, deflate, br"})
        for bundle in ("plotly.min.js", "plotly-finance.min.js"):
            http.get(f"/console/static/{bundle}", headers={"Accept-Encoding": "gzip, deflate, br"})


def measure(browser: Browser, base: str, mbps: float | None) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    try:
        login = context.request.get(base + "/console/login")
        match = CSRF_RE.search(login.text())
        assert match, "no CSRF token on the login page"
        signed_in = context.request.post(
            base + "/console/login",
            form={"username": "admin", "password": DEMO_PASSWORD, "csrf_token": match.group(1)},
            max_redirects=0,
        )
        assert signed_in.status == 303, signed_in.status
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        if mbps:
            cdp.send(
                "Network.emulateNetworkConditions",
                {
                    "offline": False,
                    "latency": 20,
                    "downloadThroughput": mbps * 1_000_000 / 8,
                    "uploadThroughput": mbps * 1_000_000 / 8,
                },
            )
        page.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith(base) else route.abort()
            ),
        )
        page.goto(base + PAGE, wait_until="load", timeout=60_000)
        assert page.url.endswith(PAGE), page.url
        result: dict[str, Any] = page.evaluate(METRICS_JS)
        result["plotly"] = page.evaluate("typeof Plotly")
        return result
    finally:
        context.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--mbps", type=float, default=None, help="throttle to this bandwidth")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} not found: install Debian's chromium", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="siyu-chart-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'siyu.db'}"
        engine = create_engine(url)
        metadata.create_all(engine)
        engine.dispose()
        settings = Settings(env=Env.test, database_url=url, data_dir=Path(tmp), run_worker=False)
        ctx = build_context(settings)
        seed_demo(ctx)
        app = create_app(ctx=ctx, run_worker=False)
        samples: list[dict[str, Any]] = []
        with serve(app) as base, sync_playwright() as playwright:
            warm_up(base)
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            measure(browser, base, args.mbps)  # browser start-up, first page render
            for _ in range(args.runs):
                samples.append(measure(browser, base, args.mbps))
            version = browser.version
            browser.close()
        ctx.close()

    assert all(s["plotly"] == "object" for s in samples), "plotly.js did not load"
    loads = sorted(float(s["load"]) for s in samples)
    fcps = sorted(float(s["fcp"]) for s in samples if s["fcp"] is not None)
    kib = statistics.median(float(s["bytes"]) for s in samples) / 1024
    link = f"throttled to {args.mbps:g} Mbit/s + 20 ms" if args.mbps else "loopback, unthrottled"
    print(f"Cold console chart page {PAGE} — Chromium {version}, {args.runs} loads,")
    print(f"fresh context each, cache disabled, demo data, SQLite, {link}")
    print(f"load event   p50 {statistics.median(loads):7.0f} ms   max {loads[-1]:7.0f} ms")
    print(f"first paint  p50 {statistics.median(fcps):7.0f} ms")
    print(f"transferred  p50 {kib:7.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
