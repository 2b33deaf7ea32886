"""Product images kept by the store itself (``<data dir>/media/products/``), served at
``/media/products/<sha256>.<type>``: named by their content, so a URL never changes
what it shows and can be cached for good. The demo's generated photos live here; an
operator may also list any ``https://`` or store-relative URL."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from pathlib import Path

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


def store_product_image(media_dir: Path, data: bytes) -> str:
    """Keep a product image; returns its store-relative URL. The same bytes are stored
    once; writes are atomic, so a reader never sees half a file."""
    kind = image_kind(data)
    if kind is None:
        raise ValueError("a product image must be PNG, JPEG or WebP")
    name = f"{hashlib.sha256(data).hexdigest()}.{kind}"
    folder = media_dir / "products"
    target = folder / name
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{name}.{secrets.token_hex(4)}.part"
        partial.write_bytes(data)
        os.replace(partial, target)
    return PRODUCT_IMAGE_PREFIX + name
