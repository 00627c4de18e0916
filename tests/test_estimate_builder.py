"""The estimate builder: lines with parts edited on one page, saved through estimates.set_lines (validated per
field, the typing kept), reordering, stale forms refused, submit, audit, and who may use it."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.core.settings import get_settings
from app.models import AuditEvent, Estimate, Notification
from app.services import estimates, requests
from tests.factories import CustomerFactory, ServiceTypeFactory, actor, make_user, tomorrow

LINES = [
    {"description": "Replace compressor", "hours": "2.50", "rate": "80.00",
     "parts": [{"part_number": "C-1", "description": "Compressor", "quantity": "1", "unit_price": "300.00"},
               {"part_number": "G-2", "description": "Gasket", "quantity": "2", "unit_price": "5.00"}]},
    {"description": "Leak test", "hours": "0.50", "rate": "80.00", "parts": []},
]


@pytest.fixture()
def shop(db):
    get_settings().tax_rate = Decimal("19.00")
    customer = CustomerFactory(name="Builder Customer")
    advisor, tech = make_user("Advisor"), make_user("Technician")
    portal = make_user("Customer", customer=customer)
    db.session.commit()
    staff = actor(advisor)
    est = estimates.create(staff, customer_id=customer.id, labour_lines=LINES)
    return dict(customer=customer, advisor=advisor, tech=tech, portal=portal, staff=staff, est=est)


def form_of(lines, version=None, op="save", **extra) -> dict:
    """The builder's form fields for ``lines`` (as the page names them)."""
    data = {"op": op, **extra}
    if version is not None:
        data["expected_version"] = str(version)
    for i, line in enumerate(lines):
        for name in ("description", "hours", "rate"):
            data[f"labour-{i}-{name}"] = line.get(name, "")
        for j, part in enumerate(line.get("parts", [])):
            for name in ("part_number", "description", "quantity", "unit_price"):
                data[f"labour-{i}-parts-{j}-{name}"] = part.get(name, "")
    return data


def flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for _category, message in session.get("_flashes", [])]


def descriptions(html: str) -> list[str]:
    return re.findall(r'name="labour-\d+-description" value="([^"]*)"', html)


def test_show_page_links_to_the_builder_which_shows_the_lines(shop, login_as):
    client = login_as(shop["advisor"])
    est = shop["est"]
    show = client.get(f"/estimateview/show/{est.id}").text
    assert f'href="/estimatebuilder/{est.id}"' in show and "Edit lines" in show
    page = client.get(f"/estimatebuilder/{est.id}")
    assert page.status_code == 200
    assert descriptions(page.text) == ["Replace compressor", "Leak test"]
    assert 'name="labour-0-parts-1-description" value="Gasket"' in page.text
    assert f'name="expected_version" value="{est.version}"' in page.text
    # 2.5 h × 80 + 300 + 2 × 5 + 0.5 h × 80 = 550.00, 19 % tax
    assert "550.00" in page.text and "104.50" in page.text and "654.50" in page.text
    assert est.subtotal == Decimal("550.00") and est.tax == Decimal("104.50") and est.total == Decimal("654.50")


def test_saving_goes_through_set_lines_recomputes_and_audits(shop, login_as, db):
    client = login_as(shop["advisor"])
    est = shop["est"]
    changed = [dict(LINES[0], hours="3.00"), LINES[1]]
    response = client.post(f"/estimatebuilder/{est.id}", data=form_of(changed, est.version))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/estimatebuilder/{est.id}")
    db.session.refresh(est)
    assert est.labour_lines[0].hours == Decimal("3.00")
    assert est.subtotal == Decimal("590.00") and est.total == Decimal("702.10")
    assert any("lines saved" in m for m in flashes(client))
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_id == est.id,
                                                       AuditEvent.action == "edit lines"))
    assert audit.actor_label == shop["advisor"].username
    assert 'line "Replace compressor" (hours 2.50 → 3.00)' in audit.reason and "total 654.50 → 702.10" in audit.reason
    history = client.get(f"/estimateview/show/{est.id}").text
    assert "Edit lines" in history  # the action in words


def test_invalid_fields_come_back_at_the_field_with_everything_typed(shop, login_as, db):
    client = login_as(shop["advisor"])
    est = shop["est"]
    version = est.version
    bad = [dict(LINES[0], hours="-1", rate="12.345",
                parts=[dict(LINES[0]["parts"][0], quantity="0"), dict(LINES[0]["parts"][1], unit_price="abc")]),
           dict(LINES[1], description="")]
    response = client.post(f"/estimatebuilder/{est.id}", data=form_of(bad, version))
    assert response.status_code == 422
    html = response.text
    for message in ("Cannot be negative.", "Use at most two decimals.", "Must be more than zero.",
                    "Enter a number such as 1,234.50.", "Describe the work."):
        assert message in html
    # the typing is kept, exactly
    assert 'name="labour-0-hours" value="-1"' in html and 'name="labour-0-rate" value="12.345"' in html
    assert 'name="labour-0-parts-1-unit_price" value="abc"' in html
    assert 'name="labour-1-hours" value="0.50"' in html
    # the error sits with its field
    hours_group = html[html.index('name="labour-0-hours"') - 200: html.index('name="labour-0-hours"') + 400]
    assert "has-error" in hours_group and "Cannot be negative." in hours_group
    db.session.refresh(est)
    assert est.version == version and est.labour_lines[0].hours == Decimal("2.50")


def test_rows_are_added_moved_and_removed_without_saving(shop, login_as, db):
    client = login_as(shop["advisor"])
    est = shop["est"]
    version = est.version
    url = f"/estimatebuilder/{est.id}"
    typed = [dict(LINES[0], description="Replace compressor (typed)"), LINES[1]]
    html = client.post(url, data=form_of(typed, version, op="down:0")).text
    assert descriptions(html) == ["Leak test", "Replace compressor (typed)"]
    assert "Not saved yet" in html
    html = client.post(url, data=form_of(typed, version, op="add_labour")).text
    assert descriptions(html) == ["Replace compressor (typed)", "Leak test", ""]
    assert f'name="labour-2-rate" value="{get_settings().labour_rate:.2f}"' in html  # the shop's labour rate
    html = client.post(url, data=form_of(typed, version, op="add_part:1")).text
    assert 'name="labour-1-parts-0-quantity" value="1"' in html
    html = client.post(url, data=form_of(typed, version, op="part_up:0:1")).text
    assert html.index('value="Gasket"') < html.index('value="Compressor"')
    html = client.post(url, data=form_of(typed, version, op="part_remove:0:0")).text
    assert 'value="Compressor"' not in html and 'value="Gasket"' in html
    html = client.post(url, data=form_of(typed, version, op="remove:0")).text  # its parts go with it
    assert descriptions(html) == ["Leak test"] and 'value="Gasket"' not in html
    assert f'name="expected_version" value="{version}"' in html
    db.session.refresh(est)
    assert est.version == version and [line.description for line in est.labour_lines] == [
        "Replace compressor", "Leak test"]


def test_reordered_lines_are_saved_in_their_new_order(shop, login_as, db):
    client = login_as(shop["advisor"])
    est = shop["est"]
    client.post(f"/estimatebuilder/{est.id}", data=form_of([LINES[1], LINES[0]], est.version))
    db.session.refresh(est)
    assert [(line.position, line.description) for line in est.labour_lines] == [
        (0, "Leak test"), (1, "Replace compressor")]
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "edit lines"))
    assert audit.reason == "lines reordered"


def test_blank_rows_are_dropped_and_a_part_needs_its_labour_line(shop, login_as, db):
    client = login_as(shop["advisor"])
    est = shop["est"]
    blank_labour = {"description": "", "hours": "", "rate": "95.00",
                    "parts": [{"part_number": "", "description": "", "quantity": "1", "unit_price": ""}]}
    client.post(f"/estimatebuilder/{est.id}", data=form_of([LINES[1], blank_labour], est.version))
    db.session.refresh(est)
    assert [line.description for line in est.labour_lines] == ["Leak test"]
    # a part typed with no labour line above it: the labour line is required, nothing is saved
    orphan = {"labour-0-parts-0-description": "Loose part", "labour-0-parts-0-quantity": "1",
              "labour-0-parts-0-unit_price": "9.00", "expected_version": str(est.version), "op": "save"}
    response = client.post(f"/estimatebuilder/{est.id}", data=orphan)
    assert response.status_code == 422 and "Describe the work." in response.text
    assert 'value="Loose part"' in response.text
    db.session.refresh(est)
    assert [line.description for line in est.labour_lines] == ["Leak test"]


def test_a_stale_form_is_refused_not_overwritten(shop, login_as, db):
    client = login_as(shop["advisor"])
    est = shop["est"]
    opened = est.version
    estimates.perform(est, "edit", shop["staff"], labour_lines=[dict(LINES[1], description="Someone else's line")])
    response = client.post(f"/estimatebuilder/{est.id}", data=form_of([dict(LINES[0], description="Mine")], opened))
    assert response.status_code == 409
    assert "changed by someone else" in response.text and 'value="Mine"' in response.text
    db.session.refresh(est)
    assert [line.description for line in est.labour_lines] == ["Someone else's line"]


def test_a_sent_estimate_cannot_be_edited(shop, login_as, db):
    client = login_as(shop["advisor"])
    est = shop["est"]
    opened = est.version
    response = client.get(f"/estimatebuilder/{est.id}")  # still a draft: opens
    assert response.status_code == 200
    estimates.perform(est, "submit", shop["staff"])
    response = client.post(f"/estimatebuilder/{est.id}", data=form_of([dict(LINES[0], hours="9")], est.version))
    assert response.status_code == 409 and "Cannot edit this estimate: it is sent." in response.text
    assert 'name="labour-0-hours" value="9"' in response.text
    response = client.post(f"/estimatebuilder/{est.id}", data=form_of(LINES, opened))
    assert response.status_code == 409  # stale as well
    response = client.get(f"/estimatebuilder/{est.id}")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/estimateview/show/{est.id}")
    assert any("is sent: only a draft's lines can be edited" in m for m in flashes(client))


def test_save_and_send_submits_to_the_customer(shop, login_as, db):
    client = login_as(shop["advisor"])
    est = shop["est"]
    response = client.post(f"/estimatebuilder/{est.id}", data=form_of(LINES, est.version, op="submit"))
    assert response.headers["Location"].endswith(f"/estimateview/show/{est.id}")
    db.session.refresh(est)
    assert est.status == "sent" and est.sent_at is not None
    assert any("sent to the customer" in m for m in flashes(client))
    note = db.session.scalar(select(Notification).where(Notification.event == "estimate.sent"))
    assert note.customer_id == shop["customer"].id


def test_an_estimate_without_labour_cannot_be_sent(shop, login_as, db):
    client = login_as(shop["advisor"])
    est = shop["est"]
    response = client.post(f"/estimatebuilder/{est.id}", data=form_of([], est.version, op="submit"))
    assert response.status_code == 422
    assert "Add at least one labour line before sending the estimate." in response.text
    db.session.refresh(est)
    assert est.status == "draft" and est.labour_lines == []


@pytest.mark.parametrize("role", ["Technician", "Customer"])
def test_roles_without_estimates_get_403_and_change_nothing(shop, login_as, db, role):
    user = shop["tech"] if role == "Technician" else shop["portal"]
    client = login_as(user)
    est = shop["est"]
    assert client.get(f"/estimatebuilder/{est.id}").status_code == 403
    response = client.post(f"/estimatebuilder/{est.id}", data=form_of([LINES[1]], est.version))
    assert response.status_code == 403
    db.session.refresh(est)
    assert len(est.labour_lines) == 2


def test_anonymous_is_sent_to_login(shop, client):
    response = client.get(f"/estimatebuilder/{shop['est'].id}")
    assert response.status_code == 302 and "/login/" in response.headers["Location"]


def test_unknown_estimate_is_404(shop, login_as):
    assert login_as(shop["advisor"]).get("/estimatebuilder/999999").status_code == 404


def test_a_confirmed_request_opens_its_new_estimate_in_the_builder(shop, login_as, db):
    client = login_as(shop["advisor"])
    req = requests.submit(shop["staff"], customer_id=shop["customer"].id, service_type_id=ServiceTypeFactory().id,
                          subject="Needs a quote", preferred_date=tomorrow(), preferred_slot="morning")
    requests.perform(req, "confirm", shop["staff"],
                     start=dt.datetime.combine(tomorrow(), dt.time(9, 0)))
    response = client.post(f"/servicerequestview/transition/{req.id}/estimate", data={})
    est = db.session.scalar(select(Estimate).where(Estimate.service_request_id == req.id))
    assert est.status == "draft"
    assert response.headers["Location"].endswith(f"/estimatebuilder/{est.id}")


def test_a_new_estimate_for_a_customer_goes_to_the_builder(shop, login_as, db):
    client = login_as(shop["advisor"])
    response = client.post("/estimateview/add", data={"customer": shop["customer"].id, "note": "Direct"})
    est = db.session.scalar(select(Estimate).where(Estimate.note == "Direct"))
    assert est.status == "draft" and est.number.startswith("EST-")
    assert response.headers["Location"].endswith(f"/estimatebuilder/{est.id}")


def test_set_lines_audits_changes_only(shop, db):
    est = shop["est"]
    version = est.version
    estimates.perform(est, "edit", shop["staff"], labour_lines=LINES)  # the same lines again: nothing to record
    assert est.version == version
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "edit lines")) is None
    estimates.perform(est, "edit", shop["staff"], labour_lines=[LINES[0], dict(LINES[1], description="Pressure test")])
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "edit lines"))
    assert est.version == version + 1
    assert audit.from_status == audit.to_status == "draft"
    assert audit.reason.startswith('changed line "Pressure test" (description Leak test → Pressure test)')


def test_numbers_too_large_to_store_are_refused_with_the_other_errors(shop, login_as, db):
    client = login_as(shop["advisor"])
    est = shop["est"]
    huge = [dict(LINES[0], hours="10000", parts=[dict(LINES[0]["parts"][0], unit_price="100000")]),
            dict(LINES[1], hours="1e999999", description="")]
    response = client.post(f"/estimatebuilder/{est.id}", data=form_of(huge, est.version))
    assert response.status_code == 422
    assert "Too large: at most 9,999.99." in response.text and "Too large: at most 99,999.99." in response.text
    assert "Describe the work." in response.text  # checked in the same round
    assert "Enter a number such as 1,234.50." in response.text  # exponents are not how people type hours
    assert 'name="labour-0-hours" value="10000"' in response.text
    assert 'name="labour-1-hours" value="1e999999"' in response.text
    many = [dict(LINES[1], hours="9999.99", rate="99999.99") for _ in range(20)]
    response = client.post(f"/estimatebuilder/{est.id}", data=form_of(many, est.version))
    assert response.status_code == 422 and "The estimate&#39;s total is too large." in response.text
    db.session.refresh(est)
    assert est.total == Decimal("654.50")


def test_the_builder_form_carries_a_working_csrf_token(shop, login_as, app, monkeypatch, db):
    client = login_as(shop["advisor"])
    est = shop["est"]
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    data = form_of([LINES[1]], est.version)
    assert client.post(f"/estimatebuilder/{est.id}", data=data).status_code == 400
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(f"/estimatebuilder/{est.id}").text).group(1)
    assert client.post(f"/estimatebuilder/{est.id}", data={**data, "csrf_token": token}).status_code == 302
    db.session.refresh(est)
    assert [line.description for line in est.labour_lines] == ["Leak test"]


def test_german_numbers_are_read_and_shown_with_a_decimal_comma(shop, login_as, db):
    """Issue 16: "1,5" hours on a German page is 1.5 h; what reads two ways is refused with the typing kept."""
    client = login_as(shop["advisor"])
    client.get("/lang/de")
    est = shop["est"]
    german = [dict(LINES[0], hours="1,5", rate="1.080,00"), dict(LINES[1], hours="0,5")]
    response = client.post(f"/estimatebuilder/{est.id}", data=form_of(german, est.version))
    assert response.status_code == 302, response.text
    db.session.refresh(est)
    assert est.labour_lines[0].hours == Decimal("1.50") and est.labour_lines[0].rate == Decimal("1080.00")
    assert est.labour_lines[1].hours == Decimal("0.50")
    page = client.get(f"/estimatebuilder/{est.id}").text
    assert 'name="labour-0-hours" value="1,50"' in page and 'name="labour-0-rate" value="1080,00"' in page

    ambiguous = [dict(LINES[0], hours="1.234"), LINES[1]]
    response = client.post(f"/estimatebuilder/{est.id}", data=form_of(ambiguous, est.version))
    assert response.status_code == 422
    assert 'name="labour-0-hours" value="1.234"' in response.text
    assert "1.234 lässt sich zweifach lesen: schreiben Sie 1234 oder 1,234." in response.text
    db.session.refresh(est)
    assert est.labour_lines[0].hours == Decimal("1.50")


def test_english_numbers_are_read_with_a_decimal_point(shop, login_as, db):
    """Issue 16: "1.5" hours from an English user is 1.5 h, "1,080.00" a grouped rate; shown back as 1.50."""
    client = login_as(shop["advisor"])
    client.get("/lang/en")
    est = shop["est"]
    english = [dict(LINES[0], hours="1.5", rate="1,080.00"), dict(LINES[1], hours="0.5")]
    response = client.post(f"/estimatebuilder/{est.id}", data=form_of(english, est.version))
    assert response.status_code == 302, response.text
    db.session.refresh(est)
    assert est.labour_lines[0].hours == Decimal("1.50") and est.labour_lines[0].rate == Decimal("1080.00")
    page = client.get(f"/estimatebuilder/{est.id}").text
    assert 'name="labour-0-hours" value="1.50"' in page and 'name="labour-0-rate" value="1080.00"' in page
