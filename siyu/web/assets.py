"""Static assets served compressed and cacheable: brotli or gzip as the client's
``Accept-Encoding`` allows, with ``Vary: Accept-Encoding``, strong ETags, ``Last-Modified``
and 304s, and the site's favicon.

Each asset is compressed once per process (brotli quality 9, gzip level 9; the 4.8 MB
plotly.min.js takes about a second) on the first request that asks for that encoding,
kept in memory, and written under ``<data dir>/cache/static`` named by the content's
SHA-256, so a restarted server reads it back instead of compressing again. Bodies under
1 KiB, or that would not shrink, go out as they are.

Cache policy: a URL carrying a version (``?v=…``) is ``immutable`` for a year; a plain URL
is cached for five minutes and then revalidated with its ETag.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import mimetypes
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from functools import cache
from pathlib import Path

import brotli
from fastapi import FastAPI, Request
from fastapi.responses import Response
from PIL import Image, ImageDraw

log = logging.getLogger(__name__)

LONG_CACHE = "public, max-age=31536000, immutable"
SHORT_CACHE = "public, max-age=300"
FAVICON_CACHE = "public, max-age=86400"
MIN_COMPRESS_BYTES = 1024
# preferred first when the client rates them equally
ENCODINGS = ("br", "gzip")
TEXT_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}

# (content digest, encoding) -> compressed bytes, or None when compressing does not pay
_compressed: dict[tuple[str, str], bytes | None] = {}
_compress_lock = threading.Lock()


def media_type_of(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix in TEXT_TYPES:
        return f"{TEXT_TYPES[suffix]}; charset=utf-8"
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


def compress(body: bytes, encoding: str) -> bytes:
    if encoding == "br":
        return bytes(brotli.compress(body, quality=9, mode=brotli.MODE_TEXT))
    if encoding == "gzip":
        return gzip.compress(body, compresslevel=9, mtime=0)
    raise ValueError(f"unknown content coding {encoding!r}")


@dataclass
class Asset:
    """One file's bytes, what they are, and when they last changed."""

    body: bytes
    media_type: str
    modified: float
    digest: str = field(init=False)

    def __post_init__(self) -> None:
        self.digest = hashlib.sha256(self.body).hexdigest()

    def etag(self, encoding: str | None) -> str:
        return f'"{self.digest[:20]}{"-" + encoding if encoding else ""}"'

    @property
    def etags(self) -> set[str]:
        return {self.etag(None), *(self.etag(e) for e in ENCODINGS)}


class AssetCache:
    """Compressed variants of assets, computed once and kept in memory and on disk."""

    def __init__(self, cache_dir: Path | None) -> None:
        self.cache_dir = cache_dir
        self._files: dict[tuple[str, int, int], Asset] = {}

    def file(self, path: Path) -> Asset:
        """The asset for a file on disk, reread when its size or mtime changes."""
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        asset = self._files.get(key)
        if asset is None:
            asset = Asset(path.read_bytes(), media_type_of(path.name), stat.st_mtime)
            self._files[key] = asset
        return asset

    def encoded(self, asset: Asset, encoding: str) -> bytes | None:
        key = (asset.digest, encoding)
        if key in _compressed:
            return _compressed[key]
        with _compress_lock:  # one compression at a time, and each only once
            if key not in _compressed:
                _compressed[key] = self._load_or_compress(asset, encoding)
            return _compressed[key]

    def _load_or_compress(self, asset: Asset, encoding: str) -> bytes | None:
        if len(asset.body) < MIN_COMPRESS_BYTES:
            return None
        stored = self.cache_dir / f"{asset.digest}.{encoding}" if self.cache_dir else None
        if stored is not None and stored.is_file():
            return stored.read_bytes()
        data = compress(asset.body, encoding)
        if len(data) >= len(asset.body):
            return None
        if stored is not None:
            try:
                stored.parent.mkdir(parents=True, exist_ok=True)
                partial = stored.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
                partial.write_bytes(data)
                os.replace(partial, stored)
            except OSError as exc:  # a read-only data dir only costs a compression
                log.warning("could not cache %s: %s", stored, exc)
        return data


def asset_cache(app: FastAPI) -> AssetCache:
    """The app's asset cache, under its data dir."""
    existing = getattr(app.state, "asset_cache", None)
    if isinstance(existing, AssetCache):
        return existing
    ctx = getattr(app.state, "ctx", None)
    cache_dir = Path(ctx.settings.data_dir) / "cache" / "static" if ctx is not None else None
    created = AssetCache(cache_dir)
    app.state.asset_cache = created
    return created


def accepted_encodings(header: str) -> list[str]:
    """The codings of ``ENCODINGS`` the client accepts, best first."""
    weights: dict[str, float] = {}
    for part in header.split(","):
        token, _, params = part.strip().partition(";")
        token = token.strip().lower()
        if not token:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        weights[token] = q
    star = weights.get("*", 0.0)
    ranked = [(weights.get(e, star), -i, e) for i, e in enumerate(ENCODINGS)]
    return [e for q, _, e in sorted(ranked, reverse=True) if q > 0]


def _not_modified(request: Request, asset: Asset) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or bool(tags & asset.etags)
    since = request.headers.get("if-modified-since")
    if since:
        try:
            return int(asset.modified) <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError):
            return False
    return False


def asset_response(
    request: Request, asset: Asset, cache: AssetCache, *, cache_control: str | None = None
) -> Response:
    """``asset`` in the best coding the client accepts, or 304 when it has it already.
    ``cache_control`` defaults to a year for versioned URLs (``?v=``), else 5 minutes."""
    if cache_control is None:
        cache_control = LONG_CACHE if request.query_params.get("v") else SHORT_CACHE
    encoding: str | None = None
    body = asset.body
    for candidate in accepted_encodings(request.headers.get("accept-encoding", "")):
        compressed = cache.encoded(asset, candidate)
        if compressed is not None:
            encoding, body = candidate, compressed
            break
    headers = {
        "Cache-Control": cache_control,
        "ETag": asset.etag(encoding),
        "Last-Modified": formatdate(asset.modified, usegmt=True),
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if _not_modified(request, asset):
        return Response(status_code=304, headers=headers)
    if encoding:
        headers["Content-Encoding"] = encoding
    return Response(body, media_type=asset.media_type, headers=headers)


@cache
def favicon_ico() -> bytes:
    """Siyu's icon, drawn here: a white shopping bag on the brand green, 16/32/48 px."""
    size = 96
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=20, fill=(7, 193, 96, 255))
    draw.arc((32, 14, 64, 46), start=180, end=360, fill="white", width=7)  # handle
    draw.rounded_rectangle((20, 30, 76, 80), radius=8, fill="white")  # bag
    draw.ellipse((38, 44, 58, 64), fill=(7, 193, 96, 255))  # a dot: 私
    out = io.BytesIO()
    image.save(out, format="ICO", sizes=[(16, 16), (32, 32), (48, 48)])
    return out.getvalue()


FAVICON_MODIFIED = 1_767_225_600.0  # 2026-01-01: the drawing above is code, not a file


def install_assets(app: FastAPI) -> None:
    """``/favicon.ico``: asked for by every browser on every site."""
    favicon: Callable[[], Asset] = cache(
        lambda: Asset(favicon_ico(), "image/x-icon", FAVICON_MODIFIED)
    )

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon_route(request: Request) -> Response:
        return asset_response(
            request, favicon(), asset_cache(request.app), cache_control=FAVICON_CACHE
        )
