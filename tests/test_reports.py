"""The report catalogue against a small shop made by hand through the service layer (every figure below
is worked out from the story in ``shop``), and a definition's run: files, CSV, PDF, e-mail, pruning."""
from __future__ import annotations

import base64
import csv
import datetime as dt
import io
from contextlib import contextmanager
from zoneinfo import ZoneInfo

import pytest
import time_machine
from pypdf import PdfReader
from sqlalchemy import select

from app.core.actors import Actor
from app.models import OutboxEmail, ReportRun
from app.reports import CATALOGUE
from app.reports.periods import period_bounds
from app.services import estimates, invoices, reports, requests, work_orders
from tests.factories import CustomerFactory, ServiceTypeFactory, UnitFactory, actor, make_user

UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")
MONDAY_AFTER = dt.datetime(2026, 11, 23, 12, 0)  # the reports look at last week: Mon 16 – Sun 22 November 2026


@contextmanager
def at(day: int, hour: int, minute: int = 0, month: int = 11):
    with time_machine.travel(dt.datetime(2026, month, day, hour, minute, tzinfo=UTC), tick=False):
        yield


def _request(staff, customer, service_type, subject):
    return requests.submit(staff, customer_id=customer.id, service_type_id=service_type.id, subject=subject,
                           preferred_date=dt.date.today() + dt.timedelta(days=3), preferred_slot="morning")


def _estimate(staff, customer, unit, hours, rate, parts=()):
    lines = [{"description": "Labour", "hours": hours, "rate": rate, "parts": list(parts)}]
    est = estimates.create(staff, customer_id=customer.id, unit_id=unit.id, labour_lines=lines)
    return estimates.perform(est, "submit", staff)


@pytest.fixture()
def shop(db):
    """Customers A (individual), B (business), C (no e-mail), D (no e-mail, but a portal user has one) and
    reseller R; two technicians; requests, estimates, work orders, time, invoices and payments in the week of
    16 November 2026 (times in UTC; Berlin is UTC+1 then)."""
    with at(1, 9):
        staff = actor(make_user("Manager"))
        tech1, tech2 = make_user("Technician", username="tech.one"), make_user("Technician", username="tech.two")
        a, b = CustomerFactory(name="Anna Alder"), CustomerFactory(name="Bauer GmbH", kind="business")
        reseller = CustomerFactory(name="Resell AG", kind="reseller")
        client_a, client_b = actor(make_user("Customer", customer=a)), actor(make_user("Customer", customer=b))
        seller = actor(make_user("Reseller", customer=reseller, email="orders@resell.example"))
        service_type = ServiceTypeFactory()
        unit_a, unit_b = UnitFactory(customer=a), UnitFactory(customer=b)
        unit_r1, unit_r2 = UnitFactory(customer=reseller), UnitFactory(customer=reseller)
    with at(16, 20):
        c = CustomerFactory(name="Carl Clueless", email=None)
        d = CustomerFactory(name="Dora Portal", email=None)
        make_user("Customer", customer=d)
    t1, t2 = actor(tech1), actor(tech2)

    # Requests: R1 booked after 6 h, R2 after 24 h, R3 still new, R4 (week before) proposed, R5 declined.
    with at(10, 10):
        r4 = _request(staff, b, service_type, "R4")
        requests.perform(r4, "propose", staff, start=dt.datetime(2026, 11, 20, 9, 0))
    with at(16, 9):
        r1 = _request(staff, a, service_type, "R1")
    with at(16, 15):
        requests.perform(r1, "confirm", staff)
    with at(17, 8):
        r2 = _request(staff, b, service_type, "R2")
    with at(18, 8):
        requests.perform(r2, "confirm", staff)
    with at(18, 10):
        _request(staff, a, service_type, "R3")
    with at(19, 11):
        requests.perform(_request(staff, c, service_type, "R5"), "decline", staff, reason="Out of area")

    # Estimates: E5 (sent the week before), E1 approved, E2 disputed → revised → approved, E3 declined, E4 open.
    with at(10, 12):
        _estimate(staff, a, unit_a, "1.00", "80.00")
    with at(16, 16):
        e1 = _estimate(staff, a, unit_a, "2.00", "80.00",
                       [{"part_number": "P-1", "description": "Fan", "quantity": "1", "unit_price": "45.50"}])
    with at(17, 11):
        wo1 = estimates.perform(e1, "approve", client_a)
    with at(17, 12):
        e2 = _estimate(staff, b, unit_b, "1.50", "90.00")
    with at(18, 9):
        disputed = [{"kind": "labour", "id": e2.labour_lines[0].id, "note": "Too long"}]
        estimates.perform(e2, "dispute", client_b, lines=disputed, note="Please check")
        e2r2 = estimates.perform(e2, "revise", staff)
    with at(19, 8):
        estimates.perform(e2r2, "submit", staff)
    with at(19, 9):
        wo2 = estimates.perform(e2r2, "approve", client_b)
    with at(18, 13):
        e3 = _estimate(staff, b, unit_b, "3.00", "90.00")
    with at(19, 14):
        estimates.perform(e3, "decline", client_b, reason="Too expensive")
    with at(19, 15):
        _estimate(staff, a, unit_a, "1.00", "80.00")

    # Work orders: WO1 (tech 1, 2.5 h, completed), WO2 (tech 2, 1 h, in progress), WO3 (staff, no unit),
    # WO4 (reseller, tech 1, 1.5 h, received 18th 09:00 → completed 20th 12:00), WO5 (reseller, confirmed).
    with at(17, 9, 30):
        work_orders.perform(wo1, "receive", staff)
    with at(17, 10):
        work_orders.perform(wo1, "clock_on", t1)
    with at(17, 12, 30):
        work_orders.perform(wo1, "clock_off", t1)
    with at(18, 8):
        wo3 = work_orders.create(staff, customer_id=a.id, kind="repair", fault="No unit given")
        wo4 = work_orders.create(seller, kind="repair", unit_id=unit_r1.id, fault="Cracked screen")
    with at(18, 9):
        work_orders.perform(wo4, "receive", staff)
    with at(18, 11):
        work_orders.perform(wo1, "ready", t1)
    with at(18, 12):
        work_orders.perform(wo1, "complete", staff)
    with at(18, 14):
        inv1 = work_orders.perform(wo1, "invoice", staff)
    with at(18, 15):
        invoices.perform(inv1, "submit", staff)
    with at(19, 8):
        work_orders.perform(wo4, "clock_on", t1)
    with at(19, 9, 30):
        work_orders.perform(wo4, "clock_off", t1)
        work_orders.perform(wo2, "receive", staff)
    with at(19, 10):
        work_orders.perform(wo2, "clock_on", t2)
    with at(19, 11):
        work_orders.perform(wo2, "clock_off", t2)
        invoices.perform(inv1, "payments", staff, amount="100.00", method="cash")
    with at(20, 10):
        work_orders.perform(wo4, "ready", t1)
    with at(20, 12):
        work_orders.perform(wo4, "complete", staff)
    with at(20, 13):
        inv2 = work_orders.perform(wo4, "invoice", staff)
        invoices.perform(inv2, "submit", staff)
    with at(21, 9):
        invoices.perform(inv2, "payments", staff, amount="169.58", method="transfer")
        wo5 = work_orders.create(seller, kind="repair", unit_id=unit_r2.id, fault="Battery")
    return {"a": a, "b": b, "c": c, "reseller": reseller, "inv1": inv1, "inv2": inv2, "wo3": wo3, "wo4": wo4,
            "wo5": wo5}


def run(kind: str, now: dt.datetime = MONDAY_AFTER, period: str = "last_week", **filters):
    start, end, _label = period_bounds(period, BERLIN, now)
    from app.extensions import db

    return CATALOGUE[kind].run(db.session, start, end, zone=BERLIN, now=now, **filters)


def table(result, title: str) -> list[dict]:
    found = next(t for t in result.tables if t.title == title)
    return found.display_frame().to_dict("records")


def check_open_requests_by_age_and_status(shop):
    result = run("open_requests")
    assert result.row_count == 3  # R1 and R2 booked, R3 new; R4 is older, R5 was declined
    rows = {row["Waiting"]: row for row in table(result, "By waiting time and status")}
    assert (rows["3–7 days"]["New"], rows["3–7 days"]["Booked"], rows["3–7 days"]["Total"]) == (1, 1, 2)
    assert (rows["1–2 weeks"]["Booked"], rows["1–2 weeks"]["Total"]) == (1, 1)
    assert sum(row["Total"] for row in rows.values()) == 3
    oldest = table(result, "Oldest open requests")
    assert [row["Status"] for row in oldest] == ["Booked", "Booked", "New"]
    assert oldest[0]["Created"] == "2026-11-16 10:00"  # 09:00 UTC shown in Berlin time
    assert oldest[0]["Waiting (days)"] == "7.1"
    assert run("open_requests", customer_id=shop["a"].id).row_count == 2
    assert len(result.charts) == 1 and result.charts[0].svg.lstrip().startswith("<?xml")


def check_booking_lead_time(shop):
    result = run("booking_lead_time")
    assert dict(result.summary)["Bookings"] == "2"
    assert dict(result.summary)["Median lead time"] == "15.0 h"  # 6 h and 24 h
    week, = table(result, "By week of confirmation")
    assert (week["Week of"], week["Bookings"], week["Median (h)"], week["Average (h)"], week["90th percentile (h)"]) \
        == ("2026-11-16", 2, "15.0", "15.0", "22.2")


def check_estimate_outcomes(shop):
    result = run("estimate_outcomes")
    summary = dict(result.summary)
    assert summary["Estimates sent"] == "4"  # E1–E4 by number; E2's revision counts once; E5 is older
    rates = (summary["Approval rate"], summary["Decline rate"], summary["Dispute rate"])
    assert rates == ("50.0 %", "25.0 %", "25.0 %")
    assert summary["Average revisions"] == "1.25"
    outcomes = {row["Outcome"]: row["Estimates"] for row in table(result, "Outcomes")}
    assert outcomes["Approved"] == 2 and outcomes["Declined"] == 1 and outcomes["Awaiting decision"] == 1


def check_work_orders_by_stage_and_technician(shop):
    result = run("work_orders")
    stages = {row["Stage"]: row["Work orders"] for row in table(result, "By stage")}
    assert stages == {"Pending confirmation": 0, "Confirmed": 2, "Received": 0, "In progress": 1, "Ready": 0,
                      "Completed": 2, "Cancelled": 0}
    techs = {row["Technician"]: row for row in table(result, "By technician")}
    nobody = techs.pop("Unassigned")
    one = next(row for row in techs.values() if row["Work orders"] == 2)
    two = next(row for row in techs.values() if row["Work orders"] == 1)
    assert (one["Completed"], one["Estimated (h)"], one["Clocked (h)"], one["Clocked of estimated"]) \
        == (2, "2.0", "4.0", "200.0 %")
    assert (two["In progress"], two["Estimated (h)"], two["Clocked (h)"], two["Clocked of estimated"]) \
        == (1, "1.5", "1.0", "66.7 %")
    assert (nobody["Work orders"], nobody["Confirmed"]) == (2, 2)
    assert dict(result.summary)["Hours clocked"] == "5.0"


def check_revenue_invoiced_and_collected(shop):
    result = run("revenue")
    summary = dict(result.summary)
    assert (summary["Invoiced"], summary["Collected"]) == ("461.73", "269.58")  # 292.15 + 169.58; 100.00 + 169.58
    week, = table(result, "By week")
    assert (week["Invoices"], week["Invoiced"], week["Payments"], week["Collected"]) == (2, "461.73", 2, "269.58")
    customers = {row["Customer"]: row for row in table(result, "By customer")}
    assert (customers["Anna Alder"]["Invoiced"], customers["Anna Alder"]["Collected"]) == ("292.15", "100.00")
    assert (customers["Resell AG"]["Invoiced"], customers["Resell AG"]["Collected"]) == ("169.58", "169.58")
    assert run("revenue", customer_kind="reseller").summary[0] == ("Invoiced", "169.58")


def check_overdue_invoices(shop):
    result = run("overdue_invoices", now=dt.datetime(2026, 12, 10, 12, 0), period="all_time")
    listing, = table(result, "Invoices")
    assert (listing["Invoice"], listing["Due"], listing["Days overdue"], listing["Balance"]) \
        == (shop["inv1"].number, "2026-12-02", 8, "192.15")
    ages = {row["Overdue by"]: row for row in table(result, "By age")}
    assert (ages["1–30 days"]["Invoices"], ages["1–30 days"]["Balance"]) == (1, "192.15")
    assert run("overdue_invoices", now=dt.datetime(2026, 12, 1, 12, 0), period="all_time").row_count == 0


def check_reseller_volume_and_turnaround(shop):
    result = run("reseller_volume")
    row, = table(result, "By reseller")
    assert (row["Reseller"], row["Orders"], row["Open"], row["Completed"], row["Median turnaround (days)"]) \
        == ("Resell AG", 2, 1, 1, "2.1")  # received 18th 09:00, completed 20th 12:00


def check_data_quality(shop):
    result = run("data_quality", period="all_time")
    orders = table(result, "Work orders without a unit")
    assert [row["Work order"] for row in orders] == [shop["wo3"].number]
    assert [row["Customer"] for row in table(result, "Customers without e-mail")] == ["Carl Clueless"]


def test_request_and_estimate_reports(shop):
    check_open_requests_by_age_and_status(shop)
    check_booking_lead_time(shop)
    check_estimate_outcomes(shop)


def test_workshop_and_money_reports(shop):
    assert str(shop["inv1"].total) == "292.15"  # 2.5 h clocked × 80.00 + fan 45.50, plus 19 % tax
    assert str(shop["inv2"].total) == "169.58" and shop["inv2"].status == "paid"  # 1.5 h × 95.00 + tax
    check_work_orders_by_stage_and_technician(shop)
    check_revenue_invoiced_and_collected(shop)
    check_overdue_invoices(shop)


def test_reseller_and_data_quality_reports(shop):
    check_reseller_volume_and_turnaround(shop)
    check_data_quality(shop)


def test_a_definition_runs_to_pdf_and_csv_and_is_emailed(shop, db):
    with at(23, 6):
        definition = reports.create_definition(
            Actor.system_actor("test"), name="Weekly revenue", kind="revenue", cron="0 7 * * 1", format="both",
            recipients=["boss@example.com"], params={"period": "last_week"})
        run_ = reports.start_scheduled(definition.id, dt.datetime(2026, 11, 23, 6, 0), "test")
        run_ = reports.execute(run_)
    assert run_.status == "succeeded" and run_.row_count == 4
    names = [f["name"] for f in run_.files]
    assert names == ["weekly-revenue-20261123-0700.pdf", "weekly-revenue-20261123-0700-by-period.csv",
                     "weekly-revenue-20261123-0700-by-customer.csv"]
    folder = reports.run_path(run_)
    rows = list(csv.reader(io.StringIO((folder / names[2]).read_text())))
    assert rows[0] == ["Customer", "Kind", "Invoices", "Invoiced", "Collected"]
    assert ["Anna Alder", "Individual", "1", "292.15", "100.00"] in rows
    text = "".join(page.extract_text() for page in PdfReader(folder / names[0]).pages)
    assert "Revenue invoiced and collected" in text and "461.73" in text and "2026-11-16 – 2026-11-22" in text
    mail = db.session.scalar(select(OutboxEmail).where(OutboxEmail.event == "report.run"))
    assert mail.to_address == "boss@example.com" and "Weekly revenue" in mail.subject
    attached = {a["filename"]: base64.b64decode(a["data"]) for a in mail.attachments}
    assert attached[names[0]] == (folder / names[0]).read_bytes()
    assert reports.start_scheduled(definition.id, dt.datetime(2026, 11, 23, 6, 0), "other") is None  # slot taken


def test_reseller_export_goes_to_the_reseller(shop, db):
    with at(23, 6):
        definition = reports.create_definition(
            Actor.system_actor("test"), name="Resell AG orders", kind="reseller_orders_csv", cron="0 6 * * 1",
            format="csv", recipients=[], params={"customer_id": shop["reseller"].id})
        run_ = reports.execute(reports.start_scheduled(definition.id, dt.datetime(2026, 11, 23, 5, 0), "test"))
    assert run_.status == "succeeded", run_.error
    assert run_.row_count == 2 and definition.customer_id == shop["reseller"].id
    content = (reports.run_path(run_) / run_.files[0]["name"]).read_text()
    parsed = list(csv.reader(io.StringIO(content)))
    assert parsed[0][0] == "Order number"
    assert sorted(row[0] for row in parsed[1:]) == [shop["wo4"].number, shop["wo5"].number]
    mail = db.session.scalar(select(OutboxEmail).where(OutboxEmail.event == "report.export"))
    assert mail.to_address == "orders@resell.example" and mail.attachments[0]["filename"].endswith(".csv")
    assert "reportdefinitionview" not in mail.body_text  # no staff links to a customer


def test_old_runs_and_their_files_are_pruned(db):
    definition = reports.create_definition(Actor.system_actor("test"), name="Quality", kind="data_quality",
                                           cron="0 7 * * *", format="csv", recipients=[], params={})
    with at(1, 7, month=8):
        old = reports.execute(reports.start_scheduled(definition.id, dt.datetime(2026, 8, 1, 5, 0), "test"))
    with at(20, 7):
        recent = reports.execute(reports.start_scheduled(definition.id, dt.datetime(2026, 11, 20, 6, 0), "test"))
    old_folder = reports.run_path(old)
    assert old_folder.is_dir()
    with at(23, 3, 30):
        assert reports.prune()["runs"] == 1  # 90 days by default
    assert not old_folder.exists() and reports.run_path(recent).is_dir()
    assert [r.id for r in db.session.scalars(select(ReportRun))] == [recent.id]


def test_a_german_reader_gets_the_report_in_german(shop, db):
    """Issue 16: title, headings, key figures and notes in German, numbers German in the PDF; the CSV keeps
    one header row (German headings) and machine-readable money."""
    from flask import current_app
    from flask_babel import force_locale

    with at(23, 6):
        definition = reports.create_definition(
            Actor.system_actor("test"), name="Wochenumsatz", kind="revenue", cron="0 7 * * 1", format="both",
            recipients=["chef@example.com"], params={"period": "last_week"})
        run_ = reports.start_scheduled(definition.id, dt.datetime(2026, 11, 23, 6, 0), "test")
        with current_app.test_request_context(), force_locale("de"):
            run_ = reports.execute(run_)
    assert run_.status == "succeeded", run_.error
    folder = reports.run_path(run_)
    names = [f["name"] for f in run_.files]
    rows = list(csv.reader(io.StringIO((folder / names[2]).read_text())))
    assert rows[0] == ["Kunde", "Art", "Rechnungen", "Berechnet", "Zahlungseingänge"]
    assert ["Anna Alder", "Privatkunde", "1", "292.15", "100.00"] in rows  # money stays 1234.50 in the CSV
    assert list(csv.reader(io.StringIO((folder / names[1]).read_text())))[0][0] == "Woche ab"
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(folder / names[0]).pages)
    for german in ("Umsatz: berechnet und eingegangen", "Nach Woche", "Nach Kunde", "Berechnet", "Gutgeschrieben",
                   "Zahlungseingänge", "Kunden mit Rechnung", "Privatkunde", "461,73", "292,15", "Erstellt am"):
        assert german in text, german
    for english in ("Revenue invoiced", "By customer", "Invoiced", "Collected", "Customers invoiced", "461.73"):
        assert english not in text, english


def test_report_words_follow_the_locale(shop):
    from flask import current_app
    from flask_babel import force_locale

    with current_app.test_request_context(), force_locale("de"):
        result = run("open_requests")
        assert result.title == "Offene Anfragen nach Alter und Status"
        assert [t.title for t in result.tables] == ["Nach Wartezeit und Status", "Älteste offene Anfragen"]
        summary = dict(result.summary)
        assert summary["Offene Anfragen"] == "3" and summary["Gebucht"] == "2" and summary["Neu"] == "1"
        assert summary["Längste Wartezeit"].endswith(" Tage") and "," in summary["Längste Wartezeit"]
        rows = {row["Waiting"]: row for row in table(result, "Nach Wartezeit und Status")}
        assert (rows["3–7 Tage"]["Neu"], rows["3–7 Tage"]["Gebucht"], rows["3–7 Tage"]["Total"]) == (1, 1, 2)
        oldest = table(result, "Älteste offene Anfragen")
        assert [row["Status"] for row in oldest] == ["Gebucht", "Gebucht", "Neu"]
        assert oldest[0]["Waiting (days)"] == "7,1"
        assert result.charts[0].title == "Offene Anfragen nach Wartezeit"
        workshop = run("work_orders")
        stages = {row["Stage"]: row["Work orders"] for row in table(workshop, "Nach Bearbeitungsstand")}
        assert stages["In Arbeit"] == 1 and stages["Abgeschlossen"] == 2
        assert "Nicht zugewiesen" in {row["Technician"] for row in table(workshop, "Nach Techniker")}
        assert dict(workshop.summary)["Gestempelte Stunden"] == "5,0"
        estimates_ = dict(run("estimate_outcomes").summary)
        assert estimates_["Freigabequote"] == "50,0 %" and estimates_["Überarbeitungen im Schnitt"] == "1,25"
    assert run("open_requests").title == "Open requests by age and status"  # English again outside


def test_a_scheduled_run_speaks_the_shops_language_in_its_files_and_mail(shop, db):
    """The scheduler has no reader: its files (kept for everyone) and its mail follow the shop's default
    language, whatever the process's default; the mail's own sentences included."""
    from app.core.settings import get_settings

    get_settings().default_language = "de"
    db.session.commit()
    with at(23, 6):
        definition = reports.create_definition(
            Actor.system_actor("test"), name="Wochenumsatz", kind="revenue", cron="0 7 * * 1", format="pdf",
            recipients=["chef@example.com"], params={"period": "last_week"})
        run_ = reports.execute(reports.start_scheduled(definition.id, dt.datetime(2026, 11, 23, 6, 0), "test"))
    assert run_.status == "succeeded", run_.error
    text = " ".join(" ".join(page.extract_text().split())
                    for page in PdfReader(reports.run_path(run_) / run_.files[0]["name"]).pages)
    assert "Umsatz: berechnet und eingegangen" in text and "461,73" in text
    mail = db.session.scalar(select(OutboxEmail).where(OutboxEmail.event == "report.run"))
    assert "Im Anhang: " in mail.body_text and "Alle Läufe: " in mail.body_text
    assert "Attached" not in mail.body_text and "All runs" not in mail.body_text
