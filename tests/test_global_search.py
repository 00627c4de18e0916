"""The staff search box (issue 15, item 2): every kind by every key, scoped per role, indexed, bounded."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import CreditNote
from app.services import requests, shipments, work_orders
from app.services.global_search import KINDS, Term, search_everything
from tests.factories import CustomerFactory, ServiceTypeFactory, UnitFactory, actor, make_user, tomorrow
from tests.repair_shop import VALID_IMEI, build, client_for, open_invoice, reseller_orders, rich_order, sent_estimate

PLATE, VIN = "B-PC 1234", "WVWZZZ1JZXW000123"


@pytest.fixture()
def shop():
    shop = build(with_logo=False)
    jane = shop["plain_acct"]
    jane.email, jane.phone = "Jane.Doe@Example.com", "+49 (30) 123-4567"
    shop["van"] = UnitFactory(customer=jane, kind="vehicle", make="VW", model="Transporter", unit_number=PLATE,
                              vin=VIN)
    service_type = ServiceTypeFactory(name="Repair")
    db.session.commit()
    shop["request"] = requests.submit(shop["customer_actor"], service_type_id=service_type.id, subject="Cracked",
                                      preferred_date=tomorrow(), preferred_slot="morning",
                                      service_location_id=shop["location"].id)
    shop["estimate"] = sent_estimate(shop)
    shop["invoice"] = open_invoice(shop)  # makes the work order (rich_order) too
    shop["order"] = shop["invoice"].work_order
    shipped = reseller_orders(shop, 1)
    shop["shipment"] = shipments.create(shop["reseller_actor"], work_orders=[order.id for order in shipped])
    shop["shipment"].tracking_number = "1Z999AA10123456784"
    shop["credit_note"] = CreditNote(number="CN-000001", invoice_id=shop["invoice"].id, customer_id=jane.id,
                                     reason="Goodwill", tax_rate=Decimal("19.00"), subtotal=Decimal("-10.00"),
                                     tax=Decimal("-1.90"), total=Decimal("-11.90"))
    db.session.add(shop["credit_note"])
    db.session.commit()
    return shop


def found(actor_, term) -> dict[str, list[int]]:
    return {group.key: [hit.id for hit in group.hits] for group in search_everything(actor_, term)}


def test_each_kind_is_found_by_each_key(shop):
    staff = shop["staff_actor"]
    order, invoice, jane, unit, van = shop["order"], shop["invoice"], shop["plain_acct"], shop["unit"], shop["van"]
    expected = {
        shop["request"].number: ("service_requests", shop["request"].id),
        shop["estimate"].number.lower(): ("estimates", shop["estimate"].id),
        order.number: ("work_orders", order.id),
        "wo-" + str(int(order.number[3:])): ("work_orders", order.id),
        "JANE-PO-1": ("work_orders", order.id),  # the customer's reference
        "intref-7731": ("work_orders", order.id),  # the shop's own reference
        "track-123": ("work_orders", order.id),
        "ser-plain-1": ("work_orders", order.id),
        invoice.number: ("invoices", invoice.id),
        shop["shipment"].number.replace("-", ""): ("shipments", shop["shipment"].id),
        "1z999aa10123456784": ("shipments", shop["shipment"].id),
        "cn-1": ("credit_notes", shop["credit_note"].id),
        "jane d": ("customers", jane.id),
        "JANE.DOE@example.com": ("customers", jane.id),
        "jane.doe@": ("customers", jane.id),
        "4930 123": ("customers", jane.id),  # the start of the number, separators ignored
        "+49 30 1234567": ("customers", jane.id),
        "SER-PLAIN-1": ("units", unit.id),
        VIN.lower(): ("units", van.id),
        PLATE.lower(): ("units", van.id),
    }
    for term, (kind, ident) in expected.items():
        assert ident in found(staff, term).get(kind, []), f"{term!r} should find {kind} {ident}"
    by_imei = found(staff, VALID_IMEI[:5] + " " + VALID_IMEI[5:])
    assert by_imei["work_orders"] == [order.id] and by_imei["units"] == [unit.id]
    # a bare number is number 1 of every kind that has one; a prefixed number only of its own kind
    bare = found(staff, "1")
    assert {"service_requests", "estimates", "work_orders", "invoices", "shipments", "credit_notes"} <= set(bare)
    assert set(found(staff, "inv-1")) == {"invoices"}
    assert found(staff, "jane.doe@example.co.uk") == {} and found(staff, "J") == {}


def test_the_navbar_endpoint_finds_an_order_by_imei_in_one_step(shop):
    browser = client_for(shop["staff"])
    answer = browser.get(f"/search/?q={VALID_IMEI}", headers={"Accept": "application/json"})
    assert answer.status_code == 200
    groups = {group["kind"]: group for group in answer.get_json()["groups"]}
    hit = groups["work_orders"]["results"][0]
    assert hit["title"] == shop["order"].number and hit["url"] == f"/workorderview/show/{shop['order'].id}"
    assert groups["units"]["label"] == "Units"
    page = browser.get(f"/search/?q={VALID_IMEI}")
    assert page.status_code == 200 and b'href="/workorderview/show/%d"' % shop["order"].id in page.data
    assert b'href="/unitview/show/%d"' % shop["unit"].id in page.data
    # the box itself is in the staff navbar, labelled, as a combobox
    home = browser.get("/workorderview/list/").get_data(as_text=True)
    assert 'id="portico-search-q"' in home and 'role="combobox"' in home and "staff-search.js" in home
    assert 'placeholder="Number, name, e-mail, phone, serial, IMEI, VIN, plate"' in home
    assert browser.get(f"/search/?q={shop['credit_note'].number}&format=json").get_json()["groups"][0][
        "results"][0]["url"] == f"/invoiceview/show/{shop['invoice'].id}"
    # every kind's link opens its record's page
    links = [hit["url"] for term in ("1", "jane", VALID_IMEI, PLATE)
             for group in browser.get("/search/", query_string={"q": term, "format": "json"}).get_json()["groups"]
             for hit in group["results"]]
    assert len({link.split("/")[1] for link in links}) == 7  # the credit note opens its invoice
    for link in links:
        assert browser.get(link).status_code == 200, link


def test_german(shop):
    browser = client_for(shop["staff"])
    browser.get("/lang/de")  # the staff side's language switch (Flask-AppBuilder's)
    labels = [group["label"] for group in browser.get("/search/?q=jane&format=json").get_json()["groups"]]
    assert labels == ["Kunden"]
    page = browser.get("/search/?q=nichts-zu-finden").get_data(as_text=True)
    assert "Nichts gefunden für „nichts-zu-finden“." in page
    box = browser.get("/workorderview/list/").get_data(as_text=True)
    assert 'placeholder="Nummer, Name, E-Mail, Telefon, Seriennummer, IMEI, FIN, Kennzeichen"' in box
    assert 'data-none="Nichts gefunden"' in box


def test_a_technician_finds_their_orders_and_no_money(shop):
    tech = shop["tech_actor"]
    order, invoice = shop["order"], shop["invoice"]
    assert order.technician_id == tech.user_id
    assert found(tech, order.number) == {"work_orders": [order.id]}
    assert found(tech, VALID_IMEI) == {"work_orders": [order.id]}
    for term in (invoice.number, shop["credit_note"].number, "jane d", shop["plain_acct"].email, PLATE,
                 shop["estimate"].number, shop["request"].number, shop["shipment"].number):
        assert found(tech, term) == {}, term
    other = actor(make_user("Technician"))
    order.technician_id = other.user_id
    db.session.commit()
    assert found(tech, order.number) == {}  # another technician's order is not theirs to find
    browser = client_for(shop["tech"])
    assert browser.get(f"/search/?q={order.number}&format=json").get_json()["groups"] == []
    order.technician_id = None
    db.session.commit()
    # unassigned, but invoiced: off the board, so not found on the technician's screens (the service would)
    assert found(tech, order.number) == {"work_orders": [order.id]}
    assert browser.get(f"/search/?q={order.number}&format=json").get_json()["groups"] == []
    on_board = rich_order(shop)
    work_orders.perform(on_board, "receive", shop["staff_actor"])
    hit = browser.get(f"/search/?q={on_board.number}&format=json").get_json()["groups"][0]["results"][0]
    assert hit["url"] == f"/technicianboard/show/{on_board.id}"
    assert browser.get(hit["url"]).status_code == 200


def test_customers_and_visitors_do_not_use_it(shop):
    from app.core.errors import PermissionDenied
    from tests.repair_shop import anonymous

    for who in ("customer", "reseller"):
        browser = client_for(shop[who])
        assert browser.get(f"/search/?q={VALID_IMEI}&format=json").status_code in (403, 404)
        assert browser.get(f"/search/?q={VALID_IMEI}").status_code in (403, 404)
        assert 'id="portico-search-q"' not in browser.get("/portal/").get_data(as_text=True)
        with pytest.raises(PermissionDenied):
            search_everything(shop[f"{who}_actor"], VALID_IMEI)
    assert anonymous().get("/search/?q=1&format=json").status_code == 401
    assert anonymous().get("/search/?q=1").status_code == 302


def statements(run) -> int:
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def test_statements_bounded_and_independent_of_the_data(shop):
    staff = shop["staff_actor"]
    terms = ["1", VALID_IMEI, "jane", "+49 30 1234567", "nothing-here"]
    before = [statements(lambda t=t: search_everything(staff, t)) for t in terms]
    assert all(count <= len(KINDS) for count in before)
    for n in range(30):
        customer = CustomerFactory(name=f"Jane Clone {n}")
        UnitFactory(customer=customer, serial_number=f"SER-CLONE-{n}", imei=VALID_IMEI)
        rich_order(shop)
    db.session.commit()
    assert [statements(lambda t=t: search_everything(staff, t)) for t in terms] == before
    assert len(search_everything(staff, "jane")[0].hits) == 5  # the limit per kind
    assert len(search_everything(staff, "jane", limit=100)[0].hits) == 25  # and its ceiling


HOSTILE = ["x" * 5000, "%", "_", "%%", "j%", "'", "\"; DROP TABLE customer; --", "\x00", "jane\x00doe", "\\",
           "\U0010ffff", "\ud7ff", "\udfff", "🔧", " ", "-1", "0", "99999999999999999999", "wo-999999999", "+++++"]


def test_hostile_terms_answer_empty_not_500():
    CustomerFactory(name="Jane Doe", email="jane@example.com", phone="030 1234567")
    staff = make_user("Advisor")
    db.session.commit()
    browser = client_for(staff)
    assert browser.get("/search/?q=%ED%BF%BF&format=json").status_code in (200, 400)  # a lone surrogate
    for term in HOSTILE:  # a NUL is refused (400) before any view; the rest find nothing
        assert found(actor(staff), term) == {}, repr(term)  # the service alone takes them too
        if "\udfff" in term:
            continue
        for answer in (browser.get("/search/", query_string={"q": term, "format": "json", "limit": "-5"}),
                       browser.get("/search/", query_string={"q": term, "limit": "x"})):
            assert answer.status_code in (200, 400), repr(term)
            assert answer.status_code == 200 or "\x00" in term, repr(term)
        answer = browser.get("/search/", query_string={"q": term, "format": "json"})
        assert answer.status_code == 400 or answer.get_json()["groups"] == [], repr(term)
    for wildcard in ("%", "_", "%%", "_%"):  # wildcards are literal: they do not list every customer
        assert found(actor(staff), "ja" + wildcard) == {}
    assert found(actor(staff), "ja") != {}


def test_every_branch_is_an_index_lookup_on_sqlite(shop):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan")
    staff = shop["staff_actor"]
    conn = db.session.connection()
    from app.core.scope import scoped

    for term in ("12", "jane", "+49 30 1234567", VALID_IMEI):
        for kind in KINDS:
            stmt = kind.statement(Term.of(term))
            if stmt is None:
                continue
            compiled = scoped(stmt, kind.model, staff).limit(5).compile(db.engine)
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled),
                                        tuple(compiled.params[name] for name in compiled.positiontup)).all()
            scans = [row[-1] for row in plan if row[-1].startswith("SCAN")]
            assert not scans, (kind.key, term, scans)
