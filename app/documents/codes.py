"""Images embedded in documents as ``data:`` URLs: Code 128 barcodes, QR codes and the shop's logo."""
from __future__ import annotations

import base64
import io
import re
from functools import lru_cache

import barcode
import segno
from barcode.writer import SVGWriter

#: Logo types a document embeds; anything else is left out rather than trusted.
LOGO_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml"}
_DOCTYPE = re.compile(rb"<!DOCTYPE[^>]*>", re.IGNORECASE | re.DOTALL)


def data_url(mime: str, body: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(body).decode('ascii')}"


MODULE_MM = 0.33  # the widest bar unit; narrower only where a long value must fit its place
QUIET_MODULES = 10  # the quiet zone on each side, in modules (the standard's minimum)


def code128_modules(value: str) -> str:
    """The bars and spaces of ``value`` in Code 128 as "1" and "0" modules (start, data, check, stop)."""
    return barcode.get_barcode_class("code128")(value).build()[0]


@lru_cache(maxsize=512)
def code128_svg(value: str, width_mm: float | None = None, height_mm: float = 18.0) -> str:
    """A Code 128 barcode of ``value`` as a ``data:`` URL: 0.33 mm modules with quiet zones, narrower
    modules when the whole code must fit ``width_mm`` (the SVG has a fixed size: it does not scale).

    The human-readable number is printed by the document itself, not inside the SVG.
    """
    modules = len(code128_modules(value)) + 2 * QUIET_MODULES
    module = MODULE_MM if width_mm is None else min(MODULE_MM, width_mm / modules)
    buffer = io.BytesIO()
    code = barcode.get_barcode_class("code128")(value, writer=SVGWriter())
    code.write(buffer, options={"module_width": round(module, 4), "module_height": height_mm,
                                "quiet_zone": round(QUIET_MODULES * module, 4) if width_mm else 6.6,
                                "write_text": False, "background": "white", "foreground": "black"})
    svg = _DOCTYPE.sub(b"", buffer.getvalue())  # the DTD line names a remote URL: keep it out
    return data_url("image/svg+xml", svg)


@lru_cache(maxsize=512)
def qr_svg(value: str) -> str:
    """A QR code of ``value`` (error correction M, four-module quiet zone) as a ``data:`` URL."""
    buffer = io.BytesIO()
    segno.make(value, error="m", micro=False).save(buffer, kind="svg", scale=4, border=4, xmldecl=False)
    return data_url("image/svg+xml", buffer.getvalue())


_LOGO_CACHE: dict = {}


def logo_url(settings) -> str | None:
    """The shop's logo from ``Settings.logo`` as a ``data:`` URL, or None (encoded once per settings change)."""
    if not settings.logo:
        return None
    mime = (settings.logo_content_type or "").split(";")[0].strip().lower()
    if mime not in LOGO_TYPES:
        return None
    key = (settings.id, settings.updated_at, mime, len(settings.logo))
    if key not in _LOGO_CACHE:
        _LOGO_CACHE.clear()
        _LOGO_CACHE[key] = data_url(mime, bytes(settings.logo))
    return _LOGO_CACHE[key]
