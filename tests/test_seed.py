"""The seed data: ``flask --app run seed [--demo]`` (SPEC §4) with the demo accounts of SPEC §5 and history in
every state of SPEC §3, made through the service layer, and idempotent."""
from __future__ import annotations

from decimal import Decimal

from flask import current_app
from flask_appbuilder import Model
from sqlalchemy import func, select, text
from stdnum import imei

from app.extensions import db
from app.models import (
    ESTIMATE_STATUSES,
    INVOICE_STATUSES,
    REQUEST_STATUSES,
    SHIPMENT_STATUSES,
    WORK_ORDER_KINDS,
    WORK_ORDER_STATUSES,
    AuditEvent,
    Customer,
    DisputeNote,
    Estimate,
    Invoice,
    Notification,
    OutboxEmail,
    PortalUser,
    ServiceLocation,
    ServiceRequest,
    ServiceType,
    Settings,
    Shipment,
    ShippingMethod,
    TimeEntry,
    Unit,
    User,
    WorkOrder,
)
from seed import load

#: SPEC §5: username → (role, (customer account, kind) or None)
SPEC_ACCOUNTS = {
    "admin": ("Admin", None),
    "manager": ("Manager", None),
    "advisor": ("Advisor", None),
    "tech": ("Technician", None),
    "customer": ("Customer", ("Jane Doe", "individual")),
    "fleet": ("Customer", ("Arctic Refrigeration", "business")),
    "reseller": ("Reseller", ("FixIt Resellers GmbH", "reseller")),
}
#: SPEC §3: every table and its states.
STATES = {
    ServiceRequest: REQUEST_STATUSES,
    Estimate: ESTIMATE_STATUSES,
    WorkOrder: WORK_ORDER_STATUSES,
    Invoice: INVOICE_STATUSES,
    Shipment: SHIPMENT_STATUSES,
}


def _row_counts() -> dict[str, int]:
    with db.engine.connect() as conn:
        return {t.name: conn.execute(text(f'SELECT COUNT(*) FROM "{t.name}"')).scalar()
                for t in Model.metadata.sorted_tables}


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _customer(name: str) -> Customer:
    return db.session.scalar(select(Customer).where(Customer.name == name))


def test_reference_data_only_and_idempotent():
    first = load(demo=False)
    assert first.startswith("Reference data: settings created")
    settings = db.session.scalar(select(Settings))
    assert (settings.shop_name, settings.currency, settings.tax_rate, settings.time_zone) == (
        "Portico Demo Service", "EUR", Decimal("19.00"), "Europe/Berlin")
    assert settings.address and settings.staff_email
    names = set(db.session.scalars(select(ServiceType.name)))
    assert {"Diagnosis", "Repair", "Maintenance", "Inspection", "Installation"} <= names
    locations = set(db.session.scalars(select(ServiceLocation.name)))
    assert {"Main Workshop", "Mobile Unit North", "Depot Hamburg"} <= locations
    assert {"DHL Express", "UPS Standard", "Drop-off"} <= set(db.session.scalars(select(ShippingMethod.name)))
    assert _count(User) == 0 and _count(Customer) == 0
    # German names for every demo service type, location and shipping method (issue 16)
    for model in (ServiceType, ServiceLocation, ShippingMethod):
        assert all(row.names.get("de") for row in db.session.scalars(select(model))), model.__name__
    inspection = db.session.scalar(select(ServiceType).where(ServiceType.name == "Inspection"))
    assert (inspection.local_name, inspection.names) == ("Inspection", {"de": "Inspektion"})
    counts = _row_counts()
    assert "settings kept" in load(demo=False)
    assert _row_counts() == counts
    assert _count(Settings) == 1


def test_demo_accounts_roles_links_and_passwords_loaded_once():
    load(demo=True)
    counts = _row_counts()
    again = load(demo=True)
    assert "already loaded" in again and "0 created" in again
    assert _row_counts() == counts, "loading the demo twice must not add or remove anything"
    sm = current_app.appbuilder.sm
    password = current_app.config["PORTICO_DEMO_PASSWORD"]
    for username, (role, account) in SPEC_ACCOUNTS.items():
        user = sm.find_user(username=username)
        assert user is not None, username
        assert [r.name for r in user.roles] == [role]
        assert user.email == f"{username}@example.com"
        link = db.session.scalar(select(PortalUser).where(PortalUser.user_id == user.id))
        if account is None:
            assert link is None, username
        else:
            assert (link.customer.name, link.customer.kind) == account
        authenticated = sm.auth_user_db(username, password)
        assert authenticated is not None and authenticated.id == user.id, username
    assert sm.auth_user_db("customer", password + "x") is None
    fleet = _customer("Arctic Refrigeration")
    assert fleet.requires_invoice_authorization is True
    assert _count(Unit, Unit.customer_id == fleet.id) == 3
    assert _customer("Jane Doe").requires_invoice_authorization is False
    # Arctic Refrigeration (and its portal user) speak German, Jane stays English (issue 16)
    assert fleet.language == "de" and _customer("Jane Doe").language in (None, "en")
    fleet_link = db.session.scalar(select(PortalUser).join(User, User.id == PortalUser.user_id)
                                   .where(User.username == "fleet"))
    assert fleet_link.language == "de"
    jane_link = db.session.scalar(select(PortalUser).join(User, User.id == PortalUser.user_id)
                                  .where(User.username == "customer"))
    assert jane_link.language in (None, "en")
    # More than the SPEC accounts: a second technician and customers without portal access.
    assert sum(any(r.name == "Technician" for r in u.roles) for u in db.session.scalars(select(User))) >= 2
    assert _count(Customer) > 3


def test_every_state_has_history_made_through_the_services():
    summary = load(demo=True)
    assert "Demo history loaded" in summary
    for model, statuses in STATES.items():
        present = set(db.session.scalars(select(model.status).distinct()))
        missing = set(statuses) - present
        assert not missing, f"{model.__name__} has no row in {sorted(missing)}"
        # Every row reached its state through an audited transition (never by setting the status).
        for row in db.session.scalars(select(model)):
            assert _count(AuditEvent, AuditEvent.entity_type == model.__tablename__, AuditEvent.entity_id == row.id,
                          AuditEvent.to_status == row.status), f"{row} has no audit event to {row.status}"
    assert set(db.session.scalars(select(WorkOrder.kind).distinct())) == set(WORK_ORDER_KINDS)

    # Numbers are the real ones, gap-free per prefix.
    numbers = sorted(db.session.scalars(select(WorkOrder.number)))
    assert numbers == [f"WO-{i:06d}" for i in range(1, len(numbers) + 1)]

    # Estimates: an acknowledged dispute with notes, a revision R1 → R2, a declined one.
    acknowledged = db.session.scalars(select(Estimate).where(Estimate.acknowledged_at.is_not(None))).all()
    assert any(e.status == "disputed" for e in acknowledged)
    revised = db.session.scalar(select(Estimate).where(Estimate.revision == 2))
    assert revised.previous.status == "superseded" and revised.previous.number == revised.number
    assert _count(DisputeNote, DisputeNote.line_ref.is_not(None)) >= 3
    assert _count(DisputeNote, DisputeNote.side == "staff") >= 1

    # Work orders: time entries, finished and running; invoices: a paid one with partial and final payments.
    assert _count(TimeEntry, TimeEntry.ended_at.is_not(None)) >= 3
    assert _count(TimeEntry, TimeEntry.ended_at.is_(None)) >= 1
    paid = db.session.scalar(select(Invoice).where(Invoice.status == "paid"))
    assert len(paid.payments) >= 2 and paid.amount_paid == paid.total > 0
    assert db.session.scalar(select(Invoice).where(Invoice.status == "awaiting_authorization")).customer.name == (
        "Arctic Refrigeration")

    # Shipments: the reseller's, with device orders that carry valid IMEIs, a location and a shipping method.
    reseller = _customer("FixIt Resellers GmbH")
    received = db.session.scalar(select(Shipment).where(Shipment.status == "received"))
    assert received.customer_id == reseller.id and received.work_orders
    for order in received.work_orders:
        assert order.unit.serial_number and imei.is_valid(order.unit.imei)
        assert order.service_location_id == received.service_location_id
        assert order.shipping_method_id == received.shipping_method_id

    # Each portal account has its own data, notifications and e-mails.
    for name in ("Jane Doe", "Arctic Refrigeration", "FixIt Resellers GmbH"):
        customer = _customer(name)
        for model in (ServiceRequest, Estimate, WorkOrder, Invoice):
            assert _count(model, model.customer_id == customer.id), f"{name} has no {model.__name__}"
        assert _count(Notification, Notification.customer_id == customer.id, Notification.audience == "customer")
    assert _count(Notification, Notification.audience == "staff") and _count(OutboxEmail)
    customer_actions = {e.actor_label for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.in_(("approve", "dispute", "authorize", "accept_time"))))}
    assert {"customer", "fleet"} <= customer_actions

