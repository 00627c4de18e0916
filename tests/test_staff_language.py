"""One language decision per person (issue 16, item 1): a staff user's profile, else the browser, else the
shop's default; FAB's language menu and "Your profile" keep the choice; e-mails follow the recipient."""
from __future__ import annotations

from flask import current_app

from app.core import languages
from app.core.settings import get_settings
from app.extensions import db
from app.models import OutboxEmail, StaffPreference
from app.services import notify
from tests.factories import CustomerFactory, make_user
from tests.repair_shop import anonymous, client_for


def _lang(response) -> str:
    import re

    found = re.search(r'<html[^>]*lang="([a-z]+)"', response.text)
    return found.group(1) if found else ""


def test_the_browser_decides_for_a_staff_user_without_a_choice():
    advisor = make_user("Advisor")
    db.session.commit()
    client = client_for(advisor)
    page = client.get("/customerview/list/", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert page.status_code == 200
    assert "Kunden" in page.text and "Suche" in page.text  # Portico's and FAB's catalogues both


def test_the_shop_default_decides_when_the_browser_asks_for_nothing_known():
    advisor = make_user("Advisor")
    get_settings().default_language = "de"
    db.session.commit()
    page = client_for(advisor).get("/customerview/list/", headers={"Accept-Language": "fr"})
    assert "Kunden" in page.text


def test_the_language_menu_saves_the_choice_in_the_profile():
    advisor = make_user("Advisor")
    db.session.commit()
    client = client_for(advisor)
    assert client.get("/lang/de", headers={"Referer": "/customerview/list/"}).status_code == 302
    assert db.session.get(StaffPreference, advisor.id).language == "de"
    fresh = client_for(advisor)  # another browser, asking for English
    page = fresh.get("/customerview/list/", headers={"Accept-Language": "en"})
    assert "Kunden" in page.text


def test_your_profile_lets_one_pick_the_language():
    advisor = make_user("Advisor")
    db.session.commit()
    client = client_for(advisor)
    form = client.get("/userinfoeditview/form")
    assert form.status_code == 200 and 'name="language"' in form.text
    saved = client.post("/userinfoeditview/form", data={"first_name": "Ada", "last_name": "Lovelace",
                                                        "language": "de"})
    assert saved.status_code == 302
    db.session.expire_all()
    assert languages.staff_language(advisor) == "de"
    assert "Kunden" in client.get("/customerview/list/").text


def test_a_customer_choice_of_the_menu_stays_out_of_the_staff_profile():
    anonymous().get("/lang/de")
    assert db.session.query(StaffPreference).count() == 0


def test_mail_is_worded_in_the_recipients_language_whoever_sends_it(monkeypatch):
    """A German advisor's action e-mails an English customer in English and a German technician in German;
    the shop's staff address gets the shop's default language."""
    from flask_babel import get_locale

    spoken = []
    real = notify.render_email

    def render(*args, **kwargs):
        spoken.append(str(get_locale()))
        return real(*args, **kwargs)

    monkeypatch.setattr(notify, "render_email", render)
    technician = make_user("Technician", email="tech@example.com")
    languages.set_staff_language(technician, "de")
    english = CustomerFactory(language="en", email="en@example.com")
    german = CustomerFactory(language="de", email="de@example.com")
    settings = get_settings()
    settings.staff_email, settings.default_language = "shop@example.com", "de"
    db.session.commit()
    with current_app.test_request_context("/", headers={"Accept-Language": "de"}):
        notify.to_staff("work_order.message", "WO-1", user_id=technician.id)
        notify.to_customer(english, "work_order.message", "WO-1", group="messages")
        notify.to_customer(german, "work_order.message", "WO-1", group="messages")
        notify.to_staff("request.submitted", "REQ-1")
    assert spoken == ["de", "en", "de", "de"]
    assert {m.to_address for m in db.session.query(OutboxEmail)} >= {"tech@example.com", "en@example.com",
                                                                     "de@example.com", "shop@example.com"}


def test_the_shop_default_is_chosen_in_shop_settings():
    admin = make_user("Admin")
    db.session.commit()
    client = client_for(admin)
    settings_id = get_settings().id
    db.session.commit()
    form = client.get(f"/settingsview/edit/{settings_id}")
    assert 'name="default_language"' in form.text
    from tests.test_invoice_legal import settings_form

    assert client.post(f"/settingsview/edit/{settings_id}",
                       data=settings_form(default_language="xx")).status_code == 422
    response = client.post(f"/settingsview/edit/{settings_id}", data=settings_form(default_language="de"))
    assert response.status_code == 302
    db.session.expire_all()
    assert get_settings().default_language == "de"
    assert languages.for_customer(CustomerFactory(language=None)) == "de"


def test_a_customer_notification_is_worded_in_the_customers_language():
    """A German customer's portal notification and e-mail are German though an English advisor acted."""
    from app.models import Notification
    from app.services import work_orders
    from tests.factories import actor

    german = CustomerFactory(language="de", email="kunde@example.com")
    english = CustomerFactory(language="en", email="customer@example.com")
    db.session.commit()
    advisor = actor(make_user("Advisor"))
    with current_app.test_request_context("/", headers={"Accept-Language": "en"}):
        for customer in (german, english):
            order = type("Order", (), {"customer": customer, "number": "WO-000042", "id": 42})()
            work_orders.confirm(order, advisor)
    titles = {n.customer_id: n.title for n in db.session.query(Notification)}
    assert titles[german.id] == "Ihr Auftrag WO-000042 ist bestätigt"
    assert titles[english.id] == "Your order WO-000042 is confirmed"
    mail = db.session.query(OutboxEmail).filter_by(to_address="kunde@example.com").one()
    assert "Ihr Auftrag WO-000042 ist bestätigt" in mail.subject


def test_a_technicians_notification_is_worded_in_the_technicians_language():
    from app.models import Notification

    technician = make_user("Technician")
    languages.set_staff_language(technician, "de")
    db.session.commit()
    from flask_babel import lazy_gettext

    with current_app.test_request_context("/", headers={"Accept-Language": "en"}):
        notify.to_staff("work_order.assigned", lazy_gettext("%(number)s is assigned to you", number="WO-000007"),
                        user_id=technician.id)
        notify.to_staff("work_order.ready", lazy_gettext("%(number)s is assigned to you", number="WO-000008"))
    titles = sorted(n.title for n in db.session.query(Notification))
    assert titles == ["WO-000007 ist Ihnen zugewiesen", "WO-000008 is assigned to you"]  # the feed: the shop's
