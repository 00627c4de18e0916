"""The demo shop: the accounts of SPEC §5, their customer accounts and units, and history in every state.

Every document is made and moved through the service layer (``app.services``) exactly as the screens
and the API do it, so numbers, audit events, notifications and outbox e-mails are the real ones; no
``status`` and no timestamp is ever written here. Customers, addresses and units are plain master data and
are inserted directly.

The history looks lived-in: it spreads over the last three months. Each story is played step by step at its
own past working day and hour with the services' clock set to that moment (``app.core.clock.frozen``), in
time order, so document numbers follow time, invoices fall due from their own issue date, time entries are
clocked on and off at real hours, and the manager dashboard and the reports' default periods show figures.
What has to be current stays current: bookings and proposals still to come lie from tomorrow on, two
technicians are clocked on right now, and the report run and Jane's login link are made at the real time.

Idempotent: accounts, customers and units are found by their natural keys and only created when
missing; the history is created once, when the demo customer "Jane Doe" has no service request yet.
"""
from __future__ import annotations

import datetime as dt
import heapq
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select
from stdnum import imei as imei_number
from stdnum import luhn

from app.core import clock
from app.core.actors import Actor
from app.core.errors import ValidationFailed
from app.core.scope import actor_for
from app.core.settings import to_local, to_utc
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
from app.services import customers as customer_service
from app.services import estimates, invoices, requests, shipments, work_orders

from .reference import HOLIDAYS

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
        # German: its portal pages, mails and PDFs speak German (issue 16); Jane stays English
        "name": "Arctic Refrigeration", "kind": "business", "email": "fleet@example.com", "language": "de",
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
    db.session.add(PortalUser(user_id=user.id, customer_id=customer.id, language=customer.language))
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
    """Builds the demo history through the service layer: many small stories, played in time order.

    Each story is a generator that yields the shop-local moment of its next step and then takes that step
    through the services; ``build`` runs every story's steps in time order with the clock
    (``app.core.clock.frozen``) set to that moment, so numbers follow time and every timestamp, audit event,
    notification, e-mail, time entry and due date is the one a real shop would have. Past days are working
    days (``wd(n)``: n working days ago); bookings still to come are calendar days ahead (``at(n)``)."""

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
        self.now = to_local(utcnow())
        self.today = self.now.date()
        self.type = {t.name: t.id for t in db.session.scalars(select(ServiceType))}
        self.location = {s.name: s.id for s in db.session.scalars(select(ServiceLocation))}
        self.shipping = {s.name: s.id for s in db.session.scalars(select(ShippingMethod))}

    # -------------------------------------------------------------- time
    def day(self, offset: int) -> dt.date:
        return self.today + dt.timedelta(days=offset)

    def at(self, offset: int, hour: int, minute: int = 0) -> dt.datetime:
        """A shop-local (naive) time ``offset`` days from today; the services convert it to UTC."""
        return dt.datetime.combine(self.day(offset), dt.time(hour, minute))

    def wday(self, n: int) -> dt.date:
        """The working day (Monday to Friday) ``n`` working days before today."""
        return working_days_ago(self.today, n)

    def wd(self, n: int, hour: int, minute: int = 0) -> dt.datetime:
        """A shop-local (naive) time on the working day ``n`` working days before today."""
        return dt.datetime.combine(self.wday(n), dt.time(hour, minute))

    def ago(self, minutes: int) -> dt.datetime:
        """``minutes`` before the real now (for the work going on right now)."""
        return self.now - dt.timedelta(minutes=minutes)

    def build(self) -> None:
        """Play the steps of every story in time order, each with the clock at its moment."""
        stories = [
            self.jane_service(), self.jane_laptop_diagnosis(), self.jane_brakes(), self.jane_dash_cam(),
            self.jane_air_conditioning(), self.jane_laptop_repair(), self.jane_portal_orders(),
            self.fleet_reefer(), self.fleet_atp(), self.fleet_telematics(), self.fleet_tail_lift(),
            self.fleet_door_seals(), self.fleet_cargo_floor(), self.fleet_tyre_sensor(),
            self.reseller_devices(), self.reseller_quote(), self.reseller_pickup(),
            self.mueller_forklift(), self.mueller_van(), self.cafe(), self.hans(), self.klara(),
            self.running_inspection(), self.running_safety_check(), self.portal_visits(),
        ]
        queue: list = []
        for seq, story in enumerate(stories):
            self._next(queue, seq, story)
        last = None
        while queue:
            moment, seq, story = heapq.heappop(queue)
            if last is not None and moment < last:
                raise RuntimeError(f"Demo story {seq} steps back in time to {moment} (after {last}).")
            last = moment
            with clock.frozen(moment):
                self._next(queue, seq, story)

    @staticmethod
    def _next(queue: list, seq: int, story) -> None:
        """Run ``story`` up to its next moment and queue it there (or drop it when it is told)."""
        try:
            moment = next(story)
        except StopIteration:
            return
        heapq.heappush(queue, (to_utc(moment), seq, story))

    # -------------------------------------------------------------- helpers
    def cid(self, key: str) -> int:
        return self.customers[key].id

    def uid(self, key: str) -> int:
        return self.units[key].id

    def request(self, actor: Actor, customer: str, service_type: str, subject: str, summary: str, *,
                day: int | dt.date, slot: str = "morning", unit: str | None = None,
                location: str = "Main Workshop", estimate: bool = False, source: str | None = None,
                address: bool = False, time: dt.time | None = None, **extra) -> ServiceRequest:
        """``day``: the preferred date, or that many days from today."""
        customer_obj = self.customers[customer]
        return requests.submit(
            actor, customer_id=customer_obj.id, service_type_id=self.type[service_type], subject=subject,
            summary=summary, preferred_date=day if isinstance(day, dt.date) else self.day(day),
            preferred_slot=slot, preferred_time=time,
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

    def work(self, order: WorkOrder, tech: Actor, hours: str, start: dt.datetime, *, ready: bool = True,
             note: str | None = None):
        """Steps: the technician clocks on at ``start``, clocks off ``hours`` later (and marks the order ready)."""
        end = start + dt.timedelta(hours=float(Decimal(hours)))
        yield start
        work_orders.perform(order, "clock_on", tech, note=note)
        yield end
        work_orders.perform(order, "clock_off", tech)
        if ready:
            yield end + dt.timedelta(minutes=5)
            work_orders.perform(order, "ready", tech, note=note)

    def invoice(self, order: WorkOrder, *, submit: bool = True) -> Invoice:
        inv = work_orders.perform(order, "invoice", self.staff)
        if submit:
            invoices.perform(inv, "submit", self.staff)
        return inv

    # -------------------------------------------------------------- Jane Doe
    def jane_service(self):
        """Annual service, three months ago: estimate approved → work order → done → invoice paid in two
        payments (the second one late)."""
        jane, staff = self.jane, self.staff
        yield self.wd(60, 10, 5)
        req = self.request(jane, "jane", "Maintenance", "Annual service for the Golf",
                           "Service light is on; 28,000 km since the last service.", day=self.wday(58),
                           unit="jane_car", estimate=True)
        yield self.wd(59, 9)
        est = self.estimate(req, _lines(
            ("Annual service per manufacturer schedule", "2.00", "95.00", [
                ("06L115562B", "Oil filter", "1", "14.90"),
                ("G052195M4", "Engine oil 0W-20, litre", "4.5", "12.40"),
                ("5Q0129620D", "Air filter", "1", "24.50"),
            ]),
            ("Brake fluid replacement", "0.50", "95.00", [("B000750M3", "Brake fluid DOT 4, litre", "1", "18.90")]),
        ), confirm_at=self.wd(58, 9))
        yield self.wd(59, 11, 30)
        estimates.perform(est, "submit", staff)
        yield self.wd(59, 18, 40)
        order = estimates.perform(est, "approve", jane)
        yield self.wd(58, 8, 20)
        work_orders.perform(order, "assign", staff, technician_id=self.tech.user_id,
                            scheduled_start=req.scheduled_start,
                            scheduled_end=req.scheduled_start + dt.timedelta(hours=3))
        yield self.wd(58, 8, 50)
        work_orders.perform(order, "receive", staff)
        yield self.wd(58, 9, 5)
        work_orders.perform(order, "messages", jane, text="Could you also check the wiper blades? They smear.")
        yield from self.work(order, self.tech, "2.75", self.wd(58, 9, 15),
                             note="Service done; wiper blades replaced as a goodwill gesture.")
        yield self.wd(58, 12, 10)
        work_orders.perform(order, "messages", self.tech, text="Wipers checked: the front blades are worn. "
                                                                "We replaced them free of charge.")
        yield self.wd(58, 14)
        work_orders.perform(order, "complete", staff)
        yield self.wd(58, 14, 10)
        inv = self.invoice(order)
        yield self.wd(58, 16, 30)
        invoices.perform(inv, "payments", staff, amount="100.00", method="card", reference="Deposit at drop-off")
        yield self.wd(30, 10)
        invoices.perform(inv, "payments", staff, amount=str(inv.balance), method="transfer",
                         reference=f"Bank transfer {inv.number}")

    def jane_laptop_diagnosis(self):
        """The shop proposed a time, it passed unanswered; a new proposal, and Jane has not answered yet."""
        yield self.wd(52, 19, 40)
        req = self.request(self.jane, "jane", "Diagnosis", "Laptop does not boot",
                           "Power LED blinks three times, then nothing. Data on the SSD is important.",
                           day=self.wday(50), slot="evening", unit="jane_laptop")
        yield self.wd(51, 9, 30)
        requests.perform(req, "propose", self.staff, start=self.wd(49, 10, 30),
                         note="Our bench technician is free on this morning; evenings are fully booked.")
        yield self.wd(1, 11)
        requests.perform(req, "propose", self.staff, start=self.at(3, 10, 30),
                         note="The last suggestion has passed: our bench technician is free on this morning.")

    def jane_brakes(self):
        """New, waiting for the shop."""
        yield self.wd(47, 8, 10)
        self.request(self.jane, "jane", "Repair", "Brakes squeal at low speed",
                     "Squealing when braking gently, mostly in the morning.", day=5, slot="afternoon",
                     unit="jane_car")

    def jane_dash_cam(self):
        """Cancelled by Jane."""
        yield self.wd(44, 12, 30)
        req = self.request(self.jane, "jane", "Installation", "Install a dash cam",
                           "Front and rear camera, hard-wired.", day=self.wday(41), slot="custom",
                           time=dt.time(11, 15), unit="jane_car")
        yield self.wd(43, 18)
        requests.perform(req, "cancel", self.jane, reason="I bought a camera that plugs into the USB socket.")

    def jane_air_conditioning(self):
        """Estimate sent, waiting for Jane's decision."""
        yield self.wd(40, 9)
        req = self.request(self.jane, "jane", "Repair", "Air conditioning blows warm air",
                           "Since last week the A/C only blows warm air.", day=self.wday(37), slot="afternoon",
                           unit="jane_car", estimate=True)
        yield self.wd(39, 10)
        est = self.estimate(req, _lines(
            ("A/C leak test and refill", "1.00", "95.00", [("R1234YF-500", "Refrigerant R1234yf, 100 g", "5", "9.80")]),
            ("Replace A/C condenser", "1.50", "95.00", [("5Q0816411BH", "A/C condenser", "1", "189.00"),
                                                        ("N90709601", "O-ring set", "1", "6.50")]),
        ), confirm_at=self.wd(37, 13))
        yield self.wd(37, 16, 30)
        estimates.perform(est, "submit", self.staff)

    def jane_laptop_repair(self):
        """Jane disputes two lines (lately); the shop has not acknowledged yet."""
        jane = self.jane
        yield self.wd(35, 20, 15)
        req = self.request(jane, "jane", "Repair", "Replace laptop battery and keyboard",
                           "Battery lasts 40 minutes; keys E and R stick.", day=self.wday(33), unit="jane_laptop",
                           estimate=True)
        yield self.wd(34, 9)
        est = self.estimate(req, _lines(
            ("Replace keyboard", "1.50", "95.00", [("5N20W67678", "Keyboard DE layout, backlit", "1", "79.00")]),
            ("Replace battery", "0.50", "95.00", [("5B10W51867", "Battery 52.5 Wh", "1", "119.00")]),
        ), confirm_at=self.wd(33, 9))
        yield self.wd(33, 15)
        estimates.perform(est, "submit", self.staff)
        keyboard, battery = est.labour_lines
        yield self.wd(2, 19, 30)
        estimates.perform(est, "dispute", jane, note="Two things look too high to me.", lines=[
            {"kind": "labour", "id": keyboard.id, "note": "1.5 hours for a keyboard swap seems a lot."},
            {"kind": "part", "id": battery.parts[0].id, "note": "I found this battery online for 69 EUR."},
        ])
        yield self.wd(2, 19, 35)
        estimates.perform(est, "notes", jane, text="I can bring the battery myself if that helps.")

    def jane_portal_orders(self):
        """One waits for the shop's confirmation, one is confirmed and scheduled."""
        jane, staff = self.jane, self.staff
        yield self.wd(16, 9)
        work_orders.create(jane, kind="repair", unit_id=self.uid("jane_laptop"),
                           fault="Left hinge cracked; the screen wobbles when typing.",
                           customer_reference="Hinge", service_location_id=self.location["Main Workshop"])
        yield self.wd(15, 20)
        order = work_orders.create(jane, kind="job", unit_id=self.uid("jane_car"),
                                   fault="Change to winter tyres (stored at the shop).",
                                   customer_reference="Winter tyres",
                                   service_location_id=self.location["Main Workshop"])
        yield self.wd(13, 9, 30)
        work_orders.perform(order, "confirm", staff)
        yield self.wd(13, 9, 35)
        work_orders.perform(order, "assign", staff, technician_id=self.tech.user_id,
                            scheduled_start=self.at(6, 8), scheduled_end=self.at(6, 9))

    # -------------------------------------------------------------- Arctic Refrigeration
    def fleet_reefer(self):
        """Booked, turned into a work order, done and invoiced; waits for authorization."""
        fleet, staff = self.fleet, self.staff
        yield self.wd(18, 7, 45)
        req = self.request(fleet, "arctic", "Repair", "ARC-01: reefer unit does not hold -18 °C",
                           "Box temperature climbs to -9 °C on long trips. Alarm code 64.", day=self.wday(14),
                           unit="arc_01", location="Depot Hamburg")
        yield self.wd(17, 9)
        self.confirm(req, self.wd(14, 8))
        yield self.wd(14, 8)
        order = requests.perform(req, "work_order", staff)
        yield self.wd(14, 8, 5)
        work_orders.perform(order, "receive", staff)
        yield from self.work(order, self.tech, "3.25", self.wd(14, 8, 30),
                             note="Condenser fan motor replaced, system evacuated and recharged.")
        yield self.wd(13, 9)
        work_orders.perform(order, "complete", staff)
        yield self.wd(13, 10)
        self.invoice(order)

    def fleet_atp(self):
        """ATP inspection: proposal, counter-proposal, new proposal accepted → booked."""
        fleet, staff = self.fleet, self.staff
        yield self.wd(17, 11)
        req = self.request(fleet, "arctic", "Inspection", "ARC-02: annual ATP inspection",
                           "Certificate expires at the end of the month.", day=7, unit="arc_02",
                           location="Mobile Unit North", address=True)
        yield self.wd(3, 10)
        requests.perform(req, "propose", staff, start=self.at(7, 8, 30), note="Our mobile unit can come early.")
        yield self.wd(2, 8, 15)
        requests.perform(req, "propose", fleet, start=self.at(8, 14, 30),
                         note="The truck is on the road until the afternoon.")
        yield self.wd(2, 9)
        requests.perform(req, "propose", staff, start=self.at(8, 14, 30), note="Fine, 14:30 at your depot.")
        yield self.wd(1, 8, 30)
        requests.perform(req, "accept_time", fleet)

    def fleet_telematics(self):
        """Declined by the shop."""
        yield self.wd(17, 14)
        req = self.request(self.fleet, "arctic", "Installation", "ARC-03: fit our telematics box",
                           "We supply the box (Webfleet LINK 740).", day=self.wday(12), unit="arc_03")
        yield self.wd(16, 9)
        requests.perform(req, "decline", self.staff, reason="We do not install third-party telematics hardware; "
                                                            "the supplier's installer can use our bay free of charge.")

    def fleet_tail_lift(self):
        """Estimate disputed, acknowledged, revised (R1 → R2), approved, done, invoiced, authorized and partly
        paid."""
        fleet, staff = self.fleet, self.staff
        yield self.wd(16, 10)
        req = self.request(fleet, "arctic", "Repair", "ARC-02: tail lift leaks hydraulic oil",
                           "Oil under the tail lift every morning.", day=self.wday(15), unit="arc_02",
                           location="Depot Hamburg", estimate=True)
        yield self.wd(16, 11)
        est = self.estimate(req, _lines(
            ("Replace tail lift lifting cylinder", "4.00", "95.00", [
                ("DH-LC-1500", "Lifting cylinder Dhollandia", "1", "640.00"),
                ("HLP46-5", "Hydraulic oil HLP 46, 5 l", "1", "34.00"),
            ]),
            ("Function test and safety check", "0.50", "95.00", []),
        ), confirm_at=self.wd(15, 8))
        yield self.wd(15, 14)
        estimates.perform(est, "submit", staff)
        cylinder = est.labour_lines[0]
        yield self.wd(14, 9, 30)
        estimates.perform(est, "dispute", fleet, note="Please check against our service contract.", lines=[
            {"kind": "labour", "id": cylinder.id, "note": "Our contract lists 3.0 hours for this cylinder."},
        ])
        yield self.wd(13, 10, 30)
        estimates.perform(est, "acknowledge", staff)
        yield self.wd(13, 10, 40)
        estimates.perform(est, "notes", staff, text="You are right: the contract rate of 3.0 hours applies. "
                                                    "A revised estimate follows.")
        yield self.wd(12, 9)
        revision = estimates.perform(est, "revise", staff)
        lines = _lines(
            ("Replace tail lift lifting cylinder (contract time)", "3.00", "95.00", [
                ("DH-LC-1500", "Lifting cylinder Dhollandia", "1", "640.00"),
                ("HLP46-5", "Hydraulic oil HLP 46, 5 l", "1", "34.00"),
            ]),
            ("Function test and safety check", "0.50", "95.00", []),
        )
        yield self.wd(12, 9, 20)
        estimates.perform(revision, "edit", staff, labour_lines=lines)
        yield self.wd(12, 9, 30)
        estimates.perform(revision, "submit", staff)
        yield self.wd(11, 8, 40)
        estimates.perform(revision, "notes", fleet, text="Thank you, approved.")
        yield self.wd(11, 8, 45)
        order = estimates.perform(revision, "approve", fleet)
        yield self.wd(11, 13)
        work_orders.perform(order, "receive", staff)
        yield from self.work(order, self.tech2, "3.50", self.wd(10, 8),
                             note="Cylinder replaced; lift tested with 1,000 kg.")
        yield self.wd(10, 12)
        work_orders.perform(order, "complete", staff)
        yield self.wd(10, 13)
        inv = self.invoice(order)
        yield self.wd(8, 9)
        invoices.perform(inv, "authorize", fleet)
        half = (inv.total / 2).quantize(Decimal("1"))
        yield self.wd(3, 11)
        invoices.perform(inv, "payments", staff, amount=str(half), method="transfer",
                         reference="Arctic Refrigeration payment run, 1st instalment")

    def fleet_door_seals(self):
        """Disputed and acknowledged; the shop is still checking."""
        fleet, staff = self.fleet, self.staff
        yield self.wd(15, 10)
        req = self.request(fleet, "arctic", "Maintenance", "ARC-03: cargo box door seals worn",
                           "Ice builds up at the rear doors.", day=self.wday(13), unit="arc_03",
                           location="Depot Hamburg", estimate=True)
        yield self.wd(15, 11)
        est = self.estimate(req, _lines(
            ("Replace rear door seals", "2.00", "95.00", [("TK-DS-2200", "Door seal kit, rear doors", "2", "148.00")]),
            ("Adjust door hinges and locking bars", "1.00", "95.00", []),
        ), confirm_at=self.wd(13, 8))
        yield self.wd(13, 15)
        estimates.perform(est, "submit", staff)
        yield self.wd(12, 8)
        estimates.perform(est, "dispute", fleet, note="One kit should do.", lines=[
            {"kind": "part", "id": est.labour_lines[0].parts[0].id,
             "note": "Two seal kits? The truck has one pair of rear doors."},
            {"kind": "labour", "id": est.labour_lines[1].id, "note": "The hinges were adjusted in spring."},
        ])
        yield self.wd(11, 10)
        estimates.perform(est, "acknowledge", staff)
        yield self.wd(11, 10, 15)
        estimates.perform(est, "notes", staff, text="The kit covers one door; we are checking the hinge history.")

    def fleet_cargo_floor(self):
        """Declined by the customer."""
        fleet = self.fleet
        yield self.wd(14, 7, 30)
        req = self.request(fleet, "arctic", "Repair", "ARC-01: cargo box floor damaged",
                           "Floor panel cracked by a pallet truck.", day=self.wday(12), unit="arc_01",
                           location="Depot Hamburg", estimate=True)
        yield self.wd(14, 9)
        est = self.estimate(req, _lines(
            ("Replace cargo floor panels", "6.00", "95.00", [("FL-ALU-3", "Aluminium floor panel", "3", "210.00")]),
        ), confirm_at=self.wd(12, 8))
        yield self.wd(12, 16)
        estimates.perform(est, "submit", self.staff)
        yield self.wd(10, 9)
        estimates.perform(est, "decline", fleet, reason="Too expensive this quarter; we will come back in spring.")

    def fleet_tyre_sensor(self):
        """A portal order that waits for the shop's confirmation."""
        yield self.wd(9, 8)
        work_orders.create(self.fleet, kind="job", unit_id=self.uid("arc_01"),
                           fault="Tyre pressure sensor warning on the rear axle.", customer_reference="PO-4711",
                           service_location_id=self.location["Depot Hamburg"])

    # -------------------------------------------------------------- FixIt Resellers
    def reseller_devices(self):
        """Eight device repairs: a received shipment the shop works on, one on its way, a draft, one cancelled."""
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
        for minute, (key, (fault, ref, location, shipping)) in enumerate(faults.items()):
            yield self.wd(8, 9, 2 * minute)
            orders[key] = work_orders.create(reseller, kind="repair", unit_id=self.uid(key), fault=fault,
                                             customer_reference=ref, service_location_id=location,
                                             shipping_method_id=shipping)
        # Received shipment: the shop works on its devices.
        yield self.wd(8, 9, 40)
        received = shipments.create(reseller, work_orders=[orders[k].id for k in ("fx_a", "fx_b", "fx_g")])
        shipments.perform(received, "confirm", reseller)
        # fx_h is cancelled by the shop; fx_f stays confirmed (not shipped yet).
        yield self.wd(7, 10, 30)
        work_orders.perform(orders["fx_h"], "cancel", staff,
                            reason="Duplicate of FX-24-0031, which is already in repair.")
        yield self.wd(6, 8, 30)
        shipments.perform(received, "receive", staff)
        yield from self.work(orders["fx_a"], self.tech, "1.25", self.wd(6, 9, 30), note="Display assembly replaced.")
        yield self.wd(6, 11)
        work_orders.perform(orders["fx_b"], "messages", reseller,
                            text="The device is wiped; no backup needed. Please use an original battery.")
        yield self.wd(6, 11, 30)
        work_orders.perform(orders["fx_b"], "messages", staff, text="Noted: original Apple battery ordered.")
        yield self.wd(5, 8, 30)
        work_orders.perform(orders["fx_a"], "complete", staff)
        yield self.wd(5, 9)
        self.invoice(orders["fx_a"])
        yield from self.work(orders["fx_b"], self.tech2, "0.75", self.wd(4, 9), note="Battery and back glass replaced.")
        # Confirmed shipment, on its way; a draft shipment not sent yet.
        yield self.wd(3, 10)
        on_the_way = shipments.create(reseller, work_orders=[orders["fx_c"].id, orders["fx_d"].id])
        yield self.wd(2, 16)
        shipments.perform(on_the_way, "confirm", reseller)
        yield self.wd(1, 15)
        shipments.create(reseller, work_orders=[orders["fx_e"].id])

    def reseller_quote(self):
        """A bulk quote the reseller has to decide on."""
        yield self.wd(9, 10)
        req = self.request(self.reseller, "fixit", "Repair", "Quote: battery replacement for 10 iPhone 12",
                           "Ex-lease devices; we need a price per device before we ship them.", day=self.wday(8),
                           location="Depot Hamburg", estimate=True)
        yield self.wd(9, 10, 30)
        est = self.estimate(req, _lines(
            ("Battery replacement, per device", "5.00", "80.00", [
                ("661-18380", "Battery iPhone 12 (original)", "10", "54.00"),
                ("ADH-IP12", "Adhesive strips iPhone 12", "10", "2.50"),
            ]),
        ), confirm_at=self.wd(8, 13))
        yield self.wd(8, 15)
        estimates.perform(est, "submit", self.staff)

    def reseller_pickup(self):
        """A new pick-up request."""
        yield self.wd(4, 10)
        self.request(self.reseller, "fixit", "Diagnosis", "Pick-up of returned devices",
                     "About 15 devices with mixed faults; please send a courier.", day=4, slot="afternoon",
                     location="Depot Hamburg", address=True)

    # -------------------------------------------------------------- other customers
    def mueller_forklift(self):
        """Müller Logistik: a forklift job ready, its first invoice voided and a new draft."""
        staff = self.staff
        yield self.wd(7, 10)
        forklift = work_orders.create(staff, customer_id=self.cid("mueller"), kind="job",
                                      unit_id=self.uid("mueller_forklift"), fault="Mast chain worn, forks drop.",
                                      internal_reference="ML-FL07-2", customer_reference="ML-PO-8812",
                                      service_location_id=self.location["Mobile Unit North"])
        yield self.wd(7, 10, 5)
        work_orders.perform(forklift, "receive", staff)
        yield self.wd(7, 10, 10)
        work_orders.perform(forklift, "messages", staff, public=False,
                            text="Customer wants the old chain back for their own records.")
        yield from self.work(forklift, self.tech, "2.00", self.wd(6, 13), note="Mast chains replaced and tensioned.")
        yield self.wd(5, 14)
        voided = self.invoice(forklift)
        yield self.wd(4, 11)
        invoices.perform(voided, "void", self.manager, reason="Issued with the wrong customer reference.")
        yield self.wd(4, 11, 20)
        self.invoice(forklift, submit=False)

    def mueller_van(self):
        """Müller Logistik: a van estimate draft for a visit still to come."""
        yield self.wd(4, 11)
        req = self.request(self.staff, "mueller", "Maintenance", "Van HH-ML 204: front brake pads",
                           "Driver reports a grinding noise.", day=5, unit="mueller_van", estimate=True,
                           contact_name="Dieter Müller", contact_phone="+49 40 5559 4401")
        yield self.wd(4, 11, 10)
        self.estimate(req, _lines(
            ("Replace front brake pads and discs", "1.50", "95.00", [
                ("1 837 432", "Brake disc front", "2", "62.00"),
                ("2 252 880", "Brake pad set front", "1", "74.00"),
            ]),
        ), confirm_at=self.at(5, 9))

    def cafe(self):
        """Café Sonne: a work order cancelled after arrival; an estimate withdrawn by the shop."""
        staff = self.staff
        yield self.wd(3, 9)
        req = self.request(staff, "cafe", "Repair", "Espresso machine loses boiler pressure",
                           "Pressure drops to 0.6 bar during the lunch rush.", day=self.wday(2), unit="cafe_espresso",
                           location="Mobile Unit North", address=True)
        yield self.wd(3, 9, 20)
        self.confirm(req, self.wd(2, 9))
        yield self.wd(2, 8, 45)
        order = requests.perform(req, "work_order", staff)
        yield self.wd(2, 9, 30)
        work_orders.perform(order, "receive", staff)
        yield self.wd(2, 14)
        work_orders.perform(order, "cancel", staff, reason="The supplier replaces the machine under warranty.")
        yield self.wd(2, 14, 30)
        est = estimates.create(staff, customer_id=self.cid("cafe"), unit_id=self.uid("cafe_espresso"),
                               labour_lines=_lines(("Replace boiler heating element", "2.00", "95.00", [
                                   ("LM-HE-2400", "Heating element 2400 W", "1", "168.00")])))
        yield self.wd(2, 14, 35)
        estimates.perform(est, "submit", staff)
        yield self.wd(1, 9)
        estimates.perform(est, "cancel", staff, reason="Superseded by the supplier's warranty replacement.")

    def hans(self):
        """Hans Schmidt: a request from the public form, new (sent in the evening)."""
        yield self.wd(2, 21, 10)
        self.request(Actor.public(customer_id=self.cid("hans")), "hans", "Diagnosis",
                     "Heat pump is loud at night", "Humming noise from the outdoor unit between 22:00 and 06:00.",
                     day=4, slot="afternoon", unit="hans_heatpump", source="public", address=True,
                     contact_name="Hans Schmidt", contact_email="hans.schmidt@example.org",
                     contact_phone="+49 151 555 0199")

    def klara(self):
        """Klara Fischer: an e-bike service booked by the advisor."""
        yield self.wd(1, 10)
        req = self.request(self.staff, "klara", "Maintenance", "E-bike annual service",
                           "Also check the rear brake, it feels soft.", day=6, slot="afternoon", unit="klara_ebike")
        yield self.wd(1, 10, 5)
        self.confirm(req, self.at(6, 13))

    def portal_visits(self):
        """The portal customers read their notifications now and then: older ones are read, recent ones not."""
        for n, actor in ((20, self.jane), (6, self.fleet), (3, self.reseller)):
            yield self.wd(n, 18, 30)
            customer_service.mark_all_read(actor)

    # -------------------------------------------------------------- today
    def running_inspection(self):
        """Arctic: an inspection the technician is working on right now (in progress, clock running)."""
        staff = self.staff
        yield self.ago(130)
        order = work_orders.create(staff, customer_id=self.cid("arctic"), kind="inspection",
                                   unit_id=self.uid("arc_03"), fault="Check the reefer after the door seal report.",
                                   service_location_id=self.location["Depot Hamburg"])
        yield self.ago(125)
        work_orders.perform(order, "receive", staff)
        yield self.ago(40)
        work_orders.perform(order, "clock_on", self.tech, note="Reefer pre-trip inspection.")

    def running_safety_check(self):
        """Müller: the van's safety inspection, assigned to the second technician, in progress."""
        staff = self.staff
        yield self.ago(120)
        order = work_orders.create(staff, customer_id=self.cid("mueller"), kind="inspection",
                                   unit_id=self.uid("mueller_van"), fault="Annual UVV safety inspection.",
                                   technician_id=self.tech2.user_id, service_location_id=self.location["Main Workshop"])
        yield self.ago(115)
        work_orders.perform(order, "receive", staff)
        yield from self.work(order, self.tech2, "0.50", self.ago(90), ready=False, note="Lights and brakes checked.")
        yield self.ago(25)
        work_orders.perform(order, "clock_on", self.tech2, note="Chassis and load securing.")


_HOLIDAYS = {(month, day) for month, day, _name in HOLIDAYS}


def working_days_ago(day: dt.date, n: int) -> dt.date:
    """The ``n``-th working day (Monday to Friday, not one of the shop's holidays) before ``day``."""
    while n > 0:
        day -= dt.timedelta(days=1)
        n -= day.weekday() < 5 and (day.month, day.day) not in _HOLIDAYS
    return day


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


def _master_data_since() -> dt.datetime:
    """When the demo customers and units were entered: 8:00 shop time, 65 working days ago (the history of
    ``History`` starts 60 working days ago)."""
    return to_utc(dt.datetime.combine(working_days_ago(to_local(utcnow()).date(), 65), dt.time(8)))


def load_demo() -> str:
    """Create the demo accounts and customers that are missing and, once, the history; return a summary."""
    _ensure_roles()
    users, created_users, hashed = {}, [], ""
    for username, role, first, last, _ in ACCOUNTS + EXTRA_ACCOUNTS:
        users[username], created = _ensure_user(username, role, first, last, hashed)
        if created:
            created_users.append(username)
            hashed = hashed or users[username].password
    with clock.frozen(_master_data_since()):  # customers of the shop before the history begins
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
