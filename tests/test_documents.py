"""PDF documents: content read back with pypdf, nothing internal, the restricted fetcher, cache, downloads."""
from __future__ import annotations

import io
import shutil
import socket
import subprocess

import pytest
from pypdf import PdfReader

from app import documents
from app.core.settings import absolute
from app.documents import cache, html_to_pdf, render_html, render_pdf
from app.documents.fetcher import STATIC_BASE, SafeURLFetcher
from app.extensions import db
from app.models import WorkItem
from app.services import estimates, shipments
from tests.repair_shop import (
    INTERNAL_NOTE,
    INTERNAL_REF,
    anonymous,
    build,
    client_for,
    open_invoice,
    reseller_orders,
    rich_order,
    sent_estimate,
)

HOSTILE = '<img src="file:///etc/passwd"> <a href="http://127.0.0.1:9/">x</a> <link rel="stylesheet" href="http://10.1.2.3/a.css">'


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.fixture()
def shop(db, tmp_path, app):
    app.config["PORTICO_DOCUMENT_CACHE_DIR"] = str(tmp_path / "cache")
    yield build()
    app.config.pop("PORTICO_DOCUMENT_CACHE_DIR", None)


@pytest.fixture()
def shipment(shop):
    orders = reseller_orders(shop, 2)
    made = shipments.create(shop["reseller_actor"], work_orders=[o.id for o in orders])
    shipments.perform(made, "confirm", shop["reseller_actor"])
    return made


def assert_public_only(text: str) -> None:
    assert INTERNAL_REF not in text
    assert "Margin note" not in text and INTERNAL_NOTE not in text


def test_work_order_pdf_has_public_facts_only(shop):
    order = rich_order(shop)
    pdf = render_pdf("work_order", order)
    assert pdf.startswith(b"%PDF-")
    text = text_of(pdf)
    for visible in (order.number, "Jane Doe", "Test Depot", "Screen flickers after a drop",
                    "Display replaced, tested OK", "JANE-PO-1", "SER-PLAIN-1", "490154203237518",
                    "Replace display assembly", "LCD-42", "TRACK-123", "240.00", "285.60", "Page 1 of 1"):
        assert visible in text, visible
    assert_public_only(text)
    assert_public_only(render_html("work_order", order))


def test_estimate_pdf_shows_lines_revision_and_dispute(shop):
    est = sent_estimate(shop)
    part = est.labour_lines[0].parts[0]
    estimates.perform(est, "dispute", shop["customer_actor"], note="Too expensive",
                      lines=[{"kind": "part", "id": part.id, "note": "Display price?"}])
    estimates.perform(est, "acknowledge", shop["staff_actor"])
    text = text_of(render_pdf("estimate", est))
    for visible in (est.display_number, "Revision 1", "Display assembly", "Display price?", "acknowledged",
                    "Too expensive", "285.60", "Valid for 30 days"):
        assert visible in text, visible
    r2 = estimates.perform(est, "revise", shop["staff_actor"])
    text2 = text_of(render_pdf("estimate", r2))
    assert "EST-000001-R2" in text2 and "Revision 2" in text2 and "Replaces" in text2


def test_invoice_pdf(shop):
    invoice = open_invoice(shop)
    text = text_of(render_pdf("invoice", invoice))
    for visible in (invoice.number, "Jane Doe", invoice.work_order.number, "JANE-PO-1", "Display assembly",
                    "Balance due", f"{invoice.total:,.2f}"):
        assert visible in text, visible
    assert_public_only(text)


def test_packing_list_and_label(shop, shipment):
    packing = text_of(render_pdf("packing_list", shipment))
    assert shipment.number in packing and "FixIt Resellers" in packing and "North Depot" in packing
    for order in shipment.work_orders:
        assert order.number in packing and order.unit.serial_number in packing and order.customer_reference in packing
    label_pdf = render_pdf("label", shipment)
    label = text_of(label_pdf)
    assert shipment.number in label and "North Depot" in label and "2 Depot Way" in label and "FixIt Resellers" in label
    html = render_html("label", shipment)
    assert html.count("data:image/svg+xml;base64,") == 2  # Code 128 and QR, embedded


NO_SCANNER = not (shutil.which("pdftoppm") and shutil.which("zbarimg"))


@pytest.mark.skipif(NO_SCANNER, reason="needs poppler-utils and zbar-tools")
def test_label_codes_scan(shop, shipment, tmp_path):
    (tmp_path / "label.pdf").write_bytes(render_pdf("label", shipment))
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-singlefile", str(tmp_path / "label.pdf"), str(tmp_path / "p")],
                   check=True)
    found = subprocess.run(["zbarimg", "-q", str(tmp_path / "p.png")], capture_output=True, text=True).stdout
    # the QR opens the shipment's page (issue 14), the Code 128 is its number
    assert f"CODE-128:{shipment.number}" in found and f"QR-Code:{absolute(f'/portal/shipments/{shipment.id}')}" in found


def test_fonts_embedded_page_size_and_logo(shop):
    order = rich_order(shop)
    reader = PdfReader(io.BytesIO(render_pdf("work_order", order)))
    page = reader.pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)  # A4
    fonts = [f.get_object() for f in page["/Resources"]["/Font"].values()]
    names = {str(f["/BaseFont"]) for f in fonts}
    assert any("DejaVu" in n for n in names), names
    for font in fonts:
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor or "/FontFile3" in descriptor  # embedded, not referenced
    assert "data:image/png;base64," in render_html("work_order", order)  # the logo from Settings

    shop["settings"].paper_size = "Letter"
    db.session.commit()
    letter = PdfReader(io.BytesIO(render_pdf("work_order", order))).pages[0]
    assert (round(float(letter.mediabox.width)), round(float(letter.mediabox.height))) == (612, 792)


def test_customer_text_is_escaped_and_loads_nothing(shop, monkeypatch):
    order = rich_order(shop, fault=HOSTILE, notes='<img src="http://127.0.0.1:9/track.png">')
    fetched, connects, opened = [], [], []
    real_fetch, real_open = SafeURLFetcher.fetch, io.open

    def spy_fetch(self, url, headers=None):
        fetched.append(url)
        return real_fetch(self, url, headers)

    def spy_connect(self, address):
        connects.append(address)
        raise OSError("no network in documents")

    def spy_open(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(SafeURLFetcher, "fetch", spy_fetch)
    monkeypatch.setattr(socket.socket, "connect", spy_connect)
    monkeypatch.setattr("builtins.open", spy_open)
    monkeypatch.setattr(io, "open", spy_open)
    html = render_html("work_order", order)
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html and '<img src="file:' not in html
    text = text_of(render_pdf("work_order", order))
    assert 'src="file:///etc/passwd"' in text  # shown as the text the customer typed
    assert all(u.startswith((STATIC_BASE, "data:")) for u in fetched), fetched
    assert not connects and not any("passwd" in path for path in opened)


def test_fetcher_refuses_everything_but_static_and_data(app, monkeypatch):
    connects = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: connects.append(address))
    html = ('<link rel="stylesheet" href="documents/print.css">'
            '<img src="file:///etc/passwd"><img src="http://127.0.0.1:9/x.png"><img src="https://10.0.0.8/a.png">'
            '<link rel="stylesheet" href="http://169.254.169.254/latest/meta-data">'
            '<img src="../../../../etc/passwd"><img src="documents/../../../config.py">'
            '<img src="ftp://example.com/x.png">'
            '<img src="data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcv'
            'MjAwMC9zdmciIHdpZHRoPSIxIiBoZWlnaHQ9IjEiLz4=">'
            '<p>Hello</p>')
    fetcher = SafeURLFetcher(app.static_folder)
    pdf = html_to_pdf(html, fetcher)
    assert "Hello" in text_of(pdf)
    refused = " ".join(fetcher.refused)
    for bad in ("file:///etc/passwd", "127.0.0.1:9", "10.0.0.8", "169.254.169.254", "ftp://", "config.py"):
        assert bad in refused, bad
    assert any(u.endswith("documents/print.css") for u in fetcher.served)
    assert any(u.startswith("data:image/svg+xml") for u in fetcher.served)
    assert "etc/passwd" in refused and not connects


def test_repeat_download_comes_from_the_cache(shop, monkeypatch):
    order = rich_order(shop)
    renders = []
    real = documents.html_to_pdf
    monkeypatch.setattr(documents, "html_to_pdf", lambda html, fetcher=None: renders.append(1) or real(html, fetcher))
    first = render_pdf("work_order", order)
    again = render_pdf("work_order", order)
    assert first == again and len(renders) == 1
    files = list(cache.cache_dir().glob(f"work_order-{order.id}-*.pdf"))
    assert len(files) == 1
    # A new work item changes no column of the order, but changes the document: a new render, one file kept.
    order.items.append(WorkItem(position=5, kind="labour", description="Water damage check", unit_price=0))
    db.session.commit()
    changed = render_pdf("work_order", order)
    assert len(renders) == 2 and "Water damage check" in text_of(changed)
    assert len(list(cache.cache_dir().glob(f"work_order-{order.id}-*.pdf"))) == 1
    shop["settings"].shop_name = "Renamed Depot"
    db.session.commit()
    assert "Renamed Depot" in text_of(render_pdf("work_order", order)) and len(renders) == 3


# ---------------------------------------------------------------- downloads
def test_portal_pdf_downloads_are_scoped(shop):
    order = rich_order(shop)
    est = sent_estimate(shop)
    draft = estimates.create(shop["staff_actor"], customer_id=shop["plain_acct"].id, labour_lines=[])
    invoice = open_invoice(shop, rich_order(shop))
    client = client_for(shop["customer"])
    urls = (f"/portal/orders/{order.id}/pdf", f"/portal/estimates/{est.id}/pdf", f"/portal/invoices/{invoice.id}/pdf")
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == "application/pdf", url
        assert "inline" in response.headers["Content-Disposition"]
    assert client.get(f"/portal/estimates/{draft.id}/pdf").status_code == 404  # the shop's draft
    assert client.get("/portal/orders/999999/pdf").status_code == 404
    other = client_for(shop["other"])
    for url in urls:
        assert other.get(url).status_code == 404, url


def test_portal_pdf_needs_login(shop):
    order = rich_order(shop)
    response = anonymous().get(f"/portal/orders/{order.id}/pdf")
    assert response.status_code == 302 and "/portal/login" in response.headers["Location"]


def test_shipment_documents_for_the_reseller_only(shop, shipment):
    reseller = client_for(shop["reseller"])
    for url in (f"/portal/shipments/{shipment.id}/packing-list.pdf", f"/portal/shipments/{shipment.id}/label.pdf"):
        response = reseller.get(url)
        assert response.status_code == 200 and response.data.startswith(b"%PDF"), url
        assert client_for(shop["other"]).get(url).status_code == 404
        assert client_for(shop["customer"]).get(url).status_code == 403  # not a reseller


def test_shipment_documents_wait_for_confirmation(shop):
    orders = reseller_orders(shop, 1)
    draft = shipments.create(shop["reseller_actor"], work_orders=[orders[0].id])
    response = client_for(shop["reseller"]).get(f"/portal/shipments/{draft.id}/label.pdf")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/portal/shipments/{draft.id}")


def test_staff_pdf_route_checks_the_documents_permission(shop, shipment):
    order = rich_order(shop)
    est = sent_estimate(shop)
    staff = client_for(shop["staff"])
    for url in (f"/documents/work_order/{order.id}.pdf", f"/documents/estimate/{est.id}.pdf",
                f"/documents/packing_list/{shipment.id}.pdf", f"/documents/label/{shipment.id}.pdf"):
        response = staff.get(url)
        assert response.status_code == 200 and response.mimetype == "application/pdf", url
    assert staff.get("/documents/work_order/999999.pdf").status_code == 404
    assert staff.get(f"/documents/nonsense/{order.id}.pdf").status_code == 404
    assert client_for(shop["tech"]).get(f"/documents/work_order/{order.id}.pdf").status_code == 403
    assert client_for(shop["customer"]).get(f"/documents/work_order/{order.id}.pdf").status_code == 403
    response = anonymous().get(f"/documents/work_order/{order.id}.pdf")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_staff_show_pages_link_their_pdfs(shop, shipment):
    order = rich_order(shop)
    staff = client_for(shop["staff"])
    page = staff.get(f"/workorderview/show/{order.id}").get_data(as_text=True)
    assert f"/documents/work_order/{order.id}.pdf" in page
    page = staff.get(f"/shipmentview/show/{shipment.id}").get_data(as_text=True)
    assert f"/documents/label/{shipment.id}.pdf" in page and f"/documents/packing_list/{shipment.id}.pdf" in page


def test_the_technician_prints_a_job_sheet_without_prices(shop):
    """Issue 15, item 6: the technician's PDF button gives their job sheet (no prices), not a 403; only for the
    orders scope lets them see (their own and unassigned ones); the work order PDF with prices stays staff-only."""
    from app.services import work_orders
    from tests.factories import actor, make_user

    order = rich_order(shop)
    tech = client_for(shop["tech"])
    board = tech.get(f"/technicianboard/show/{order.id}").get_data(as_text=True)
    assert f"/documents/job_sheet/{order.id}.pdf" in board and f"/documents/work_order/{order.id}.pdf" not in board
    response = tech.get(f"/documents/job_sheet/{order.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert f"{order.number}-job-sheet.pdf" in response.headers["Content-Disposition"]
    text = text_of(response.data)
    for expected in ("Job sheet", order.number, "Replace display assembly", "Display assembly", "LCD-42",
                     "Screen flickers after a drop", INTERNAL_NOTE, "Jane Doe", "SER-PLAIN-1", "Work done and checked"):
        assert expected in text, expected
    for money in ("80.00", "120.00", "Total", "Subtotal", "EUR", "€", "IBAN"):
        assert money not in text, money
    assert tech.get(f"/documents/work_order/{order.id}.pdf").status_code == 403  # the priced copy stays staff's
    # once it is assigned to them, another technician's order is not there at all
    work_orders.perform(order, "assign", shop["staff_actor"], {"technician_id": shop["tech"].id})
    db.session.commit()
    other = make_user("Technician")
    db.session.commit()
    assert actor(other).user_id != order.technician_id
    assert client_for(other).get(f"/documents/job_sheet/{order.id}.pdf").status_code == 404
    assert tech.get(f"/documents/job_sheet/{order.id}.pdf").status_code == 200
    # staff who may open work orders get both
    staff = client_for(shop["staff"])
    page = staff.get(f"/workorderview/show/{order.id}").get_data(as_text=True)
    assert f"/documents/job_sheet/{order.id}.pdf" in page and f"/documents/work_order/{order.id}.pdf" in page
    assert staff.get(f"/documents/job_sheet/{order.id}.pdf").status_code == 200
    assert client_for(shop["customer"]).get(f"/documents/job_sheet/{order.id}.pdf").status_code == 403
    # the workshop's copy speaks the reader's language, not the customer's
    shop["plain_acct"].language = "de"
    db.session.commit()
    assert "Job sheet" in text_of(tech.get(f"/documents/job_sheet/{order.id}.pdf").data)
    tech.get("/lang/de")  # Flask-AppBuilder's language menu
    german = text_of(tech.get(f"/documents/job_sheet/{order.id}.pdf").data)
    assert "Arbeitskarte" in german and "teilenummer" in german.lower() and "Arbeit ausgeführt und geprüft" in german
