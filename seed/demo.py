"""The demo shop: the accounts of SPEC §5, their customer accounts and units, and history in every state.

Every document is made and moved through the service layer (``app.services``) exactly as the screens
and the API do it, so numbers, audit events, notifications and outbox e-mails are the real ones; no
``status`` is ever written here. Customers, addresses and units are plain master data and are inserted
directly. The only other direct write: a technician's time entries are clocked on and off through the
service and then given a realistic duration by moving their start back (the service stamps "now", which
would leave every entry at 0.00 hours).

Idempotent: accounts, customers and units are found by their natural keys and only created when
missing; the history is created once, when the demo customer "Jane Doe" has no service request yet.
Bookings lie from tomorrow on (a preferred date cannot be in the past), each on its own slot.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select
from stdnum import imei as imei_number
from stdnum import luhn

from app.core.actors import Actor
from app.core.errors import ValidationFailed
from app.core.scope import actor_for
from app.core.settings import to_utc
from app.extensions import db
from app.models import (
    ESTIMATE_STATUSES,
    INVOICE_STATUSES,
    REQUEST_STATUSES,
    SHIPMENT_STATUSES,
    WORK_ORDER_STATUSES,
    Address,
    AuditEvent,
    Customer,
    DisputeNote,
    Estimate,
    Invoice,
    Notification,
    OrderMessage,
    OutboxEmail,
    Payment,
    PortalUser,
    ServiceLocation,
    ServiceRequest,
    ServiceType,
    Shipment,
    ShippingMethod,
    TimeEntry,
    Unit,
    User,
    WorkOrder,
    utcnow,
)
from app.services import estimates, invoices, requests, shipments, work_orders

# ------------------------------------------------------------------------------------------ accounts
#: username, role, first name, last name, customer account key (see CUSTOMERS) or None
ACCOUNTS = [
    ("admin", "Admin", "Ada", "Admin", None),
    ("manager", "Manager", "Monika", "Berger", None),
    ("advisor", "Advisor", "Anna", "Vogel", None),
    ("tech", "Technician", "Tobias", "Keller", None),
    ("customer", "Customer", "Jane", "Doe", "jane"),
    ("fleet", "Customer", "Frank", "Olsen", "arctic"),
    ("reseller", "Reseller", "Felix", "Imhof", "fixit"),
]
#: Not in SPEC §5, so that the service board has two technicians to choose from.
EXTRA_ACCOUNTS = [
    ("tech2", "Technician", "Lena", "Hoffmann", None),
]

# ------------------------------------------------------------------------------------------ customers
CUSTOMERS = {
    "jane": {
        "name": "Jane Doe", "kind": "individual", "email": "customer@example.com", "phone": "+49 170 555 0101",
        "addresses": [{"label": "Home", "line1": "Lindenallee 7", "postal_code": "22587", "city": "Hamburg",
                       "country": "DE"}],
    },
    "arctic": {
        "name": "Arctic Refrigeration", "kind": "business", "email": "fleet@example.com",
        "phone": "+49 40 5557 2200", "tax_id": "DE287654321", "requires_invoice_authorization": True,
        "addresses": [
            {"label": "Depot", "line1": "Am Kühlhaus 3", "postal_code": "21079", "city": "Hamburg", "country": "DE"},
            {"label": "Accounts payable", "line1": "Postfach 90 12 34", "postal_code": "20402", "city": "Hamburg",
             "country": "DE"},
        ],
    },
    "fixit": {
        "name": "FixIt Resellers GmbH", "kind": "reseller", "email": "reseller@example.com",
        "phone": "+49 30 5558 3300", "tax_id": "DE312345678",
        "addresses": [{"label": "Office", "line1": "Torstraße 140", "postal_code": "10119", "city": "Berlin",
                       "country": "DE"}],
    },
    "mueller": {
        "name": "Müller Logistik GmbH", "kind": "business", "email": "werkstatt@mueller-logistik.example",
        "phone": "+49 40 5559 4400", "tax_id": "DE198765432",
        "addresses": [{"label": "Yard", "line1": "Hovestraße 30", "postal_code": "20539", "city": "Hamburg",
                       "country": "DE"}],
    },
    "cafe": {
        "name": "Café Sonne", "kind": "business", "email": "hallo@cafe-sonne.example", "phone": "+49 40 5550 7788",
        "addresses": [{"label": "Café", "line1": "Schulterblatt 58", "postal_code": "20357", "city": "Hamburg",
                       "country": "DE"}],
    },
    "hans": {
        "name": "Hans Schmidt", "kind": "individual", "email": "hans.schmidt@example.org", "phone": "+49 151 555 0199",
        "addresses": [{"label": "Home", "line1": "Birkenweg 4", "postal_code": "22880", "city": "Wedel",
                       "country": "DE"}],
    },
    "klara": {
        "name": "Klara Fischer", "kind": "individual", "email": "klara.fischer@example.org",
        "phone": "+49 160 555 0142",
        "addresses": [{"label": "Home", "line1": "Eppendorfer Weg 211", "postal_code": "20253", "city": "Hamburg",
                       "country": "DE"}],
    },
}

_VIN_VALUES = {**{str(d): d for d in range(10)}, **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
               **dict(zip("JKLMN", range(1, 6), strict=True)), "P": 7, "R": 9,
               **dict(zip("STUVWXYZ", range(2, 10), strict=True))}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin(first8: str, last8: str) -> str:
    """A 17-character VIN with its ISO 3779 check digit in position 9."""
    body = first8 + "0" + last8
    assert len(body) == 17 and not set(body) & set("IOQ"), body
    remainder = sum(_VIN_VALUES[c] * w for c, w in zip(body, _VIN_WEIGHTS, strict=True)) % 11
    return first8 + ("X" if remainder == 10 else str(remainder)) + last8


def imei(tac: str, serial: str) -> str:
    """A 15-digit IMEI: 8-digit type allocation code, 6-digit serial and the Luhn check digit."""
    body = tac + serial
    return imei_number.validate(body + luhn.calc_check_digit(body))


#: Unit key → (customer key, fields). Keys are used by the history below.
UNITS = {
    "jane_car": ("jane", {"kind": "vehicle", "make": "Volkswagen", "model": "Golf VIII 1.5 TSI", "year": 2021,
                          "vin": vin("WVWZZZCD", "MW041277"), "notes": "Winter tyres stored at the shop."}),
    "jane_laptop": ("jane", {"kind": "device", "make": "Lenovo", "model": "ThinkPad T14 Gen 3",
                             "serial_number": "PF3XK2QD"}),
    "arc_01": ("arctic", {"kind": "vehicle", "unit_number": "ARC-01", "make": "Mercedes-Benz",
                          "model": "Atego 1224 reefer", "year": 2020, "vin": vin("WDB97034", "LA512301")}),
    "arc_02": ("arctic", {"kind": "vehicle", "unit_number": "ARC-02", "make": "Mercedes-Benz",
                          "model": "Atego 1224 reefer", "year": 2020, "vin": vin("WDB97034", "LA512302")}),
    "arc_03": ("arctic", {"kind": "vehicle", "unit_number": "ARC-03", "make": "MAN", "model": "TGL 12.220 reefer",
                          "year": 2022, "vin": vin("WMAN08ZZ", "NY401833")}),
    "fx_a": ("fixit", {"kind": "device", "make": "Samsung", "model": "Galaxy S23", "serial_number": "R5CW30A1B2C",
                       "imei": imei("35260421", "018344")}),
    "fx_b": ("fixit", {"kind": "device", "make": "Apple", "model": "iPhone 14", "serial_number": "F2LZK9XQPL",
                       "imei": imei("35391110", "274519")}),
    "fx_c": ("fixit", {"kind": "device", "make": "Google", "model": "Pixel 8", "serial_number": "39021FDH2000AB",
                       "imei": imei("35467210", "550921")}),
    "fx_d": ("fixit", {"kind": "device", "make": "Fairphone", "model": "Fairphone 5", "serial_number": "FP5A001234",
                       "imei": imei("35824705", "103377")}),
    "fx_e": ("fixit", {"kind": "device", "make": "Samsung", "model": "Galaxy A54", "serial_number": "R58T80D4E5F",
                       "imei": imei("35209410", "661208")}),
    "fx_f": ("fixit", {"kind": "device", "make": "Apple", "model": "iPhone 13 mini", "serial_number": "G6TH3P0MN7",
                       "imei": imei("35332811", "902615")}),
    "fx_g": ("fixit", {"kind": "device", "make": "Xiaomi", "model": "Redmi Note 12", "serial_number": "52117/K3L9",
                       "imei": imei("86155805", "447730")}),
    "fx_h": ("fixit", {"kind": "device", "make": "Motorola", "model": "moto g54", "serial_number": "ZY22KLM8RT",
                       "imei": imei("35174932", "380054")}),
    "mueller_van": ("mueller", {"kind": "vehicle", "unit_number": "HH-ML 204", "make": "Ford",
                                "model": "Transit Custom", "year": 2019, "vin": vin("WF0XXXTT", "KK123456")}),
    "mueller_forklift": ("mueller", {"kind": "equipment", "unit_number": "FL-07", "make": "Linde",
                                     "model": "H25 forklift", "serial_number": "H2X391T05512", "year": 2017}),
    "cafe_espresso": ("cafe", {"kind": "equipment", "make": "La Marzocco", "model": "Linea PB 2 groups",
                               "serial_number": "LM-PB-20931"}),
    "hans_heatpump": ("hans", {"kind": "equipment", "make": "Vaillant", "model": "aroTHERM plus 7 kW",
                               "serial_number": "21223300100541"}),
    "klara_ebike": ("klara", {"kind": "vehicle", "make": "Riese & Müller", "model": "Charger4 GT",
                              "serial_number": "WRM4GT0093321"}),
}


# ------------------------------------------------------------------------------------------ master data
def _ensure_roles():
    sm = current_app.appbuilder.sm
    if any(sm.find_role(role) is None for role in {a[1] for a in ACCOUNTS + EXTRA_ACCOUNTS}):
        from app.security import sync_security

        if not sync_security(current_app.appbuilder):
            raise RuntimeError("Security tables missing: run 'flask --app run db upgrade' first.")


def _ensure_user(username: str, role: str, first: str, last: str, hashed: str = "") -> tuple[User, bool]:
    """Find or create a demo user. ``hashed``: the demo password's hash from the first user created in this
    run, reused so the (deliberately slow) password hash is computed once rather than once per account."""
    sm = current_app.appbuilder.sm
    user = sm.find_user(username=username)
    if user is not None:
        return user, False
    password = "" if hashed else current_app.config["PORTICO_DEMO_PASSWORD"]
    user = sm.add_user(username=username, first_name=first, last_name=last, email=f"{username}@example.com",
                       role=sm.find_role(role), password=password, hashed_password=hashed)
    if not user:
        raise RuntimeError(f"Could not create the demo user {username!r} (see the log for FAB's reason).")
    return user, True


def _ensure_customer(key: str) -> tuple[Customer, bool]:
    data = dict(CUSTOMERS[key])
    addresses = data.pop("addresses")
    customer = db.session.scalar(select(Customer).where(Customer.name == data["name"]).order_by(Customer.id).limit(1))
    if customer is not None:
        return customer, False
    customer = Customer(**data)
    db.session.add(customer)
    for fields in addresses:
        customer.addresses.append(Address(**fields))
    db.session.flush()
    customer.default_service_address = customer.addresses[0]
    customer.default_billing_address = customer.addresses[-1]
    return customer, True


def _ensure_unit(customer: Customer, fields: dict) -> tuple[Unit, bool]:
    """Find the customer's unit by its first identifier (unit number, VIN, IMEI, serial) or create it."""
    key = next(k for k in ("unit_number", "vin", "imei", "serial_number") if fields.get(k))
    unit = db.session.scalar(select(Unit).where(Unit.customer_id == customer.id, getattr(Unit, key) == fields[key])
                             .order_by(Unit.id).limit(1))
    if unit is not None:
        return unit, False
    unit = Unit(customer_id=customer.id, **fields)
    db.session.add(unit)
    return unit, True


def _ensure_link(user: User, customer: Customer) -> bool:
    link = db.session.scalar(select(PortalUser).where(PortalUser.user_id == user.id))
    if link is not None:
        return False
    db.session.add(PortalUser(user_id=user.id, customer_id=customer.id))
    return True


# ------------------------------------------------------------------------------------------ history
def _lines(*labour) -> list[dict]:
    """``(description, hours, rate, [(part_number, description, quantity, unit_price), ...])`` → dicts."""
    return [
        {"description": d, "hours": h, "rate": r,
         "parts": [{"part_number": pn, "description": pd, "quantity": q, "unit_price": p} for pn, pd, q, p in parts]}
        for d, h, r, parts in labour
    ]


class History:
    """Builds the demo history through the service layer, one story per customer."""

    def __init__(self, users: dict[str, User], customers: dict[str, Customer], units: dict[str, Unit]):
        self.users = users
        self.customers = customers
        self.units = units
        self.staff = actor_for(users["advisor"])
        self.manager = actor_for(users["manager"])
        self.tech = actor_for(users["tech"])
        self.tech2 = actor_for(users["tech2"])
        self.jane = actor_for(users["customer"])
        self.fleet = actor_for(users["fleet"])
        self.reseller = actor_for(users["reseller"])
        self.today = dt.date.today()
        self.type = {t.name: t.id for t in db.session.scalars(select(ServiceType))}
        self.location = {s.name: s.id for s in db.session.scalars(select(ServiceLocation))}
        self.shipping = {s.name: s.id for s in db.session.scalars(select(ShippingMethod))}
        # Each technician's finished time entries, laid out backwards over the previous working days.
        self._time_cursor: dict[int, dt.datetime] = {}

    # -------------------------------------------------------------- helpers
    def day(self, offset: int) -> dt.date:
        return self.today + dt.timedelta(days=offset)

    def at(self, offset: int, hour: int, minute: int = 0) -> dt.datetime:
        """A shop-local (naive) time ``offset`` days from today; the services convert it to UTC."""
        return dt.datetime.combine(self.day(offset), dt.time(hour, minute))

    def cid(self, key: str) -> int:
        return self.customers[key].id

    def uid(self, key: str) -> int:
        return self.units[key].id

    def request(self, actor: Actor, customer: str, service_type: str, subject: str, summary: str, *,
                day: int, slot: str = "morning", unit: str | None = None, location: str = "Main Workshop",
                estimate: bool = False, source: str | None = None, address: bool = False,
                time: dt.time | None = None, **extra) -> ServiceRequest:
        customer_obj = self.customers[customer]
        return requests.submit(
            actor, customer_id=customer_obj.id, service_type_id=self.type[service_type], subject=subject,
            summary=summary, preferred_date=self.day(day), preferred_slot=slot, preferred_time=time,
            unit_id=self.uid(unit) if unit else None, service_location_id=self.location[location],
            address_id=customer_obj.default_service_address_id if address else None, estimate_required=estimate,
            source=source or ("portal" if actor.is_customer else "staff"), **extra,
        )

    def confirm(self, req: ServiceRequest, start: dt.datetime, estimate: bool = False):
        """Book ``start``; a slot that is already full (data entered before the seed) moves a day on."""
        for shift in range(14):
            try:
                return requests.perform(req, "confirm", self.staff, start=start + dt.timedelta(days=shift),
                                        estimate=estimate)
            except ValidationFailed as exc:
                if "start" not in exc.errors:
                    raise
        raise RuntimeError(f"No free slot for {req.number} within two weeks of {start:%Y-%m-%d %H:%M}.")

    def estimate(self, req: ServiceRequest, lines: list[dict], *, confirm_at: dt.datetime | None = None) -> Estimate:
        """Confirm the request (when a time is given) or ask for an estimate on an accepted one; set lines."""
        if confirm_at is not None:
            est = self.confirm(req, confirm_at, estimate=True)
        else:
            est = requests.perform(req, "estimate", self.staff)
        return estimates.perform(est, "edit", self.staff, labour_lines=lines)

    def work(self, order: WorkOrder, tech: Actor, hours: str, *, ready: bool = True, note: str | None = None):
        """The technician clocks on, works ``hours`` and clocks off (then marks the order ready)."""
        work_orders.perform(order, "clock_on", tech, note=note)
        work_orders.perform(order, "clock_off", tech)
        entry = db.session.scalar(select(TimeEntry).where(TimeEntry.work_order_id == order.id,
                                                          TimeEntry.technician_id == tech.user_id)
                                  .order_by(TimeEntry.id.desc()).limit(1))
        entry.started_at, entry.ended_at = self._slot_back(tech.user_id, Decimal(hours))
        db.session.commit()
        if ready:
            work_orders.perform(order, "ready", tech, note=note)
        return order

    def _slot_back(self, technician_id: int, hours: Decimal) -> tuple[dt.datetime, dt.datetime]:
        """The technician's previous block of ``hours`` within working hours (08:00–17:00 shop time, Monday
        to Friday), laid out backwards from the start of today without overlaps; naive UTC."""
        length = dt.timedelta(hours=float(hours))
        end = self._time_cursor.get(technician_id) or dt.datetime.combine(self.today, dt.time(17))
        while True:
            day_start = dt.datetime.combine(end.date(), dt.time(8))
            if end.date() >= self.today or end.weekday() >= 5 or end - length < day_start:
                end = dt.datetime.combine(end.date() - dt.timedelta(days=1), dt.time(17))
                continue
            break
        start = end - length
        self._time_cursor[technician_id] = start - dt.timedelta(minutes=15)
        return to_utc(start), to_utc(end)

    def start_work(self, order: WorkOrder, tech: Actor, minutes: int, note: str | None = None):
        """The technician clocks on and is still at it (the entry stays open)."""
        work_orders.perform(order, "clock_on", tech, note=note)
        entry = db.session.scalar(select(TimeEntry).where(TimeEntry.work_order_id == order.id,
                                                          TimeEntry.ended_at.is_(None)))
        entry.started_at = utcnow() - dt.timedelta(minutes=minutes)
        db.session.commit()
        return order

    def invoice(self, order: WorkOrder, *, submit: bool = True) -> Invoice:
        inv = work_orders.perform(order, "invoice", self.staff)
        if submit:
            invoices.perform(inv, "submit", self.staff)
        return inv

    # -------------------------------------------------------------- stories
    def build(self) -> None:
        self.jane_story()
        self.fleet_story()
        self.reseller_story()
        self.other_customers()
        self.running_work()

    def jane_story(self) -> None:
        jane, staff = self.jane, self.staff
        # Annual service: estimate approved → work order → done → invoice paid in two payments.
        req = self.request(jane, "jane", "Maintenance", "Annual service for the Golf",
                           "Service light is on; 28,000 km since the last service.", day=1, unit="jane_car",
                           estimate=True)
        est = self.estimate(req, _lines(
            ("Annual service per manufacturer schedule", "2.00", "95.00", [
                ("06L115562B", "Oil filter", "1", "14.90"),
                ("G052195M4", "Engine oil 0W-20, litre", "4.5", "12.40"),
                ("5Q0129620D", "Air filter", "1", "24.50"),
            ]),
            ("Brake fluid replacement", "0.50", "95.00", [("B000750M3", "Brake fluid DOT 4, litre", "1", "18.90")]),
        ), confirm_at=self.at(1, 9))
        estimates.perform(est, "submit", staff)
        order = estimates.perform(est, "approve", jane)
        work_orders.perform(order, "assign", staff, technician_id=self.tech.user_id,
                            scheduled_start=req.scheduled_start,
                            scheduled_end=req.scheduled_start + dt.timedelta(hours=3))
        work_orders.perform(order, "receive", staff)
        work_orders.perform(order, "messages", jane, text="Could you also check the wiper blades? They smear.")
        work_orders.perform(order, "messages", self.tech, text="Wipers checked: the front blades are worn. "
                                                                "We replaced them free of charge.")
        self.work(order, self.tech, "2.75", note="Service done; wiper blades replaced as a goodwill gesture.")
        work_orders.perform(order, "complete", staff)
        inv = self.invoice(order)
        invoices.perform(inv, "payments", staff, amount="100.00", method="card", reference="Deposit at drop-off")
        invoices.perform(inv, "payments", staff, amount=str(inv.balance), method="transfer",
                         reference=f"Bank transfer {inv.number}")

        # Laptop diagnosis: the shop proposed another time; Jane has not answered yet.
        req = self.request(jane, "jane", "Diagnosis", "Laptop does not boot",
                           "Power LED blinks three times, then nothing. Data on the SSD is important.",
                           day=2, slot="evening", unit="jane_laptop")
        requests.perform(req, "propose", staff, start=self.at(3, 10, 30),
                         note="Our bench technician is free on this morning; evenings are fully booked.")

        # Brakes: new, waiting for the shop.
        self.request(jane, "jane", "Repair", "Brakes squeal at low speed",
                     "Squealing when braking gently, mostly in the morning.", day=5, slot="afternoon",
                     unit="jane_car")

        # Dash cam: cancelled by Jane.
        req = self.request(jane, "jane", "Installation", "Install a dash cam", "Front and rear camera, hard-wired.",
                           day=6, slot="custom", time=dt.time(11, 15), unit="jane_car")
        requests.perform(req, "cancel", jane, reason="I bought a camera that plugs into the USB socket.")

        # Air conditioning: estimate sent, waiting for Jane's decision.
        req = self.request(jane, "jane", "Repair", "Air conditioning blows warm air",
                           "Since last week the A/C only blows warm air.", day=2, slot="afternoon", unit="jane_car",
                           estimate=True)
        est = self.estimate(req, _lines(
            ("A/C leak test and refill", "1.00", "95.00", [("R1234YF-500", "Refrigerant R1234yf, 100 g", "5", "9.80")]),
            ("Replace A/C condenser", "1.50", "95.00", [("5Q0816411BH", "A/C condenser", "1", "189.00"),
                                                        ("N90709601", "O-ring set", "1", "6.50")]),
        ), confirm_at=self.at(2, 13))
        estimates.perform(est, "submit", staff)

        # Laptop battery and keyboard: Jane disputes two lines; the shop has not acknowledged yet.
        req = self.request(jane, "jane", "Repair", "Replace laptop battery and keyboard",
                           "Battery lasts 40 minutes; keys E and R stick.", day=4, unit="jane_laptop", estimate=True)
        est = self.estimate(req, _lines(
            ("Replace keyboard", "1.50", "95.00", [("5N20W67678", "Keyboard DE layout, backlit", "1", "79.00")]),
            ("Replace battery", "0.50", "95.00", [("5B10W51867", "Battery 52.5 Wh", "1", "119.00")]),
        ), confirm_at=self.at(4, 9))
        estimates.perform(est, "submit", staff)
        keyboard, battery = est.labour_lines
        estimates.perform(est, "dispute", jane, note="Two things look too high to me.", lines=[
            {"kind": "labour", "id": keyboard.id, "note": "1.5 hours for a keyboard swap seems a lot."},
            {"kind": "part", "id": battery.parts[0].id, "note": "I found this battery online for 69 EUR."},
        ])
        estimates.perform(est, "notes", jane, text="I can bring the battery myself if that helps.")

        # Portal orders: one waits for the shop's confirmation, one is confirmed and scheduled.
        work_orders.create(jane, kind="repair", unit_id=self.uid("jane_laptop"),
                           fault="Left hinge cracked; the screen wobbles when typing.",
                           customer_reference="Hinge", service_location_id=self.location["Main Workshop"])
        order = work_orders.create(jane, kind="job", unit_id=self.uid("jane_car"),
                                   fault="Change to winter tyres (stored at the shop).",
                                   customer_reference="Winter tyres",
                                   service_location_id=self.location["Main Workshop"])
        work_orders.perform(order, "confirm", staff)
        work_orders.perform(order, "assign", staff, technician_id=self.tech.user_id,
                            scheduled_start=self.at(6, 8), scheduled_end=self.at(6, 9))

    def fleet_story(self) -> None:
        fleet, staff = self.fleet, self.staff
        # Reefer fault: booked, turned into a work order, done and invoiced; waits for authorization.
        req = self.request(fleet, "arctic", "Repair", "ARC-01: reefer unit does not hold -18 °C",
                           "Box temperature climbs to -9 °C on long trips. Alarm code 64.", day=1, unit="arc_01",
                           location="Depot Hamburg")
        self.confirm(req, self.at(1, 8))
        order = requests.perform(req, "work_order", staff)
        work_orders.perform(order, "receive", staff)
        self.work(order, self.tech, "3.25", note="Condenser fan motor replaced, system evacuated and recharged.")
        work_orders.perform(order, "complete", staff)
        self.invoice(order)

        # ATP inspection: proposal, counter-proposal, new proposal accepted → booked.
        req = self.request(fleet, "arctic", "Inspection", "ARC-02: annual ATP inspection",
                           "Certificate expires at the end of the month.", day=7, unit="arc_02",
                           location="Mobile Unit North", address=True)
        requests.perform(req, "propose", staff, start=self.at(7, 8, 30), note="Our mobile unit can come early.")
        requests.perform(req, "propose", fleet, start=self.at(8, 14, 30),
                         note="The truck is on the road until the afternoon.")
        requests.perform(req, "propose", staff, start=self.at(8, 14, 30), note="Fine, 14:30 at your depot.")
        requests.perform(req, "accept_time", fleet)

        # Telematics: declined by the shop.
        req = self.request(fleet, "arctic", "Installation", "ARC-03: fit our telematics box",
                           "We supply the box (Webfleet LINK 740).", day=3, unit="arc_03")
        requests.perform(req, "decline", staff, reason="We do not install third-party telematics hardware; "
                                                       "the supplier's installer can use our bay free of charge.")

        # Tail lift: estimate disputed, acknowledged, revised (R1 → R2), approved, done, invoiced, authorized
        # and partly paid.
        req = self.request(fleet, "arctic", "Repair", "ARC-02: tail lift leaks hydraulic oil",
                           "Oil under the tail lift every morning.", day=2, unit="arc_02",
                           location="Depot Hamburg", estimate=True)
        est = self.estimate(req, _lines(
            ("Replace tail lift lifting cylinder", "4.00", "95.00", [
                ("DH-LC-1500", "Lifting cylinder Dhollandia", "1", "640.00"),
                ("HLP46-5", "Hydraulic oil HLP 46, 5 l", "1", "34.00"),
            ]),
            ("Function test and safety check", "0.50", "95.00", []),
        ), confirm_at=self.at(2, 8))
        estimates.perform(est, "submit", staff)
        cylinder = est.labour_lines[0]
        estimates.perform(est, "dispute", fleet, note="Please check against our service contract.", lines=[
            {"kind": "labour", "id": cylinder.id, "note": "Our contract lists 3.0 hours for this cylinder."},
        ])
        estimates.perform(est, "acknowledge", staff)
        estimates.perform(est, "notes", staff, text="You are right: the contract rate of 3.0 hours applies. "
                                                    "A revised estimate follows.")
        revision = estimates.perform(est, "revise", staff)
        lines = _lines(
            ("Replace tail lift lifting cylinder (contract time)", "3.00", "95.00", [
                ("DH-LC-1500", "Lifting cylinder Dhollandia", "1", "640.00"),
                ("HLP46-5", "Hydraulic oil HLP 46, 5 l", "1", "34.00"),
            ]),
            ("Function test and safety check", "0.50", "95.00", []),
        )
        estimates.perform(revision, "edit", staff, labour_lines=lines)
        estimates.perform(revision, "submit", staff)
        estimates.perform(revision, "notes", fleet, text="Thank you, approved.")
        order = estimates.perform(revision, "approve", fleet)
        work_orders.perform(order, "receive", staff)
        self.work(order, self.tech2, "3.50", note="Cylinder replaced; lift tested with 1,000 kg.")
        work_orders.perform(order, "complete", staff)
        inv = self.invoice(order)
        invoices.perform(inv, "authorize", fleet)
        half = (inv.total / 2).quantize(Decimal("1"))
        invoices.perform(inv, "payments", staff, amount=str(half), method="transfer",
                         reference="Arctic Refrigeration payment run, 1st instalment")

        # Door seals: disputed and acknowledged; the shop is still checking.
        req = self.request(fleet, "arctic", "Maintenance", "ARC-03: cargo box door seals worn",
                           "Ice builds up at the rear doors.", day=3, unit="arc_03", location="Depot Hamburg",
                           estimate=True)
        est = self.estimate(req, _lines(
            ("Replace rear door seals", "2.00", "95.00", [("TK-DS-2200", "Door seal kit, rear doors", "2", "148.00")]),
            ("Adjust door hinges and locking bars", "1.00", "95.00", []),
        ), confirm_at=self.at(3, 8))
        estimates.perform(est, "submit", staff)
        estimates.perform(est, "dispute", fleet, note="One kit should do.", lines=[
            {"kind": "part", "id": est.labour_lines[0].parts[0].id,
             "note": "Two seal kits? The truck has one pair of rear doors."},
            {"kind": "labour", "id": est.labour_lines[1].id, "note": "The hinges were adjusted in spring."},
        ])
        estimates.perform(est, "acknowledge", staff)
        estimates.perform(est, "notes", staff, text="The kit covers one door; we are checking the hinge history.")

        # Cargo floor: declined by the customer.
        req = self.request(fleet, "arctic", "Repair", "ARC-01: cargo box floor damaged",
                           "Floor panel cracked by a pallet truck.", day=9, unit="arc_01", location="Depot Hamburg",
                           estimate=True)
        est = self.estimate(req, _lines(
            ("Replace cargo floor panels", "6.00", "95.00", [("FL-ALU-3", "Aluminium floor panel", "3", "210.00")]),
        ), confirm_at=self.at(9, 8))
        estimates.perform(est, "submit", staff)
        estimates.perform(est, "decline", fleet, reason="Too expensive this quarter; we will come back in spring.")

        # A portal order that waits for the shop's confirmation.
        work_orders.create(fleet, kind="job", unit_id=self.uid("arc_01"),
                           fault="Tyre pressure sensor warning on the rear axle.", customer_reference="PO-4711",
                           service_location_id=self.location["Depot Hamburg"])

    def reseller_story(self) -> None:
        reseller, staff = self.reseller, self.staff
        depot, main = self.location["Depot Hamburg"], self.location["Main Workshop"]
        dhl, ups, dropoff = self.shipping["DHL Express"], self.shipping["UPS Standard"], self.shipping["Drop-off"]
        faults = {
            "fx_a": ("Display cracked, touch works.", "FX-24-0101", depot, dhl),
            "fx_b": ("Battery swells; back glass lifted.", "FX-24-0102", depot, dhl),
            "fx_g": ("Charging port loose.", "FX-24-0103", depot, dhl),
            "fx_c": ("No signal since update.", "FX-24-0104", depot, ups),
            "fx_d": ("Camera module rattles.", "FX-24-0105", depot, ups),
            "fx_e": ("Water damage, does not switch on.", "FX-24-0106", main, dropoff),
            "fx_f": ("Face ID not available.", "FX-24-0107", depot, dhl),
            "fx_h": ("Speaker crackles at high volume.", "FX-24-0108", depot, dhl),
        }
        orders = {}
        for key, (fault, ref, location, shipping) in faults.items():
            orders[key] = work_orders.create(reseller, kind="repair", unit_id=self.uid(key), fault=fault,
                                             customer_reference=ref, service_location_id=location,
                                             shipping_method_id=shipping)
        # Received shipment: the shop works on its devices.
        received = shipments.create(reseller, work_orders=[orders[k].id for k in ("fx_a", "fx_b", "fx_g")])
        shipments.perform(received, "confirm", reseller)
        shipments.perform(received, "receive", staff)
        self.work(orders["fx_a"], self.tech, "1.25", note="Display assembly replaced.")
        work_orders.perform(orders["fx_a"], "complete", staff)
        self.invoice(orders["fx_a"])
        work_orders.perform(orders["fx_b"], "messages", reseller,
                            text="The device is wiped; no backup needed. Please use an original battery.")
        work_orders.perform(orders["fx_b"], "messages", staff, text="Noted: original Apple battery ordered.")
        self.work(orders["fx_b"], self.tech2, "0.75", note="Battery and back glass replaced.")
        # Confirmed shipment, on its way; a draft shipment not sent yet.
        on_the_way = shipments.create(reseller, work_orders=[orders["fx_c"].id, orders["fx_d"].id])
        shipments.perform(on_the_way, "confirm", reseller)
        shipments.create(reseller, work_orders=[orders["fx_e"].id])
        # fx_f stays confirmed (not shipped yet); fx_h is cancelled by the shop.
        work_orders.perform(orders["fx_h"], "cancel", staff,
                            reason="Duplicate of FX-24-0031, which is already in repair.")

        # Requests: a bulk quote the reseller has to decide on, and a new pick-up request.
        req = self.request(reseller, "fixit", "Repair", "Quote: battery replacement for 10 iPhone 12",
                           "Ex-lease devices; we need a price per device before we ship them.", day=3,
                           location="Depot Hamburg", estimate=True)
        est = self.estimate(req, _lines(
            ("Battery replacement, per device", "5.00", "80.00", [
                ("661-18380", "Battery iPhone 12 (original)", "10", "54.00"),
                ("ADH-IP12", "Adhesive strips iPhone 12", "10", "2.50"),
            ]),
        ), confirm_at=self.at(3, 13))
        estimates.perform(est, "submit", staff)
        self.request(reseller, "fixit", "Diagnosis", "Pick-up of returned devices",
                     "About 15 devices with mixed faults; please send a courier.", day=4, slot="afternoon",
                     location="Depot Hamburg", address=True)

    def other_customers(self) -> None:
        staff = self.staff
        # Müller Logistik: a forklift job ready, its first invoice voided and a new draft; a van estimate draft.
        forklift = work_orders.create(staff, customer_id=self.cid("mueller"), kind="job",
                                      unit_id=self.uid("mueller_forklift"), fault="Mast chain worn, forks drop.",
                                      internal_reference="ML-FL07-2", customer_reference="ML-PO-8812",
                                      service_location_id=self.location["Mobile Unit North"])
        work_orders.perform(forklift, "receive", staff)
        work_orders.perform(forklift, "messages", staff, public=False,
                            text="Customer wants the old chain back for their own records.")
        self.work(forklift, self.tech, "2.00", note="Mast chains replaced and tensioned.")
        voided = self.invoice(forklift)
        invoices.perform(voided, "void", self.manager, reason="Issued with the wrong customer reference.")
        self.invoice(forklift, submit=False)

        req = self.request(staff, "mueller", "Maintenance", "Van HH-ML 204: front brake pads",
                           "Driver reports a grinding noise.", day=5, unit="mueller_van", estimate=True,
                           contact_name="Dieter Müller", contact_phone="+49 40 5559 4401")
        self.estimate(req, _lines(
            ("Replace front brake pads and discs", "1.50", "95.00", [
                ("1 837 432", "Brake disc front", "2", "62.00"),
                ("2 252 880", "Brake pad set front", "1", "74.00"),
            ]),
        ), confirm_at=self.at(5, 9))

        # Café Sonne: a work order cancelled after arrival; an estimate withdrawn by the shop.
        req = self.request(staff, "cafe", "Repair", "Espresso machine loses boiler pressure",
                           "Pressure drops to 0.6 bar during the lunch rush.", day=2, unit="cafe_espresso",
                           location="Mobile Unit North", address=True)
        self.confirm(req, self.at(2, 9))
        order = requests.perform(req, "work_order", staff)
        work_orders.perform(order, "receive", staff)
        work_orders.perform(order, "cancel", staff, reason="The supplier replaces the machine under warranty.")
        est = estimates.create(staff, customer_id=self.cid("cafe"), unit_id=self.uid("cafe_espresso"),
                               labour_lines=_lines(("Replace boiler heating element", "2.00", "95.00", [
                                   ("LM-HE-2400", "Heating element 2400 W", "1", "168.00")])))
        estimates.perform(est, "submit", staff)
        estimates.perform(est, "cancel", staff, reason="Superseded by the supplier's warranty replacement.")

        # Hans Schmidt: a request from the public form, new.
        self.request(Actor.public(customer_id=self.cid("hans")), "hans", "Diagnosis",
                     "Heat pump is loud at night", "Humming noise from the outdoor unit between 22:00 and 06:00.",
                     day=4, slot="afternoon", unit="hans_heatpump", source="public", address=True,
                     contact_name="Hans Schmidt", contact_email="hans.schmidt@example.org",
                     contact_phone="+49 151 555 0199")

        # Klara Fischer: an e-bike service booked by the advisor.
        req = self.request(staff, "klara", "Maintenance", "E-bike annual service",
                           "Also check the rear brake, it feels soft.", day=6, slot="afternoon", unit="klara_ebike")
        self.confirm(req, self.at(6, 13))

    def running_work(self) -> None:
        """Last, so that each technician's one open time entry is not closed by the stories above."""
        staff = self.staff
        # Arctic: an inspection the technician is working on right now (in progress, clock running).
        order = work_orders.create(staff, customer_id=self.cid("arctic"), kind="inspection",
                                   unit_id=self.uid("arc_03"), fault="Check the reefer after the door seal report.",
                                   service_location_id=self.location["Depot Hamburg"])
        work_orders.perform(order, "receive", staff)
        self.start_work(order, self.tech, 40, note="Reefer pre-trip inspection.")
        # Müller: the van's safety inspection, assigned to the second technician, in progress.
        order = work_orders.create(staff, customer_id=self.cid("mueller"), kind="inspection",
                                   unit_id=self.uid("mueller_van"), fault="Annual UVV safety inspection.",
                                   technician_id=self.tech2.user_id, service_location_id=self.location["Main Workshop"])
        work_orders.perform(order, "receive", staff)
        self.work(order, self.tech2, "0.50", ready=False, note="Lights and brakes checked.")
        self.start_work(order, self.tech2, 25, note="Chassis and load securing.")


# ------------------------------------------------------------------------------------------ summary
def _by_status(model, statuses: tuple[str, ...]) -> str:
    counts = dict(db.session.execute(select(model.status, func.count(model.id)).group_by(model.status)).all())
    total = sum(counts.values())
    detail = ", ".join(f"{status} {counts[status]}" for status in statuses if counts.get(status))
    return f"{total} ({detail})" if total else "0"


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def summary() -> list[str]:
    return [
        f"  customers: {_count(Customer)}, portal users: {_count(PortalUser)}, units: {_count(Unit)}",
        f"  service requests: {_by_status(ServiceRequest, REQUEST_STATUSES)}",
        f"  estimates: {_by_status(Estimate, ESTIMATE_STATUSES)}; dispute notes: {_count(DisputeNote)}",
        f"  work orders: {_by_status(WorkOrder, WORK_ORDER_STATUSES)}",
        f"  time entries: {_count(TimeEntry)} ({_count(TimeEntry, TimeEntry.ended_at.is_(None))} running), "
        f"order messages: {_count(OrderMessage)}",
        f"  invoices: {_by_status(Invoice, INVOICE_STATUSES)}; payments: {_count(Payment)}",
        f"  shipments: {_by_status(Shipment, SHIPMENT_STATUSES)}",
        f"  notifications: {_count(Notification)} ({_count(Notification, Notification.audience == 'customer')} "
        f"customer, {_count(Notification, Notification.audience == 'staff')} staff), "
        f"outbox e-mails: {_count(OutboxEmail)}, audit events: {_count(AuditEvent)}",
    ]


# ------------------------------------------------------------------------------------------ entry point
def _reports_and_links(users) -> None:
    """A scheduled weekly report with a queued first run (the scheduler runs it) and a login link for Jane."""
    from app.reports import revenue
    from app.services import portal_auth
    from app.services import reports as report_service

    manager = actor_for(users["manager"])
    definition = report_service.create_definition(
        manager, name="Weekly revenue", kind=revenue.KIND, cron="0 7 * * 1", format="pdf",
        recipients=["manager@example.com"], params={"period": "last_week"})
    report_service.perform(definition, "run", manager)
    portal_auth.issue_token(users["customer"])
    db.session.commit()


def load_demo() -> str:
    """Create the demo accounts and customers that are missing and, once, the history; return a summary."""
    _ensure_roles()
    users, created_users, hashed = {}, [], ""
    for username, role, first, last, _ in ACCOUNTS + EXTRA_ACCOUNTS:
        users[username], created = _ensure_user(username, role, first, last, hashed)
        if created:
            created_users.append(username)
            hashed = hashed or users[username].password
    customers, created_customers = {}, 0
    for key in CUSTOMERS:
        customers[key], created = _ensure_customer(key)
        created_customers += created
    units, created_units = {}, 0
    for key, (customer_key, fields) in UNITS.items():
        units[key], created = _ensure_unit(customers[customer_key], fields)
        created_units += created
    links = sum(_ensure_link(users[username], customers[key]) for username, _, _, _, key in ACCOUNTS if key)
    db.session.commit()

    accounts = ", ".join(f"{u} ({r})" for u, r, *_ in ACCOUNTS + EXTRA_ACCOUNTS)
    lines = [
        f"Demo accounts: {accounts}; password from PORTICO_DEMO_PASSWORD; "
        f"{len(created_users)} created, {len(users) - len(created_users)} already present.",
        f"Demo customers: {created_customers} created, units: {created_units} created, portal links: {links} created.",
    ]
    jane = customers["jane"]
    if _count(ServiceRequest, ServiceRequest.customer_id == jane.id):
        lines.append("Demo history already loaded (Jane Doe has service requests): nothing changed.")
    else:
        try:
            History(users, customers, units).build()
        except Exception as exc:
            db.session.rollback()
            raise RuntimeError(
                "The demo history stopped part-way (each step commits, so what was made so far stays). Load the "
                "demo into an empty database: the next run would find Jane Doe's requests and skip the history."
            ) from exc
        _reports_and_links(users)
        lines.append("Demo history loaded through the service layer:")
    return "\n".join(lines + summary())
