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


@lru_cache(maxsize=512)
def code128_svg(value: str) -> str:
    """A Code 128 barcode of ``value`` (0.33 mm modules, 18 mm high, quiet zones) as a ``data:`` URL.

    The human-readable number is printed by the document itself, not inside the SVG.
    """
    buffer = io.BytesIO()
    code = barcode.get_barcode_class("code128")(value, writer=SVGWriter())
    code.write(buffer, options={"module_width": 0.33, "module_height": 18.0, "quiet_zone": 6.6,
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
