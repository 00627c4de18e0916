"""Addresses by country (issue 16, item 4): the one place that knows how a country writes an address.

Per country: the labels of the fields, which fields are required (Germany has no state; the US requires
one), the postcode format for a small table of countries, and the printed block (DE: ``PLZ Ort``; US:
``City, ST ZIP``). Country names come from Babel in the reader's language. ``clean`` is called by the
address actions (``app/services/customers.py``), so the portal, the shop's screens and the API all get the
same checks and messages.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .settings import get_settings

DEFAULT_COUNTRY = "DE"


@dataclass(frozen=True)
class Rules:
    street: object
    postcode: object
    city: object
    region: object | None  # None: the country has no state/region field
    region_required: bool = False
    postcode_first: bool = True  # "PLZ Ort" (DE) rather than "City, ST ZIP" (US)


_EUROPEAN = Rules(_l("Street and number"), _l("Postcode"), _l("City"), None)
_GENERIC = Rules(_l("Street and number"), _l("Postal code"), _l("City"), _l("State or region (optional)"))
RULES: dict[str, Rules] = {
    "DE": _EUROPEAN, "AT": _EUROPEAN, "CH": _EUROPEAN,
    "US": Rules(_l("Street address"), _l("ZIP code"), _l("City"), _l("State or territory"), region_required=True,
                postcode_first=False),
    "GB": Rules(_l("Street address"), _l("Postcode"), _l("Town or city"), _l("County (optional)"),
                postcode_first=False),
}

#: The postcode formats known here (the whole postcode, after normalising), with an example for the message.
POSTCODES: dict[str, tuple[str, str]] = {
    "DE": (r"\d{5}", "10115"), "FR": (r"\d{5}", "75001"), "IT": (r"\d{5}", "00184"), "ES": (r"\d{5}", "28013"),
    "AT": (r"\d{4}", "1010"), "CH": (r"\d{4}", "8001"), "DK": (r"\d{4}", "1050"), "BE": (r"\d{4}", "1000"),
    "NL": (r"\d{4} [A-Z]{2}", "1012 AB"), "US": (r"\d{5}(-\d{4})?", "94105"), "PL": (r"\d{2}-\d{3}", "00-950"),
    "GB": (r"(GIR 0AA|[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2})", "SW1A 1AA"),
}


def rules(country: str | None) -> Rules:
    return RULES.get((country or "").upper(), _GENERIC)


def shop_country() -> str:
    """The shop's own country: a new address's default (DE when the settings name none)."""
    return (get_settings().country or DEFAULT_COUNTRY).upper()


def _language(lang: str | None) -> str:
    if lang:
        return lang
    try:
        return str(get_locale() or "en")
    except RuntimeError:  # no app context (a script)
        return "en"


def country_names(lang: str | None = None) -> dict[str, str]:
    """ISO 3166-1 alpha-2 code -> the country's name in ``lang`` (the reader's language), sorted by name."""
    return _names(_language(lang).replace("-", "_"))


@lru_cache(maxsize=16)
def _names(lang: str) -> dict[str, str]:
    try:
        territories = Locale.parse(lang).territories
    except (UnknownLocaleError, ValueError):
        territories = Locale("en").territories
    names = {code: name for code, name in territories.items() if len(code) == 2 and code.isalpha()
             and code not in ("ZZ", "XA", "XB", "EU", "EZ", "UN", "QO")}
    return dict(sorted(names.items(), key=lambda item: item[1].casefold()))


def country_name(code: str | None, lang: str | None = None) -> str:
    return country_names(lang).get((code or "").upper(), code or "")


def normalise_postcode(country: str, value: str) -> str:
    value = re.sub(r"\s+", " ", value.strip().upper())
    if country == "NL":
        value = re.sub(r"^(\d{4})\s*([A-Z]{2})$", r"\1 \2", value)
    elif country == "GB":
        value = re.sub(r"^([A-Z0-9]{2,4})\s*(\d[A-Z]{2})$", r"\1 \2", value)
    return value


def clean(values: dict, errors: dict) -> dict:
    """Check and normalise an address's values (a dict of stripped text or None) by its country; field
    messages go into ``errors``. A missing country is the shop's country."""
    country = (values.get("country") or shop_country()).strip().upper()
    values["country"] = country
    known_country = bool(re.fullmatch(r"[A-Z]{2}", country)) and country in country_names("en")
    if not known_country:
        errors["country"] = [_("Choose a country from the list.")]
    rule = rules(country)
    for name, message in (("line1", _("Give the street and number.")), ("city", _("Give the town or city.")),
                          ("postal_code", _("Give the postal code."))):
        if not values.get(name):
            errors[name] = [message]
    if rule.region is None:
        values["state"] = None  # a country without states: nothing to keep
    elif rule.region_required and not values.get("state"):
        errors["state"] = [_("Give the state.")]
    if country == "US" and values.get("state"):
        values["state"] = values["state"].upper()
    if values.get("postal_code"):
        values["postal_code"] = normalise_postcode(country, values["postal_code"])
        known = POSTCODES.get(country)
        if known and known_country and not re.fullmatch(known[0], values["postal_code"]):
            errors["postal_code"] = [_("This is not a postcode of %(country)s (for example %(example)s).",
                                        country=country_name(country), example=known[1])]
    return values


def lines(address, home: str | None = None, lang: str | None = None) -> list[str]:
    """An address (customer ``Address`` or ``ServiceLocation``) as the lines of a postal address, the way its
    country writes it; the country's name is the last line when it is not ``home`` (the shop's country)."""
    if address is None:
        return []
    country = (getattr(address, "country", None) or "").upper()
    rule = rules(country)
    postcode, city, state = address.postal_code, address.city, address.state
    out = [getattr(address, "line1", None), getattr(address, "line2", None)]
    if rule.postcode_first:
        out += [" ".join(p for p in (postcode, city) if p), state if rule.region is not None else None]
    elif country == "US":
        out.append(", ".join(p for p in (city, " ".join(p for p in (state, postcode) if p)) if p))
    else:
        out += [city, state, postcode]
    if country and country != (home or shop_country()):
        out.append(country_name(country, lang).upper())
    return [line for line in out if line]


def form(country: str | None = None) -> dict:
    """What an address form shows for ``country`` (the shop's country when none): its labels, whether it has
    a region field and whether that is required, the country list in the reader's language, and every
    country's labels (for the form's script that relabels the fields when another country is chosen)."""
    country = (country or shop_country()).strip().upper()
    rule = rules(country)
    per_country = {code: {"line1": str(r.street), "postal_code": str(r.postcode), "city": str(r.city),
                          "state": str(r.region) if r.region is not None else ""}
                   for code, r in (*RULES.items(), ("*", _GENERIC))}
    return {"country": country, "line1": rule.street, "postal_code": rule.postcode, "city": rule.city,
            "state": rule.region, "state_required": rule.region_required,
            "countries": list(country_names().items()), "labels": per_country}
