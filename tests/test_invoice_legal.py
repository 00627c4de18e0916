"""Invoices a tax office accepts (issue 16, item 5): the shop's legal details, bank, date of service, net and
tax per rate, the small-business exemption, the logo — set through Settings' one door, read back from the PDF."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from types import SimpleNamespace

import pytest
from PIL import Image
from pypdf import PdfReader

from app.core import clock, formatting
from app.core.settings import get_settings, shop_today, to_local
from app.documents import render_pdf
from app.documents.context import tax_lines
from app.extensions import db
from app.models import AuditEvent, TimeEntry
from app.services import shop_settings
from app.services.workflow import perform
from tests.factories import actor, make_user
from tests.repair_shop import anonymous, build, open_invoice, rich_order

LEGAL = {"legal_name": "Test Depot Reparatur GmbH", "vat_id": "DE 136 695 976", "tax_number": "27/123/45678",
         "registered_office": "Berlin", "register_court": "Amtsgericht Charlottenburg",
         "register_number": "HRB 123456", "managing_directors": "Erika Mustermann", "bank_name": "Test Bank",
         "iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX",
         "payment_terms": "Payable without deduction.", "document_footer": "Thank you for your custom."}


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def image_count(pdf: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture()
def shop(db, tmp_path, app):
    app.config["PORTICO_DOCUMENT_CACHE_DIR"] = str(tmp_path / "cache")
    made = build(with_logo=False)
    made["admin"] = make_user("Admin")
    made["admin_actor"] = actor(made["admin"])
    db.session.commit()
    yield made
    app.config.pop("PORTICO_DOCUMENT_CACHE_DIR", None)


def edit_settings(shop, **changes):
    settings = perform(get_settings(), "edit", shop["admin_actor"], changes)
    db.session.commit()
    return settings


def test_the_invoice_is_dated_and_due_by_the_shop_s_day_not_the_machine_s(shop):
    """At 23:30 UTC it is already tomorrow in Berlin: the invoice date, the date of service and the due date are
    the shop's day (the CI machine runs in UTC, and a first-release test failed there just before midnight)."""
    settings = get_settings()
    settings.time_zone = "Europe/Berlin"
    db.session.commit()
    with clock.frozen(dt.datetime(2026, 12, 2, 23, 30)):
        assert shop_today() == dt.date(2026, 12, 3)
        invoice = open_invoice(shop)
        db.session.commit()
    assert invoice.issued_at.date() == dt.date(2026, 12, 2)  # stored in UTC
    assert (invoice.service_from, invoice.service_to) == (dt.date(2026, 12, 3), dt.date(2026, 12, 3))
    assert invoice.due_date == dt.date(2026, 12, 3) + dt.timedelta(days=settings.invoice_due_days)
    text = text_of(render_pdf("invoice", invoice))
    assert "Invoice date 3 Dec 2026" in text and "2 Dec 2026" not in text  # the shop's day, in words
    with clock.frozen(dt.datetime(2026, 12, 2, 22, 30)):  # 23:30 in Berlin: still the 2nd
        assert shop_today() == dt.date(2026, 12, 2)


def test_issued_invoice_pdf_holds_every_legal_field(shop):
    edit_settings(shop, **LEGAL)
    settings = get_settings()
    assert settings.vat_id == "DE136695976" and settings.iban == "DE89370400440532013000"  # stored compact
    assert db.session.query(AuditEvent).filter(AuditEvent.entity_type == "settings").count() >= 1
    shop["plain_acct"].tax_id = "ATU13585627"
    db.session.commit()
    invoice = open_invoice(shop)
    db.session.commit()
    assert invoice.service_from is not None and invoice.service_to >= invoice.service_from
    text = text_of(render_pdf("invoice", invoice))
    for expected in ("Test Depot Reparatur GmbH", "1 Repair Road", "VAT ID", "DE136695976", "27/123/45678",
                     "Invoice date", formatting.date(to_local(invoice.issued_at).date(), locale="en"),
                     "Date of service", formatting.date(invoice.service_from, locale="en"), invoice.number,
                     "ATU13585627", "Payable without deduction.",
                     f"Payable by {formatting.date(invoice.due_date, 'long', locale='en')}",
                     "DE89 3704 0044 0532 0130 00", "COBADEFFXXX",
                     "Test Bank", "Registered office", "Amtsgericht Charlottenburg HRB 123456",
                     "Erika Mustermann", "Thank you for your custom."):
        assert expected in text, expected
    rate = formatting.number(invoice.tax_rate, locale="en")  # 19, not 19.00
    assert f"Net at {rate} %" in text and f"Tax at {rate} %" in text
    # the date of service is kept as issued: later clocked time on the order does not move it
    issued = (invoice.service_from, invoice.service_to)
    later = invoice.issued_at.replace(year=invoice.issued_at.year + 1)
    db.session.add(TimeEntry(work_order_id=invoice.work_order_id, technician_id=shop["tech"].id, started_at=later,
                             ended_at=later))
    db.session.commit()
    db.session.expire_all()
    assert (invoice.service_from, invoice.service_to) == issued
    # the credit note carries the same legal details
    from app.services import invoices

    note = invoices.issue_credit_note(invoice, shop["staff_actor"], "Goodwill")
    db.session.commit()
    note_text = text_of(render_pdf("credit_note", note))
    for expected in ("DE136695976", "27/123/45678", "DE89 3704 0044 0532 0130 00", "Date of service",
                     "Amtsgericht Charlottenburg HRB 123456", "Erika Mustermann"):
        assert expected in note_text, expected


def test_net_and_tax_per_rate_add_up_to_the_gross():
    lines = [SimpleNamespace(amount=Decimal("33.33"), tax_rate=Decimal("19.00")),
             SimpleNamespace(amount=Decimal("10.01"), tax_rate=Decimal("7.00")),
             SimpleNamespace(amount=Decimal("66.67"), tax_rate=Decimal("19.00"))]
    tax = Decimal("19.00") + Decimal("0.70")  # 100.00 at 19 %, 10.01 at 7 % (0.7007 → 0.70)
    document = SimpleNamespace(lines=lines, tax_rate=Decimal("19.00"), subtotal=Decimal("110.01"), tax=tax)
    rows = tax_lines(document)
    assert [(row["rate"], row["net"], row["tax"]) for row in rows] == [
        (Decimal("7.00"), Decimal("10.01"), Decimal("0.70")), (Decimal("19.00"), Decimal("100.00"), Decimal("19.00"))]
    assert sum(r["net"] + r["tax"] for r in rows) == document.subtotal + document.tax == Decimal("129.71")


def test_one_rate_invoice_rows_match_its_totals(shop):
    invoice = open_invoice(shop)
    rows = tax_lines(invoice)
    assert len(rows) == 1 and rows[0]["net"] == invoice.subtotal and rows[0]["tax"] == invoice.tax
    assert rows[0]["net"] + rows[0]["tax"] == invoice.total


def test_an_issued_invoice_with_two_rates_states_net_and_tax_per_rate(shop):
    from app.services import invoices, work_orders

    order = rich_order(shop)
    work_orders.perform(order, "receive", shop["staff_actor"])
    work_orders.perform(order, "clock_on", shop["tech_actor"])
    work_orders.perform(order, "ready", shop["tech_actor"])
    draft = work_orders.perform(order, "invoice", shop["staff_actor"])
    part = next(line for line in draft.lines if line.kind == "part")
    part.tax_rate, part.unit_price = Decimal("7.00"), Decimal("120.05")  # a reduced rate on the part
    invoices.perform(draft, "submit", shop["staff_actor"])
    db.session.commit()
    rows = tax_lines(draft)
    assert [row["rate"] for row in rows] == [Decimal("7.00"), Decimal("19.00")]
    assert rows[0]["net"] == Decimal("120.05") and rows[0]["tax"] == Decimal("8.40")  # 8.4035
    assert rows[1]["tax"] == (rows[1]["net"] * Decimal("0.19")).quantize(Decimal("0.01"))
    assert sum(r["net"] for r in rows) == draft.subtotal and sum(r["tax"] for r in rows) == draft.tax
    assert sum(r["net"] + r["tax"] for r in rows) == draft.total
    text = text_of(render_pdf("invoice", draft))
    for row in rows:
        rate = formatting.number(row["rate"], locale="en")
        assert f"Net at {rate} %" in text and f"Tax at {rate} %" in text
    note = invoices.issue_credit_note(draft, shop["staff_actor"], "Returned")
    assert note.tax == -draft.tax and note.total == -draft.total  # per rate, like the invoice


def settings_form(**extra):
    form = {"shop_name": "Test Depot", "currency": "EUR", "tax_rate": "19.00", "labour_rate": "95.00",
            "time_zone": "Europe/Berlin", "magic_link_hours": "2", "photo_limit": "4", "slot_capacity": "4",
            "request_stale_hours": "24", "invoice_labour_source": "time_entries", "invoice_due_days": "14",
            "paper_size": "A4", "export_retention_days": "90", "time_rounding": "exact",
            "minimum_charge_minutes": "0", "label_format": "a6"}
    form.update(extra)
    return form


def test_bad_iban_and_vat_id_are_refused_and_kept_in_the_form(shop, login_as):
    screen = login_as(shop["admin"])
    settings_id = get_settings().id
    page = screen.get(f"/settingsview/edit/{settings_id}").get_data(as_text=True)
    assert 'name="iban"' in page and 'name="logo_upload"' in page and 'name="small_business"' in page
    for field, value in (("iban", "DE89 3704 0044 0532 0130 01"), ("vat_id", "DE123456789"), ("vat_id", "XX1234"),
                         ("bic", "NOT A BIC")):
        response = screen.post(f"/settingsview/edit/{settings_id}", data=settings_form(**{field: value}))
        page = response.get_data(as_text=True)
        assert response.status_code == 422, (field, value)
        assert value in page  # what was typed stays in the form
        db.session.expire_all()
        assert getattr(get_settings(), field) is None
    response = screen.post(f"/settingsview/edit/{settings_id}",
                           data=settings_form(iban="de89 3704 0044 0532 0130 00", vat_id="DE136695976"))
    assert response.status_code == 302
    db.session.expire_all()
    assert get_settings().iban == "DE89370400440532013000" and get_settings().vat_id == "DE136695976"


def picture(size: tuple[int, int], fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, format=fmt)
    return buffer.getvalue()


def test_logo_upload_checked_and_shown_on_documents(shop, login_as):
    from app.services import invoices

    screen = login_as(shop["admin"])
    settings_id = get_settings().id

    def upload(body: bytes, name: str):
        return screen.post(f"/settingsview/edit/{settings_id}", content_type="multipart/form-data",
                           data=settings_form(logo_upload=(io.BytesIO(body), name)))

    assert upload(b"<html>not a picture</html>", "logo.png").status_code == 422
    assert upload(b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "broken.png").status_code == 422
    assert upload(picture((shop_settings.LOGO_MAX_SIDE + 1, 8)), "wide.png").status_code == 422
    with pytest.raises(Exception) as refused:  # an API client's text is no file
        edit_settings(shop, logo_upload="not a file")
    assert refused.value.status_code == 422
    db.session.rollback()
    db.session.expire_all()
    assert get_settings().logo is None
    original = picture((60, 30), "JPEG")
    assert upload(original, "logo.jpg").status_code == 302
    db.session.expire_all()
    settings = get_settings()
    assert settings.logo_content_type == "image/jpeg" and settings.logo != original  # encoded again
    invoice = open_invoice(shop)
    db.session.commit()
    assert image_count(render_pdf("invoice", invoice)) >= 1
    assert image_count(render_pdf("credit_note", invoices.issue_credit_note(invoice, shop["staff_actor"], "x"))) >= 1
    assert image_count(render_pdf("work_order", invoice.work_order)) >= 1
    assert "image/jpeg" in screen.get(f"/settingsview/show/{settings_id}").get_data(as_text=True)
    assert 'class="shop-logo" src="data:image/jpeg;base64,' in anonymous().get("/").get_data(as_text=True)
    screen = login_as(shop["admin"])
    removed = screen.post(f"/settingsview/edit/{settings_id}", data=settings_form(remove_logo="y"))
    assert removed.status_code == 302 and "/settingsview/show/" in removed.headers["Location"]
    db.session.expire_all()
    assert get_settings().logo is None and get_settings().logo_content_type is None


def test_small_business_exemption_charges_no_tax_and_prints_its_text(shop):
    with pytest.raises(Exception) as refused:
        edit_settings(shop, small_business=True)  # the tax rate is still 19 %
    assert refused.value.status_code == 422
    db.session.rollback()
    draft = rich_order(shop)
    from app.services import work_orders

    work_orders.perform(draft, "receive", shop["staff_actor"])
    work_orders.perform(draft, "clock_on", shop["tech_actor"])
    work_orders.perform(draft, "ready", shop["tech_actor"])
    pending = work_orders.perform(draft, "invoice", shop["staff_actor"])  # a draft with 19 % tax
    db.session.commit()
    with pytest.raises(Exception) as refused:
        edit_settings(shop, small_business=True, tax_rate=Decimal("0"))
    assert refused.value.status_code == 422 and pending.number in str(refused.value.errors)
    db.session.rollback()
    from app.services import invoices

    invoices.perform(pending, "void", shop["staff_actor"], {"reason": "Wrong"})
    db.session.commit()
    edit_settings(shop, small_business=True, tax_rate=Decimal("0"))
    invoice = open_invoice(shop)
    db.session.commit()
    assert invoice.tax == 0 and invoice.total == invoice.subtotal
    text = text_of(render_pdf("invoice", invoice))
    assert "According to § 19 UStG (small business), no VAT is charged." in text
    assert "Tax at" not in text
    edit_settings(shop, small_business_text="Kleinunternehmer: keine Umsatzsteuer.")
    assert "Kleinunternehmer: keine Umsatzsteuer." in text_of(render_pdf("invoice", invoice))


def test_legal_labels_in_german(shop):
    from flask_babel import force_locale

    edit_settings(shop, **LEGAL)
    invoice = open_invoice(shop)
    db.session.commit()
    with force_locale("de"):
        text = text_of(render_pdf("invoice", invoice))
    for expected in ("Rechnungsdatum", "Leistungsdatum", "USt-IdNr.", "Steuernummer", "Bankverbindung",
                     f"Netto zu {formatting.number(invoice.tax_rate, locale='de')} %",
                     f"Zahlbar bis {formatting.date(invoice.due_date, 'long', locale='de')}",
                     "Sitz der Gesellschaft", "Geschäftsführung", "Rechnung", "Rechnungsempfänger", "Einzelpreis",
                     "Offener Betrag"):
        assert expected.lower() in text.lower(), expected  # small labels print in capitals


def test_an_invoice_speaks_its_customers_language_whoever_downloads_it(shop):
    edit_settings(shop, **LEGAL)
    shop["plain_acct"].language = "de"
    db.session.commit()
    invoice = open_invoice(shop)
    db.session.commit()
    text = text_of(render_pdf("invoice", invoice))  # no locale chosen: the request's would be English
    assert "Rechnungsdatum" in text and "Leistungsdatum" in text and "Invoice date" not in text
