"""Reference data in the reader's language (issue 16, item 3): service types, locations and shipping methods
keep their English name and carry optional names in the shop's other languages; the portal, documents and
mails show the reader's, falling back to English; staff set them on the catalog forms."""
from __future__ import annotations

import re

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.core.errors import ValidationFailed
from app.core.i18n import localized_name, other_languages
from app.documents import render_html
from app.models import AuditEvent, ServiceType, ShippingMethod
from app.services import catalog, estimates, requests
from tests.factories import (
    CustomerFactory,
    ServiceLocationFactory,
    ServiceTypeFactory,
    ShippingMethodFactory,
    UnitFactory,
    actor,
    make_user,
    tomorrow,
)
from tests.portal_support import last_mail, separate_requests  # noqa: F401 - fixture
from tests.repair_shop import client_for

pytestmark = pytest.mark.usefixtures("separate_requests")

LINES = [{"description": "Door seal", "hours": "1.00", "rate": "80.00", "parts": []}]


@pytest.fixture()
def catalog_rows(db):
    rows = dict(
        inspection=ServiceTypeFactory(name="Inspection", names={"de": "Inspektion"}),
        untranslated=ServiceTypeFactory(name="Tyre check"),
        workshop=ServiceLocationFactory(name="Main Workshop", names={"de": "Hauptwerkstatt"}),
        second=ServiceLocationFactory(name="Second Yard"),
        dropoff=ShippingMethodFactory(name="Drop-off", names={"de": "Selbst abgeben"}),
    )
    db.session.commit()
    return rows


@pytest.fixture()
def people(db, catalog_rows):
    german = CustomerFactory(name="Arctic Refrigeration", kind="business", language="de")
    english = CustomerFactory(name="Jane Doe", kind="individual")
    return dict(german=german, english=english, german_user=make_user("Customer", customer=german),
                english_user=make_user("Customer", customer=english), staff=make_user("Manager"))


def test_the_name_follows_the_locale_and_falls_back_to_english(app, catalog_rows):
    inspection, untranslated = catalog_rows["inspection"], catalog_rows["untranslated"]
    assert other_languages() == {"de": "Deutsch"}
    with app.test_request_context("/"):
        assert (inspection.local_name, str(inspection)) == ("Inspection", "Inspection")
        with force_locale("de"):
            assert (inspection.local_name, str(inspection)) == ("Inspektion", "Inspektion")
            assert untranslated.local_name == "Tyre check"  # no German name: the English one
            assert catalog_rows["workshop"].postal_address.startswith("Hauptwerkstatt")
        assert localized_name(inspection, "fr") == "Inspection"  # a language without a name
        assert localized_name(None) == ""


def test_portal_request_form_speaks_the_customers_language(people, catalog_rows):
    german = client_for(people["german_user"]).get("/portal/requests/new").get_data(as_text=True)
    assert ">Inspektion<" in german and ">Inspection<" not in german
    assert ">Tyre check<" in german  # the fallback
    assert "Hauptwerkstatt" in german and "Main Workshop" not in german
    english = client_for(people["english_user"]).get("/portal/requests/new").get_data(as_text=True)
    assert ">Inspection<" in english and "Inspektion" not in english and "Main Workshop" in english


def test_portal_request_page_and_list_name_the_service_in_german(people, catalog_rows):
    staff = actor(people["staff"])
    req = requests.submit(staff, customer_id=people["german"].id, service_type_id=catalog_rows["inspection"].id,
                          subject="Reefer check", preferred_date=tomorrow(), preferred_slot="morning",
                          service_location_id=catalog_rows["workshop"].id)
    client = client_for(people["german_user"])
    for page in (client.get("/portal/requests"), client.get(f"/portal/requests/{req.id}")):
        text = page.get_data(as_text=True)
        assert page.status_code == 200 and "Inspektion" in text and "Hauptwerkstatt" in text


def _estimate_for(people, catalog_rows, customer):
    staff = actor(people["staff"])
    unit = UnitFactory(customer=customer, serial_number=f"SN-{customer.id}")
    req = requests.submit(staff, customer_id=customer.id, service_type_id=catalog_rows["inspection"].id,
                          subject="Annual check", preferred_date=tomorrow(), preferred_slot="morning", unit_id=unit.id)
    est = estimates.create(staff, customer_id=customer.id, service_request_id=req.id, unit_id=unit.id,
                           labour_lines=LINES)
    estimates.perform(est, "submit", staff)
    return est


def test_estimate_document_names_the_service_in_the_customers_language(app, people, catalog_rows):
    german = _estimate_for(people, catalog_rows, people["german"])
    english = _estimate_for(people, catalog_rows, people["english"])
    with app.test_request_context("/"):  # whoever renders it (here: an English request)
        german_html, english_html = render_html("estimate", german), render_html("estimate", english)
    assert "Inspektion" in german_html and "Inspection" not in german_html
    assert "Inspection" in english_html and "Inspektion" not in english_html


def test_work_order_and_packing_documents_name_location_and_method(app, people, catalog_rows):
    from app.services import work_orders

    staff = actor(people["staff"])
    order = work_orders.create(staff, customer_id=people["german"].id, kind="repair", fault="Door seal",
                               service_location_id=catalog_rows["workshop"].id,
                               shipping_method_id=catalog_rows["dropoff"].id)
    with app.test_request_context("/"):
        html = render_html("work_order", order)
    assert "Hauptwerkstatt" in html and "Selbst abgeben" in html and "Main Workshop" not in html


def test_public_form_and_its_mail_in_german(client, db, catalog_rows):
    headers = {"Accept-Language": "de"}
    page = client.get("/portal/request", headers=headers).get_data(as_text=True)
    assert ">Inspektion<" in page and ">Tyre check<" in page
    data = {"first_name": "Frank", "last_name": "Olsen", "email": "frank@example.com", "phone": "+49 40 555",
            "line1": "Am Kühlhaus 3", "city": "Hamburg", "state": "", "postal_code": "21079",
            "service_type_id": str(catalog_rows["inspection"].id), "preferred_date": tomorrow().isoformat(),
            "preferred_slot": "morning", "preferred_time": "", "notes": "Kühlung prüfen"}
    assert client.post("/portal/request", data=data, headers=headers,
                       content_type="multipart/form-data").status_code == 303
    summary = client.get("/portal/request/summary", headers=headers).get_data(as_text=True)
    assert "Inspektion" in summary
    token = re.search(r'name="submission_token" value="([^"]+)"', summary).group(1)
    assert client.post("/portal/request/submit", data={"submission_token": token}, headers=headers).status_code == 303
    mail = last_mail("frank@example.com")
    assert "Inspektion" in mail.body_text and "Inspektion" in mail.body_html
    # the request's subject is data the shop searches: the English name
    from app.models import ServiceRequest

    assert db.session.scalar(select(ServiceRequest.subject)).startswith("Inspection: ")


def test_staff_sets_the_german_name_on_the_catalog_forms(db, people, catalog_rows):
    staff = client_for(people["staff"])
    row = catalog_rows["untranslated"]
    form = staff.get(f"/servicetypeview/edit/{row.id}").get_data(as_text=True)
    assert "Name (Deutsch)" in form and 'name="name_de"' in form
    response = staff.post(f"/servicetypeview/edit/{row.id}", data={
        "name": "Tyre check", "name_de": "  Reifenprüfung ", "description": "", "duration_minutes": "",
        "booking_mode": "request", "active": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    db.session.expire_all()
    assert db.session.get(ServiceType, row.id).names == {"de": "Reifenprüfung"}
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "service_type",
                                                        AuditEvent.entity_id == row.id)).all()
    assert any("Reifenprüfung" in (event.reason or "") for event in audit), "edited through the action table"
    shown = staff.get(f"/servicetypeview/show/{row.id}").get_data(as_text=True)
    assert "Deutsch: Reifenprüfung" in shown
    assert 'value="Reifenprüfung"' in staff.get(f"/servicetypeview/edit/{row.id}").get_data(as_text=True)
    # emptied: English again
    staff.post(f"/servicetypeview/edit/{row.id}", data={
        "name": "Tyre check", "name_de": "", "description": "", "duration_minutes": "", "booking_mode": "request",
        "active": "y"})
    db.session.expire_all()
    assert db.session.get(ServiceType, row.id).names == {}


def test_staff_add_form_takes_the_german_name(db, people):
    staff = client_for(people["staff"])
    assert "Name (Deutsch)" in staff.get("/shippingmethodview/add").get_data(as_text=True)
    response = staff.post("/shippingmethodview/add", data={"name": "Cargo bike", "name_de": "Lastenrad",
                                                          "carrier": "", "active": "y"})
    assert response.status_code == 302
    method = db.session.scalar(select(ShippingMethod).where(ShippingMethod.name == "Cargo bike"))
    assert method.names == {"de": "Lastenrad"}


@pytest.mark.parametrize("value", ["Zeile\nzwei", "Tab\there", "\u202eevil", "x" * 81])
def test_a_bad_german_name_is_a_field_error(db, people, catalog_rows, value):
    staff = client_for(people["staff"])
    row = catalog_rows["untranslated"]
    response = staff.post(f"/servicetypeview/edit/{row.id}", data={
        "name": "Tyre check", "name_de": value, "description": "", "duration_minutes": "",
        "booking_mode": "request", "active": "y"})
    assert response.status_code in (200, 422)
    db.session.expire_all()
    assert db.session.get(ServiceType, row.id).names == {}


def test_the_edit_action_checks_names(db, people, catalog_rows):
    row, staff = catalog_rows["untranslated"], actor(people["staff"])
    catalog.perform(row, "edit", staff, {"names": {"de": " Reifen "}})
    assert row.names == {"de": "Reifen"}
    for bad, field in (({"xx": "Pneu"}, "names.xx"), ({"de": "a\x00b"}, "names.de"), ({"de": "x" * 81}, "names.de")):
        with pytest.raises(ValidationFailed) as caught:
            catalog.perform(row, "edit", staff, {"names": bad})
        assert field in caught.value.errors
    db.session.rollback()
    assert db.session.get(ServiceType, row.id).names == {"de": "Reifen"}


def test_location_and_method_forms_offer_the_german_name_and_save_it_through_edit(db, people, catalog_rows):
    staff = client_for(people["staff"])
    location, method = catalog_rows["second"], catalog_rows["dropoff"]
    for path in (f"/servicelocationview/edit/{location.id}", "/servicelocationview/add",
                 f"/shippingmethodview/edit/{method.id}", f"/shippingmethodview/show/{method.id}"):
        page = staff.get(path)
        assert page.status_code == 200, path
        assert ("Name (Deutsch)" if "/show/" not in path else "Deutsch: Selbst abgeben") in page.get_data(as_text=True)
    catalog.perform(location, "edit", actor(people["staff"]), {"names": {"de": "Zweiter Hof"}})
    db.session.commit()
    client = client_for(people["german_user"])
    assert "Zweiter Hof" in client.get("/portal/requests/new").get_data(as_text=True)
    # a third language is a line in LANGUAGES: the form offers it without code changes
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    current_app.config["LANGUAGES"] = {**languages, "fr": {"flag": "fr", "name": "Français"}}
    try:
        assert other_languages() == {"de": "Deutsch", "fr": "Français"}
        catalog.perform(method, "edit", actor(people["staff"]), {"names": {"de": "Selbst abgeben", "fr": "Dépôt"}})
        assert localized_name(method, "fr") == "Dépôt"
    finally:
        current_app.config["LANGUAGES"] = languages
        db.session.rollback()


def test_staff_catalog_lists_and_show_pages_name_rows_in_the_readers_language(db, people, catalog_rows):
    """A German page lists and shows the German name (the English one where none); sorting by the name column
    still works (it sorts by the English name); an English page reads as before."""
    staff, reader = client_for(people["staff"]), client_for(people["staff"])  # each its own session's language
    german = {"Accept-Language": "de"}
    for path, de, en in (("/servicetypeview/list/", "Inspektion", "Inspection"),
                         ("/servicelocationview/list/", "Hauptwerkstatt", "Main Workshop"),
                         ("/shippingmethodview/list/", "Selbst abgeben", "Drop-off")):
        page = staff.get(path, headers=german).get_data(as_text=True)
        assert de in page and en not in page, path
        english = reader.get(path, headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert en in english and de not in english, path
    page = staff.get("/servicetypeview/list/?_oc_ServiceTypeView=local_name&_od_ServiceTypeView=desc",
                     headers=german)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert text.index("Tyre check") < text.index("Inspektion")  # by the English name, descending
    for path, de, en in ((f"/servicetypeview/show/{catalog_rows['inspection'].id}", "Inspektion", "Inspection"),
                         (f"/servicelocationview/show/{catalog_rows['workshop'].id}", "Hauptwerkstatt",
                          "Main Workshop"),
                         (f"/shippingmethodview/show/{catalog_rows['dropoff'].id}", "Selbst abgeben", "Drop-off")):
        shown = staff.get(path, headers=german).get_data(as_text=True)
        assert de in shown and en not in shown, path
    shown = staff.get(f"/servicetypeview/show/{catalog_rows['untranslated'].id}", headers=german)
    assert "Tyre check" in shown.get_data(as_text=True)  # no German name: the English one
    form = staff.get(f"/servicetypeview/edit/{catalog_rows['inspection'].id}", headers=german).get_data(as_text=True)
    assert 'value="Inspection"' in form and 'value="Inspektion"' in form  # the form edits both
