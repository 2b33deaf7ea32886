"""Product images kept by the store itself (``<data dir>/media/products/``), served at
``/media/products/<sha256>.<type>``: named by their content, so a URL never changes
what it shows and can be cached for good. The demo's generated photos live here; an
operator may also list any ``https://`` or store-relative URL."""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
from pathlib import Path

from PIL import Image, ImageOps

from siyu.identity.rules import sniff_image

PRODUCT_IMAGE_PREFIX = "/media/products/"
PRODUCT_IMAGE_NAME_RE = re.compile(r"^[0-9a-f]{64}\.(png|jpg|webp)$")
PRODUCT_IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}


def image_kind(data: bytes) -> str | None:
    """The image type of ``data`` by its signature (png, jpg, webp), else None: an avatar
    may be a GIF, a product image may not."""
    kind = sniff_image(data)
    return kind if kind in PRODUCT_IMAGE_TYPES else None


def product_image_path(media_dir: Path, name: str) -> Path | None:
    """The file behind ``/media/products/<name>``, or None when the name is not one this
    store could have written (anything else, ``..`` and slashes included) or is missing."""
    if PRODUCT_IMAGE_NAME_RE.match(name) is None:
        return None
    path = media_dir / "products" / name
    return path if path.is_file() else None


def product_image_url(data: bytes) -> str:
    """The store-relative URL ``data`` is (or would be) kept under."""
    kind = image_kind(data)
    if kind is None:
        raise ValueError("a product image must be PNG, JPEG or WebP")
    return f"{PRODUCT_IMAGE_PREFIX}{hashlib.sha256(data).hexdigest()}.{kind}"


def store_product_image(media_dir: Path, data: bytes) -> str:
    """Keep a product image; returns its store-relative URL. The same bytes are stored
    once; writes are atomic, so a reader never sees half a file."""
    name = product_image_url(data)[len(PRODUCT_IMAGE_PREFIX) :]
    folder = media_dir / "products"
    target = folder / name
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{name}.{secrets.token_hex(4)}.part"
        partial.write_bytes(data)
        os.replace(partial, target)
    return PRODUCT_IMAGE_PREFIX + name


# ---------------------------------------------------------------- an operator's upload

UPLOAD_MAX_BYTES = 5 * 1024 * 1024
UPLOAD_MAX_PIXELS = 40_000_000  # a 40-megapixel photo opens; a decompression bomb does not
UPLOAD_LONGEST_SIDE = 1200


class ImageRefused(ValueError):
    """An upload that is not kept, and why: ``not_image``, ``too_big``, ``too_many_pixels``
    or ``corrupt`` (a message id ``field.image_<reason>`` in the console)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def prepare_product_image(data: bytes) -> bytes:
    """An uploaded product image made ready to keep: checked by its content (PNG, JPEG
    or WebP), its size (``UPLOAD_MAX_BYTES``) and pixel count (``UPLOAD_MAX_PIXELS``),
    turned upright, and shrunk so the longest side is at most ``UPLOAD_LONGEST_SIDE``
    (aspect kept). Raises ImageRefused; nothing is written here."""
    if len(data) > UPLOAD_MAX_BYTES:
        raise ImageRefused("too_big")
    kind = image_kind(data)
    if kind is None:
        raise ImageRefused("not_image")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            if width * height > UPLOAD_MAX_PIXELS:
                raise ImageRefused("too_many_pixels")
            probe.load()
            image = ImageOps.exif_transpose(probe)
    except ImageRefused:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageRefused("corrupt") from exc
    image.thumbnail((UPLOAD_LONGEST_SIDE, UPLOAD_LONGEST_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if kind == "jpg":
        image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    elif kind == "webp":
        image.save(out, "WEBP", quality=85)
    else:
        image.save(out, "PNG", optimize=True)
    return out.getvalue()
