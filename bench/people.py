"""Customers of the benchmark shop, with their addresses and units (rows for Core inserts)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from app.models.customers import NOTIFICATION_GROUPS

from . import catalog as c

KIND_WEIGHTS = (("individual", 70), ("business", 22), ("reseller", 8))
#: How many orders a customer of each kind places, relative to an individual.
ORDER_WEIGHT = {"individual": 1, "business": 4, "reseller": 6}
UNIT_MIX = {
    "individual": (("device", 70), ("vehicle", 25), ("equipment", 5)),
    "business": (("vehicle", 50), ("device", 30), ("equipment", 20)),
    "reseller": (("device", 85), ("equipment", 15)),
}
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
VIN_WMI = {"Volkswagen": "WV1", "Ford": "WF0", "Mercedes-Benz": "WDB", "Opel": "W0L", "Toyota": "SB1"}


@dataclass
class CustomerInfo:
    """What order generation needs to know about a customer."""

    id: int
    kind: str
    name: str
    email: str
    phone: str
    requires_auth: bool
    address_id: int = 0
    units: list[tuple[int, str]] = field(default_factory=list)  # (unit id, unit kind)
    location_id: int = 0
    method_id: int | None = None


def _weighted(rng, pairs):
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return str((10 - total % 10) % 10)


class People:
    """Builds ``count`` customers; ``rows`` holds the customer, address and unit rows by table name."""

    def __init__(self, rng, ids, refs, created_before: dt.datetime):
        self.rng = rng
        self.ids = ids
        self.refs = refs
        self.created_before = created_before
        self.rows: dict[str, list[dict]] = {"customer": [], "address": [], "unit": []}
        self.defaults: list[dict] = []  # customer default address updates (circular foreign key)
        self.customers: list[CustomerInfo] = []

    def build(self, count: int) -> list[CustomerInfo]:
        for _ in range(count):
            self._customer()
        return self.customers

    def _name(self, kind: str) -> tuple[str, str]:
        rng = self.rng
        if kind == "individual":
            first, last = rng.choice(c.FIRST_NAMES), rng.choice(c.LAST_NAMES)
            return f"{first} {last}", f"{first}.{last}".lower()
        words = c.RESELLER_KINDS if kind == "reseller" else c.COMPANY_KINDS
        name = f"{rng.choice(c.COMPANY_WORDS)} {rng.choice(words)} {rng.choice(c.LEGAL_FORMS)}"
        return name, name.split()[0].lower()

    def _customer(self) -> None:
        rng = self.rng
        cid = self.ids.next("customer")
        kind = _weighted(rng, KIND_WEIGHTS)
        name, local = self._name(kind)
        created = self.created_before - dt.timedelta(days=rng.randrange(1, 400), minutes=rng.randrange(1440))
        requires_auth = kind != "individual" and rng.random() < (0.4 if kind == "business" else 0.2)
        info = CustomerInfo(
            id=cid, kind=kind, name=name, email=f"{local}.{cid}@example.com",
            phone=f"+49 30 {rng.randrange(1000000, 9999999)}", requires_auth=requires_auth,
            location_id=rng.choice(self.refs["service_location"]),
            method_id=rng.choice(self.refs["shipping_method"]) if kind == "reseller" else None,
        )
        self.rows["customer"].append({
            "id": cid, "name": name, "kind": kind, "email": info.email, "phone": info.phone,
            "tax_id": f"DE{rng.randrange(100000000, 999999999)}" if kind != "individual" else None,
            "requires_invoice_authorization": requires_auth, "locked": rng.random() < 0.01,
            "preferences": {group: rng.random() > 0.05 for group in NOTIFICATION_GROUPS},
            "language": "de" if rng.random() < 0.6 else "en", "notes": None,
            "default_service_address_id": None, "default_billing_address_id": None,
            "created_at": created, "updated_at": created,
        })
        addresses = [self._address(cid, created, n) for n in range(rng.randint(1, 3))]
        info.address_id = addresses[0]
        self.defaults.append({"b_id": cid, "b_service": addresses[0], "b_billing": addresses[-1]})
        for n in range(rng.randint(1, 3)):
            info.units.append(self._unit(info, created, n))
        self.customers.append(info)

    def _address(self, cid: int, created: dt.datetime, n: int) -> int:
        rng = self.rng
        aid = self.ids.next("address")
        city, state, postal = rng.choice(c.CITIES)
        self.rows["address"].append({
            "id": aid, "customer_id": cid, "label": c.ADDRESS_LABELS[n] if n else None,
            "line1": f"{rng.choice(c.STREETS)} {rng.randint(1, 180)}", "line2": None, "city": city,
            "state": state, "postal_code": postal, "country": "DE", "created_at": created, "updated_at": created,
        })
        return aid

    def _unit(self, info: CustomerInfo, created: dt.datetime, n: int) -> tuple[int, str]:
        rng = self.rng
        uid = self.ids.next("unit")
        kind = _weighted(rng, UNIT_MIX[info.kind])
        _, make, model = rng.choice([m for m in c.UNIT_MODELS if m[0] == kind])
        row = {
            "id": uid, "customer_id": info.id, "kind": kind, "make": make, "model": model,
            "unit_number": f"U-{n + 1:03d}" if info.kind != "individual" else None,
            "serial_number": None, "imei": None, "vin": None, "year": None, "notes": None,
            "created_at": created, "updated_at": created,
        }
        if kind == "vehicle":
            row["vin"] = VIN_WMI[make] + "".join(rng.choice(VIN_CHARS) for _ in range(14))
            row["year"] = rng.randint(2012, 2025)
        else:
            row["serial_number"] = f"{make[:2].upper()}{rng.randrange(10**9):09d}"
            if make in c.PHONE_MAKES:
                body = f"35{rng.randrange(10**12):012d}"
                row["imei"] = body + luhn_digit(body)
        self.rows["unit"].append(row)
        return uid, kind
