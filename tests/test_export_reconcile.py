"""The orders CSV reconciles with the books of the demo shop: downloaded as the reseller does it (the portal
button, UTF-8 with BOM, read as Excel reads it) and as staff do it, every order's net, tax and gross equal
its invoice to the cent, with the invoice's number, status and payments; an order with an approved
estimate and no invoice carries the estimate's approved lines, marked "estimated"; nothing else has money."""
from __future__ import annotations

import codecs
import csv
from decimal import Decimal

import pytest
from flask import current_app
from sqlalchemy import select

from app.core.scope import actor_for
from app.core.settings import tax_for
from app.extensions import db
from app.models import Customer, Estimate, Invoice, User, WorkOrder
from app.services import estimates, work_orders
from seed import load
from tests.conftest import login
from tests.repair_shop import anonymous

ISSUED = ("awaiting_authorization", "open", "paid")
UMLAUTS = "Gerät geprüft: Akku getauscht, Gehäuse säubern lassen. Grüße aus Köln"


def demo_client(username: str):
    client = anonymous()
    assert login(client, username, current_app.config["PORTICO_DEMO_PASSWORD"]).status_code == 302
    return client


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def expected(order: WorkOrder) -> dict:
    """What the row must say, worked out from the invoices and estimates themselves (not from the export)."""
    issued = [inv for inv in db.session.scalars(select(Invoice).where(Invoice.work_order_id == order.id))
              if inv.status in ISSUED and inv.issued_at is not None]
    if issued:
        inv = max(issued, key=lambda inv: (inv.issued_at, inv.id))
        return {"Amounts code": "invoiced", "Invoice number": inv.number, "Invoice status code": inv.status,
                "Net": inv.subtotal, "Tax": inv.tax, "Gross": inv.total, "Amount paid": inv.amount_paid}
    est = order.estimate
    if est is not None and est.status == "approved" and order.status != "cancelled":
        net = sum((line.total_with_parts for line in est.labour_lines if line.decision != "declined"), Decimal(0))
        tax = tax_for(net, est.tax_rate)
        return {"Amounts code": "estimated", "Invoice number": "", "Invoice status code": "",
                "Net": net, "Tax": tax, "Gross": net + tax, "Amount paid": None}
    return {"Amounts code": "", "Invoice number": "", "Invoice status code": "", "Net": None, "Tax": None,
            "Gross": None, "Amount paid": None}


def reconcile(rows: list[dict], orders: list[WorkOrder]) -> None:
    by_number = {row["Order number"]: row for row in rows}
    assert sorted(by_number) == sorted(order.number for order in orders)  # every order once, no one else's
    for order in orders:
        row, want = by_number[order.number], expected(order)
        for column, value in want.items():
            got = row[column]
            if isinstance(value, Decimal):
                assert Decimal(got) == value and got == f"{value:.2f}", (order.number, column, got, value)
            else:
                assert got == (value or ""), (order.number, column, got, value)
        if want["Amounts code"]:
            parts = (Decimal(row[name]) for name in ("Labour amount", "Parts amount", "Other amount"))
            assert sum(parts) == want["Net"], order.number  # the split adds up to the net amount
            assert row["Currency"] == "EUR"


def read_as_excel(data: bytes, tmp_path) -> list[dict]:
    assert data.startswith(codecs.BOM_UTF8)  # what makes Excel read the file as UTF-8
    path = tmp_path / "orders.csv"
    path.write_bytes(data)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture()
def demo(db):
    load(demo=True)
    fixit = db.session.scalar(select(Customer).where(Customer.name == "FixIt Resellers GmbH"))
    jane = db.session.scalar(select(Customer).where(Customer.name == "Jane Doe"))
    # The reseller approves the bulk quote (no invoice yet: "estimated")...
    quote = db.session.scalar(select(Estimate).where(Estimate.customer_id == fixit.id, Estimate.status == "sent"))
    estimates.perform(quote, "approve", actor_for(user("reseller")))
    # ...and Jane approves one of the two lines of her A/C estimate, declining the other.
    ac = db.session.scalar(select(Estimate).where(Estimate.customer_id == jane.id, Estimate.status == "sent"))
    first, *declined = ac.labour_lines
    assert declined, "the demo's A/C estimate has two lines"
    estimates.perform(ac, "approve", actor_for(user("customer")), lines=[first.id], reason="Condenser later")
    invoiced = db.session.scalar(select(WorkOrder).join(Invoice, Invoice.work_order_id == WorkOrder.id)
                                 .where(WorkOrder.customer_id == fixit.id, Invoice.status.in_(ISSUED)))
    work_orders.perform(invoiced, "messages", actor_for(user("advisor")), text=UMLAUTS)
    return {"fixit": fixit, "invoiced": invoiced, "ac": ac}


def test_reseller_download_reconciles_with_their_invoices(demo, tmp_path):
    response = demo_client("reseller").get("/portal/orders/export.csv")
    assert response.status_code == 200
    rows = read_as_excel(response.data, tmp_path)
    orders = list(db.session.scalars(select(WorkOrder).where(WorkOrder.customer_id == demo["fixit"].id)))
    reconcile(rows, orders)
    codes = [row["Amounts code"] for row in rows]
    assert "invoiced" in codes and "estimated" in codes
    # The file's totals are the reseller's issued invoices, to the cent.
    invoices = db.session.scalars(select(Invoice).where(Invoice.customer_id == demo["fixit"].id,
                                                        Invoice.status.in_(ISSUED)))
    assert sum(Decimal(row["Gross"]) for row in rows if row["Amounts code"] == "invoiced") == \
        sum(inv.total for inv in invoices)
    row = next(row for row in rows if row["Order number"] == demo["invoiced"].number)
    assert UMLAUTS in row["Repair notes"] and row["Work items"]  # clocked labour billed: the invoice's line
    assert row["Status"] == "Completed" and row["Status code"] == "completed"


def test_staff_export_reconciles_with_every_invoice(demo, tmp_path):
    response = demo_client("advisor").get("/documents/orders.csv")
    assert response.status_code == 200
    rows = read_as_excel(response.data, tmp_path)
    reconcile(rows, list(db.session.scalars(select(WorkOrder))))
    ac_order = db.session.scalar(select(WorkOrder).where(WorkOrder.estimate_id == demo["ac"].id))
    row = next(row for row in rows if row["Order number"] == ac_order.number)
    assert row["Amounts code"] == "estimated" and Decimal(row["Gross"]) < demo["ac"].total  # one line declined
    # Drafts and void invoices never count: every invoice number in the file is an issued one.
    numbers = {row["Invoice number"] for row in rows} - {""}
    statuses = set(db.session.scalars(select(Invoice.status).where(Invoice.number.in_(numbers))))
    assert statuses <= set(ISSUED) and len(numbers) == db.session.query(Invoice).filter(
        Invoice.status.in_(ISSUED)).count()
