"""Scheduled reports in the staff screens: definitions with field errors, schedule preview, Run now,
runs with permission-checked downloads, and the manager dashboard."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from app.core.actors import Actor
from app.models import ReportDefinition, ReportRun
from app.services import reports
from tests.factories import make_user


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
    assert "Mon 2026-03-30 07:00 CEST" in html and "Mon 2026-04-27 07:00 CEST" in html
    assert html.count("07:00 CEST") == 5
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
    assert data["next"][0] == "Wed 2026-10-21 07:00 CEST" and data["next"][-1] == "Tue 2026-10-27 07:00 CET"
    assert "Give five fields" in client.get("/reportdefinitionview/preview?cron=7am").get_json()["error"]
    login_as(make_user("Advisor"))
    assert client.get("/reportdefinitionview/preview?cron=0+7+*+*+1").status_code == 403
