"""Test data for the documents, CSV export, repair order and shipment tests: a small repair depot."""
from __future__ import annotations

import io
from decimal import Decimal

from flask import current_app, g
from flask.testing import FlaskClient
from PIL import Image

from app.core.settings import get_settings
from app.extensions import db
from app.models import WorkItem
from app.services import estimates, invoices, work_orders
from tests.factories import (
    AddressFactory,
    CustomerFactory,
    ServiceLocationFactory,
    ShippingMethodFactory,
    UnitFactory,
    actor,
    make_user,
)

INTERNAL_REF = "INTREF-7731"
INTERNAL_NOTE = "Margin note: bought cheap, do not show"
VALID_IMEI = "490154203237518"
LINES = [
    {"description": "Replace display assembly", "hours": "1.50", "rate": "80.00",
     "parts": [{"part_number": "LCD-42", "description": "Display assembly", "quantity": "1", "unit_price": "120.00"}]},
]


class Browser(FlaskClient):
    """A test client that forgets the previous request's user before each request.

    Tests run inside one app context, so ``g`` (where Flask-Login keeps the loaded user, and Portico its
    per-request caches) outlives a request; with several clients, the next request would otherwise see
    the last client's user.
    """

    def open(self, *args, **kwargs):
        for key in ("_login_user", "user", "portal_actor", "_portico_customer", "_portico_permissions",
                    "_flask_babel"):  # the locale Flask-Babel chose for the previous request
            g.pop(key, None)
        return super().open(*args, **kwargs)


def anonymous() -> Browser:
    """A fresh client that is not logged in."""
    return Browser(current_app, current_app.response_class, use_cookies=True)


def client_for(user) -> Browser:
    """A fresh client (its own cookies) logged in as ``user``."""
    from tests.conftest import login

    client = anonymous()
    assert login(client, user.username).status_code == 302, "login failed"
    return client


def png_logo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def build(with_logo: bool = True) -> dict:
    """Settings, a reseller, a plain customer, a stranger, staff, a location, a method and one rich order."""
    settings = get_settings()
    settings.shop_name = "Test Depot"
    settings.address = "1 Repair Road\n10115 Berlin"
    if with_logo:
        settings.logo, settings.logo_content_type = png_logo(), "image/png"
    reseller_acct = CustomerFactory(name="FixIt Resellers", kind="reseller")
    plain_acct = CustomerFactory(name="Jane Doe", kind="individual")
    other_acct = CustomerFactory(name="Other Reseller", kind="reseller")
    AddressFactory(customer=plain_acct, line1="5 Elm Street", city="Hamburg", postal_code="20095")
    address = AddressFactory(customer=reseller_acct, line1="9 Trade Park", city="Munich", postal_code="80331")
    reseller_acct.default_service_address_id = address.id
    users = {
        "reseller": make_user("Reseller", customer=reseller_acct),
        "customer": make_user("Customer", customer=plain_acct),
        "other": make_user("Reseller", customer=other_acct),
        "staff": make_user("Advisor"),
        "tech": make_user("Technician"),
    }
    location = ServiceLocationFactory(name="North Depot", line1="2 Depot Way", postal_code="20095", city="Hamburg")
    second_location = ServiceLocationFactory(name="South Depot", city="Munich")
    method = ShippingMethodFactory(name="Parcel")
    unit = UnitFactory(customer=plain_acct, make="Pear", model="Phone 12", serial_number="SER-PLAIN-1",
                       imei=VALID_IMEI)
    db.session.commit()
    data = dict(settings=settings, reseller_acct=reseller_acct, plain_acct=plain_acct, other_acct=other_acct,
                location=location, second_location=second_location, method=method, unit=unit, **users)
    data.update({f"{name}_actor": actor(user) for name, user in users.items()})
    return data


def rich_order(shop: dict, fault: str = "Screen flickers after a drop", notes: str = "Display replaced, tested OK"):
    """A work order of the plain customer with items, public notes and internal fields set by staff."""
    order = work_orders.create(shop["staff_actor"], customer_id=shop["plain_acct"].id, kind="repair",
                               unit_id=shop["unit"].id, fault=fault, accessories="Charger",
                               customer_reference="JANE-PO-1", service_location_id=shop["location"].id,
                               shipping_method_id=shop["method"].id)
    order.internal_reference = INTERNAL_REF
    order.internal_notes = INTERNAL_NOTE
    order.public_notes = notes
    order.tracking_number = "TRACK-123"
    labour = WorkItem(position=0, kind="labour", description="Replace display assembly", quantity=Decimal("1.50"),
                      unit_price=Decimal("80.00"))
    order.items.append(labour)
    order.items.append(WorkItem(position=1, kind="part", parent=labour, part_number="LCD-42",
                                description="Display assembly", quantity=Decimal("1"), unit_price=Decimal("120.00")))
    db.session.commit()
    return order


def sent_estimate(shop: dict):
    est = estimates.create(shop["staff_actor"], customer_id=shop["plain_acct"].id, unit_id=shop["unit"].id,
                           labour_lines=LINES, note="Valid for 30 days")
    estimates.perform(est, "submit", shop["staff_actor"])
    return est


def open_invoice(shop: dict, order=None):
    order = order or rich_order(shop)
    work_orders.perform(order, "receive", shop["staff_actor"])
    work_orders.perform(order, "clock_on", shop["tech_actor"])
    work_orders.perform(order, "ready", shop["tech_actor"])
    invoice = work_orders.perform(order, "invoice", shop["staff_actor"])
    invoices.perform(invoice, "submit", shop["staff_actor"])
    return invoice


def reseller_orders(shop: dict, count: int = 2, location=None, method=None, **fields) -> list:
    location = location or shop["location"]
    method = method or shop["method"]
    made = []
    for i in range(count):
        unit = UnitFactory(customer=shop["reseller_acct"], make="Pear", model=f"Pad {i}",
                           serial_number=f"RS-{location.id}-{i}-{len(made)}")
        db.session.commit()
        made.append(work_orders.create(shop["reseller_actor"], kind="repair", unit_id=unit.id,
                                       fault=fields.get("fault", f"Battery swells {i}"),
                                       customer_reference=f"FIX-{i}", service_location_id=location.id,
                                       shipping_method_id=method.id))
    return made
