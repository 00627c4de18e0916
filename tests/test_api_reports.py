"""``/api/v1/report/``: managers define scheduled reports (checked against the catalogue), run them now,
list the runs and download their files."""
from __future__ import annotations

import csv
import io

import pytest

from app.models import ReportRun
from app.services import reports
from tests.api_support import api_as
from tests.factories import make_user

GOOD = {"name": "Open requests weekly", "kind": "open_requests", "cron": "0 7 * * 1", "format": "csv",
        "recipients": ["manager@example.com"], "params": {"period": "last_week"}}


@pytest.fixture()
def manager(client, db):
    user = make_user("Manager")
    db.session.commit()
    return api_as(client, user)


def test_definitions_are_checked_field_by_field(manager):
    created = manager.post("/report/", json=GOOD)
    assert created.status_code == 201, created.get_json()
    report = created.get_json()["result"]
    assert (report["kind"], report["cron"], report["recipients"]) == ("open_requests", "0 7 * * 1",
                                                                      ["manager@example.com"])
    duplicate = manager.post("/report/", json=GOOD)
    assert duplicate.status_code == 422 and "name" in duplicate.get_json()["message"]
    bad = manager.post("/report/", json={**GOOD, "name": "Other", "kind": "horoscope", "cron": "every monday",
                                         "recipients": ["not-an-address"]})
    assert bad.status_code == 422
    assert {"kind", "recipients.0"} <= set(bad.get_json()["message"])
    bad_cron = manager.post("/report/", json={**GOOD, "name": "Other", "cron": "61 7 * * 1"})
    assert bad_cron.status_code == 422 and "cron" in bad_cron.get_json()["message"]
    bad_params = manager.post("/report/", json={**GOOD, "name": "Other", "params": {"period": "forever"}})
    assert bad_params.status_code == 422 and "params" in bad_params.get_json()["message"]
    edited = manager.put(f"/report/{report['id']}", json={"cron": "30 6 * * *"})
    assert edited.status_code == 200 and edited.get_json()["result"]["cron"] == "30 6 * * *"
    assert manager.put(f"/report/{report['id']}", json={"cron": "nonsense"}).status_code == 422


def test_run_now_lists_the_run_and_serves_its_files(manager, db):
    report = manager.post("/report/", json=GOOD).get_json()["result"]
    run_id = manager.post(f"/report/{report['id']}/run").get_json()["run_id"]
    run = db.session.get(ReportRun, run_id)
    assert run.status == "queued" and run.trigger == "manual"
    # The scheduler process executes queued runs; here the test plays its part.
    assert reports.claim(run_id, "test")
    reports.execute(db.session.get(ReportRun, run_id))
    runs = manager.get(f"/report/{report['id']}/runs").get_json()
    assert runs["count"] == 1 and runs["result"][0]["status"] == "succeeded", runs
    files = runs["result"][0]["files"]
    assert files and all(f["url"].startswith(f"/api/v1/report/{report['id']}/runs/{run_id}/") for f in files)
    download = manager.get(files[0]["url"])
    assert download.status_code == 200
    assert list(csv.reader(io.StringIO(download.get_data(as_text=True))))
    assert manager.get(f"/report/{report['id']}/runs/{run_id}/../../secret").status_code == 404
    assert manager.delete(f"/report/{report['id']}").status_code == 200
    assert manager.get(f"/report/{report['id']}").status_code == 404


def test_a_disabled_report_is_not_run(manager):
    report = manager.post("/report/", json={**GOOD, "enabled": False}).get_json()["result"]
    assert manager.post(f"/report/{report['id']}/run").status_code == 409
