"""The demo store's product photos, drawn at seed time with Pillow: no network.

Each picture is a studio-style tile: a soft two-colour gradient, a glow behind the
product, the product's silhouette (a lipstick, a dropper bottle, a mug, a T-shirt…
chosen by its category) with a floor shadow. Colours come from the top category's
palette, varied by the product number and the SKU, so the catalog looks deliberate
and two runs draw the same bytes. 600×600 JPEG, about 10–20 KB each.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
from collections.abc import Callable
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SIZE = 600
SCALE = 2  # drawn at twice the size and reduced: smooth edges
Color = tuple[int, int, int]
Draw = ImageDraw.ImageDraw

# Top category → (hue range in degrees, saturation, lightness) of its backgrounds.
PALETTES: dict[str, tuple[tuple[int, int], float, float]] = {
    "美妆护肤": ((330, 380), 0.55, 0.86),  # rose, peach
    "食品饮料": ((20, 50), 0.50, 0.84),  # caramel, amber
    "家居生活": ((90, 160), 0.28, 0.84),  # sage, eucalyptus
    "母婴": ((185, 215), 0.45, 0.87),  # sky, mint
    "服饰": ((215, 265), 0.30, 0.84),  # slate, lavender
}


def _hsl(hue: float, sat: float, light: float) -> Color:
    r, g, b = colorsys.hls_to_rgb((hue % 360) / 360, light, sat)
    return round(r * 255), round(g * 255), round(b * 255)


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "big")


# ---------------------------------------------------------------- silhouettes
# Each draws into a SIZE*SCALE canvas, centred on (cx, cy) = the middle, in ``body``
# (the product's colour) with ``accent`` details.


def _lipstick(d: Draw, s: int, body: Color, accent: Color) -> None:
    c = s // 2
    d.rounded_rectangle((c - 110, s * 0.50, c + 110, s * 0.80), 26, fill=_shift(body, -80))
    d.rectangle((c - 90, s * 0.38, c + 90, s * 0.51), fill=(235, 205, 140))
    d.polygon(
        [(c - 74, s * 0.38), (c + 74, s * 0.38), (c + 74, s * 0.20), (c - 74, s * 0.29)], fill=body
    )


def _palette(d: Draw, s: int, body: Color, accent: Color) -> None:
    d.rounded_rectangle((s * 0.24, s * 0.30, s * 0.76, s * 0.74), 40, fill=accent)
    for row in range(3):
        for col in range(3):
            x = s * (0.33 + col * 0.17)
            y = s * (0.39 + row * 0.13)
            shade = _shift(body, (row * 3 + col - 4) * 9)
            d.ellipse((x - 44, y - 44, x + 44, y + 44), fill=shade)


def _sachet(d: Draw, s: int, body: Color, accent: Color) -> None:
    d.rounded_rectangle((s * 0.30, s * 0.24, s * 0.70, s * 0.78), 30, fill=body)
    d.rectangle((s * 0.30, s * 0.24, s * 0.70, s * 0.30), fill=accent)
    d.ellipse((s * 0.42, s * 0.44, s * 0.58, s * 0.60), fill=accent)


def _dropper(d: Draw, s: int, body: Color, accent: Color) -> None:
    c = s // 2
    d.rounded_rectangle((c - 110, s * 0.42, c + 110, s * 0.80), 60, fill=body)
    d.rectangle((c - 44, s * 0.33, c + 44, s * 0.43), fill=accent)
    d.rounded_rectangle((c - 30, s * 0.20, c + 30, s * 0.34), 28, fill=accent)
    d.rounded_rectangle((c - 70, s * 0.54, c + 70, s * 0.68), 10, fill=_shift(body, 40))


def _mug(d: Draw, s: int, body: Color, accent: Color) -> None:
    d.ellipse((s * 0.62, s * 0.44, s * 0.80, s * 0.66), outline=body, width=36)
    d.rounded_rectangle((s * 0.26, s * 0.36, s * 0.68, s * 0.78), 50, fill=body)
    d.ellipse((s * 0.26, s * 0.32, s * 0.68, s * 0.42), fill=accent)
    for k in range(3):
        x = s * (0.37 + k * 0.10)
        d.arc((x - 30, s * 0.16, x + 30, s * 0.30), 200, 340, fill=(255, 255, 255), width=12)


def _tin(d: Draw, s: int, body: Color, accent: Color) -> None:
    d.rounded_rectangle((s * 0.32, s * 0.28, s * 0.68, s * 0.80), 40, fill=body)
    d.rounded_rectangle((s * 0.30, s * 0.24, s * 0.70, s * 0.34), 24, fill=accent)
    d.ellipse((s * 0.42, s * 0.48, s * 0.58, s * 0.64), fill=accent)


def _pouch(d: Draw, s: int, body: Color, accent: Color) -> None:
    d.polygon(
        [(s * 0.30, s * 0.26), (s * 0.70, s * 0.26), (s * 0.74, s * 0.80), (s * 0.26, s * 0.80)],
        fill=body,
    )
    d.rectangle((s * 0.30, s * 0.26, s * 0.70, s * 0.32), fill=accent)
    d.rounded_rectangle((s * 0.36, s * 0.46, s * 0.64, s * 0.64), 30, fill=accent)


def _candle(d: Draw, s: int, body: Color, accent: Color) -> None:
    d.rounded_rectangle((s * 0.30, s * 0.40, s * 0.70, s * 0.80), 46, fill=body)
    d.rectangle((s * 0.30, s * 0.54, s * 0.70, s * 0.64), fill=accent)
    d.line((s * 0.5, s * 0.40, s * 0.5, s * 0.34), fill=(80, 60, 50), width=10)
    d.ellipse((s * 0.47, s * 0.22, s * 0.53, s * 0.34), fill=(255, 190, 90))


def _box(d: Draw, s: int, body: Color, accent: Color) -> None:
    d.polygon(
        [(s * 0.24, s * 0.40), (s * 0.50, s * 0.30), (s * 0.76, s * 0.40), (s * 0.50, s * 0.50)],
        fill=_shift(body, 30),
    )
    d.polygon(
        [(s * 0.24, s * 0.40), (s * 0.50, s * 0.50), (s * 0.50, s * 0.80), (s * 0.24, s * 0.70)],
        fill=body,
    )
    d.polygon(
        [(s * 0.50, s * 0.50), (s * 0.76, s * 0.40), (s * 0.76, s * 0.70), (s * 0.50, s * 0.80)],
        fill=_shift(body, -30),
    )
    d.line((s * 0.37, s * 0.35, s * 0.63, s * 0.45), fill=accent, width=22)


def _pillow(d: Draw, s: int, body: Color, accent: Color) -> None:
    d.rounded_rectangle((s * 0.20, s * 0.36, s * 0.80, s * 0.74), 110, fill=body)
    d.rounded_rectangle((s * 0.28, s * 0.44, s * 0.72, s * 0.66), 80, outline=accent, width=12)


def _jar(d: Draw, s: int, body: Color, accent: Color) -> None:
    d.rounded_rectangle((s * 0.30, s * 0.36, s * 0.70, s * 0.80), 70, fill=body)
    d.rounded_rectangle((s * 0.33, s * 0.26, s * 0.67, s * 0.38), 20, fill=accent)
    d.rounded_rectangle((s * 0.36, s * 0.50, s * 0.64, s * 0.66), 16, fill=(255, 255, 255))


def _pump(d: Draw, s: int, body: Color, accent: Color) -> None:
    c = s // 2
    d.rounded_rectangle((c - 100, s * 0.40, c + 100, s * 0.80), 50, fill=body)
    d.rectangle((c - 20, s * 0.28, c + 20, s * 0.41), fill=accent)
    d.rounded_rectangle((c - 20, s * 0.25, c + 90, s * 0.30), 12, fill=accent)
    d.ellipse((c - 50, s * 0.52, c + 50, s * 0.64), fill=(255, 255, 255))


def _tee(d: Draw, s: int, body: Color, accent: Color) -> None:
    pts = [(0.38, 0.26), (0.62, 0.26), (0.80, 0.36), (0.73, 0.48), (0.66, 0.44),
           (0.66, 0.80), (0.34, 0.80), (0.34, 0.44), (0.27, 0.48), (0.20, 0.36)]  # fmt: skip
    d.polygon([(x * s, y * s) for x, y in pts], fill=body)
    d.chord((s * 0.43, s * 0.20, s * 0.57, s * 0.32), 0, 180, fill=accent)


def _sock(d: Draw, s: int, body: Color, accent: Color) -> None:
    d.rounded_rectangle((s * 0.40, s * 0.22, s * 0.58, s * 0.62), 20, fill=body)
    d.rounded_rectangle((s * 0.30, s * 0.54, s * 0.58, s * 0.74), 60, fill=body)
    d.rectangle((s * 0.40, s * 0.22, s * 0.58, s * 0.30), fill=accent)
    d.ellipse((s * 0.28, s * 0.58, s * 0.40, s * 0.74), fill=accent)


def _ring(d: Draw, s: int, body: Color, accent: Color) -> None:
    d.ellipse((s * 0.26, s * 0.28, s * 0.74, s * 0.76), outline=body, width=70)
    d.ellipse((s * 0.36, s * 0.38, s * 0.64, s * 0.66), outline=accent, width=16)


SHAPES: dict[str, Callable[[Draw, int, Color, Color], None]] = {
    "口红": _lipstick, "眼影": _palette, "面膜": _sachet, "精华": _dropper,
    "咖啡": _mug, "茶叶": _tin, "零食": _pouch,
    "香薰": _candle, "收纳": _box, "床品": _pillow,
    "纸尿裤": _box, "辅食": _jar, "洗护": _pump,
    "T恤": _tee, "袜子": _sock, "配饰": _ring,
}  # fmt: skip


def _shift(color: Color, amount: int) -> Color:
    r, g, b = (max(0, min(255, c + amount)) for c in color)
    return r, g, b


# ---------------------------------------------------------------- the tile


@lru_cache(maxsize=512)
def product_photo(top: str, leaf: str, product_no: int, variant: int) -> bytes:
    """A JPEG of product ``product_no`` in ``leaf`` (under ``top``); ``variant`` 0 is
    the main photo, others the second photo and the SKUs'. Same arguments, same bytes."""
    (lo, hi), sat, light = PALETTES.get(top, ((0, 360), 0.4, 0.85))
    seed = _seed(top, leaf, product_no)
    hue = lo + seed % max(1, hi - lo) + variant * 23
    start = _hsl(hue, sat, light + 0.06)
    end = _hsl(hue + 28, sat, light - 0.10)
    s = SIZE

    # A diagonal gradient from ``start`` to ``end``, its direction one of four.
    x, y = np.meshgrid(np.linspace(0, 1, s), np.linspace(0, 1, s))
    flip = (seed >> 8) % 4
    t = ((1 - x if flip & 1 else x) + (1 - y if flip & 2 else y)) / 2
    rgb = np.array(start) + (np.array(end) - np.array(start)) * t[..., None]
    tile = Image.fromarray(rgb.astype(np.uint8), "RGB")

    # A glow behind the product and a soft floor shadow under it.
    glow = Image.new("L", (s, s), 0)
    ImageDraw.Draw(glow).ellipse((s * 0.16, s * 0.12, s * 0.84, s * 0.80), fill=150)
    tile.paste((255, 255, 255), (0, 0, s, s), glow.filter(ImageFilter.GaussianBlur(s // 14)))
    shadow = Image.new("L", (s, s), 0)
    ImageDraw.Draw(shadow).ellipse((s * 0.24, s * 0.76, s * 0.76, s * 0.86), fill=90)
    tile.paste(_shift(end, -70), (0, 0, s, s), shadow.filter(ImageFilter.GaussianBlur(s // 60)))

    # The product, drawn at twice the size and reduced: smooth edges.
    body = _hsl(hue + 180 + (seed >> 16) % 40 if variant % 2 else hue - 8, 0.55, 0.50)
    accent = _hsl(hue + 20, 0.30, 0.95)
    big = s * SCALE
    layer = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    SHAPES.get(leaf, _jar)(ImageDraw.Draw(layer), big, body, accent)
    layer = layer.reduce(SCALE)
    tile.paste(layer, (0, 0), layer)

    out = io.BytesIO()
    tile.save(out, format="JPEG", quality=84, optimize=True, progressive=True)
    return out.getvalue()
