"""The admin's setup checklist (issue 15, item 6): admins land on it; each step is ticked by the data."""
from __future__ import annotations

import datetime as dt
import re

from app.core.settings import get_settings
from app.models import OpeningHours
from app.services import checklist
from tests.factories import ServiceLocationFactory, ServiceTypeFactory, make_user
from tests.repair_shop import png_logo


def done_steps() -> dict[str, bool]:
    return {step.key: step.done for step in checklist.steps()}


def test_admins_land_on_the_checklist_and_each_step_follows_the_data(db, login_as, app):
    app.config["MAIL_SERVER"] = ""
    admin = make_user("Admin")
    db.session.commit()
    assert not any(done_steps().values())  # a bare install: nothing set up yet
    client = login_as(admin)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/setup/")
    page = client.get("/setup/").get_data(as_text=True)
    assert "0 of 7 done" in page and "not configured: mail waits in the outbox (set MAIL_SERVER)" in page
    assert re.search(r'id="step-shop".*?href="/settingsview/edit/\d+"', page, re.S)

    settings = get_settings()
    settings.shop_name, settings.address = "Nordwerk Service", "Hafenstraße 1\n20457 Hamburg"
    settings.logo, settings.logo_content_type = png_logo(), "image/png"
    settings.vat_id, settings.iban = "DE136695976", "DE89370400440532013000"
    location = ServiceLocationFactory(name="Harbour depot")
    ServiceLocationFactory(name="Closed depot")
    ServiceTypeFactory(name="Fridge repair")
    db.session.flush()
    db.session.add(OpeningHours(service_location_id=location.id, weekday=0, opens=dt.time(8), closes=dt.time(17)))
    make_user("Technician")
    db.session.commit()
    steps = done_steps()
    assert steps == {"shop": True, "logo": True, "locations": True, "service_types": True, "mail": False,
                     "legal": True, "team": True}
    page = client.get("/setup/").get_data(as_text=True)
    assert "6 of 7 done" in page and "1 of 2 active locations have opening hours" in page
    app.config["MAIL_SERVER"] = "127.0.0.1"
    page = client.get("/setup/").get_data(as_text=True)
    assert "7 of 7 done" in page and "The shop is ready." in page
    app.config["MAIL_SERVER"] = ""


def test_only_admins_have_the_checklist(db, login_as):
    for role in ("Manager", "Advisor", "Technician"):
        assert login_as(make_user(role)).get("/setup/").status_code in (302, 403), role


def test_the_checklist_speaks_the_admins_language(app, db, client, login_as):
    from app.core import languages

    admin = make_user("Admin")
    languages.set_staff_language(admin, "de")
    db.session.commit()
    with app.app_context():  # a context of its own, as a real request has (the locale is kept per context)
        page = login_as(admin).get("/setup/").get_data(as_text=True)
    text = " ".join(re.sub(r"<[^>]+>", " ", page.split('class="portico-checklist"', 1)[1]).split())
    for german in ("Name und Anschrift des Betriebs", "noch keine Anschrift", "Standorte und Öffnungszeiten",
                   "Mailserver", "Pflichtangaben für Rechnungen", "Erste Mitarbeiter", "USt-IdNr."):
        assert german in text, german
    for english in ("Shop name and address", "no address yet", "Mail server", "First staff users", "missing"):
        assert english not in text, english
