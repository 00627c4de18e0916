"""What each document shows: the customer-visible facts of one record, gathered for its template.

Only public fields are read here — never a work order's internal reference or internal notes, a customer's
internal notes, or anything about margins — so the templates cannot print them even by mistake.
"""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..core import addresses
from ..core.settings import absolute, get_settings, tax_for, tax_rows
from ..extensions import db
from ..models import ZERO, CreditNote, Estimate, Invoice, Shipment, WorkItem, WorkOrder, dispute_log, utcnow
from .codes import code128_svg, logo_url, qr_svg

TITLES = {
    "work_order": _l("Work order"),
    "job_sheet": _l("Job sheet"),
    "estimate": _l("Estimate"),
    "invoice": _l("Invoice"),
    "credit_note": _l("Credit note"),
    "packing_list": _l("Packing list"),
    "label": _l("Shipping label"),
}
MODELS = {"work_order": WorkOrder, "job_sheet": WorkOrder, "estimate": Estimate, "invoice": Invoice,
          "credit_note": CreditNote, "packing_list": Shipment, "label": Shipment}
PAPER = {"a4": "A4", "letter": "letter"}


def address_lines(address) -> list[str]:
    """A customer ``Address`` or a ``ServiceLocation`` as the lines of a postal address, the way its country
    writes it (``app/core/addresses.py``); the country's name only when it is not the shop's."""
    return addresses.lines(address)


def customer_block(customer, prefer: str = "billing") -> dict:
    first, second = ("default_billing_address", "default_service_address")
    if prefer == "service":
        first, second = second, first
    address = getattr(customer, first) or getattr(customer, second) or next(iter(customer.addresses), None)
    return {"name": customer.name, "lines": address_lines(address), "email": customer.email,
            "phone": customer.phone, "tax_id": customer.tax_id}


#: A unit's kind in the document's language.
UNIT_KINDS = {"vehicle": _l("Vehicle"), "device": _l("Device"), "equipment": _l("Equipment")}


def unit_block(unit) -> dict | None:
    if unit is None:
        return None
    kind = UNIT_KINDS.get(unit.kind) or (unit.kind.capitalize() if unit.kind else None)
    fields = [(_l("Kind"), kind), (_l("Make"), unit.make), (_l("Model"), unit.model),
              (_l("Serial number"), unit.serial_number), ("IMEI", unit.imei), (_l("VIN"), unit.vin),
              (_l("Unit number"), unit.unit_number), (_l("Year"), unit.year)]
    return {"title": str(unit), "fields": [(k, v) for k, v in fields if v not in (None, "")]}


def _grouped_iban(value: str | None) -> str | None:
    return " ".join(value[i:i + 4] for i in range(0, len(value), 4)) if value else None


def legal_block(settings) -> dict:
    """What the law asks a shop to print on its documents (UStG §14 as the example), all from Settings."""
    register = " ".join(p for p in (settings.register_court, settings.register_number) if p) or None
    return {"legal_name": settings.legal_name or settings.shop_name, "vat_id": settings.vat_id,
            "tax_number": settings.tax_number, "registered_office": settings.registered_office,
            "register": register, "managing_directors": settings.managing_directors,
            "bank_name": settings.bank_name, "iban": _grouped_iban(settings.iban), "bic": settings.bic,
            "payment_terms": settings.payment_terms, "footer": settings.document_footer}


#: What a small business prints when it charges no tax and the shop gave no text of its own (§19 UStG).
DEFAULT_EXEMPTION_TEXT = _l("According to § 19 UStG (small business), no VAT is charged.")


def exemption_text(settings) -> str | None:
    """The small-business exemption sentence when the shop sets it (then no tax is charged), else None."""
    if not settings.small_business:
        return None
    return settings.small_business_text or str(DEFAULT_EXEMPTION_TEXT)


def tax_lines(document) -> list[dict]:
    """Net and tax per tax rate: one row per rate the document's lines carry (the document's own rate
    where a line has none), the rows adding up to the document's subtotal and tax to the cent."""
    result = [{"rate": rate, "net": net, "tax": tax}
              for rate, net, tax in tax_rows(document.lines, document.tax_rate)]
    if not result:
        result = [{"rate": document.tax_rate, "net": document.subtotal, "tax": document.tax}]
    # the document's tax is what was charged: any rounding difference goes to the largest row
    difference = document.tax - sum((row["tax"] for row in result), ZERO)
    if difference and result:
        max(result, key=lambda row: row["net"])["tax"] += difference
    return result


def shop_block() -> dict:
    settings = get_settings()
    return {"shop": settings, "logo": logo_url(settings), "legal": legal_block(settings),
            "paper": PAPER.get((settings.paper_size or "A4").strip().lower(), "A4")}


def _grouped_items(items: list[WorkItem]) -> list[dict]:
    """Labour items with the parts used under them; parts without a labour item come last."""
    labour = [i for i in items if i.kind == "labour"]
    children: dict[int, list[WorkItem]] = {}
    loose = []
    labour_ids = {i.id for i in labour}
    for item in items:
        if item.kind == "part":
            if item.parent_id in labour_ids:
                children.setdefault(item.parent_id, []).append(item)
            else:
                loose.append(item)
    groups = [{"item": i, "parts": children.get(i.id, [])} for i in labour]
    if loose:
        groups.append({"item": None, "parts": loose})
    return groups


def work_order(order: WorkOrder) -> dict:
    items = list(order.items)
    subtotal = sum((i.amount for i in items), ZERO)
    rate = get_settings().tax_rate or Decimal("0")
    tax = tax_for(subtotal, rate)
    return {
        "order": order, "customer": customer_block(order.customer, "service"), "unit": unit_block(order.unit),
        "groups": _grouped_items(items), "has_items": bool(items),
        "totals": {"subtotal": subtotal, "tax_rate": rate, "tax": tax, "total": subtotal + tax},
        "service_location": order.service_location, "shipping_method": order.shipping_method,
        "shipment_number": order.shipment.number if order.shipment_id else None,
    }


def job_sheet(order: WorkOrder) -> dict:
    """The technician's copy of a work order: what to do, on what, where, and the internal notes; no prices."""
    items = list(order.items)
    return {
        "order": order, "customer": customer_block(order.customer, "service"), "unit": unit_block(order.unit),
        "groups": _grouped_items(items), "has_items": bool(items), "service_location": order.service_location,
        "technician": order.technician, "entries": list(order.time_entries),  # ordered by clock-on
        "now": utcnow(),
    }


def estimate(est: Estimate) -> dict:
    if est.status == "disputed":
        dispute_state = ("Disputed — acknowledged by the shop" if est.acknowledged_at
                         else "Disputed — waiting for the shop's answer")
    else:
        dispute_state = None
    return {
        "est": est, "customer": customer_block(est.customer), "unit": unit_block(est.unit),
        "dispute_state": dispute_state, "dispute_log": dispute_log(est), "approval": est.approval,
        "previous": est.previous.display_number if est.previous_id else None,
        "request_number": est.service_request.number if est.service_request_id else None,
        "service_type": est.service_request.service_type.local_name
        if est.service_request_id and est.service_request.service_type else None,
    }


def _recipient(inv: Invoice) -> dict:
    """The invoice's recipient: as issued when the customer was erased since (``Invoice.recipient``)."""
    if inv.recipient:
        return {"email": None, "phone": None, "tax_id": None, **inv.recipient}
    return customer_block(inv.customer)


def invoice(inv: Invoice) -> dict:
    order = inv.work_order
    return {
        "inv": inv, "customer": _recipient(inv), "order": order,
        "customer_reference": order.customer_reference if order is not None else None,
        "tax_lines": tax_lines(inv), "exemption": exemption_text(get_settings()),
    }


def credit_note(note: CreditNote) -> dict:
    return {"note": note, "inv": note.invoice, "customer": _recipient(note.invoice),
            "tax_lines": tax_lines(note), "exemption": exemption_text(get_settings())}


def _shipment_orders(shipment: Shipment) -> list[WorkOrder]:
    return list(db.session.scalars(
        select(WorkOrder).where(WorkOrder.shipment_id == shipment.id)
        .options(selectinload(WorkOrder.unit)).order_by(WorkOrder.number)
    ))


def packing_list(shipment: Shipment) -> dict:
    return {"shipment": shipment, "sender": customer_block(shipment.customer, "service"),
            "recipient": shipment.service_location, "recipient_lines": address_lines(shipment.service_location),
            "orders": _shipment_orders(shipment)}


#: ``Settings.label_format`` → the label's page: A6 and 4 × 6 in thermal labels, or an A4 sheet with the
#: label in its top-left quarter (an A6 place; cut marks along the quarter's edges).
LABEL_PAGES = {"a6": "105mm 148mm", "4x6": "4in 6in", "a4x4": "A4"}
#: The widest each code may be on every format (the label's inner width is 93–97 mm).
SHIPMENT_CODE_MM, TRACKING_CODE_MM = 62, 90


def _codable(value: str | None) -> bool:
    return bool(value) and value.isascii() and value.isprintable()


def label(shipment: Shipment) -> dict:
    """The reseller sends the parcel (sender: their service address) to the shop's service location."""
    count = db.session.scalar(select(func.count(WorkOrder.id)).where(WorkOrder.shipment_id == shipment.id))
    label_format = get_settings().label_format
    if label_format not in LABEL_PAGES:
        label_format = "a6"
    method, tracking = shipment.shipping_method, shipment.tracking_number
    page_url = absolute(f"/portal/shipments/{shipment.id}")
    return {"shipment": shipment, "sender": customer_block(shipment.customer, "service"),
            "recipient": shipment.service_location, "recipient_lines": address_lines(shipment.service_location),
            "order_count": count, "label_format": label_format, "paper": LABEL_PAGES[label_format],
            "carrier": (method.carrier or "").strip() or None, "method": method.local_name,
            "barcode": code128_svg(shipment.number, SHIPMENT_CODE_MM), "tracking": tracking,
            "tracking_barcode": code128_svg(tracking, TRACKING_CODE_MM) if _codable(tracking) else None,
            "page_url": page_url, "qr": qr_svg(page_url)}


BUILDERS = {"work_order": work_order, "job_sheet": job_sheet, "estimate": estimate, "invoice": invoice,
            "credit_note": credit_note, "packing_list": packing_list, "label": label}


def document_number(kind: str, obj) -> str:
    return obj.display_number if kind == "estimate" else obj.number


def build(kind: str, obj) -> dict:
    """The full template context of one document."""
    return {"kind": kind, "title": TITLES[kind], "number": document_number(kind, obj), **shop_block(),
            **BUILDERS[kind](obj)}
