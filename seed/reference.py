"""Reference data every Portico shop needs: the settings row, service types, service locations and
shipping methods. No users, no customers.

Idempotent: rows are found by their natural key (the name) and only created when missing; an existing
row is never overwritten, so a shop that edited its settings or lists keeps its edits. The one exception
is a settings row that still holds the bare model defaults (created on the fly by ``get_settings()``
before any seed ran): it is filled in with the demo shop's identity.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    ClosedDay,
    OpeningHours,
    ServiceLocation,
    ServiceType,
    Settings,
    ShippingMethod,
    WorkItemTemplate,
)

SETTINGS = {
    "shop_name": "Portico Demo Service",
    "address": "Hafenstraße 12\n20457 Hamburg\nGermany",
    "phone": "+49 40 5550 1000",
    "currency": "EUR",
    "tax_rate": Decimal("19.00"),
    "time_zone": "Europe/Berlin",
    "mail_sender": "Portico Demo Service <service@example.com>",
    "staff_email": "service@example.com",
}

#: name, description, duration in minutes
SERVICE_TYPES = [
    ("Diagnosis", "Find the cause of a fault and tell the customer what it takes to fix it.", 60),
    ("Repair", "Repair of a known fault, at the workshop or on site.", 120),
    ("Maintenance", "Scheduled service by the manufacturer's plan: fluids, filters, wear parts.", 90),
    ("Inspection", "Safety and compliance inspection with a written report.", 60),
    ("Installation", "Fitting and commissioning of new equipment.", 180),
]

SERVICE_LOCATIONS = [
    {"name": "Main Workshop", "line1": "Hafenstraße 12", "postal_code": "20457", "city": "Hamburg",
     "country": "DE", "phone": "+49 40 5550 1000", "email": "workshop@example.com"},
    {"name": "Mobile Unit North", "line1": "Kieler Straße 200 (vans leave from here)", "postal_code": "22525",
     "city": "Hamburg", "country": "DE", "phone": "+49 40 5550 1020", "email": "mobile@example.com",
     "slot_capacity": 2},
    {"name": "Depot Hamburg", "line1": "Billstraße 80", "postal_code": "20539", "city": "Hamburg",
     "country": "DE", "phone": "+49 40 5550 1040", "email": "depot@example.com"},
]

#: Standard jobs and parts the estimate builder offers: kind, English name, German name, part number, hours or
#: quantity, unit price (None: the shop's labour rate for labour).
WORK_ITEM_TEMPLATES = [
    ("labour", "Diagnosis and fault finding", "Diagnose und Fehlersuche", None, "1.00", None),
    ("labour", "Refrigerant leak test", "Kältemittel-Dichtheitsprüfung", None, "0.50", None),
    ("labour", "Compressor replacement", "Verdichterwechsel", None, "3.00", None),
    ("labour", "Annual maintenance", "Jährliche Wartung", None, "1.50", None),
    ("part", "Refrigerant R134a (1 kg)", "Kältemittel R134a (1 kg)", "R134A-1", "1.00", "38.50"),
    ("part", "Filter drier", "Filtertrockner", "FD-083", "1.00", "24.90"),
    ("part", "Door gasket", "Türdichtung", "DG-600", "1.00", "49.00"),
]

#: The booking rules of the demo shop: location → {weekday: [(opens, closes)]} (0 = Monday), slot length.
#: "Depot Hamburg" has none: its requests keep a preferred day and time of day (no slots).
_WEEK = {day: [("08:00", "12:00"), ("13:00", "19:00")] for day in range(5)}
OPENING_HOURS = {
    "Main Workshop": ({**_WEEK, 5: [("09:00", "13:00")]}, 60),
    "Mobile Unit North": ({day: [("08:00", "18:00")] for day in range(5)}, 120),
}
#: Service types a customer books at once by picking a free time (the others stay requests).
INSTANT_TYPES = ("Diagnosis", "Inspection")
#: Closed every year at every location: (month, day, name).
HOLIDAYS = [(12, 24, "Christmas Eve"), (12, 25, "Christmas Day"), (12, 26, "Boxing Day"), (12, 31, "New Year's Eve"),
            (1, 1, "New Year's Day"), (5, 1, "Labour Day"), (10, 3, "German Unity Day")]

#: name, carrier
SHIPPING_METHODS = [
    ("DHL Express", "DHL"),
    ("UPS Standard", "UPS"),
    ("Drop-off", None),
]

#: The demo's names in the shop's other languages (``names``; English ``name`` is the key and the fallback).
#: A third language adds its code here: {"Diagnosis": {"de": "Diagnose", "fr": "Diagnostic"}}.
LOCALIZED_NAMES = {
    ServiceType: {
        "Diagnosis": {"de": "Diagnose"},
        "Repair": {"de": "Reparatur"},
        "Maintenance": {"de": "Wartung"},
        "Inspection": {"de": "Inspektion"},
        "Installation": {"de": "Einbau"},
    },
    ServiceLocation: {
        "Main Workshop": {"de": "Hauptwerkstatt"},
        "Mobile Unit North": {"de": "Mobiler Service Nord"},
        "Depot Hamburg": {"de": "Depot Hamburg"},
    },
    ShippingMethod: {
        "DHL Express": {"de": "DHL Express"},
        "UPS Standard": {"de": "UPS Standard"},
        "Drop-off": {"de": "Selbst abgeben"},
    },
}

_DEFAULT_SHOP_NAME = "Portico Service"  # Settings.shop_name's column default


def _settings() -> tuple[Settings, str]:
    settings = db.session.scalar(select(Settings).order_by(Settings.id).limit(1))
    if settings is None:
        settings = Settings(**SETTINGS)
        db.session.add(settings)
        return settings, "created"
    if settings.shop_name == _DEFAULT_SHOP_NAME and not settings.address:
        for key, value in SETTINGS.items():
            setattr(settings, key, value)
        return settings, "filled in"
    return settings, "kept"


def _ensure(model, name: str, **fields) -> bool:
    """Create the row named ``name`` unless it exists; True when created."""
    if db.session.scalar(select(model.id).where(model.name == name)) is not None:
        return False
    db.session.add(model(name=name, **fields))
    return True


def _fill_names() -> None:
    """The other languages' names of the demo rows that have none yet (a shop's own names are kept)."""
    for model, by_name in LOCALIZED_NAMES.items():
        for row in db.session.scalars(select(model).where(model.name.in_(list(by_name)))):
            if not row.names:
                row.names = dict(by_name[row.name])


def load_reference() -> str:
    """Create what is missing; return a one-line summary."""
    _, settings_state = _settings()
    created = {"service types": 0, "service locations": 0, "shipping methods": 0, "work item templates": 0}
    for name, description, minutes in SERVICE_TYPES:
        created["service types"] += _ensure(ServiceType, name, description=description, duration_minutes=minutes)
    for location in SERVICE_LOCATIONS:
        fields = dict(location)
        created["service locations"] += _ensure(ServiceLocation, fields.pop("name"), **fields)
    for name, carrier in SHIPPING_METHODS:
        created["shipping methods"] += _ensure(ShippingMethod, name, carrier=carrier)
    for kind, name, german, part_number, quantity, price in WORK_ITEM_TEMPLATES:
        created["work item templates"] += _ensure(
            WorkItemTemplate, name, kind=kind, names={"de": german}, part_number=part_number,
            quantity=Decimal(quantity), unit_price=Decimal(price) if price else None)
    db.session.flush()
    _fill_names()
    db.session.commit()
    totals = {
        "service types": db.session.scalar(select(func.count(ServiceType.id))),
        "service locations": db.session.scalar(select(func.count(ServiceLocation.id))),
        "shipping methods": db.session.scalar(select(func.count(ShippingMethod.id))),
        "work item templates": db.session.scalar(select(func.count(WorkItemTemplate.id))),
    }
    parts = ", ".join(f"{totals[k]} {k} ({created[k]} new)" for k in totals)
    return f"Reference data: settings {settings_state}; {parts}."


def _clock(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def load_booking_rules() -> str:
    """Opening hours and slot lengths for the demo locations that have none, the holidays of this year and
    the next for every location, instant booking for the quick service types (first time only). Loaded
    after any demo history: bookings made before a shop set its hours stay as they were."""
    first_time = db.session.scalar(select(func.count(OpeningHours.id))) == 0
    configured = 0
    for name, (week, slot_minutes) in OPENING_HOURS.items():
        location = db.session.scalar(select(ServiceLocation).where(ServiceLocation.name == name))
        if location is None or location.hours:
            continue
        location.slot_minutes = slot_minutes
        for weekday, windows in week.items():
            for opens, closes in windows:
                location.hours.append(OpeningHours(weekday=weekday, opens=_clock(opens), closes=_clock(closes)))
        configured += 1
    if first_time:
        for service_type in db.session.scalars(select(ServiceType).where(ServiceType.name.in_(INSTANT_TYPES))):
            service_type.booking_mode = "instant"
    holidays = 0
    this_year = dt.date.today().year
    known = set(db.session.scalars(select(ClosedDay.day).where(ClosedDay.service_location_id.is_(None))))
    for year in (this_year, this_year + 1):
        for month, day, name in HOLIDAYS:
            date = dt.date(year, month, day)
            if date not in known:
                db.session.add(ClosedDay(day=date, name=name))
                holidays += 1
    db.session.commit()
    return (f"Booking rules: opening hours for {configured} location(s), {holidays} closed day(s) added"
            f"{', instant booking for ' + ' and '.join(INSTANT_TYPES) if first_time else ''}.")
