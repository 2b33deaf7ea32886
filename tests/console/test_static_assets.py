"""Static assets go out compressed as the client accepts (brotli, gzip, or as they are),
cacheable, revalidated with ETags; every page's favicon exists."""

from __future__ import annotations

import gzip
import io
import re
from pathlib import Path

import brotli
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from siyu.bootstrap import Context
from siyu.identity.rules import Role
from siyu.web.assets import AssetCache, accepted_encodings
from siyu.web.console import plotly_path
from siyu.web.console.base import STATIC_DIR
from siyu.web.console.dashboard import FINANCE_BUNDLE
from siyu.web.storefront import STATIC_DIR as SHOP_STATIC_DIR
from tests.console.conftest import new_operator, sign_in

PLOTLY = "/console/static/plotly.min.js"
LONG_CACHE = "public, max-age=31536000, immutable"


def raw_get(client: TestClient, url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """The status, headers and the bytes on the wire (httpx would decode them)."""
    with client.stream("GET", url, headers=headers) as response:
        return response.status_code, dict(response.headers), b"".join(response.iter_raw())


def plotly_url(client: TestClient) -> str:
    """The versioned URL the dashboard loads plotly.js from."""
    page = client.get("/console/dashboard").text
    match = re.search(r'src="(/console/static/plotly(?:-finance)?\.min\.js\?v=[^"]+)"', page)
    assert match, "the dashboard does not load plotly.js"
    return match.group(1)


@pytest.fixture
def signed_in(client: TestClient, ctx: Context) -> TestClient:
    sign_in(client, new_operator(ctx, Role.owner))
    return client


def test_plotly_is_sent_gzip_and_brotli_compressed_to_clients_that_accept_them(
    client: TestClient,
) -> None:
    original = plotly_path().read_bytes()
    url = f"{PLOTLY}?v=1"

    # when plotly.js is asked for by a client that takes gzip, and by one that takes br
    status, headers, body = raw_get(client, url, **{"Accept-Encoding": "gzip"})
    br_status, br_headers, br_body = raw_get(
        client, url, **{"Accept-Encoding": "gzip, deflate, br"}
    )

    # then each gets compressed bytes that decode to plotly.js
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert len(body) < len(original) // 2
    assert gzip.decompress(body) == original
    assert br_status == 200
    assert br_headers["content-encoding"] == "br"
    assert len(br_body) < len(body)
    assert brotli.decompress(br_body) == original
    for h in (headers, br_headers):
        assert h["vary"] == "Accept-Encoding"
        assert h["cache-control"] == LONG_CACHE
        assert h["content-type"].startswith("text/javascript")
        assert int(h["content-length"]) == len(body if h is headers else br_body)
        assert "last-modified" in h
    assert headers["etag"] != br_headers["etag"]


def test_without_accept_encoding_plotly_goes_out_as_it_is(client: TestClient) -> None:
    original = plotly_path().read_bytes()

    # when the client says nothing, or refuses the codings
    for accept in ("", "identity", "br;q=0, gzip;q=0"):
        status, headers, body = raw_get(client, f"{PLOTLY}?v=1", **{"Accept-Encoding": accept})

        # then it gets the identity body, still with Vary
        assert status == 200
        assert "content-encoding" not in headers
        assert body == original
        assert headers["vary"] == "Accept-Encoding"


def test_an_etag_the_client_has_gets_a_304(client: TestClient) -> None:
    for accept in ("gzip", "br", ""):
        _, headers, _ = raw_get(client, f"{PLOTLY}?v=1", **{"Accept-Encoding": accept})

        # when the client revalidates with the ETag it was sent
        status, again, body = raw_get(
            client,
            f"{PLOTLY}?v=1",
            **{"Accept-Encoding": accept, "If-None-Match": headers["etag"]},
        )

        # then nothing is sent again
        assert status == 304
        assert body == b""
        assert again["etag"] == headers["etag"]
        assert again["vary"] == "Accept-Encoding"

    stale, _, _ = raw_get(client, PLOTLY, **{"If-None-Match": '"something-else"'})
    assert stale == 200
    _, headers, _ = raw_get(client, PLOTLY)
    since, _, _ = raw_get(client, PLOTLY, **{"If-Modified-Since": headers["last-modified"]})
    assert since == 304


def test_the_pages_load_versioned_assets_cached_for_a_year_and_plain_urls_still_work(
    signed_in: TestClient,
) -> None:
    url = plotly_url(signed_in)

    versioned = signed_in.get(url, headers={"Accept-Encoding": "br"})
    plain = signed_in.get(PLOTLY, headers={"Accept-Encoding": "br"})

    assert versioned.headers["cache-control"] == LONG_CACHE
    bundle = FINANCE_BUNDLE if "plotly-finance" in url else plotly_path()
    assert versioned.content == bundle.read_bytes()
    assert plain.content == plotly_path().read_bytes()
    assert plain.status_code == 200
    assert "max-age" in plain.headers["cache-control"]
    for name in ("console.css", "console.js"):
        status, headers, body = raw_get(
            signed_in, f"/console/static/{name}?v=x", **{"Accept-Encoding": "gzip"}
        )
        assert status == 200
        assert headers["cache-control"] == LONG_CACHE
        if headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        assert body == (STATIC_DIR / name).read_bytes()


def test_storefront_assets_are_compressed_too(client: TestClient) -> None:
    name = max(SHOP_STATIC_DIR.iterdir(), key=lambda p: p.stat().st_size).name

    status, headers, body = raw_get(client, f"/shop/static/{name}?v=1", **{"Accept-Encoding": "br"})

    assert status == 200
    assert headers["content-encoding"] == "br"
    assert headers["vary"] == "Accept-Encoding"
    assert headers["cache-control"] == LONG_CACHE
    assert brotli.decompress(body) == (SHOP_STATIC_DIR / name).read_bytes()
    assert client.get("/shop/static/nope.js").status_code == 404


def test_compressed_variants_are_kept_on_disk_under_the_data_dir(
    client: TestClient, tmp_path: Path
) -> None:
    raw_get(client, PLOTLY, **{"Accept-Encoding": "gzip"})

    # a fresh process (a new cache over the same directory) reads it back
    cache_dir = tmp_path / "cache" / "static"
    stored = list(cache_dir.glob("*.gzip"))
    if not stored:  # this process compressed it for an earlier app: write one now
        fresh = AssetCache(cache_dir)
        fresh._load_or_compress(fresh.file(plotly_path()), "gzip")
        stored = list(cache_dir.glob("*.gzip"))
    assert len(stored) == 1
    assert gzip.decompress(stored[0].read_bytes()) == plotly_path().read_bytes()


def test_accept_encoding_is_read_with_its_weights() -> None:
    assert accepted_encodings("gzip, deflate, br") == ["br", "gzip"]
    assert accepted_encodings("gzip;q=1.0, br;q=0.5") == ["gzip", "br"]
    assert accepted_encodings("*") == ["br", "gzip"]
    assert accepted_encodings("br;q=0, *;q=0.1") == ["gzip"]
    assert accepted_encodings("") == []
    assert accepted_encodings("identity") == []


def test_favicon_is_an_icon_and_the_pages_link_it(client: TestClient) -> None:
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/x-icon"
    assert "max-age" in response.headers["cache-control"]
    icon = Image.open(io.BytesIO(response.content))
    assert icon.format == "ICO"
    assert (32, 32) in icon.info["sizes"]
    assert 'rel="icon" href="/favicon.ico"' in client.get("/console/login").text
    assert 'rel="icon" href="/favicon.ico"' in client.get("/shop").text


def test_a_console_page_after_sign_in_links_the_favicon(signed_in: TestClient) -> None:
    assert 'rel="icon" href="/favicon.ico"' in signed_in.get("/console/dashboard").text


def test_charts_load_the_small_plotly_bundle_unless_a_trace_needs_the_full_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from siyu.web.console import dashboard

    bar = {"data": [{"type": "bar"}, {"type": "scatter"}], "layout": {}}
    sankey = {"data": [{"type": "sankey"}], "layout": {}}
    # without the finance bundle installed, every chart takes the full plotly.js
    monkeypatch.setattr(dashboard, "FINANCE_BUNDLE", tmp_path / "missing.js")
    assert "/plotly.min.js?v=" in dashboard.chart_script(bar)
    # with it, bar/scatter/funnel charts take it and a sankey still needs the full one
    bundle = tmp_path / "plotly-finance.min.js"
    bundle.write_text("/* finance */")
    (tmp_path / "package.json").write_text('{"version": "4.1.0"}')
    monkeypatch.setattr(dashboard, "FINANCE_BUNDLE", bundle)
    dashboard.finance_version.cache_clear()
    assert dashboard.chart_script(bar).endswith("/plotly-finance.min.js?v=4.1.0")
    assert dashboard.chart_script({"data": [{"type": "funnel"}]}).startswith(
        "/console/static/plotly-finance"
    )
    assert "/plotly.min.js?v=" in dashboard.chart_script(sankey)
    dashboard.finance_version.cache_clear()
