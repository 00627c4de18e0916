"""The customer's profile (person, e-mail login, language, preferences, addresses, units) and
notifications, through the pages and through ``app.services.customers``."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.core.errors import NotFound, ValidationFailed
from app.models import Address, AuditEvent, Customer, Notification, OutboxEmail, PortalUser, Unit, User
from app.services import customers
from tests.conftest import PASSWORD, login
from tests.factories import AddressFactory, CustomerFactory, UnitFactory, actor, make_user


@pytest.fixture()
def people(db):
    fleet = CustomerFactory(name="Arctic Refrigeration", kind="business", email="fleet@example.com")
    other = CustomerFactory(name="Polar Ltd")
    jane = make_user("Customer", username="jane", customer=fleet, email="fleet@example.com")
    colleague = make_user("Customer", username="colleague", customer=fleet)
    stranger = make_user("Customer", username="stranger", customer=other)
    home = AddressFactory(customer=fleet, label="Depot", line1="1 Depot Road")
    theirs = AddressFactory(customer=other, line1="99 Other Street")
    trucks = [UnitFactory(customer=fleet, kind="vehicle", unit_number=f"T-{n}", make="Volvo") for n in (1, 2, 3)]
    their_unit = UnitFactory(customer=other, unit_number="X-1")
    db.session.commit()
    return dict(fleet=fleet, other=other, jane=jane, colleague=colleague, stranger=stranger, home=home,
                theirs=theirs, trucks=trucks, their_unit=their_unit)


@pytest.fixture()
def me(people, login_as):
    return login_as(people["jane"])


def main(response) -> str:
    body = response.get_data(as_text=True)
    return body[body.index("<main"):body.index("</main>")]


PERSON = {"first_name": "Jane", "last_name": "Frost", "email": "jane.frost@example.com", "phone": "+49 431 1234",
          "language": "de"}


# ---------------------------------------------------------------- the person
def test_profile_edit_changes_the_login_email_and_keeps_login_working(people, me, app, db):
    response = me.post("/portal/profile", data=PERSON)
    assert response.status_code == 302
    user = db.session.get(User, people["jane"].id)
    link = db.session.scalar(select(PortalUser).where(PortalUser.user_id == user.id))
    assert (user.first_name, user.last_name, user.email) == ("Jane", "Frost", "jane.frost@example.com")
    assert (link.phone, link.language) == ("+49 431 1234", "de")
    assert db.session.get(Customer, people["fleet"].id).email == "jane.frost@example.com"  # followed the person
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "portal_user"))
    assert "e-mail" in audit.reason and audit.actor_id == user.id
    fresh = app.test_client()  # another browser: the password door takes the new address
    response = fresh.post("/portal/login/password", data={"username": "jane.frost@example.com",
                                                           "password": PASSWORD})
    assert response.status_code == 303
    assert fresh.get("/portal/profile").status_code == 200
    old = app.test_client().post("/portal/login/password", data={"username": "fleet@example.com",
                                                                 "password": PASSWORD})
    assert old.status_code == 401
    app.test_client().post("/portal/login", data={"email": "jane.frost@example.com"})  # the e-mail link door
    assert db.session.scalar(select(OutboxEmail).where(OutboxEmail.to_address == "jane.frost@example.com"))
    staff_door = app.test_client()
    assert login(staff_door, "jane").status_code == 302  # the username still works on FAB's form
    assert staff_door.get("/portal/profile").status_code == 200


def test_profile_refuses_a_taken_or_invalid_email_and_keeps_the_input(people, me, db):
    taken = me.post("/portal/profile", data=dict(PERSON, email=people["stranger"].email.upper()))
    assert taken.status_code == 422
    page = main(taken)
    assert "Another account already uses this e-mail address" in page and "+49 431 1234" in page
    invalid = me.post("/portal/profile", data=dict(PERSON, email="not-an-address", first_name=""))
    assert invalid.status_code == 422
    assert 'id="email-error"' in main(invalid) and 'id="first_name-error"' in main(invalid)
    assert db.session.get(User, people["jane"].id).email == "fleet@example.com"
    wrong_language = me.post("/portal/profile", data=dict(PERSON, language="xx"))
    assert wrong_language.status_code == 422 and 'id="language-error"' in main(wrong_language)


def test_preferences_choose_which_events_are_emailed(people, me, db):
    response = me.post("/portal/profile/preferences", data={"groups": ["estimates", "invoices"]})
    assert response.status_code == 302
    fleet = db.session.get(Customer, people["fleet"].id)
    assert fleet.wants_email("estimates") and fleet.wants_email("invoices")
    assert not fleet.wants_email("requests") and not fleet.wants_email("messages")
    page = main(me.get("/portal/profile"))
    assert 'id="group-estimates" name="groups" value="estimates" checked' in page
    assert 'id="group-requests" name="groups" value="requests">' in page
    assert me.post("/portal/profile/preferences", data={"groups": ["bogus"]}).status_code == 422


# ---------------------------------------------------------------- addresses
def test_add_edit_and_delete_own_addresses(people, me, db):
    response = me.post("/portal/profile/addresses", data={"label": "Yard", "line1": "5 Yard Way", "city": "Kiel",
                                                         "postal_code": "24103", "country": "de"})
    assert response.status_code == 302
    yard = db.session.scalar(select(Address).where(Address.line1 == "5 Yard Way"))
    assert yard.customer_id == people["fleet"].id and yard.country == "DE"
    assert me.get(f"/portal/profile/addresses/{yard.id}").status_code == 200
    assert me.post(f"/portal/profile/addresses/{yard.id}", data={"line1": "6 Yard Way", "city": "Kiel",
                                                                 "postal_code": "24103"}).status_code == 302
    db.session.refresh(yard)
    assert yard.line1 == "6 Yard Way" and yard.label is None
    bad = me.post(f"/portal/profile/addresses/{yard.id}", data={"line1": "", "city": "Kiel", "postal_code": "1",
                                                                "country": "Germany"})
    assert bad.status_code == 422 and 'id="line1-error"' in main(bad) and 'id="country-error"' in main(bad)
    assert me.post(f"/portal/profile/addresses/{yard.id}/delete").status_code == 302
    assert db.session.get(Address, yard.id) is None


def test_an_address_in_use_is_archived_not_deleted(people, me, db):
    from app.services import requests
    from tests.factories import ServiceTypeFactory, tomorrow

    service_type = ServiceTypeFactory()
    db.session.commit()
    requests.submit(actor(people["jane"]), service_type_id=service_type.id, subject="Uses the depot",
                    preferred_date=tomorrow(), preferred_slot="morning", address_id=people["home"].id)
    response = me.post(f"/portal/profile/addresses/{people['home'].id}/delete", follow_redirects=True)
    assert "removed from your list" in response.get_data(as_text=True)
    db.session.expire_all()
    kept = db.session.get(Address, people["home"].id)
    assert kept is not None and kept.archived_at is not None  # its request still names it


def test_default_service_and_billing_address(people, me, db):
    second = AddressFactory(customer=people["fleet"], line1="2 Billing Street")
    db.session.commit()
    response = me.post("/portal/profile/defaults", data={"default_service_address": people["home"].id,
                                                         "default_billing_address": second.id})
    assert response.status_code == 302
    fleet = db.session.get(Customer, people["fleet"].id)
    assert (fleet.default_service_address_id, fleet.default_billing_address_id) == (people["home"].id, second.id)
    foreign = me.post("/portal/profile/defaults", data={"default_service_address": people["theirs"].id})
    assert foreign.status_code == 422 and "Choose one of your own addresses" in main(foreign)
    db.session.refresh(fleet)
    assert fleet.default_service_address_id == people["home"].id
    page = main(me.get("/portal/profile"))
    assert "default service address" in page and "default billing address" in page


# ---------------------------------------------------------------- units
def test_a_fleet_customer_sees_exactly_their_own_units(people, me):
    page = main(me.get("/portal/profile"))
    for truck in people["trucks"]:
        assert f"/portal/profile/units/{truck.id}" in page
    assert f"/portal/profile/units/{people['their_unit'].id}" not in page and "X-1" not in page
    new_request = main(me.get("/portal/requests/new"))
    assert all(f'value="{t.id}"' in new_request for t in people["trucks"])
    assert f'<option value="{people["their_unit"].id}"' not in new_request


def test_add_and_edit_units_with_checked_identifiers(people, me, db):
    data = {"kind": "device", "make": "Fairphone", "model": "5", "imei": "49-015420-323751-8"}
    assert me.post("/portal/profile/units", data=data).status_code == 302
    phone = db.session.scalar(select(Unit).where(Unit.make == "Fairphone"))
    assert phone.customer_id == people["fleet"].id and phone.imei == "490154203237518"
    bad_imei = me.post("/portal/profile/units", data=dict(data, imei="490154203237519"))
    assert bad_imei.status_code == 422 and 'id="imei-error"' in main(bad_imei) and "Fairphone" in main(bad_imei)
    clash = me.post("/portal/profile/units", data={"kind": "vehicle", "unit_number": "T-1"})
    assert clash.status_code == 422 and "already have a unit with this number" in main(clash)
    empty = me.post("/portal/profile/units", data={"kind": "vehicle"})
    assert empty.status_code == 422
    edit = me.post(f"/portal/profile/units/{phone.id}", data={"kind": "device", "make": "Fairphone", "model": "6",
                                                              "vin": "wvwzzz1jzxw000001", "year": "2024"})
    assert edit.status_code == 302
    db.session.refresh(phone)
    assert (phone.model, phone.vin, phone.year, phone.imei) == ("6", "WVWZZZ1JZXW000001", 2024, None)
    bad_year = me.post(f"/portal/profile/units/{phone.id}", data={"kind": "device", "make": "F", "year": "19"})
    assert bad_year.status_code == 422 and 'id="year-error"' in main(bad_year)
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.entity_type == "unit")) >= 2


# ---------------------------------------------------------------- notifications
def _notes(people, db, n=3):
    for i in range(n):
        db.session.add(Notification(audience="customer", customer_id=people["fleet"].id, event="test",
                                    title=f"Note {i}", link=f"/portal/requests/{i + 1}"))
    db.session.add(Notification(audience="customer", customer_id=people["other"].id, event="test", title="Theirs"))
    db.session.add(Notification(audience="staff", customer_id=people["fleet"].id, event="test", title="Staff only"))
    db.session.commit()
    return list(db.session.scalars(select(Notification).where(Notification.title.like("Note %"))
                                   .order_by(Notification.id)))


def test_notifications_list_mark_read_and_open(people, me, db):
    notes = _notes(people, db)
    page = main(me.get("/portal/notifications"))
    assert all(n.title in page for n in notes) and "Theirs" not in page and "Staff only" not in page
    assert "3 unread" in page
    body = me.get("/portal/").get_data(as_text=True)
    assert '<span class="nav-badge">3<' in body
    assert me.post(f"/portal/notifications/{notes[0].id}/read").status_code == 302
    assert db.session.get(Notification, notes[0].id).read_at is not None
    opened = me.get(f"/portal/notifications/{notes[1].id}/open")
    assert opened.status_code == 302 and opened.headers["Location"].endswith("/portal/requests/2")
    assert db.session.get(Notification, notes[1].id).read_at is not None
    assert '<span class="nav-badge">1<' in me.get("/portal/").get_data(as_text=True)
    assert me.post("/portal/notifications/read-all").status_code == 302
    assert customers.unread_count(actor(people["jane"])) == 0
    theirs = db.session.scalar(select(Notification).where(Notification.title == "Theirs"))
    assert theirs.read_at is None


def test_open_never_redirects_off_the_portal(people, me, db):
    note = Notification(audience="customer", customer_id=people["fleet"].id, event="x", title="Odd",
                        link="https://evil.example.net/")
    db.session.add(note)
    db.session.commit()
    response = me.get(f"/portal/notifications/{note.id}/open")
    assert response.headers["Location"].endswith("/portal/notifications")


# ---------------------------------------------------------------- the service on its own
def test_customers_service_scopes_every_row(people, db):
    jane = actor(people["jane"])
    with pytest.raises(NotFound):
        customers.save_address(jane, people["theirs"].id, line1="x", city="y", postal_code="1")
    with pytest.raises(NotFound):
        customers.delete_address(jane, people["theirs"].id)
    with pytest.raises(NotFound):
        customers.save_unit(jane, people["their_unit"].id, kind="device", make="x")
    with pytest.raises(ValidationFailed) as refused:
        customers.set_default_addresses(jane, people["theirs"].id, None)
    assert "default_service_address" in refused.value.errors
    with pytest.raises(ValidationFailed):
        customers.save_address(jane, line1="x", city="y", postal_code="1", customer_id=people["other"].id)
    staff = actor(make_user("Advisor"))
    with pytest.raises(NotFound):
        customers.update_profile(staff, first_name="a", last_name="b", email="a@example.com")
    assert db.session.get(Address, people["theirs"].id).line1 == "99 Other Street"


def test_colleagues_share_the_account_but_not_the_person(people, db, client):
    jane = actor(people["jane"])
    customers.update_profile(jane, first_name="Jane", last_name="Frost", email="jane@example.com", phone="1234")
    colleague = db.session.scalar(select(PortalUser).where(PortalUser.user_id == people["colleague"].id))
    assert colleague.phone is None
    login(client, "colleague", PASSWORD)
    assert "1 Depot Road" in main(client.get("/portal/profile"))


def test_the_chosen_language_is_spoken_on_every_page(people, me, db):
    assert me.post("/portal/profile", data=PERSON).status_code == 302  # language "de"
    page = me.get("/portal/").get_data(as_text=True)
    assert "Willkommen, Arctic Refrigeration" in page and ">Übersicht" in page and "Fällige Zahlungen" in page
    assert "Kostenvoranschläge" in me.get("/portal/estimates").get_data(as_text=True)
    refused = me.post("/portal/profile/units", data={"kind": "device", "make": "X", "imei": "123"})
    assert "Das ist keine gültige IMEI" in main(refused)
    assert me.post("/portal/profile", data=dict(PERSON, language="en")).status_code == 302
    assert "Welcome, Arctic Refrigeration" in me.get("/portal/").get_data(as_text=True)
