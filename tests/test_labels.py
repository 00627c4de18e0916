"""Shipping labels a carrier takes, and the tracking number on the shipment.

* carrier patterns (``services.carriers``): good and bad numbers of DHL, UPS, DPD, GLS and FedEx, an
  unknown carrier's sane reference, normalising, the tracking page;
* the ``tracking`` action: checked against the shipment's carrier, refused at the field, audited;
  staff's edit and add check it the same way; the API answers 422 / 409, never 500;
* the label PDF read back with pypdf: page size per ``Settings.label_format`` (A6, 4 × 6 in, A4), one page,
  no letterhead, the shipment and tracking numbers; both Code 128 codes decoded from the embedded SVGs
  back to their values; and, where poppler and zbar are installed, scanned from the rendered page.
"""
from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from barcode.charsets import code128 as charset
from pypdf import PdfReader

from app.core.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from app.documents import codes, render_html, render_pdf
from app.extensions import db
from app.models import AuditEvent, ShippingMethod
from app.services import carriers, shipments
from tests.api_support import api_as
from tests.factories import ShippingMethodFactory
from tests.repair_shop import build, reseller_orders

A6 = (297.6, 419.5)
FOUR_BY_SIX = (288.0, 432.0)
A4 = (595.3, 841.9)


def method(carrier: str | None, name: str = "Parcel") -> ShippingMethod:
    return ShippingMethod(name=name, carrier=carrier)


# --------------------------------------------------------------------------- carrier patterns

GOOD = {
    "DHL": ["00340434161234567890", "123456789012", "1234567890", "JJD000390007654321098", "RR123456785DE",
            "0034 0434 1612 3456 7890"],
    "UPS": ["1Z999AA10123456784", "1z 999 aa1 01 2345 6784", "1Z-999-AA1-0123456784"],
    "DPD": ["01234567890123", "0123 4567 8901 23"],
    "GLS": ["12345678901", "123456789012", "ZA1B2C3D", "za1b2c3d"],
    "FedEx": ["123456789012", "123456789012345", "12345678901234567890", "1234567890123456789012"],
}
BAD = {
    "DHL": ["12345", "1Z999AA10123456784", "ABCDEFGHIJKL", "JJD123", "R123456785DE", "12345678901"],
    "UPS": ["1Z999AA1012345678", "2Z999AA10123456784", "123456789012", "1Z999AA10123456784X"],
    "DPD": ["0123456789012", "012345678901234", "ABCDEFGHIJKLMN"],
    "GLS": ["1234567890", "1234567890123", "ZA1B2C3", "ZA1B2C3D4"],
    "FedEx": ["12345678901", "1234567890123", "1Z999AA10123456784", "12345678901234"],
}


@pytest.mark.parametrize("carrier, number", [(c, n) for c, numbers in GOOD.items() for n in numbers])
def test_good_numbers_are_taken_and_normalised(carrier, number):
    checked = carriers.check(method(carrier), number)
    assert checked == re.sub(r"[\s-]", "", number).upper()
    url = carriers.tracking_url(method(carrier), number)
    assert url.startswith("https://") and checked in url


@pytest.mark.parametrize("carrier, number", [(c, n) for c, numbers in BAD.items() for n in numbers])
def test_bad_numbers_are_refused_naming_the_shape(carrier, number):
    with pytest.raises(ValidationFailed) as error:
        carriers.check(method(carrier), number)
    [message] = error.value.errors["tracking_number"]
    assert f"not a {carrier} tracking number: expected" in message and list(error.value.errors) == ["tracking_number"]


def test_the_carrier_is_found_in_the_method():
    assert carriers.carrier_for(method("DHL Express")).name == "DHL"
    assert carriers.carrier_for(method(None, "UPS Standard")).name == "UPS"
    assert carriers.carrier_for(method("Fed Ex Ground")).name == "FedEx"
    assert carriers.carrier_for(method("fedex")).name == "FedEx"
    assert carriers.carrier_for(method("gls")).name == "GLS"
    assert carriers.carrier_for(method("Groups courier", "Cups & Co")) is None  # words, not letters
    assert carriers.carrier_for(None) is None


def test_an_unknown_carrier_takes_a_sane_reference():
    courier = method("Local courier")
    assert carriers.check(courier, "  abc-123  456 ") == "ABC-123 456"
    assert carriers.check(courier, "") is None and carriers.check(courier, None) is None
    for bad in ("12345", "A" * 41, "ABC_123!", "-ABCDEF", "ÄBC12345"):
        with pytest.raises(ValidationFailed) as error:
            carriers.check(courier, bad)
        assert "6 to 40 letters, digits, spaces or hyphens" in error.value.errors["tracking_number"][0]
    assert carriers.tracking_url(courier, "ABC-123") is None
    assert carriers.tracking_link(courier, "ABC-123") == {"number": "ABC-123", "url": None, "carrier": None}
    assert carriers.tracking_link(method("UPS"), None) is None


def test_tracking_urls_quote_the_number():
    assert carriers.tracking_url(method("UPS"), "1z999aa10123456784") == \
        "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    assert carriers.tracking_url(method("DPD"), "01234567890123").endswith("/parcel/01234567890123")
    assert "trknbr=123456789012" in carriers.tracking_url(method("FedEx"), "123456789012")
    assert "tracking-id=RR123456785DE" in carriers.tracking_url(method("DHL"), "RR123456785DE")
    assert "match=ZA1B2C3D" in carriers.tracking_url(method("GLS"), "ZA1B2C3D")


# --------------------------------------------------------------------------- the tracking action

@pytest.fixture()
def shop(db, tmp_path, app):
    app.config["PORTICO_DOCUMENT_CACHE_DIR"] = str(tmp_path / "cache")
    data = build(with_logo=True)
    data["ups"] = ShippingMethodFactory(name="UPS Standard", carrier="UPS")
    db.session.commit()
    yield data
    app.config.pop("PORTICO_DOCUMENT_CACHE_DIR", None)


@pytest.fixture()
def shipment(shop):
    orders = reseller_orders(shop, 2, method=shop["ups"])
    return shipments.create(shop["reseller_actor"], work_orders=[o.id for o in orders])


def test_the_reseller_sets_a_tracking_number_checked_against_the_carrier(shop, shipment):
    with pytest.raises(ValidationFailed) as error:
        shipments.perform(shipment, "tracking", shop["reseller_actor"], tracking_number="00340434161234567890")
    assert "not a UPS tracking number" in error.value.errors["tracking_number"][0]
    db.session.refresh(shipment)
    assert shipment.tracking_number is None
    shipments.perform(shipment, "tracking", shop["reseller_actor"], tracking_number="1z 999 aa1 0123456784")
    db.session.refresh(shipment)
    assert shipment.tracking_number == "1Z999AA10123456784"
    line = db.session.query(AuditEvent).filter_by(action="tracking").one()
    assert line.reason == "— → 1Z999AA10123456784"
    shipments.perform(shipment, "confirm", shop["reseller_actor"])
    shipments.perform(shipment, "tracking", shop["staff_actor"], tracking_number="1Z999AA10123456785")
    assert shipment.tracking_number == "1Z999AA10123456785"  # still open while confirmed
    with pytest.raises(ValidationFailed) as error:
        shipments.perform(shipment, "tracking", shop["reseller_actor"])
    assert error.value.errors == {"tracking_number": ["Enter the tracking number."]}
    shipments.perform(shipment, "tracking", shop["reseller_actor"], tracking_number="")
    assert shipment.tracking_number is None  # empty removes it
    with pytest.raises(ValidationFailed):
        shipments.perform(shipment, "tracking", shop["reseller_actor"], tracking_number="")  # nothing to remove


def test_tracking_is_refused_when_received_to_strangers_and_customers(shop, shipment):
    with pytest.raises(NotFound):
        shipments.perform(shipment, "tracking", shop["other_actor"], tracking_number="1Z999AA10123456784")
    with pytest.raises((NotFound, PermissionDenied)):
        shipments.perform(shipment, "tracking", shop["customer_actor"], tracking_number="1Z999AA10123456784")
    shipments.perform(shipment, "confirm", shop["reseller_actor"])
    shipments.perform(shipment, "receive", shop["staff_actor"])
    with pytest.raises(InvalidTransition):
        shipments.perform(shipment, "tracking", shop["reseller_actor"], tracking_number="1Z999AA10123456784")


def test_staff_edit_and_add_check_the_number_too(shop, shipment):
    with pytest.raises(ValidationFailed) as error:
        shipments.perform(shipment, "edit", shop["staff_actor"], tracking_number="12345")
    assert "UPS" in error.value.errors["tracking_number"][0]
    shipments.perform(shipment, "edit", shop["staff_actor"], tracking_number="1z999aa10123456784")
    assert shipment.tracking_number == "1Z999AA10123456784"
    shipments.perform(shipment, "edit", shop["staff_actor"], tracking_number=None)
    assert shipment.tracking_number is None


def test_the_api_sets_tracking_and_answers_422_and_409(shop, shipment, client):
    api = api_as(client, shop["reseller"])
    bad = api.post(f"/shipment/{shipment.id}/tracking", json={"tracking_number": "not-a-ups-number"})
    assert bad.status_code == 422
    assert "tracking_number" in bad.get_json()["message"]
    assert "not a UPS tracking number" in bad.get_json()["message"]["tracking_number"][0]
    assert api.post(f"/shipment/{shipment.id}/tracking", json={"tracking_number": 12}).status_code == 422
    assert api.post(f"/shipment/{shipment.id}/tracking", json={"nope": 1}).status_code == 422
    good = api.post(f"/shipment/{shipment.id}/tracking", json={"tracking_number": "1Z999AA10123456784"})
    assert good.status_code == 200, good.get_data(as_text=True)
    result = good.get_json()["result"]
    assert result["tracking_number"] == "1Z999AA10123456784"
    assert result["tracking_url"] == "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    other = api_as(client, shop["other"])
    assert other.post(f"/shipment/{shipment.id}/tracking", json={"tracking_number": "1Z999AA10123456784"}
                      ).status_code == 404
    staff = api_as(client, shop["staff"])
    assert staff.put(f"/shipment/{shipment.id}", json={"tracking_number": "123"}).status_code == 422
    shipments.perform(shipment, "confirm", shop["reseller_actor"])
    shipments.perform(shipment, "receive", shop["staff_actor"])
    late = api.post(f"/shipment/{shipment.id}/tracking", json={"tracking_number": "1Z999AA10123456784"})
    assert late.status_code == 409


# --------------------------------------------------------------------------- the label

def page_size(pdf: bytes) -> tuple[float, float]:
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1, "a label is one page"
    box = reader.pages[0].mediabox
    return round(float(box.width), 1), round(float(box.height), 1)


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def svg_modules(data_url: str) -> str:
    """The bars of a python-barcode SVG as "1"/"0" modules (the code's own drawing, read back)."""
    svg = ET.fromstring(base64.b64decode(data_url.split(",", 1)[1]))
    bars = sorted((float(r.get("x").rstrip("m")), float(r.get("width").rstrip("m")))
                  for r in svg.iter("{http://www.w3.org/2000/svg}rect") if r.get("x") is not None)
    module = min(width for _, width in bars)
    start = bars[0][0]
    end = round((bars[-1][0] + bars[-1][1] - start) / module)
    cells = ["0"] * end
    for x, width in bars:
        first = round((x - start) / module)
        for i in range(first, first + round(width / module)):
            cells[i] = "1"
    return "".join(cells)


def decode_code128(modules: str) -> str:
    """Code 128 modules back to text: symbols, the check value, code sets A, B and C."""
    assert modules.endswith(charset.STOP + "11"), "no stop pattern"
    values = [charset.CODES.index(modules[i:i + 11]) for i in range(0, len(modules) - 13, 11)]
    assert values[0] in charset.START_CODES.values(), "no start code"
    assert (values[0] + sum(i * v for i, v in enumerate(values[1:-1], 1))) % 103 == values[-1], "check value"
    sets = {103: {v: k for k, v in charset.A.items()}, 104: {v: k for k, v in charset.B.items()},
            105: {**{n: f"{n:02d}" for n in range(100)}, **{v: k for k, v in charset.C.items()}}}
    by_name = {"TO_A": sets[103], "TO_B": sets[104], "TO_C": sets[105]}
    current, text = sets[values[0]], []
    for value in values[1:-1]:
        symbol = current[value]
        if symbol in by_name:
            current = by_name[symbol]
        else:
            text.append(symbol)
    return "".join(text)


def svgs(html: str) -> list[str]:
    return re.findall(r'src="(data:image/svg\+xml;base64,[^"]+)"', html)


def test_the_decoder_reads_what_codes_draws():
    for value in ("SHP-000001", "1Z999AA10123456784", "00340434161234567890", "ABC-123 456"):
        assert decode_code128(codes.code128_modules(value)) == value
        assert svg_modules(codes.code128_svg(value)) == codes.code128_modules(value)
        assert svg_modules(codes.code128_svg(value, 40)) == codes.code128_modules(value)  # narrower, same code


def test_a_long_number_gets_narrower_modules_to_fit():
    wide = codes.code128_svg("A" * 40)
    fitted = codes.code128_svg("A" * 40, 90)

    def width(url):
        return float(re.search(rb'width="([0-9.]+)mm"', base64.b64decode(url.split(",", 1)[1])).group(1))

    assert width(wide) > 130 and width(fitted) <= 90.5
    narrowest = min(float(w) for w in re.findall(rb'width="([0-9.]+)mm" height="18',
                                                 base64.b64decode(codes.code128_svg("SHP-000001", 62).split(",")[1])))
    assert narrowest == 0.33  # a shipment number fits at the full module width


def test_the_label_is_a6_with_both_codes_and_no_letterhead(shop, shipment):
    shipments.perform(shipment, "tracking", shop["reseller_actor"], tracking_number="1Z999AA10123456784")
    shipments.perform(shipment, "confirm", shop["reseller_actor"])
    assert shop["settings"].label_format == "a6"  # the default
    pdf = render_pdf("label", shipment)
    width, height = page_size(pdf)
    assert abs(width - A6[0]) < 1 and abs(height - A6[1]) < 1
    text = text_of(pdf)
    for visible in (shipment.number, "1Z999AA10123456784", "FixIt Resellers", "9 Trade Park", "80331 Munich",
                    "North Depot", "2 Depot Way", "20095 Hamburg", "UPS", "UPS Standard", "2 orders",
                    f"/portal/shipments/{shipment.id}"):
        assert visible in text, visible
    assert "Test Depot" not in text and "1 Repair Road" not in text and "Page 1" not in text  # no letterhead
    html = render_html("label", shipment)
    assert "data:image/png" not in html  # no logo either
    tracking_code, shipment_code, qr = svgs(html)  # in the order printed
    assert decode_code128(svg_modules(shipment_code)) == shipment.number
    assert decode_code128(svg_modules(tracking_code)) == "1Z999AA10123456784"
    assert qr.startswith("data:image/svg+xml") and "Code 128 barcode of 1Z999AA10123456784" in html


@pytest.mark.parametrize("label_format, size", [("4x6", FOUR_BY_SIX), ("a4x4", A4), ("a6", A6)])
def test_the_label_format_setting_sizes_the_page(shop, shipment, label_format, size):
    shop["settings"].label_format = label_format
    db.session.commit()
    pdf = render_pdf("label", shipment)
    width, height = page_size(pdf)
    assert abs(width - size[0]) < 1 and abs(height - size[1]) < 1
    text = text_of(pdf)
    assert shipment.number in text and "North Depot" in text and "No tracking number yet" in text
    assert ("Cut along the dashed lines" in text) == (label_format == "a4x4")
    assert len(svgs(render_html("label", shipment))) == 2  # no tracking code without a number


def test_a_legacy_number_that_cannot_be_coded_is_printed_only(shop, shipment):
    shipment.tracking_number = "Päckchen 7"  # typed before numbers were checked
    db.session.commit()
    html = render_html("label", shipment)
    assert len(svgs(html)) == 2 and "Päckchen 7" in html
    assert "Päckchen 7" in text_of(render_pdf("label", shipment))


NO_SCANNER = not (shutil.which("pdftoppm") and shutil.which("zbarimg"))


@pytest.mark.skipif(NO_SCANNER, reason="needs poppler-utils and zbar-tools")
@pytest.mark.parametrize("label_format", ["a6", "4x6"])
def test_the_printed_label_scans(shop, shipment, tmp_path, label_format):
    """What a carrier's scanner reads: the page rendered at thermal-printer resolution, decoded by zbar."""
    shop["settings"].label_format = label_format
    shipment.tracking_number = "00340434161234567890"  # a long one: the widest code
    db.session.commit()
    (tmp_path / "label.pdf").write_bytes(render_pdf("label", shipment))
    subprocess.run(["pdftoppm", "-r", "203", "-png", "-singlefile", "-mono", str(tmp_path / "label.pdf"),
                    str(tmp_path / "p")], check=True)
    found = subprocess.run(["zbarimg", "-q", str(tmp_path / "p.png")], capture_output=True, text=True).stdout
    assert f"CODE-128:{shipment.number}" in found, found
    assert "CODE-128:00340434161234567890" in found, found
    assert re.search(rf"QR-Code:https?://\S+/portal/shipments/{shipment.id}\b", found), found
