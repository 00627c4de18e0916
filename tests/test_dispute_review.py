"""Dispute review: the list of disputed estimates (oldest first, acknowledged or not), one estimate's lines,
log and actions (acknowledge, note, revise, resubmit) through the screens, refusals, roles; and the diff."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import select

from app.core.settings import get_settings
from app.models import DisputeNote, Estimate, Notification
from app.services import estimates
from app.services.estimate_diff import diff, snapshot, summary
from tests.factories import CustomerFactory, actor, make_user

LINES = [
    {"description": "Replace compressor", "hours": "2.50", "rate": "80.00",
     "parts": [{"part_number": "C-1", "description": "Compressor", "quantity": "1", "unit_price": "300.00"}]},
    {"description": "Leak test", "hours": "0.50", "rate": "80.00", "parts": []},
]


def disputed_estimate(staff, customer_actor, customer_id, note="Compressor price?"):
    est = estimates.create(staff, customer_id=customer_id, labour_lines=LINES)
    estimates.perform(est, "submit", staff)
    part = est.labour_lines[0].parts[0]
    estimates.perform(est, "dispute", customer_actor, note="Too dear overall",
                      lines=[{"kind": "part", "id": part.id, "note": note}])
    return est


@pytest.fixture()
def shop(db):
    get_settings().tax_rate = Decimal("10.00")
    customer = CustomerFactory(name="Dispute Customer")
    advisor, tech = make_user("Advisor"), make_user("Technician")
    portal = make_user("Customer", customer=customer)
    db.session.commit()
    staff, jane = actor(advisor), actor(portal)
    est = disputed_estimate(staff, jane, customer.id)
    return dict(customer=customer, advisor=advisor, tech=tech, portal=portal, staff=staff, jane=jane, est=est)


def flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for _category, message in session.get("_flashes", [])]


def listed(html: str) -> list[str]:
    table = html[html.index('id="disputes"'):html.index("</table>", html.index('id="disputes"'))]
    return re.findall(r">(EST-\d+(?:-R\d+)?)</a>", table)


# ---------------------------------------------------------------- the list
def test_menu_and_list_oldest_first_acknowledged_or_not(shop, login_as, db):
    start = dt.datetime(2030, 1, 1, 9, 0)
    with time_machine.travel(start, tick=False):
        older = disputed_estimate(shop["staff"], shop["jane"], shop["customer"].id)
    with time_machine.travel(start + dt.timedelta(days=1), tick=False):
        newer = disputed_estimate(shop["staff"], shop["jane"], shop["customer"].id)
    estimates.perform(newer, "acknowledge", shop["staff"])
    draft = estimates.create(shop["staff"], customer_id=shop["customer"].id, labour_lines=LINES)
    client = login_as(shop["advisor"])
    home = client.get("/estimateview/list/").text
    assert "Dispute review" in home and 'href="/disputereview/"' in home
    html = client.get("/disputereview/").text
    # shop["est"] was disputed now (2026), the others in 2030: the longest waiting comes first
    assert listed(html) == [shop["est"].number, older.number, newer.number]
    assert draft.number not in listed(html)
    assert "Not yet" in html
    assert listed(client.get("/disputereview/?acknowledged=yes").text) == [newer.number]
    assert listed(client.get("/disputereview/?acknowledged=no").text) == [shop["est"].number, older.number]


# ---------------------------------------------------------------- one estimate
def test_page_highlights_disputed_lines_and_shows_the_log(shop, login_as):
    client = login_as(shop["advisor"])
    est = shop["est"]
    html = client.get(f"/disputereview/{est.id}").text
    row = re.search(r'<tr class="portico-part danger portico-disputed">(.*?)</tr>', html, re.S).group(1)
    assert "Compressor" in row and "Compressor price?" in row
    assert html.count("portico-disputed") == 1  # the labour lines are not disputed
    log = html[html.index('id="dispute-log"'):]
    assert "Too dear overall" in log and "Customer" in log and shop["portal"].username in log
    assert "Part Compressor" in log  # the line the note is about, by name
    assert 'id="acknowledge"' in html and 'id="revise"' in html and 'id="resubmit"' not in html


def test_acknowledge_then_note(shop, login_as, db):
    client = login_as(shop["advisor"])
    est = shop["est"]
    response = client.post(f"/disputereview/{est.id}/acknowledge", data={"expected_version": est.version})
    assert response.headers["Location"].endswith(f"/disputereview/{est.id}")
    db.session.refresh(est)
    assert est.status == "disputed" and est.acknowledged_at is not None
    assert any("dispute acknowledged" in m for m in flashes(client))
    assert db.session.scalar(select(Notification).where(Notification.event == "estimate.acknowledged"))
    html = client.get(f"/disputereview/{est.id}").text
    assert 'id="acknowledge"' not in html and "Acknowledged" in html
    client.post(f"/disputereview/{est.id}/notes", data={"text": "We will check the supplier's price."})
    note = db.session.scalar(select(DisputeNote).where(DisputeNote.side == "staff"))
    assert note.text == "We will check the supplier's price." and note.author_id == shop["advisor"].id
    assert "We will check the supplier" in client.get(f"/disputereview/{est.id}").text


def test_an_empty_note_is_refused_at_the_field(shop, login_as, db):
    client = login_as(shop["advisor"])
    est = shop["est"]
    response = client.post(f"/disputereview/{est.id}/notes", data={"text": "   "})
    assert response.status_code == 422
    field = response.text[response.text.index('id="note-text"') - 300:response.text.index('id="add-note"')]
    assert "has-error" in field and "Write the note." in field
    assert db.session.scalar(select(DisputeNote).where(DisputeNote.side == "staff")) is None


def test_refusals_name_the_current_state(shop, login_as, db):
    client = login_as(shop["advisor"])
    draft = estimates.create(shop["staff"], customer_id=shop["customer"].id, labour_lines=LINES)
    client.post(f"/disputereview/{draft.id}/acknowledge", data={})
    assert any("Cannot acknowledge this estimate: it is draft." in m for m in flashes(client))
    client.post(f"/disputereview/{draft.id}/revise", data={})
    assert any("Cannot revise this estimate: it is draft." in m for m in flashes(client))
    estimates.perform(draft, "submit", shop["staff"])
    client.post(f"/disputereview/{draft.id}/submit", data={})
    assert any("Cannot submit this estimate: it is sent." in m for m in flashes(client))
    db.session.refresh(draft)
    assert draft.status == "sent"
    assert client.post(f"/disputereview/{draft.id}/approve", data={}).status_code == 404  # not a staff action here


def test_a_stale_page_is_refused(shop, login_as, db):
    client = login_as(shop["advisor"])
    est = shop["est"]
    opened = est.version
    estimates.perform(est, "acknowledge", shop["staff"])
    client.post(f"/disputereview/{est.id}/revise", data={"expected_version": opened})
    assert any("changed by someone else" in m for m in flashes(client))
    db.session.refresh(est)
    assert est.status == "disputed"


def test_revise_shows_the_diff_then_edit_and_resubmit(shop, login_as, db):
    client = login_as(shop["advisor"])
    est = shop["est"]
    response = client.post(f"/disputereview/{est.id}/revise", data={"expected_version": est.version})
    r2 = db.session.scalar(select(Estimate).where(Estimate.previous_id == est.id))
    assert response.headers["Location"].endswith(f"/disputereview/{r2.id}")
    db.session.refresh(est)
    assert est.status == "superseded" and r2.status == "draft" and r2.display_number.endswith("-R2")
    html = client.get(f"/disputereview/{r2.id}").text
    assert f"Changes from {est.display_number} to {r2.display_number}" in html and "none yet" in html
    assert f'href="/estimatebuilder/{r2.id}?back=review"' in html and 'id="resubmit"' in html
    assert "Too dear overall" in html  # the log follows the revisions
    assert r2.number in client.get("/disputereview/").text  # listed as revised, not sent yet

    # cheaper compressor, one more part, leak test dropped — through the builder
    form = {"op": "save", "back": "review", "expected_version": r2.version,
            "labour-0-description": "Replace compressor", "labour-0-hours": "2.50", "labour-0-rate": "80.00",
            "labour-0-parts-0-part_number": "C-1", "labour-0-parts-0-description": "Compressor",
            "labour-0-parts-0-quantity": "1", "labour-0-parts-0-unit_price": "250.00",
            "labour-0-parts-1-part_number": "O-1", "labour-0-parts-1-description": "O-ring",
            "labour-0-parts-1-quantity": "2", "labour-0-parts-1-unit_price": "1.50"}
    client.post(f"/estimatebuilder/{r2.id}", data=form)
    html = client.get(f"/disputereview/{r2.id}").text
    statuses = re.findall(r'data-status="(\w+)" data-kind="(\w+)"', html)
    assert statuses == [("changed", "labour"), ("changed", "part"), ("added", "part"), ("removed", "labour")]
    assert "unit price: <del>300.00</del> → <ins>250.00</ins>" in html
    assert "disputed: Compressor price?" in html  # the old line's dispute, beside its change
    totals = html[html.index('data-total="total"'):html.index("</tr>", html.index('data-total="total"'))]
    assert "594.00" in totals and "498.30" in totals and "-95.70" in totals  # 540 + 10 % → 453 + 10 %

    response = client.post(f"/disputereview/{r2.id}/submit", data={"expected_version": r2.version})
    assert response.headers["Location"].endswith("/disputereview/")
    db.session.refresh(r2)
    assert r2.status == "sent"
    assert any("sent to the customer again" in m for m in flashes(client))


@pytest.mark.parametrize("role", ["Technician", "Customer"])
def test_other_roles_get_403(shop, login_as, db, role):
    client = login_as(shop["tech"] if role == "Technician" else shop["portal"])
    est = shop["est"]
    assert client.get("/disputereview/").status_code == 403
    assert client.get(f"/disputereview/{est.id}").status_code == 403
    assert client.post(f"/disputereview/{est.id}/acknowledge", data={}).status_code == 403
    assert client.post(f"/disputereview/{est.id}/notes", data={"text": "x"}).status_code == 403
    db.session.refresh(est)
    assert est.acknowledged_at is None


def test_anonymous_goes_to_login(client, shop):
    response = client.get("/disputereview/")
    assert response.status_code == 302 and "/login/" in response.headers["Location"]


# ---------------------------------------------------------------- the diff itself
def _snap(lines, label="A"):
    """A snapshot-shaped dict from builder-style lines (strings → Decimal)."""
    def dec(value):
        return Decimal(value)

    labour = []
    for line in lines:
        parts = [{"part_number": p.get("part_number", ""), "description": p["description"],
                  "quantity": dec(p["quantity"]), "unit_price": dec(p["unit_price"]),
                  "amount": dec(p["quantity"]) * dec(p["unit_price"]), "disputed": False} for p in line["parts"]]
        labour.append({"description": line["description"], "hours": dec(line["hours"]), "rate": dec(line["rate"]),
                       "amount": dec(line["hours"]) * dec(line["rate"]), "disputed": False, "parts": parts})
    subtotal = sum((x["amount"] + sum((p["amount"] for p in x["parts"]), Decimal(0)) for x in labour), Decimal(0))
    return {"label": label, "labour_lines": labour, "subtotal": subtotal, "tax": Decimal("0"), "total": subtotal}


def test_diff_of_the_same_lines_is_empty():
    result = diff(_snap(LINES), _snap(LINES, "B"))
    assert not result.changed and [e.status for e in result.all_lines] == ["unchanged"] * 3
    assert summary(result) == "no change"


def test_diff_pairs_by_description_then_position_and_reports_fields():
    new = [dict(LINES[1], hours="1.00"), dict(LINES[0], description="Swap compressor", parts=[]),
           {"description": "Refill gas", "hours": "0.25", "rate": "80.00", "parts": []}]
    result = diff(_snap(LINES), _snap(new, "B"))
    shape = [(e.kind, e.status, e.description) for e in result.all_lines]
    assert shape == [("labour", "changed", "Leak test"), ("labour", "changed", "Swap compressor"),
                     ("part", "removed", "Compressor"), ("labour", "added", "Refill gas")]
    leak = result.lines[0]
    assert [(c.field, c.old, c.new) for c in leak.changes] == [
        ("hours", Decimal("0.50"), Decimal("1.00")), ("amount", Decimal("40.0000"), Decimal("80.0000"))]
    assert [c.field for c in result.lines[1].changes] == ["description"]  # reworded: same hours and rate
    assert result.reordered  # "Leak test" moved above the compressor line
    total = {t.field: t for t in result.totals}["total"]
    assert (total.old, total.new, total.delta) == (Decimal("540.0000"), Decimal("300.0000"), Decimal("-240.0000"))
    data = result.to_dict()
    assert data["totals"]["total"] == {"old": "540.00", "new": "300.00", "delta": "-240.00"}
    assert data["lines"][1]["parts"][0]["status"] == "removed" and data["lines"][2]["status"] == "added"
    assert summary(result).startswith('changed line "Leak test" (hours 0.50 → 1.00); changed line "Swap compressor"')


def test_diff_of_real_revisions(shop, db):
    est = shop["est"]
    r2 = estimates.perform(est, "revise", shop["staff"])
    assert not diff(est, r2).changed and snapshot(r2)["label"] == r2.display_number
    estimates.perform(r2, "edit", shop["staff"], labour_lines=[LINES[0]])
    result = diff(est, r2)
    assert [e.status for e in result.lines] == ["unchanged", "removed"]
    assert result.lines[0].parts[0].was_disputed and result.lines[0].parts[0].dispute_note == "Compressor price?"
    assert diff(None, r2).lines[0].status == "added"


def test_review_forms_carry_a_working_csrf_token(shop, login_as, app, monkeypatch, db):
    client = login_as(shop["advisor"])
    est = shop["est"]
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert client.post(f"/disputereview/{est.id}/acknowledge", data={}).status_code == 400
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(f"/disputereview/{est.id}").text).group(1)
    response = client.post(f"/disputereview/{est.id}/acknowledge", data={"csrf_token": token})
    assert response.status_code == 302
    db.session.refresh(est)
    assert est.acknowledged_at is not None


# ---------------------------------------------------------------- in German (issue 16)
def test_the_dispute_pages_and_the_builder_speak_german(shop, login_as, db):
    """An advisor who chose German sees no catalogue text in English on the list, the review (with the diff of a
    revision), the builder (saved, unsaved, refused) or its flash, and German numbers: hours 2,5, money 1,50 €."""
    from tests.test_every_page_german import english_msgids, read

    english = english_msgids()

    def german(html: str) -> str:
        page = read(html)
        left = sorted({t for t in page.texts + page.attributes if t in english})
        assert not left, left
        return html

    client = login_as(shop["advisor"])
    client.get("/lang/de")
    est = shop["est"]
    html = german(client.get("/disputereview/").text)
    assert "Einspruchsprüfung" in html and "Noch nicht" in html and "Alle beanstandeten" in html
    html = german(client.get(f"/disputereview/{est.id}").text)
    assert "Nicht bestätigt" in html and "Notiz des Kunden" in html and ">2,5<" in html and "Kunde" in html
    client.post(f"/disputereview/{est.id}/revise", data={"expected_version": est.version})
    r2 = db.session.scalar(select(Estimate).where(Estimate.previous_id == est.id))
    html = german(client.get(f"/estimatebuilder/{r2.id}?back=review").text)
    assert f"Positionen des Kostenvoranschlags {r2.display_number}" in html
    assert 'title="Diese Arbeitsposition mit ihren Teilen entfernen"' in html and 'data-decimal=","' in html
    form = {"op": "add_part:1", "back": "review", "expected_version": r2.version,
            "labour-0-description": "Replace compressor", "labour-0-hours": "2,5", "labour-0-rate": "80",
            "labour-0-parts-0-part_number": "C-1", "labour-0-parts-0-description": "Compressor",
            "labour-0-parts-0-quantity": "1", "labour-0-parts-0-unit_price": "250,00",
            "labour-1-description": "Leak test", "labour-1-hours": "0,5", "labour-1-rate": "80"}
    html = german(client.post(f"/estimatebuilder/{r2.id}", data=form).text)
    assert "Noch nicht gespeichert" in html and "(Vorschau)" in html and "Teil unter „Leak test“" in html
    html = german(client.post(f"/estimatebuilder/{r2.id}", data=dict(form, op="save",
                                                                    **{"labour-1-hours": "10000"})).text)
    assert "Zu groß: höchstens 9.999,99." in html and "Es wurde nichts gespeichert." in html
    client.post(f"/estimatebuilder/{r2.id}", data=dict(form, op="save"))
    html = german(client.get(f"/disputereview/{r2.id}").text)
    assert f"Änderungen von {est.display_number} zu {r2.display_number}" in html
    assert "Stückpreis: <del>300,00</del> → <ins>250,00</ins>" in html and "beanstandet: Compressor price?" in html
    assert ">Änderung<" in html and ">geändert<" in html and "Erneut an den Kunden senden" in html
    client.get(f"/estimatebuilder/{est.id}")  # superseded: only a draft's lines can be edited
    assert any("ist ersetzt: Nur die Positionen eines Entwurfs" in m for m in flashes(client))
