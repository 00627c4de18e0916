"""PDFs that look right in both languages (issue 16, item 6) and the legal invoice read back (item 5).

Every document is read back with poppler's ``pdftotext`` (what a tax office's or a customer's software sees):
umlauts, ß and € come back as the same characters; a long German compound in a line is hyphenated or wrapped
and no word lies outside its page or its table column (``pdftotext -bbox-layout`` gives each word's box).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from app.core import formatting
from app.core.settings import get_settings, to_local
from app.documents import render_pdf
from app.documents.context import tax_lines
from app.extensions import db
from app.models import WorkItem
from app.reports.base import ReportResult, Table
from app.reports.render import render_pdf as render_report_pdf
from app.services import estimates, invoices, shipments, work_orders
from app.services.workflow import perform
from tests.factories import actor, make_user
from tests.repair_shop import build, client_for, reseller_orders, rich_order

pytestmark = pytest.mark.skipif(not (shutil.which("pdftotext") and shutil.which("pdfimages")),
                                reason="poppler-utils missing: scripts/system-deps.sh --browser installs it")

COMPOUND = "Kältemittelkreislaufdichtheitsprüfungsprotokollausfertigungsbescheinigung"  # wider than its column
PART_NUMBER = "KMK-DICHTHEITSPRÜFSET-ÄÖÜ-0000000000042"  # 40 characters
UMLAUTS = "Größe Übergabe Äußeres ö ü ä ß"
LONG_NAME = "Kältetechnik Süßmann & Söhne Großhandelsgesellschaft für Gebäudeklimatisierung mbH"
LONG_STREET = "Hauptstraße 1, Hinterhof, Aufgang Süd, Erdgeschoss links neben der Fahrradgarage"
EURO = "Anfahrtspauschale 50 € (Übergröße)"

LEGAL = {"legal_name": "Test Depot Reparatur GmbH", "vat_id": "DE136695976", "tax_number": "27/123/45678",
         "registered_office": "Berlin", "register_court": "Amtsgericht Charlottenburg",
         "register_number": "HRB 123456", "managing_directors": "Erika Mustermann", "bank_name": "Test Bank",
         "iban": "DE89370400440532013000", "bic": "COBADEFFXXX",
         "payment_terms": "Zahlbar innerhalb von 14 Tagen ohne Abzug.",
         "document_footer": "Vielen Dank für Ihren Auftrag."}


# --- reading PDFs back ----------------------------------------------------------------------------------------

def pdftotext(pdf: bytes, *args: str) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", *args, "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode("utf-8")


def unbroken(text: str) -> str:
    """The text with line-end hyphens and all white space removed: what a hyphenated word reads as whole."""
    return re.sub(r"\s+", "", re.sub(r"[-\u2010\u00ad]\s*\n\s*", "", text))


def holds(text: str, expected: str) -> bool:
    """``expected`` is in ``text``, however lines broke it (with or without a hyphen)."""
    def squeeze(value: str) -> str:
        return re.sub(r"[\s\-\u2010\u00ad]+", "", value)
    return squeeze(expected) in squeeze(text)


def pages(pdf: bytes) -> list[dict]:
    """Each page's size and its words with their boxes, from ``pdftotext -bbox-layout``."""
    root = ET.fromstring(pdftotext(pdf, "-bbox-layout"))
    result = []
    for page in root.iter("{http://www.w3.org/1999/xhtml}page"):
        words = [{"text": w.text or "", **{k: float(w.get(k)) for k in ("xMin", "xMax", "yMin", "yMax")}}
                 for w in page.iter("{http://www.w3.org/1999/xhtml}word")]
        result.append({"width": float(page.get("width")), "height": float(page.get("height")), "words": words})
    return result


def assert_on_the_page(pdf: bytes) -> list[dict]:
    read = pages(pdf)
    for page in read:
        assert page["words"], "a page without text"
        for word in page["words"]:
            assert word["xMin"] >= 0 and word["xMax"] <= page["width"] + 0.5, (word, page["width"])
            assert word["yMin"] >= 0 and word["yMax"] <= page["height"] + 0.5, (word, page["height"])
    return read


def pieces_of(words: list[dict], whole: str) -> list[dict]:
    """The words that are (hyphenated) pieces of ``whole``."""
    return [w for w in words if len(w["text"].strip("-\u2010()")) >= 3 and w["text"].strip("-\u2010()") in whole]


def assert_wrapped_in_its_column(pdf: bytes, whole: str, header=("Beschreibung", "Description")) -> None:
    """``whole`` is split over lines (hyphenated or wrapped) and every piece ends left of the next column,
    whose left edge is where the next header to the right of the description header starts."""
    for page in pages(pdf):
        heads = [w for w in page["words"] if w["text"].lower() in {h.lower() for h in header}]
        if not heads:
            continue
        head = heads[0]
        right = min(w["xMin"] for w in page["words"]
                    if abs(w["yMin"] - head["yMin"]) < 1 and w["xMin"] > head["xMax"])
        pieces = pieces_of(page["words"], whole)
        assert pieces, f"{whole} not on the page"
        assert len({round(p["yMin"]) for p in pieces}) >= 2, f"{whole} is on one line: not hyphenated nor wrapped"
        for piece in pieces:
            assert piece["xMin"] >= head["xMin"] - 1 and piece["xMax"] <= right, (piece, right)
        return
    raise AssertionError("no description column found")


# --- the German shop and customer -----------------------------------------------------------------------------

@pytest.fixture()
def shop(db, tmp_path, app):
    app.config["PORTICO_DOCUMENT_CACHE_DIR"] = str(tmp_path / "cache")
    made = build()  # with a PNG logo
    made["admin"] = make_user("Admin")
    settings = perform(get_settings(), "edit", actor(made["admin"]), LEGAL)
    settings.address = "Prüfstraße 12\n10115 Berlin"
    for customer in (made["plain_acct"], made["reseller_acct"]):
        customer.language = "de"
        customer.name = LONG_NAME if customer is made["plain_acct"] else "Großhändler Öztürk & Söhne GmbH"
        for address in customer.addresses:
            address.line1 = LONG_STREET
    made["plain_acct"].tax_id = "ATU13585627"
    db.session.commit()
    yield made
    app.config.pop("PORTICO_DOCUMENT_CACHE_DIR", None)


def german_order(shop):
    order = rich_order(shop, fault=f"Kühlt nicht mehr, {UMLAUTS}", notes=EURO)
    order.items.append(WorkItem(position=2, kind="labour", description=COMPOUND, quantity=Decimal("1.00"),
                                unit_price=Decimal("95.00")))
    order.items.append(WorkItem(position=3, kind="part", parent=order.items[-1], part_number=PART_NUMBER,
                                description="Dichtungssatz für Kältemittelleitungen", quantity=Decimal("1"),
                                unit_price=Decimal("12.50")))
    db.session.commit()
    return order


def german_invoice(shop, small_business: bool = False):
    """An issued invoice with two tax rates (19 % on labour, 7 % on the part) and the long line."""
    order = german_order(shop)
    work_orders.perform(order, "receive", shop["staff_actor"])
    work_orders.perform(order, "clock_on", shop["tech_actor"])
    work_orders.perform(order, "ready", shop["tech_actor"])
    draft = work_orders.perform(order, "invoice", shop["staff_actor"])
    part = next(line for line in draft.lines if line.kind == "part")
    part.description, part.part_number = f"{COMPOUND} {EURO}", PART_NUMBER
    if not small_business:
        part.tax_rate = Decimal("7.00")
    invoices.perform(draft, "submit", shop["staff_actor"])
    db.session.commit()
    return draft


def shipment_of(shop):
    orders = reseller_orders(shop, 2, fault=COMPOUND)
    made = shipments.create(shop["reseller_actor"], work_orders=[o.id for o in orders])
    shipments.perform(made, "confirm", shop["reseller_actor"])
    db.session.commit()
    return made


def assert_german_characters(text: str) -> None:
    for expected in (LONG_NAME, "Übergröße", "ß", "€"):
        assert holds(text, expected), expected


# --- item 6: every kind, German ---------------------------------------------------------------------------------

def test_work_order_and_job_sheet_read_back_with_umlauts_and_wrap_the_long_word(shop):
    from flask_babel import force_locale

    order = german_order(shop)
    pdf = render_pdf("work_order", order)
    text = pdftotext(pdf)
    assert_german_characters(text)
    assert re.search(r"Seite 1 von \d", text) and "Page 1 of" not in text  # the page footer speaks German too
    assert COMPOUND in unbroken(text)
    assert holds(text, PART_NUMBER)  # pdftotext drops a hyphen that ends a line: compared without them
    assert "Größe Übergabe Äußeres ö ü ä ß" in text
    for label in ("Beschreibung", "Teilenummer", "Arbeiten und Teile", "Fehler / Auftrag", "Hinweise", "Kunde"):
        assert label.lower() in text.lower(), label  # the work order's own labels in German too
    assert "Work and parts" not in text
    assert_on_the_page(pdf)
    assert_wrapped_in_its_column(pdf, COMPOUND)
    with force_locale("de"):  # the job sheet is in its reader's language: a German technician's
        sheet = render_pdf("job_sheet", order)
    sheet_text = pdftotext(sheet)
    assert "Größe" in sheet_text and COMPOUND in unbroken(sheet_text)
    assert_on_the_page(sheet)
    assert_wrapped_in_its_column(sheet, COMPOUND)


def test_estimate_reads_back_and_wraps(shop):
    lines = [{"description": COMPOUND, "hours": "2.00", "rate": "95.00",
              "parts": [{"part_number": PART_NUMBER, "description": EURO, "quantity": "1", "unit_price": "50.00"}]}]
    est = estimates.create(shop["staff_actor"], customer_id=shop["plain_acct"].id, unit_id=shop["unit"].id,
                           labour_lines=lines, note=f"Gültig 30 Tage. {UMLAUTS}")
    estimates.perform(est, "submit", shop["staff_actor"])
    db.session.commit()
    pdf = render_pdf("estimate", est)
    text = pdftotext(pdf)
    assert_german_characters(text)
    assert COMPOUND in unbroken(text)
    assert "Positionen" in text and "Satz / Preis".lower() in text.lower() and "Rate / price" not in text
    assert_on_the_page(pdf)
    assert_wrapped_in_its_column(pdf, COMPOUND)


def test_invoice_and_credit_note_read_back_and_wrap(shop):
    invoice = german_invoice(shop)
    pdf = render_pdf("invoice", invoice)
    text = pdftotext(pdf)
    assert_german_characters(text)
    assert unbroken(f"{COMPOUND} {EURO}") in unbroken(text)
    assert_on_the_page(pdf)
    assert_wrapped_in_its_column(pdf, COMPOUND)
    note = invoices.issue_credit_note(invoice, shop["staff_actor"], "Kulanz wegen Verzögerung")
    db.session.commit()
    note_pdf = render_pdf("credit_note", note)
    note_text = pdftotext(note_pdf)
    assert_german_characters(note_text)
    assert "Kulanz wegen Verzögerung" in note_text
    assert_on_the_page(note_pdf)
    assert_wrapped_in_its_column(note_pdf, COMPOUND)


def test_packing_list_and_label_read_back(shop):
    shipment = shipment_of(shop)
    pdf = render_pdf("packing_list", shipment)
    text = pdftotext(pdf)
    assert unbroken("Großhändler Öztürk & Söhne GmbH") in unbroken(text)
    assert "absender" in text.lower() and "empfänger" in text.lower() and "Recipient".lower() not in text.lower()
    assert COMPOUND in unbroken(text)
    assert_on_the_page(pdf)
    label = render_pdf("label", shipment)
    label_text = pdftotext(label)
    assert "Großhändler Öztürk & Söhne GmbH" in label_text or unbroken("Großhändler Öztürk") in unbroken(label_text)
    assert unbroken(LONG_STREET) in unbroken(label_text)
    assert_on_the_page(label)


def test_a_scheduled_report_pdf_reads_back(app):
    import pandas as pd

    frame = pd.DataFrame({"Kunde": [LONG_NAME, "Müller & Söhne"], "Leistung": [COMPOUND, "Prüfung"],
                          "Umsatz": [123450, 990]})
    result = ReportResult(title="Umsätze je Kunde", tables=[Table("Größte Kunden", frame, money=("Umsatz",))],
                          summary=[("Umsatz (€)", "1.244,40 €")])
    with app.test_request_context():
        pdf = render_report_pdf(result, name="Monatsübersicht", period="November 2026",
                                generated="2026-12-01 06:00 CET", shop="Prüfwerk Süd")
    text = pdftotext(pdf)
    for expected in ("Umsätze je Kunde", "Größte Kunden", "Monatsübersicht", "Prüfwerk Süd", "€", "Müller & Söhne"):
        assert expected in text, expected
    assert COMPOUND in unbroken(text) and unbroken(LONG_NAME) in unbroken(text)
    assert_on_the_page(pdf)
    assert "Generated 2026-12-01" in text and re.search(r"Page 1 of \d", text)  # the request speaks English
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("de"):  # a German reader: footer and notes in German
        german = pdftotext(render_report_pdf(result, name="Monatsübersicht", period="November 2026",
                                             generated="01.12.2026, 06:00 CET", shop="Prüfwerk Süd"))
    assert "Erstellt am 01.12.2026" in german and re.search(r"Seite 1 von \d", german) and "Page 1" not in german


def test_english_documents_stay_english(shop):
    for customer in (shop["plain_acct"], shop["reseller_acct"]):
        customer.language = "en"
    db.session.commit()
    invoice = german_invoice(shop)
    text = pdftotext(render_pdf("invoice", invoice))
    for expected in ("Invoice", "Invoice date", "Date of service", "BILL TO", "Übergröße"):
        assert holds(text, expected), expected
    assert re.search(r"Page 1 of \d", text)
    for german in ("Rechnungsdatum", "Leistungsdatum", "Seite 1 von"):
        assert german not in text, german
    assert COMPOUND in unbroken(text)
    assert re.search(r"Page 1 of \d", pdftotext(render_pdf("work_order", invoice.work_order)))


# --- item 5: the legal invoice, downloaded by an English-speaking advisor ----------------------------------------

def _download(shop, kind: str, pk: int) -> bytes:
    advisor = client_for(shop["staff"])  # the staff screens are in English for this advisor
    response = advisor.get(f"/documents/{kind}/{pk}.pdf", headers={"Accept-Language": "en"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return response.data


def _images(pdf: bytes) -> int:
    listing = subprocess.run(["pdfimages", "-list", "-", ], input=pdf, capture_output=True, check=False)
    if listing.returncode != 0:  # older poppler reads no stdin
        import tempfile

        with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
            handle.write(pdf)
            handle.flush()
            listing = subprocess.run(["pdfimages", "-list", handle.name], capture_output=True, check=True)
    rows = listing.stdout.decode().splitlines()[2:]  # two header lines
    return sum(1 for row in rows if row.split() and row.split()[2] == "image")


def _legal_fields(text: str) -> None:
    flat = " ".join(text.split())
    for expected in ("Test Depot Reparatur GmbH", "Prüfstraße 12", "10115 Berlin", "USt-IdNr.", "DE136695976",
                     "Steuernummer", "27/123/45678", "Zahlbar innerhalb von 14 Tagen ohne Abzug.",
                     "Bankverbindung", "DE89 3704 0044 0532 0130 00", "COBADEFFXXX", "Test Bank",
                     "Sitz der Gesellschaft", "Berlin", "Amtsgericht Charlottenburg HRB 123456", "Geschäftsführung",
                     "Erika Mustermann", "Vielen Dank für Ihren Auftrag.", "ATU13585627"):
        assert expected in flat, expected
    assert unbroken(LONG_NAME) in unbroken(text)


def test_the_german_invoice_downloaded_by_an_english_advisor_holds_every_legal_field(shop):
    invoice = german_invoice(shop)
    pdf = _download(shop, "invoice", invoice.id)
    text = pdftotext(pdf)
    flat = " ".join(text.split())
    assert "Invoice date" not in flat and "Bill to" not in flat  # German, whoever downloads it
    assert "Rechnung" in flat and invoice.number in flat
    _legal_fields(text)
    assert "Rechnungsdatum" in flat and formatting.date(to_local(invoice.issued_at).date(), locale="de") in flat
    assert "Leistungsdatum" in flat and formatting.date(invoice.service_from, locale="de") in flat
    rows = tax_lines(invoice)
    assert [row["rate"] for row in rows] == [Decimal("7.00"), Decimal("19.00")]
    for row in rows:  # net and tax per rate, in whatever form the money filter writes them
        rate = formatting.number(row["rate"], locale="de")  # 7 and 19, as a German reads them
        net_at, tax_at = re.escape(f"Netto zu {rate} %"), re.escape(f"Umsatzsteuer {rate} %")
        assert re.search(net_at, flat) and re.search(tax_at, flat), row["rate"]
        for amount in (row["net"], row["tax"]):
            shown = [f"{amount:,.2f}", f"{amount:,.2f}".replace(",", "\0").replace(".", ",").replace("\0", ".")]
            assert any(s in flat for s in shown), amount
    gross = [f"{invoice.total:,.2f}", f"{invoice.total:,.2f}".replace(",", "\0").replace(".", ",").replace("\0", ".")]
    assert any(s in flat for s in gross), invoice.total
    assert _images(pdf) >= 1  # the logo
    # the same advisor's job sheet (a workshop document) is in the advisor's language
    sheet = pdftotext(_download(shop, "job_sheet", invoice.work_order_id))
    assert "Job sheet" in sheet and "Page 1 of" in sheet

    note = invoices.issue_credit_note(invoice, shop["staff_actor"], "Kulanz")
    db.session.commit()
    note_pdf = _download(shop, "credit_note", note.id)
    note_text = pdftotext(note_pdf)
    note_flat = " ".join(note_text.split())
    _legal_fields(note_text)
    assert "Gutschrift" in note_flat and note.number in note_flat and invoice.number in note_flat
    assert "Leistungsdatum" in note_flat and formatting.date(invoice.service_from, locale="de") in note_flat
    for row in tax_lines(note):
        rate = formatting.number(row["rate"], locale="de")
        assert f"Netto zu {rate} %" in note_flat and f"Umsatzsteuer {rate} %" in note_flat
    assert _images(note_pdf) >= 1


def test_small_business_invoice_prints_the_exemption_and_no_tax_lines(shop):
    settings = perform(get_settings(), "edit", actor(shop["admin"]),
                       {"small_business": True, "tax_rate": Decimal("0"),
                        "small_business_text": "Gemäß § 19 UStG wird keine Umsatzsteuer berechnet."})
    db.session.commit()
    assert settings.small_business
    invoice = german_invoice(shop, small_business=True)
    assert invoice.tax == 0
    flat = " ".join(pdftotext(_download(shop, "invoice", invoice.id)).split())
    assert "Gemäß § 19 UStG wird keine Umsatzsteuer berechnet." in flat
    assert not re.search(r"Umsatzsteuer \d", flat) and "Netto zu" not in flat
    assert "Nettobetrag" in flat
    _legal_fields(pdftotext(_download(shop, "invoice", invoice.id)))
