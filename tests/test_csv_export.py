"""CSV export of work orders: scope, date range in the shop's zone, formula cells, money, batching, routes."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import event

from app.core.errors import ValidationFailed
from app.documents import csv_export
from app.documents.csv_export import parse_range, stream_orders_csv, write_orders_csv
from app.extensions import db
from app.services import work_orders
from tests.repair_shop import INTERNAL_REF, build, client_for, reseller_orders, rich_order


def rows_of(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def export(actor, **kwargs) -> str:
    return "".join(stream_orders_csv(actor, **kwargs))


@pytest.fixture()
def shop(db):
    return build(with_logo=False)


def test_reseller_export_holds_only_their_orders(shop):
    mine = reseller_orders(shop, 3)
    reseller_orders_of_other = work_orders.create(shop["other_actor"], kind="repair", fault="Other's",
                                                  service_location_id=shop["location"].id)
    rich_order(shop)  # the plain customer's
    text = export(shop["reseller_actor"])
    parsed = list(csv.reader(io.StringIO(text)))
    header, body = parsed[0], parsed[1:]
    assert header[0] == "Order number" and "Internal reference" not in header and "Customer" not in header
    assert sorted(r[0] for r in body) == sorted(o.number for o in mine)
    assert reseller_orders_of_other.number not in text
    # Whatever customer_id a customer passes, the scope keeps them to their own account.
    ignored = rows_of(export(shop["reseller_actor"], customer_id=shop["plain_acct"].id))
    assert [r["Order number"] for r in ignored] == [o.number for o in mine]


def test_staff_export_has_internal_columns_and_filters_by_customer(shop):
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
    assert (row["Labour amount"], row["Parts amount"], row["Total (net)"]) == ("120.00", "120.00", "240.00")
    assert row["Tracking number"] == "TRACK-123" and row["Service location"] == "North Depot"
    assert dt.datetime.fromisoformat(row["Created"]).utcoffset() is not None  # ISO 8601 with the shop's offset
    assert len(rows_of(export(shop["staff_actor"]))) == 3


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


@pytest.mark.parametrize("start, end, field", [("2025-13-01", None, "start"), ("yesterday", None, "start"),
                                                (None, "2025-02-30", "end"), ("2025-03-10", "2025-03-01", "end")])
def test_bad_dates_name_their_field(start, end, field):
    with pytest.raises(ValidationFailed) as error:
        parse_range(start, end)
    assert field in error.value.errors


def test_formula_cells_are_neutralised(shop):
    [order] = reseller_orders(shop, 1, fault="=HYPERLINK(\"http://evil\")")
    order.customer_reference = "+SUM(A1)"
    order.accessories = "-2+3"
    order.public_notes = "@cmd"
    order.tracking_number = "\tTAB"
    db.session.commit()
    order.unit.make = "\rCR"
    db.session.commit()
    row = rows_of(export(shop["reseller_actor"]))[0]
    assert row["Fault"] == "'=HYPERLINK(\"http://evil\")"
    assert row["Customer reference"] == "'+SUM(A1)" and row["Accessories"] == "'-2+3"
    assert row["Repair notes"] == "'@cmd" and row["Tracking number"] == "'\tTAB" and row["Make"] == "'\rCR"
    assert row["Order number"] == order.number  # ordinary cells untouched


def test_batches_load_items_once_per_batch(shop, monkeypatch):
    orders = reseller_orders(shop, 7)
    monkeypatch.setattr(csv_export, "BATCH", 3)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        chunks = list(stream_orders_csv(shop["reseller_actor"]))
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(chunks) == 1 + 3  # the header, then 3 + 3 + 1 orders
    assert [r["Order number"] for r in rows_of("".join(chunks))] == [o.number for o in orders]
    item_queries = [s for s in statements if "FROM work_item" in s]
    assert len(item_queries) == 3  # one per batch, not one per order


def test_write_orders_csv_under_the_export_dir(shop, app):
    rich_order(shop)
    path = write_orders_csv("staff/all.csv", shop["staff_actor"])
    assert str(path).startswith(app.config["PORTICO_EXPORT_DIR"]) and path.exists()
    assert len(rows_of(path.read_text(encoding="utf-8"))) == 1


# ---------------------------------------------------------------- routes
def test_portal_export_route(shop):
    mine = reseller_orders(shop, 2)
    reseller = client_for(shop["reseller"])
    response = reseller.get("/portal/orders/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert [r["Order number"] for r in rows_of(response.get_data(as_text=True))] == [o.number for o in mine]
    today = dt.date.today().isoformat()
    ranged = reseller.get(f"/portal/orders/export.csv?start=2000-01-01&end={today}")
    assert ranged.status_code == 200 and len(rows_of(ranged.get_data(as_text=True))) == 2
    bad = reseller.get("/portal/orders/export.csv?start=31.12.2024&end=")
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert "is not a date: use YYYY-MM-DD" in page and 'value="31.12.2024"' in page  # what was typed stays
    assert reseller.get("/portal/orders/export").status_code == 200  # the form
    assert client_for(shop["customer"]).get("/portal/orders/export.csv").status_code == 403


def test_staff_export_route(shop):
    order = rich_order(shop)
    reseller_orders(shop, 1)
    staff = client_for(shop["staff"])
    response = staff.get(f"/documents/orders.csv?customer_id={shop['plain_acct'].id}")
    assert response.status_code == 200
    assert [r["Order number"] for r in rows_of(response.get_data(as_text=True))] == [order.number]
    assert len(rows_of(staff.get("/documents/orders.csv").get_data(as_text=True))) == 2
    bad = staff.get("/documents/orders.csv?end=2025-02-30")
    assert bad.status_code == 400 and "end" in bad.get_data(as_text=True)
    assert staff.get("/documents/orders.csv?customer_id=abc").status_code == 400
    assert client_for(shop["tech"]).get("/documents/orders.csv").status_code == 403
    assert client_for(shop["reseller"]).get("/documents/orders.csv").status_code == 403


def test_streaming_leaves_the_sessions_connection_as_it_was(shop):
    """``yield_per`` is set per statement: later statements of the transaction are not server-side cursors."""
    reseller_orders(shop, 2)
    list(stream_orders_csv(shop["reseller_actor"]))
    options = db.session.connection().get_execution_options()
    assert "yield_per" not in options and "stream_results" not in options
