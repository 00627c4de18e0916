"""Issue 16, item 2: money, numbers, percents and times in the reader's language (Babel), in pages, mails,
documents and charts; CSV exports and the REST API keep machine formats."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
import time_machine
from flask_babel import force_locale, refresh
from sqlalchemy import select

from app.core import formatting
from app.core.settings import get_settings
from app.documents import render_html
from app.documents.csv_export import stream_orders_csv
from app.extensions import db
from app.models import OutboxEmail
from app.reports.charts import bar_chart, line_chart
from app.services import requests
from tests.api_support import api_as
from tests.factories import CustomerFactory, ServiceLocationFactory, ServiceTypeFactory, actor, make_user
from tests.repair_shop import build, client_for, open_invoice

THURSDAY = dt.datetime(2026, 12, 3, 13, 30)  # 14:30 in Berlin


@pytest.fixture()
def shop(db, tmp_path, app):
    app.config["PORTICO_DOCUMENT_CACHE_DIR"] = str(tmp_path / "cache")
    yield build(with_logo=False)
    app.config.pop("PORTICO_DOCUMENT_CACHE_DIR", None)


@pytest.mark.parametrize("language,expected", [
    ("de", {"money": "1.234,50\u00a0€", "number": "1.234,5", "places": "2,00", "percent": "19\u00a0%",
            "percent_places": "7,50\u00a0%", "date": "03.12.2026", "long": "3. Dezember 2026",
            "full": "Donnerstag, 3. Dezember 2026", "datetime": "03.12.2026, 14:30", "time": "14:30",
            "weekday": "Donnerstag", "age": "vor 3 Tagen", "ahead": "in 2 Stunden"}),
    ("en", {"money": "€1,234.50", "number": "1,234.5", "places": "2.00", "percent": "19%",
            "percent_places": "7.50%", "date": "3 Dec 2026", "long": "3 December 2026",
            "full": "Thursday, 3 December 2026", "datetime": "3 Dec 2026, 14:30", "time": "14:30",
            "weekday": "Thursday", "age": "3 days ago", "ahead": "in 2 hours"}),
])
def test_the_helpers_speak_the_current_language(db, language, expected):
    get_settings().currency = "EUR"
    with force_locale(language):
        got = {"money": formatting.money(Decimal("1234.50")), "number": formatting.number(Decimal("1234.5")),
               "places": formatting.number(2, 2), "percent": formatting.percent(Decimal("19.00")),
               "percent_places": formatting.percent(Decimal("7.5"), 2), "date": formatting.date(THURSDAY),
               "long": formatting.date(THURSDAY, "long"), "full": formatting.date(THURSDAY, "full"),
               "datetime": formatting.datetime(THURSDAY), "time": formatting.time(THURSDAY),
               "weekday": formatting.weekday(THURSDAY),
               "age": formatting.age(THURSDAY - dt.timedelta(days=3), now=THURSDAY),
               "ahead": formatting.age(THURSDAY + dt.timedelta(hours=2), now=THURSDAY)}
    assert got == expected
    assert formatting.money(None) == "" and formatting.date(None) == ""


def test_a_time_with_its_weekday_and_zone_either_side_of_a_clock_change(db):
    """A schedule's next runs: the weekday, the day, the time and the zone's short name in the reader's
    language; a naive UTC time and an aware one read the same; late UTC is already the next day in Berlin."""
    from zoneinfo import ZoneInfo

    get_settings().time_zone = "Europe/Berlin"
    summer = dt.datetime(2026, 3, 30, 7, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    winter = dt.datetime(2026, 10, 27, 6, 0)  # naive UTC: 07:00 in Berlin
    late = dt.datetime(2026, 12, 6, 23, 30)  # Sunday 23:30 UTC: Monday 00:30 in Berlin
    with force_locale("de"):
        assert formatting.datetime(summer, "weekday_zone") == "Mo., 30.03.2026 07:00 MESZ"
        assert formatting.datetime(winter, "weekday_zone") == "Di., 27.10.2026 07:00 MEZ"
        assert formatting.datetime(late, "weekday_zone") == "Mo., 07.12.2026 00:30 MEZ"
    with force_locale("en"):
        assert formatting.datetime(summer, "weekday_zone") == "Mon, 30 Mar 2026 07:00 CEST"
        assert formatting.datetime(winter, "weekday_zone") == "Tue, 27 Oct 2026 07:00 CET"
        assert formatting.datetime(late, "weekday_zone") == "Mon, 7 Dec 2026 00:30 CET"


def test_money_follows_the_shops_currency(db):
    get_settings().currency = "USD"
    with force_locale("de"):
        assert formatting.money(Decimal("1234.5")) == "1.234,50\u00a0$"
    with force_locale("en"):
        assert formatting.money(Decimal("1234.5")) == "US$1,234.50"


def test_a_german_customers_invoice_document_is_german(shop):
    shop["plain_acct"].language = "de"
    db.session.commit()
    invoice = open_invoice(shop)
    db.session.commit()
    html = render_html("invoice", invoice)  # whoever downloads it: the customer's language
    assert formatting.money(invoice.total, locale="de") in html and "€" in html
    assert re.search(r"\d,\d\d\u00a0€", html) and not re.search(r"\d\.\d\d EUR", html)
    due = invoice.due_date
    assert f"{due.day:02d}.{due.month:02d}.{due.year}" in html  # "Fällig 17.12.2026", not 2026-12-17
    english = render_html("job_sheet", invoice.work_order)  # the workshop's copy: the reader's language (en)
    assert "1.5" in english and "1,5" not in english


def test_a_german_customer_reads_german_money_on_the_portal_and_an_english_one_english(shop):
    invoice = open_invoice(shop)
    db.session.commit()
    client = client_for(shop["customer"])
    page = client.get(f"/portal/invoices/{invoice.id}").get_data(as_text=True)
    assert formatting.money(invoice.total, locale="en") in page and "EUR" not in page
    refresh()  # the tests' one app context keeps Babel's choice between requests
    page = client.get(f"/portal/invoices/{invoice.id}", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert formatting.money(invoice.total, locale="de") in page and "EUR" not in page
    assert "1,5" in page or "1,50" in page  # the labour line's hours with a decimal comma


def test_a_proposed_time_is_written_in_the_customers_language_in_the_mail(db):
    """The bug: "Thursday 03 December 2026" inside a German sentence. The staff's proposal is in English (the
    staff's request), the date in it is the German customer's."""
    with time_machine.travel(dt.datetime(2027, 2, 28, 11, 0, tzinfo=dt.UTC), tick=False):
        customer = CustomerFactory(name="Erika Muster", email="erika@example.test", language="de")
        erika = make_user("Customer", customer=customer, email="erika@example.test")
        advisor = make_user("Advisor")
        location = ServiceLocationFactory(name="Werkstatt", slot_capacity=2)
        kind = ServiceTypeFactory(name="Inspektion")
        db.session.commit()
        req = requests.submit(actor(erika), service_type_id=kind.id, service_location_id=location.id,
                              subject="Van", preferred_date=dt.date(2027, 3, 1), preferred_slot="morning")
        requests.perform(req, "propose", actor(advisor), start="2027-03-04T09:00")
        db.session.commit()
    mail = db.session.scalar(select(OutboxEmail).where(OutboxEmail.event == "request.time_proposed"))
    assert mail is not None
    assert "Do., 4. März 2027, 09:00" in mail.body_text and "Thu" not in mail.body_text


def _ticks(svg: str) -> list[str]:
    return re.findall(r">([^<>]*\d[^<>]*)</text>", svg) or re.findall(r"<!-- ([^>]*\d[^>]*) -->", svg)


def test_chart_ticks_follow_the_reader(db):
    get_settings().currency = "EUR"
    with force_locale("de"):
        german = bar_chart("Umsatz", ["A", "B"], {"Netto": [12500, 3000]}, money=True).svg
        days = line_chart("Vorlauf", [dt.date(2026, 12, 1), dt.date(2026, 12, 8)], {"h": [1500, 2500]}).svg
    with force_locale("en"):
        english = bar_chart("Revenue", ["A", "B"], {"Net": [12500, 3000]}, money=True).svg
        counts = bar_chart("Orders", ["A", "B"], {"Orders": [12500, 3000]}).svg
    assert "12.000\u00a0€" in _ticks(german), _ticks(german)
    assert "€12,000" in _ticks(english), _ticks(english)
    assert "12,000" in _ticks(counts) and "€" not in "".join(_ticks(counts))
    assert "2.500" in _ticks(days) and any("Dez." in tick for tick in _ticks(days)), _ticks(days)


def test_the_csv_export_and_the_api_keep_machine_formats(shop, client):
    """A German reader's CSV and API answers: dot decimals, ISO dates, the currency code, no "€"."""
    shop["plain_acct"].language = "de"
    invoice = open_invoice(shop)
    db.session.commit()
    with force_locale("de"):
        text = "".join(stream_orders_csv(shop["staff_actor"])).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    row = next(r for r in rows if invoice.work_order.number in r)  # the headers are the reader's words
    assert str(invoice.total) in row and "EUR" in row  # 285.60, not 285,60 €
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", cell) for cell in row)  # ISO 8601
    assert "€" not in text
    api = api_as(client, shop["reseller"])
    client.get("/lang/de")
    answer = api.get("/work_order/export.csv").get_data(as_text=True)
    assert "€" not in answer and not re.search(r"\d,\d\d(,|$)", answer.replace('"', ""))


def test_a_reports_pdf_table_follows_the_reader_and_its_csv_stays_plain(tmp_path):
    import pandas as pd

    from app.reports.base import Table
    from app.reports.render import table_html, write_csv

    table = Table("Revenue", pd.DataFrame({"Customer": ["Erika"], "Orders": [12500], "Net": [123450]}),
                  money=("Net",))
    with force_locale("de"):
        german = str(table_html(table))
        write_csv(table, tmp_path / "revenue.csv")
    with force_locale("en"):
        english = str(table_html(table))
    assert "12.500" in german and "1.234,50" in german
    assert "12,500" in english and "1,234.50" in english
    assert (tmp_path / "revenue.csv").read_text(encoding="utf-8-sig").splitlines()[1] == "Erika,12500,1234.50"
