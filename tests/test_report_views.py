"""Scheduled reports in the staff screens: definitions with field errors, schedule preview, Run now,
runs with permission-checked downloads, and the manager dashboard."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from sqlalchemy import select

from app.core.actors import Actor
from app.models import ReportDefinition, ReportRun
from app.services import reports
from tests.factories import make_user
from tests.repair_shop import client_for


@pytest.fixture()
def manager(db):
    return make_user("Manager")


def _definition(**fields) -> ReportDefinition:
    values = dict(name="Weekly workshop", kind="work_orders", cron="0 7 * * 1", format="both",
                  recipients=["boss@example.com"], params={"period": "last_week"})
    values.update(fields)
    return reports.create_definition(Actor.system_actor("test"), **values)


def _form(**fields) -> dict:
    data = {"name": "Monday revenue", "kind": "revenue", "params": '{"period": "last_week"}', "cron": "0 7 * * 1",
            "format": "pdf", "recipients": "boss@example.com, accounts@example.com", "enabled": "y"}
    data.update(fields)
    return data


def test_manager_adds_a_definition_and_sees_the_schedule_read_aloud(manager, login_as, db):
    client = login_as(manager)
    response = client.post("/reportdefinitionview/add", data=_form(), follow_redirects=True)
    assert response.status_code == 200
    definition = db.session.scalar(select(ReportDefinition).where(ReportDefinition.name == "Monday revenue"))
    assert definition.recipients == ["boss@example.com", "accounts@example.com"]
    assert definition.params == {"period": "last_week"}
    assert definition.created_by_id == manager.id
    with time_machine.travel(dt.datetime(2026, 3, 25, 12, 0, tzinfo=dt.UTC), tick=False):
        html = client.get(f"/reportdefinitionview/show/{definition.id}").text
    assert "every Monday at 07:00" in html
    # The next five Mondays in the shop's zone (Europe/Berlin): summer time starts on 29 March 2026.
    assert "Mon, 30 Mar 2026 07:00 CEST" in html and "Mon, 27 Apr 2026 07:00 CEST" in html
    assert html.count("07:00 CEST") == 5
    with time_machine.travel(dt.datetime(2026, 3, 25, 12, 0, tzinfo=dt.UTC), tick=False):
        german = client_for(manager)  # its own session: the page in German
        html_de = german.get(f"/reportdefinitionview/show/{definition.id}", headers={"Accept-Language": "de"}).text
    assert "Mo., 30.03.2026 07:00 MESZ" in html_de and "Mo., 27.04.2026 07:00 MESZ" in html_de
    assert "CEST" not in html_de
    assert "Run now" in html and 'name="csrf_token"' in html


@pytest.mark.parametrize("field, value, message", [
    ("cron", "every monday", "Give five fields"),
    ("cron", "0 25 * * *", "higher than the maximum"),
    ("recipients", "boss@example.com, not-an-address", "not-an-address is not an e-mail address"),
    ("params", "{period: last_week}", "Write the parameters as JSON"),
    ("params", '{"period": "fortnight"}', "Unknown period"),
    ("params", '{"technician": 3}', "Unknown parameter technician"),
    ("format", "csv", None),  # allowed for revenue: no error
])
def test_bad_input_comes_back_at_the_field_with_what_was_typed(manager, login_as, db, field, value, message):
    client = login_as(manager)
    response = client.post("/reportdefinitionview/add", data=_form(**{field: value}))
    saved = db.session.scalar(select(ReportDefinition).where(ReportDefinition.name == "Monday revenue"))
    if message is None:
        assert saved is not None and saved.format == "csv"
        return
    assert response.status_code == 200
    assert saved is None
    html = response.text
    assert message in html
    assert value.replace('"', "&#34;") in html or value in html  # nothing the user typed is lost


def test_export_report_refuses_a_pdf_and_needs_a_reseller(manager, login_as, db):
    client = login_as(manager)
    response = client.post("/reportdefinitionview/add", data=_form(kind="reseller_orders_csv", format="pdf",
                                                                     params="{}"))
    assert response.status_code == 200
    assert "This report comes as CSV" in response.text
    assert "Reseller (customer_id) is required" in response.text


def test_edit_form_shows_params_as_json_and_recipients_as_text(manager, login_as):
    definition = _definition()
    html = login_as(manager).get(f"/reportdefinitionview/edit/{definition.id}").text
    assert "{&#34;period&#34;: &#34;last_week&#34;}" in html
    assert "boss@example.com</textarea>" in html


def test_run_now_queues_a_run_that_the_scheduler_executes(manager, login_as, db):
    definition = _definition()
    client = login_as(manager)
    response = client.post(f"/reportdefinitionview/run/{definition.id}", follow_redirects=True)
    assert response.status_code == 200
    assert "is queued" in response.text
    run = db.session.scalar(select(ReportRun).where(ReportRun.definition_id == definition.id))
    assert (run.status, run.trigger) == ("queued", "manual")
    assert reports.claim(run.id, "test-worker")
    assert not reports.claim(run.id, "another-worker")  # one process takes it
    reports.execute(db.session.get(ReportRun, run.id))
    html = client.get(f"/reportdefinitionview/show/{definition.id}").text
    assert "status-succeeded" in html
    assert f"/reportrunview/file/{run.id}/" in html and ".pdf" in html


def test_downloads_are_permission_checked(manager, login_as, db):
    definition = _definition(format="csv")
    run = reports.perform(definition, "run", Actor.system_actor("test"))
    reports.claim(run.id, "test-worker")
    run = reports.execute(db.session.get(ReportRun, run.id))
    name = run.files[0]["name"]
    url = f"/reportrunview/file/{run.id}/{name}"

    client = login_as(manager)
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.data.decode().startswith("Stage,Work orders")

    missing = client.get(f"/reportrunview/file/{run.id}/../../../../etc/passwd")
    assert missing.status_code in (302, 404)

    login_as(make_user("Advisor"))
    assert client.get(url).status_code == 403
    assert client.get(f"/reportdefinitionview/show/{definition.id}").status_code == 403
    assert client.post(f"/reportdefinitionview/run/{definition.id}").status_code == 403
    login_as(make_user("Customer"))
    assert client.get(url).status_code == 403
    client.get("/logout/")
    assert client.get(url).status_code in (302, 401)


def test_dashboard_for_managers_only(manager, login_as):
    client = login_as(manager)
    response = client.get("/dashboard/")
    assert response.status_code == 200
    assert "New service requests" in response.text and "<svg" in response.text
    login_as(make_user("Advisor"))
    assert client.get("/dashboard/").status_code == 403


def test_the_form_reads_the_schedule_aloud_while_it_is_typed(manager, login_as):
    client = login_as(manager)
    assert "/reportdefinitionview/preview" in client.get("/reportdefinitionview/add").text
    with time_machine.travel(dt.datetime(2026, 10, 20, 12, 0, tzinfo=dt.UTC), tick=False):
        data = client.get("/reportdefinitionview/preview?cron=0+7+*+*+1-5").get_json()
    assert data["description"] == "every weekday (Monday to Friday) at 07:00"
    assert data["next"][0] == "Wed, 21 Oct 2026 07:00 CEST" and data["next"][-1] == "Tue, 27 Oct 2026 07:00 CET"
    assert "Give five fields" in client.get("/reportdefinitionview/preview?cron=7am").get_json()["error"]
    client.get("/lang/de")
    with time_machine.travel(dt.datetime(2026, 10, 20, 12, 0, tzinfo=dt.UTC), tick=False):
        data = client.get("/reportdefinitionview/preview?cron=0+7+*+*+1,3").get_json()
    assert data["description"] == "jeden Montag und Mittwoch um 07:00"
    assert data["next"][0] == "Mi., 21.10.2026 07:00 MESZ"  # the zone in German too (formatting.zone)
    assert "Geben Sie fünf Felder an" in client.get("/reportdefinitionview/preview?cron=7am").get_json()["error"]
    script = client.get("/reportdefinitionview/add").text
    assert '"N\\u00e4chste L\\u00e4ufe:"' in script and "Next runs" not in script  # a JSON string in the script
    login_as(make_user("Advisor"))
    assert client.get("/reportdefinitionview/preview?cron=0+7+*+*+1").status_code == 403


# --- the generated form (issue 15, item 4) ---------------------------------------------------------------------

def _generated(**fields) -> dict:
    data = {"name": "Monthly workshop", "kind": "work_orders", "period": "last_month", "freq": "monthly",
            "monthday": "3", "weekday": "1", "at": "06:30", "params": "", "cron": "", "format": "pdf",
            "recipients": "boss@example.com", "enabled": "y"}
    data.update(fields)
    return data


def test_parameters_by_name_and_the_schedule_in_words_make_params_and_cron(manager, login_as, db):
    from tests.factories import CustomerFactory

    tech = make_user("Technician")
    customer = CustomerFactory(name="Arctic Refrigeration")
    db.session.commit()
    client = login_as(manager)
    page = client.get("/reportdefinitionview/add").text
    for text in ("Arctic Refrigeration", tech.get_full_name(), "Last month", "Between two dates", "Every week",
                 "Advanced: a cron expression", 'id="p_technician"', "var USED = {"):
        assert text in page, text
    response = client.post("/reportdefinitionview/add", data=_generated(
        p_technician=str(tech.id), p_customer=str(customer.id), p_kind="repair"))
    assert response.status_code == 302, response.text[:3000]
    saved = db.session.scalar(select(ReportDefinition).where(ReportDefinition.name == "Monthly workshop"))
    assert saved.params == {"period": "last_month", "technician_id": tech.id, "customer_id": customer.id,
                            "kind": "repair"}
    assert saved.cron == "30 6 3 * *"

    client.post("/reportdefinitionview/add", data=_generated(
        name="Sunday revenue", kind="revenue", freq="weekly", weekday="0", at="18:05", period="custom",
        start="2026-01-01", end="2026-03-31", p_technician=str(tech.id)))  # revenue takes no technician
    sunday = db.session.scalar(select(ReportDefinition).where(ReportDefinition.name == "Sunday revenue"))
    assert sunday.params == {"start": "2026-01-01", "end": "2026-03-31"} and sunday.cron == "5 18 * * 0"

    daily = client.post("/reportdefinitionview/add", data=_generated(name="Daily", freq="daily", at="7:00"))
    assert daily.status_code == 302
    assert db.session.scalar(select(ReportDefinition.cron).where(ReportDefinition.name == "Daily")) == "0 7 * * *"


@pytest.mark.parametrize("fields, message", [
    ({"at": "25:99"}, "Give the time as HH:MM"),
    ({"period": "custom", "start": "2026-03-31", "end": "2026-01-01"}, "The end date is before the start date."),
    ({"freq": "cron", "cron": "every monday"}, "Give five fields"),
    ({"p_customer": "99999999999"}, "Not a valid choice"),  # beyond 32 bits: refused, never a 500
    ({"p_technician": "abc"}, "Not a valid choice"),
])
def test_the_generated_form_refuses_bad_input_and_keeps_it(manager, login_as, db, fields, message):
    response = login_as(manager).post("/reportdefinitionview/add", data=_generated(**fields))
    assert response.status_code == 200 and message in response.text
    assert db.session.scalar(select(ReportDefinition).where(ReportDefinition.name == "Monthly workshop")) is None
    assert 'value="Monthly workshop"' in response.text  # the rest of what was typed stays
    for value in fields.values() if message != "Not a valid choice" else ():  # no such option to show again
        assert f'value="{value}"' in response.text or f'value="{value}" selected' in response.text or \
            f'<option selected value="{value}"' in response.text, value


def test_the_edit_form_reads_params_and_cron_back_into_words(manager, login_as, db):
    tech = make_user("Technician")
    db.session.commit()
    monthly = _definition(cron="30 6 3 * *", params={"period": "last_month", "technician_id": tech.id})
    odd = _definition(name="Weekdays", cron="0 7 * * 1-5")
    client = login_as(manager)
    html = client.get(f"/reportdefinitionview/edit/{monthly.id}").text
    assert re.search(r'<option selected value="monthly"|<option value="monthly" selected', html)
    assert re.search(r'<option selected value="3"|<option value="3" selected', html)
    assert 'value="06:30"' in html
    assert re.search(rf'<option selected value="{tech.id}"|<option value="{tech.id}" selected', html)
    html = client.get(f"/reportdefinitionview/edit/{odd.id}").text
    assert re.search(r'<option selected value="cron"|<option value="cron" selected', html)
    assert 'value="0 7 * * 1-5"' in html
    # saving the edit form unchanged keeps the definition as it was
    response = client.post(f"/reportdefinitionview/edit/{monthly.id}", data=_generated(
        name=monthly.name, kind="work_orders", p_technician=str(tech.id), recipients="boss@example.com"))
    assert response.status_code == 302, response.text[:2000]
    db.session.expire_all()
    again = db.session.get(ReportDefinition, monthly.id)
    assert again.cron == "30 6 3 * *" and again.params == {"period": "last_month", "technician_id": tech.id}


def test_the_report_form_speaks_german(manager, db):
    """Issue 16: the catalogue's titles, the formats, the parameter help and the form's errors in German."""
    german = client_for(manager)
    html = german.get("/reportdefinitionview/add", headers={"Accept-Language": "de"}).text
    for text in ("Umsatz: berechnet und eingegangen", "Überfällige Rechnungen", "Datenqualität",
                 "Auftragsexport für Wiederverkäufer (CSV)", "PDF mit Diagrammen", "PDF und CSV",
                 "Zeitraum last_month", "customer_id (erforderlich)"):
        assert text in html, text
    for english in ("Revenue invoiced and collected", "PDF with charts", ": period ", "(required)"):
        assert english not in html, english
    response = german.post("/reportdefinitionview/add", headers={"Accept-Language": "de"},
                           data=_form(kind="reseller_orders_csv", format="pdf", params="{}"))
    assert "Diesen Bericht gibt es nur als CSV." in response.text
    assert "Wiederverkäufer (customer_id) ist erforderlich." in response.text
    assert "This report comes as" not in response.text
    _definition(kind="revenue", format="both")
    listing = german.get("/reportdefinitionview/list/", headers={"Accept-Language": "de"}).text
    assert "Umsatz: berechnet und eingegangen" in listing and "PDF und CSV" in listing
