"""CSV export of work orders: scope, money (invoice, approved estimate), words and codes, the shop's zone,
formula cells, encodings (BOM), batching, routes."""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from app.core.errors import ValidationFailed
from app.core.settings import shop_today, tax_for
from app.documents import csv_export
from app.documents.csv_export import parse_range, stream_orders_csv, wants_bom, write_orders_csv
from app.extensions import db
from app.models import CreditNote, PortalUser, WorkItem
from app.services import estimates, invoices, work_orders
from tests.api_support import api_as
from tests.repair_shop import INTERNAL_NOTE, INTERNAL_REF, build, client_for, open_invoice, reseller_orders, rich_order

BOM = codecs.BOM_UTF8


def rows_of(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def export(actor, **kwargs) -> str:
    return "".join(stream_orders_csv(actor, **kwargs))


def row_for(actor, number: str) -> dict:
    return next(row for row in rows_of(export(actor)) if row["Order number"] == number)


@pytest.fixture()
def shop(db):
    return build(with_logo=False)


def two_line_estimate(shop):
    """A reseller's estimate: 1.25 h × 10.10 (12.625, half-even 12.62) with 3 × 0.05 of parts, and a line
    the reseller will decline."""
    est = estimates.create(shop["staff_actor"], customer_id=shop["reseller_acct"].id, labour_lines=[
        {"description": "Swap battery", "hours": "1.25", "rate": "10.10",
         "parts": [{"part_number": "BAT-1", "description": "Battery", "quantity": "3", "unit_price": "0.05"}]},
        {"description": "Polish the case", "hours": "2.00", "rate": "50.00", "parts": []},
    ])
    estimates.perform(est, "submit", shop["staff_actor"])
    return est


# ---------------------------------------------------------------- scope
def test_reseller_export_holds_only_their_orders(shop):
    mine = reseller_orders(shop, 3)
    others = work_orders.create(shop["other_actor"], kind="repair", fault="Other's",
                                service_location_id=shop["location"].id)
    rich_order(shop)  # the plain customer's
    text = export(shop["reseller_actor"])
    header, *body = list(csv.reader(io.StringIO(text)))
    assert header[0] == "Order number" and "Customer" not in header
    assert "Internal reference" in header  # customers see the shop's reference (SPEC §8)
    assert sorted(r[0] for r in body) == sorted(o.number for o in mine)
    assert others.number not in text and "Jane Doe" not in text
    # Whatever customer_id a customer passes, the scope keeps them to their own account.
    ignored = rows_of(export(shop["reseller_actor"], customer_id=shop["plain_acct"].id))
    assert [r["Order number"] for r in ignored] == [o.number for o in mine]


def test_internal_notes_and_messages_never_appear(shop):
    [order] = reseller_orders(shop, 1)
    order.internal_reference, order.internal_notes = INTERNAL_REF, INTERNAL_NOTE
    db.session.commit()
    work_orders.perform(order, "messages", shop["staff_actor"], text="Margin is thin here", public=False)
    work_orders.perform(order, "messages", shop["staff_actor"], text="Your phone is on the bench.")
    work_orders.perform(order, "messages", shop["reseller_actor"], text="Thanks, no hurry.")
    for actor in (shop["reseller_actor"], shop["staff_actor"]):
        text = export(actor)
        assert INTERNAL_NOTE not in text and "Margin is thin" not in text
        row = rows_of(text)[0]
        assert row["Repair notes"] == "Your phone is on the bench.\nThanks, no hurry."
        assert row["Internal reference"] == INTERNAL_REF


def test_staff_export_has_the_customer_and_filters_by_customer(shop):
    order = rich_order(shop)
    reseller_orders(shop, 2)
    rows = rows_of(export(shop["staff_actor"], customer_id=shop["plain_acct"].id))
    assert len(rows) == 1
    row = rows[0]
    assert row["Order number"] == order.number and row["Customer"] == "Jane Doe"
    assert row["Internal reference"] == INTERNAL_REF and row["Customer reference"] == "JANE-PO-1"
    assert (row["Make"], row["Model"], row["Serial number"], row["IMEI"]) == ("Pear", "Phone 12", "SER-PLAIN-1",
                                                                              "490154203237518")
    assert row["Fault"] == "Screen flickers after a drop" and row["Repair notes"] == "Display replaced, tested OK"
    assert row["Work items"] == "Replace display assembly (1.50 h @ 80.00 = 120.00)"
    assert row["Parts"] == "LCD-42 Display assembly x 1.00 @ 120.00 = 120.00"
    assert (row["Status"], row["Status code"], row["Kind"], row["Kind code"]) == ("Confirmed", "confirmed",
                                                                                  "Repair", "repair")
    # Neither invoiced nor estimated: no amounts (the items' prices are in their cells).
    assert row["Amounts code"] == row["Net"] == row["Labour amount"] == row["Currency"] == ""
    assert row["Tracking number"] == "TRACK-123" and row["Service location"] == "North Depot"
    assert dt.datetime.fromisoformat(row["Created"]).utcoffset() is not None  # ISO 8601 with the shop's offset
    assert len(rows_of(export(shop["staff_actor"]))) == 3


# ---------------------------------------------------------------- money
def test_money_from_the_approved_estimate_leaves_declined_lines_out(shop):
    est = two_line_estimate(shop)
    keep, drop = est.labour_lines
    order = estimates.perform(est, "approve", shop["reseller_actor"], lines=[keep.id], reason="Case is fine")
    row = row_for(shop["reseller_actor"], order.number)
    assert (row["Amounts"], row["Amounts code"], row["Invoice number"]) == ("Estimated", "estimated", "")
    assert keep.amount == Decimal("12.62")  # the models' rounding: half to even
    assert (row["Labour amount"], row["Parts amount"], row["Other amount"]) == ("12.62", "0.15", "0.00")
    net = keep.total_with_parts
    assert (row["Net"], row["Tax"], row["Gross"], row["Currency"]) == (
        str(net), str(tax_for(net, est.tax_rate)), str(net + tax_for(net, est.tax_rate)), "EUR")
    assert Decimal(row["Gross"]) < est.total  # the estimate's own total still holds the declined line
    assert row["Work items"] == "Swap battery (1.25 h @ 10.10 = 12.62)"
    assert row["Parts"] == "BAT-1 Battery x 3.00 @ 0.05 = 0.15"
    assert drop.description not in row["Work items"] and row["Amount paid"] == row["Credited"] == ""


@pytest.mark.parametrize("hours, rate, net, tax", [
    ("5.00", "193.00", "965.00", "183.35"),  # exact: no rounding at all
    ("1.00", "0.50", "0.50", "0.10"),  # 0.095: half a cent goes up, as core.settings.tax_for
    ("0.25", "0.10", "0.02", "0.00"),  # 0.025 per line: half to even, as the models round a line
    ("0.75", "0.10", "0.08", "0.02"),  # 0.075: half to even, up this time
])
def test_estimated_money_rounds_as_the_services_do(shop, hours, rate, net, tax):
    est = estimates.create(shop["staff_actor"], customer_id=shop["reseller_acct"].id,
                           labour_lines=[{"description": "Work", "hours": hours, "rate": rate, "parts": []}])
    estimates.perform(est, "submit", shop["staff_actor"])
    order = estimates.perform(est, "approve", shop["reseller_actor"])
    assert (str(est.subtotal), str(est.tax)) == (net, tax)  # what the estimate itself says
    got = row_for(shop["reseller_actor"], order.number)
    assert (got["Net"], got["Tax"], got["Gross"]) == (net, tax, str(Decimal(net) + Decimal(tax)))


def test_money_from_the_invoice_that_counts(shop):
    est = two_line_estimate(shop)
    order = estimates.perform(est, "approve", shop["reseller_actor"])
    first = open_invoice(shop, order)

    def row():
        return row_for(shop["reseller_actor"], order.number)

    got = row()
    assert (got["Amounts"], got["Amounts code"], got["Invoice number"]) == ("Invoiced", "invoiced", first.number)
    assert (got["Net"], got["Tax"], got["Gross"]) == (str(first.subtotal), str(first.tax), str(first.total))
    assert (got["Invoice status"], got["Invoice status code"], got["Amount paid"]) == ("Open", "open", "0.00")
    assert Decimal(got["Labour amount"]) + Decimal(got["Parts amount"]) + Decimal(got["Other amount"]) == \
        first.subtotal
    invoices.perform(first, "void", shop["staff_actor"], reason="Wrong address")
    assert row()["Amounts code"] == "estimated"  # a void invoice does not count: the estimate again
    second = work_orders.perform(order, "invoice", shop["staff_actor"])
    assert row()["Amounts code"] == "estimated"  # nor does a draft
    invoices.perform(second, "submit", shop["staff_actor"])
    assert row()["Invoice number"] == second.number
    invoices.perform(second, "payments", shop["staff_actor"], amount=str(second.balance), method="card")
    got = row()
    assert (got["Invoice status"], got["Invoice status code"], got["Amount paid"]) == ("Paid", "paid",
                                                                                       str(second.total))
    invoices.perform(second, "credit", shop["staff_actor"], reason="Goodwill")
    note = db.session.scalar(select(CreditNote).where(CreditNote.invoice_id == second.id))
    assert row()["Credited"] == str(-note.total) and row()["Gross"] == str(second.total)


def test_a_cancelled_order_carries_no_estimated_money(shop):
    order = estimates.perform(two_line_estimate(shop), "approve", shop["reseller_actor"])
    work_orders.perform(order, "cancel", shop["staff_actor"], reason="Customer withdrew")
    got = row_for(shop["reseller_actor"], order.number)
    assert (got["Status code"], got["Amounts code"], got["Net"]) == ("cancelled", "", "")


def test_items_come_in_position_order(shop):
    """Inserted against their positions, so neither id nor insertion order would pass."""
    [order] = reseller_orders(shop, 1)
    for position, name in ((2, "Third"), (0, "First"), (1, "Second")):
        db.session.add(WorkItem(work_order=order, position=position, kind="labour", description=name,
                                quantity=Decimal("1"), unit_price=Decimal("1")))
    db.session.commit()
    work = rows_of(export(shop["reseller_actor"]))[0]["Work items"]
    assert [item.split(" (")[0] for item in work.split("; ")] == ["First", "Second", "Third"]


# ---------------------------------------------------------------- time
def test_date_range_is_inclusive_in_the_shop_zone(shop):
    orders = reseller_orders(shop, 4)
    # Europe/Berlin is UTC+1 in March: local midnight of 2025-03-10 is 2025-03-09 23:00 UTC.
    created = [dt.datetime(2025, 3, 9, 22, 59), dt.datetime(2025, 3, 9, 23, 0), dt.datetime(2025, 3, 10, 22, 59),
               dt.datetime(2025, 3, 10, 23, 0)]
    for order, when in zip(orders, created, strict=True):
        order.created_at = when
    db.session.commit()
    numbers = [o.number for o in orders]

    def exported(**kwargs):
        return [r["Order number"] for r in rows_of(export(shop["reseller_actor"], **kwargs))]

    day = dt.date(2025, 3, 10)
    assert exported(start=day, end=day) == numbers[1:3]
    assert exported(start=day) == numbers[1:]
    assert exported(end=day) == numbers[:3]
    assert exported() == numbers
    assert rows_of(export(shop["reseller_actor"], start=day, end=day))[0]["Created"] == "2025-03-10T00:00:00+01:00"


@pytest.mark.parametrize("zone, utc, local", [
    ("Europe/Berlin", dt.datetime(2025, 3, 30, 0, 59, 59), "2025-03-30T01:59:59+01:00"),  # the last winter second
    ("Europe/Berlin", dt.datetime(2025, 3, 30, 1, 0, 0), "2025-03-30T03:00:00+02:00"),  # summer time begins
    ("Europe/Berlin", dt.datetime(2025, 10, 26, 0, 30, 0, 999), "2025-10-26T02:30:00+02:00"),
    ("Europe/Berlin", dt.datetime(2025, 10, 26, 1, 30, 0), "2025-10-26T02:30:00+01:00"),  # the hour again
    ("Asia/Kathmandu", dt.datetime(2025, 1, 1, 0, 0, 0), "2025-01-01T05:45:00+05:45"),
    ("America/New_York", dt.datetime(2025, 7, 1, 3, 0, 0), "2025-06-30T23:00:00-04:00"),
])
def test_times_in_the_shop_zone_across_offset_changes(shop, zone, utc, local):
    shop["settings"].time_zone = zone
    [order] = reseller_orders(shop, 1)
    order.created_at = order.received_at = utc
    db.session.commit()
    row = rows_of(export(shop["reseller_actor"]))[0]
    assert (row["Created"], row["Received"], row["Ready"]) == (local, local, "")


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York"])
def test_times_of_every_decade_match_zoneinfo(shop, zone):
    """The offset tree (``_local_iso``) against Python's zoneinfo for times from 1975 on, each a second
    before, at and after a transition of that year as well as mid-season: no period is skipped."""
    from zoneinfo import ZoneInfo

    shop["settings"].time_zone = zone
    tz, utc_zone = ZoneInfo(zone), dt.UTC
    times = []
    for year in (1975, 1981, 1990, 1996, 2002, 2007, 2013, 2019, 2026):
        for month in (3, 7, 11):
            times.append(dt.datetime(year, month, 15, 12, 0, 0))
        start = dt.datetime(year, 3, 1)
        offset = tz.utcoffset(start)
        for hour in range(0, 24 * 120, 1):  # the spring change of that year, to the hour
            moment = start + dt.timedelta(hours=hour)
            if tz.utcoffset(moment) != offset:
                times += [moment - dt.timedelta(hours=1, seconds=1), moment - dt.timedelta(hours=1),
                          moment + dt.timedelta(hours=1)]
                break
    names = ("created_at", "received_at", "ready_at", "completed_at")
    orders = reseller_orders(shop, (len(times) + 3) // 4)
    for index, moment in enumerate(times):
        setattr(orders[index // 4], names[index % 4], moment)
    db.session.commit()
    rows = {row["Order number"]: row for row in rows_of(export(shop["reseller_actor"]))}
    for index, moment in enumerate(times):
        header = ("Created", "Received", "Ready", "Completed")[index % 4]
        want = moment.replace(tzinfo=utc_zone).astimezone(tz).isoformat()
        assert rows[orders[index // 4].number][header] == want, (zone, moment)


# ---------------------------------------------------------------- input
@pytest.mark.parametrize("start, end, field", [("2025-13-01", None, "start"), ("yesterday", None, "start"),
                                                (None, "2025-02-30", "end"), ("2025-03-10", "2025-03-01", "end")])
def test_bad_dates_name_their_field(start, end, field):
    with pytest.raises(ValidationFailed) as error:
        parse_range(start, end)
    assert field in error.value.errors


@pytest.mark.parametrize("args, default, bom", [
    ({}, True, True), ({}, False, False), ({"encoding": "utf-8"}, True, False),
    ({"encoding": "UTF-8-SIG"}, False, True), ({"encoding": "excel"}, False, True),
    ({"bom": "1"}, False, True), ({"bom": "0"}, True, False),
    ({"encoding": "utf-8", "bom": "1"}, False, False),  # the named encoding wins
])
def test_bom_choice(args, default, bom):
    assert wants_bom(args, default) is bom


@pytest.mark.parametrize("args, field", [({"encoding": "latin-1"}, "encoding"), ({"bom": "maybe"}, "bom")])
def test_bad_bom_choice_names_its_field(args, field):
    with pytest.raises(ValidationFailed) as error:
        wants_bom(args, True)
    assert field in error.value.errors


# ---------------------------------------------------------------- cells
def test_formula_cells_are_neutralised(shop):
    [order] = reseller_orders(shop, 1, fault="=HYPERLINK(\"http://evil\")")
    order.customer_reference = "+SUM(A1)"
    order.accessories = "-2+3"
    order.tracking_number = "\tTAB"
    order.items.append(WorkItem(position=0, kind="labour", description="=cmd|' /C calc'!A0",
                                quantity=Decimal("1"), unit_price=Decimal("5")))
    db.session.commit()
    order.unit.make = "\rCR"
    db.session.commit()
    work_orders.perform(order, "messages", shop["reseller_actor"], text="@SUM(1+1)*cmd")
    row = rows_of(export(shop["reseller_actor"]))[0]
    assert row["Fault"] == "'=HYPERLINK(\"http://evil\")"
    assert row["Customer reference"] == "'+SUM(A1)" and row["Accessories"] == "'-2+3"
    assert row["Repair notes"] == "'@SUM(1+1)*cmd" and row["Tracking number"] == "'\tTAB" and row["Make"] == "'\rCR"
    assert row["Work items"] == "'=cmd|' /C calc'!A0 (1.00 h @ 5.00 = 5.00)"
    assert row["Order number"] == order.number and row["Net"] == ""  # ordinary cells untouched


def test_batches_are_one_statement_each(shop, monkeypatch):
    orders = reseller_orders(shop, 7)
    for order in orders:
        order.items.append(WorkItem(position=0, kind="labour", description="Check", quantity=Decimal("1"),
                                    unit_price=Decimal("1")))
    db.session.commit()
    monkeypatch.setattr(csv_export, "BATCH", 3)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        chunks = list(stream_orders_csv(shop["reseller_actor"]))
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(chunks) == 1 + 3  # the header, then 3 + 3 + 1 orders
    rows = rows_of("".join(chunks))
    assert [r["Order number"] for r in rows] == [o.number for o in orders]
    assert {r["Work items"] for r in rows} == {"Check (1.00 h @ 1.00 = 1.00)"}
    exports = [s for s in statements if "work_item" in s]
    batched = csv_export.BATCHED[db.engine.dialect.name]
    assert len(exports) == (3 if batched else 1)  # one per batch (SQLite) or one streamed (PostgreSQL)
    assert all("invoice_line" in s and "order_message" in s and "labour_line" in s for s in exports)


def test_the_statement_is_compiled_once(shop):
    """Every SQL construct of the export is cacheable: a warning here means a compile per batch."""
    import warnings

    reseller_orders(shop, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        export(shop["reseller_actor"])
        export(shop["staff_actor"])
    assert not [w for w in caught if "cach" in str(w.message)], [str(w.message) for w in caught]


def test_write_orders_csv_under_the_export_dir(shop, app):
    rich_order(shop)
    path = write_orders_csv("staff/all.csv", shop["staff_actor"])
    assert str(path).startswith(app.config["PORTICO_EXPORT_DIR"]) and path.exists()
    assert not path.read_bytes().startswith(BOM) and len(rows_of(path.read_text(encoding="utf-8"))) == 1
    with_bom = write_orders_csv("staff/excel.csv", shop["staff_actor"], bom=True)
    assert with_bom.read_bytes().startswith(BOM)


def test_streaming_leaves_the_sessions_connection_as_it_was(shop):
    """``yield_per`` is set per statement: later statements of the transaction are not server-side cursors."""
    reseller_orders(shop, 2)
    list(stream_orders_csv(shop["reseller_actor"]))
    options = db.session.connection().get_execution_options()
    assert "yield_per" not in options and "stream_results" not in options


# ---------------------------------------------------------------- routes
def test_portal_export_route(shop):
    mine = reseller_orders(shop, 2)
    reseller = client_for(shop["reseller"])
    response = reseller.get("/portal/orders/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(BOM)  # the button's default: UTF-8 with BOM, for Excel
    assert [r["Order number"] for r in rows_of(response.get_data(as_text=True))] == [o.number for o in mine]
    plain = reseller.get("/portal/orders/export.csv?encoding=utf-8")
    assert plain.status_code == 200 and plain.data.startswith(b"Order number,")
    today = shop_today().isoformat()  # the range is in the shop's days
    ranged = reseller.get(f"/portal/orders/export.csv?start=2000-01-01&end={today}&encoding=utf-8-sig")
    assert ranged.status_code == 200 and len(rows_of(ranged.get_data(as_text=True))) == 2
    bad = reseller.get("/portal/orders/export.csv?start=31.12.2024&end=")
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert "is not a date: use YYYY-MM-DD" in page and 'value="31.12.2024"' in page  # what was typed stays
    assert reseller.get("/portal/orders/export.csv?encoding=latin-1").status_code == 400
    form = reseller.get("/portal/orders/export").get_data(as_text=True)
    assert 'name="encoding" value="utf-8-sig" checked' in form and "UTF-8 with BOM for Excel" in form
    assert client_for(shop["customer"]).get("/portal/orders/export.csv").status_code == 403


def test_umlauts_survive_as_excel_reads_them(shop, tmp_path):
    [order] = reseller_orders(shop, 1, fault="Gehäuse verzogen, Display flackert – Größe 6,1″")
    order.unit.make = "Müller & Söhne"
    db.session.commit()
    work_orders.perform(order, "messages", shop["staff_actor"], text="Gerät läuft wieder. Grüße aus Köln")
    path = tmp_path / "orders.csv"
    path.write_bytes(client_for(shop["reseller"]).get("/portal/orders/export.csv").data)
    assert path.read_bytes().startswith(BOM)
    with open(path, encoding="utf-8-sig", newline="") as handle:  # what Excel does with a BOM
        row = next(csv.DictReader(handle))
    assert row["Fault"] == "Gehäuse verzogen, Display flackert – Größe 6,1″"
    assert row["Make"] == "Müller & Söhne" and row["Repair notes"] == "Gerät läuft wieder. Grüße aus Köln"


def test_german_reseller_gets_german_words(shop):
    link = db.session.scalar(select(PortalUser).where(PortalUser.user_id == shop["reseller"].id))
    link.language = "de"
    db.session.commit()
    [order] = reseller_orders(shop, 1)
    response = client_for(shop["reseller"]).get("/portal/orders/export.csv")
    row = rows_of(response.get_data(as_text=True))[0]
    assert {"Art", "Hersteller", "Modell", "Seriennummer", "Zubehör", "Arbeitsschritte", "Sendungsnummer",
            "Versandart", "Servicestandort"} <= set(row)
    assert (row["Status"], row["Art"]) == ("Bestätigt", "Reparatur")
    assert "confirmed" in row.values() and "repair" in row.values()  # the codes stay codes
    assert row["Angelegt"].startswith(order.created_at.date().isoformat()[:4])  # ISO dates in German too


def test_every_export_word_has_a_german_entry():
    from pathlib import Path

    from babel.messages.pofile import read_po

    folder = Path(__file__).resolve().parents[1] / "app" / "translations" / "de" / "LC_MESSAGES"
    with open(folder / "messages.po", "rb") as handle:
        catalogue = {m.id: m.string for m in read_po(handle) if m.id}
    words = [*csv_export.HEADERS.values(), *csv_export.STATUS_WORDS.values(), *csv_export.KIND_WORDS.values(),
             *csv_export.INVOICE_WORDS.values(), *csv_export.AMOUNTS_WORDS.values()]
    missing = sorted({word._args[0] for word in words if not catalogue.get(word._args[0])})
    assert not missing, missing


def test_staff_export_route(shop):
    order = rich_order(shop)
    reseller_orders(shop, 1)
    staff = client_for(shop["staff"])
    response = staff.get(f"/documents/orders.csv?customer_id={shop['plain_acct'].id}")
    assert response.status_code == 200 and response.data.startswith(BOM)
    assert [r["Order number"] for r in rows_of(response.get_data(as_text=True))] == [order.number]
    plain = staff.get("/documents/orders.csv?encoding=utf-8")
    assert not plain.data.startswith(BOM) and len(rows_of(plain.get_data(as_text=True))) == 2
    bad = staff.get("/documents/orders.csv?end=2025-02-30")
    assert bad.status_code == 400 and "end" in bad.get_data(as_text=True)
    assert staff.get("/documents/orders.csv?customer_id=abc").status_code == 400
    assert staff.get("/documents/orders.csv?encoding=cp1252").status_code == 400
    assert client_for(shop["tech"]).get("/documents/orders.csv").status_code == 403
    assert client_for(shop["reseller"]).get("/documents/orders.csv").status_code == 403


def test_api_export_is_plain_utf8_unless_asked(shop, client):
    reseller_orders(shop, 2)
    api = api_as(client, shop["reseller"])
    plain = api.get("/work_order/export.csv")
    assert plain.status_code == 200 and plain.data.startswith(b"Order number,")
    assert len(rows_of(plain.get_data(as_text=True))) == 2
    assert api.get("/work_order/export.csv?bom=1").data.startswith(BOM)
    assert api.get("/work_order/export.csv?encoding=utf-8-sig").data.startswith(BOM)
    assert api.get("/work_order/export.csv?bom=maybe").status_code == 400
