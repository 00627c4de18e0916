"""Parcel carriers: what their tracking numbers look like and the page that tracks one.

A shipping method names its carrier in free text ("DHL", "DHL Express", "UPS Standard"…); ``carrier_for``
finds the known carrier in it (or in the method's name). ``check`` normalises a typed tracking number
(spaces and hyphens out, upper case) and refuses one of the wrong shape for that carrier, naming the
shape it expects (``ValidationFailed`` at ``tracking_number``: 422 in the API, a message at the field on
screens). For a carrier we do not know, any sane reference of 6 to 40 letters, digits, spaces or hyphens
is taken. ``tracking_url`` is the carrier's public tracking page for a number (None for unknown ones).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from flask_babel import lazy_gettext as _l

from ..core.errors import ValidationFailed

FIELD = "tracking_number"


@dataclass(frozen=True)
class Carrier:
    name: str
    pattern: re.Pattern
    shape: str  # the expected shape in words, for the error message
    url: str  # the tracking page, ``{}`` for the number


def _pattern(*alternatives: str) -> re.Pattern:
    return re.compile("(?:" + "|".join(alternatives) + ")")


CARRIERS = {
    "dhl": Carrier("DHL", _pattern(r"\d{10}", r"\d{12}", r"\d{20}", r"JJD\d{18,20}", r"[A-Z]{2}\d{9}[A-Z]{2}"),
                   "10, 12 or 20 digits, JJD and 18 to 20 digits, or two letters, 9 digits and two letters "
                   "(RR123456785DE)",
                   "https://www.dhl.com/global-en/home/tracking.html?tracking-id={}&submit=1"),
    "ups": Carrier("UPS", _pattern(r"1Z[A-Z0-9]{16}"), "1Z and 16 letters or digits (1Z999AA10123456784)",
                   "https://www.ups.com/track?tracknum={}"),
    "dpd": Carrier("DPD", _pattern(r"\d{14}"), "14 digits (01234567890123)",
                   "https://tracking.dpd.de/status/en_US/parcel/{}"),
    "gls": Carrier("GLS", _pattern(r"\d{11,12}", r"[A-Z0-9]{8}"),
                   "11 or 12 digits, or the 8-character track ID (ZA1B2C3D)",
                   "https://gls-group.com/GROUP/en/parcel-tracking?match={}"),
    "fedex": Carrier("FedEx", _pattern(r"\d{12}", r"\d{15}", r"\d{20}", r"\d{22}"), "12, 15, 20 or 22 digits",
                     "https://www.fedex.com/fedextrack/?trknbr={}"),
}
#: Words that name each carrier inside a shipping method's carrier or name ("DHL Paket", "Fed Ex Ground").
_NAMES = {key: re.compile(rf"\b{word}\b", re.IGNORECASE) for key, word in
          (("dhl", "dhl"), ("ups", "ups"), ("dpd", "dpd"), ("gls", "gls"), ("fedex", r"fed\s*ex"))}
_ANY_SHAPE = re.compile(r"[A-Z0-9][A-Z0-9 -]{4,38}[A-Z0-9]")  # an unknown carrier: 6–40 sane characters


def carrier_for(method) -> Carrier | None:
    """The known carrier of a ``ShippingMethod`` (its ``carrier``, else its name), or None."""
    if method is None:
        return None
    for text in (method.carrier, method.name):
        for key, words in _NAMES.items():
            if text and words.search(text):
                return CARRIERS[key]
    return None


def normalise(value: str | None, carrier: Carrier | None = None) -> str:
    """Upper case; a known carrier's number without spaces and hyphens, another's with single spaces."""
    text = " ".join(str(value or "").upper().split())
    return re.sub(r"[\s-]", "", text) if carrier is not None else text


def check(method, value: str | None) -> str | None:
    """``value`` normalised for ``method``'s carrier, or ``ValidationFailed`` naming the expected shape.
    An empty value is None (no tracking number)."""
    carrier = carrier_for(method)
    number = normalise(value, carrier)
    if not number:
        return None
    if carrier is None:
        if not _ANY_SHAPE.fullmatch(number):
            raise ValidationFailed({FIELD: [_l("A tracking number has 6 to 40 letters, digits, spaces or hyphens.")]})
        return number
    if not carrier.pattern.fullmatch(number):
        raise ValidationFailed({FIELD: [_l("%(number)s is not a %(carrier)s tracking number: expected %(shape)s.",
                                           number=number[:40], carrier=carrier.name, shape=carrier.shape)]})
    return number


def tracking_url(method, number: str | None) -> str | None:
    """The carrier's tracking page for ``number``, or None (unknown carrier, no number)."""
    carrier = carrier_for(method)
    if carrier is None or not number:
        return None
    return carrier.url.format(quote(normalise(number, carrier), safe=""))


def tracking_link(method, number: str | None) -> dict | None:
    """What a page shows for a tracking number: ``{"number", "url", "carrier"}`` (url None if unknown)."""
    if not number:
        return None
    carrier = carrier_for(method)
    return {"number": number, "url": tracking_url(method, number), "carrier": carrier.name if carrier else None}
