"""The booking-request board: columns, cards, every card action allowed and refused, filters, query count."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from sqlalchemy import func, select

from app.core import formatting
from app.core.settings import get_settings, to_local
from app.models import Attachment, AuditEvent, Estimate, ServiceRequest, TimeProposal
from app.services import requests
from app.views.boards import attachments_downloadable
from tests.factories import (
    CustomerFactory,
    ServiceLocationFactory,
    ServiceTypeFactory,
    UnitFactory,
    actor,
    make_user,
    page_statements,
)

BOARD = "/bookingboard/"


def flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for _category, message in session.get("_flashes", [])]


@pytest.fixture()
def shop(db):
    customer = CustomerFactory(name="Arctic Refrigeration")
    advisor = make_user("Advisor")
    jane = make_user("Customer", customer=customer)
    service_type = ServiceTypeFactory(name="Fridge repair")
    other_type = ServiceTypeFactory(name="Boiler check")
    location = ServiceLocationFactory(name="North depot")
    unit = UnitFactory(customer=customer, make="Coolmax", model="CM-200")
    db.session.commit()
    return dict(customer=customer, advisor=advisor, staff=actor(advisor), jane=actor(jane), jane_user=jane,
                service_type=service_type, other_type=other_type, location=location, unit=unit)


def submit(shop, days=3, **extra) -> ServiceRequest:
    fields = dict(service_type_id=shop["service_type"].id, subject="Fridge too warm",
                  preferred_date=dt.date.today() + dt.timedelta(days=days), preferred_slot="morning",
                  unit_id=shop["unit"].id)
    fields.update(extra)
    return requests.submit(shop["jane"], **fields)


def card(html: str, req) -> str:
    """The HTML of one card."""
    match = re.search(rf'<article[^>]*id="card-{req.id}".*?</article>', html, re.S)
    assert match, f"no card for {req.number}"
    return match.group(0)


def column(html: str, status: str) -> str:
    match = re.search(rf'<section[^>]*id="column-{status}".*?</section>', html, re.S)
    assert match, f"no column {status}"
    return match.group(0)


def later(days=4, hour=10) -> str:
    return (dt.datetime.combine(dt.date.today() + dt.timedelta(days=days), dt.time(hour))).strftime("%Y-%m-%dT%H:%M")


# --- what the board shows ----------------------------------------------------------------------------

def test_columns_and_cards(shop, login_as, db):
    new = submit(shop, subject="Compressor noise", preferred_slot="afternoon")
    att = Attachment(customer_id=shop["customer"].id, service_request_id=new.id, filename="noise.mp4",
                     stored_name="x1", content_type="video/mp4", size_bytes=10)
    db.session.add(att)
    proposed = submit(shop, subject="Door seal")
    requests.perform(proposed, "propose", shop["staff"], start=later(), note="We are full that morning")
    accepted = submit(shop, subject="Ice maker")
    requests.perform(accepted, "confirm", shop["staff"])
    declined = submit(shop, subject="Old one")
    requests.perform(declined, "decline", shop["staff"], reason="Not our brand")
    db.session.commit()

    html = login_as(shop["advisor"]).get(BOARD).text
    assert new.number in column(html, "new") and proposed.number in column(html, "time_proposed")
    assert accepted.number in column(html, "accepted")
    assert declined.number not in html  # finished requests are not on the board

    new_card = card(html, new)
    for text in ("Compressor noise", "Arctic Refrigeration", "Coolmax", "Fridge repair", "afternoon",
                 "1:", "noise.mp4", f"/servicerequestview/show/{new.id}"):
        assert text in new_card, text
    # a link to the staff download once the uploads helper's /attachments/<id> exists, the name before
    assert (f'href="/attachments/{att.id}"' in new_card) == attachments_downloadable()
    assert f"/bookingboard/{new.id}/confirm" in new_card and f"/bookingboard/{new.id}/decline" in new_card
    assert 'name="expected_version"' in new_card and 'name="csrf_token"' in new_card
    proposed_card = card(html, proposed)
    assert "We are full that morning" in proposed_card and "[open]" in proposed_card
    assert f"/bookingboard/{proposed.id}/confirm" not in proposed_card  # staff cannot confirm their own proposal
    assert f"/bookingboard/{proposed.id}/decline" in proposed_card
    accepted_card = card(html, accepted)
    assert formatting.datetime(accepted.scheduled_start, locale="en") in accepted_card  # "6 Dec 2026, 09:00"
    assert f"/bookingboard/{accepted.id}/estimate" in accepted_card


def test_counter_proposal_history_is_on_the_card(shop, login_as):
    req = submit(shop)
    requests.perform(req, "propose", shop["staff"], start=later(4, 9))
    requests.perform(req, "propose", shop["jane"], start=later(5, 14), note="Afternoon suits me better")
    html = card(login_as(shop["advisor"]).get(BOARD).text, req)
    assert html.count("<li>") == 2 and "[superseded]" in html and "Afternoon suits me better" in html


def test_accepted_before_today_is_not_shown(shop, login_as, db):
    req = submit(shop)
    requests.perform(req, "confirm", shop["staff"])
    req.scheduled_start = req.scheduled_start - dt.timedelta(days=10)
    db.session.commit()
    assert req.number not in login_as(shop["advisor"]).get(BOARD).text


def test_stale_requests_are_highlighted(shop, login_as, db):
    get_settings().request_stale_hours = 24
    db.session.commit()
    with time_machine.travel(dt.datetime.now(dt.UTC) - dt.timedelta(hours=30), tick=False):
        old = submit(shop, subject="Waiting long")
    fresh = submit(shop, subject="Just in")
    html = login_as(shop["advisor"]).get(BOARD).text
    assert "board-stale" in card(html, old) and "waiting 1 d 6 h" in card(html, old)
    assert "board-stale" not in card(html, fresh)
    assert "longer than 24 h" in html


def test_filters(shop, login_as, db):
    fridge = submit(shop, subject="Fridge", days=3, service_location_id=shop["location"].id)
    boiler = submit(shop, subject="Boiler", days=10, service_type_id=shop["other_type"].id)
    client = login_as(shop["advisor"])
    html = client.get(f"{BOARD}?service_type={shop['other_type'].id}").text
    assert boiler.number in html and fridge.number not in html
    html = client.get(f"{BOARD}?location={shop['location'].id}").text
    assert fridge.number in html and boiler.number not in html
    html = client.get(f"{BOARD}?location=none").text
    assert boiler.number in html and fridge.number not in html
    day = (dt.date.today() + dt.timedelta(days=9)).isoformat()
    html = client.get(f"{BOARD}?date_from={day}").text
    assert boiler.number in html and fridge.number not in html
    html = client.get(f"{BOARD}?date_to={day}").text
    assert fridge.number in html and boiler.number not in html
    # nonsense filters are ignored, never a 500
    assert client.get(f"{BOARD}?service_type=abc&date_from=yesterday&location=x").status_code == 200
    assert client.get(f"{BOARD}?page_new=-3").status_code == 400  # paging is a whole number, or a clear 400


def test_columns_are_capped_and_say_how_many_more(shop, login_as, db):
    made = [submit(shop, subject=f"Request {n}") for n in range(28)]
    client = login_as(shop["advisor"])
    html = column(client.get(BOARD).text, "new")
    assert html.count("<article") == 25 and "3 more" in html and ">28<" in html
    assert made[0].number in html and made[-1].number not in html  # oldest first
    second = column(client.get(f"{BOARD}?page_new=2").text, "new")
    assert second.count("<article") == 3 and made[-1].number in second


# --- access ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["Technician", "Customer"])
def test_other_roles_are_refused(shop, login_as, client, role):
    req = submit(shop)
    login_as(make_user(role))
    assert client.get(BOARD).status_code == 403
    assert client.post(f"{BOARD}{req.id}/confirm").status_code == 403
    assert req.status == "new"


def test_anonymous_goes_to_login(shop, client):
    response = client.get(BOARD)
    assert response.status_code == 302 and "/login/" in response.headers["Location"]


@pytest.mark.parametrize("role", ["Manager", "Admin"])
def test_managers_and_admins_use_the_board(shop, login_as, role):
    req = submit(shop)
    client = login_as(make_user(role))
    assert client.get(BOARD).status_code == 200
    client.post(f"{BOARD}{req.id}/confirm")
    assert req.status == "accepted"


def test_menu_entry(shop, login_as):
    html = login_as(shop["advisor"]).get(BOARD).text
    assert "Booking board" in html and "Service desk" in html


# --- actions: happy paths ----------------------------------------------------------------------------

def test_confirm_at_the_preferred_slot(shop, login_as, db):
    req = submit(shop)
    client = login_as(shop["advisor"])
    response = client.post(f"{BOARD}{req.id}/confirm?location=", data={"expected_version": req.version})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#card-{req.id}")
    db.session.refresh(req)
    assert req.status == "accepted" and req.scheduled_start == requests.slot_start(req)
    local = to_local(req.scheduled_start)
    assert f"{req.number} is booked for {local:%a} {local.day} {local:%b %H:%M} with Arctic Refrigeration." in \
        flashes(client), flashes(client)
    assert db.session.scalar(select(AuditEvent.actor_label).where(AuditEvent.action == "confirm")) == \
        shop["advisor"].username


def test_confirm_at_a_given_time_in_shop_time(shop, login_as, db):
    req = submit(shop)
    login_as(shop["advisor"]).post(f"{BOARD}{req.id}/confirm", data={"start": later(6, 11)})
    db.session.refresh(req)
    assert to_local(req.scheduled_start).strftime("%Y-%m-%dT%H:%M") == later(6, 11)


def test_confirm_and_create_estimate_opens_the_estimate(shop, login_as, db):
    req = submit(shop)
    response = login_as(shop["advisor"]).post(f"{BOARD}{req.id}/confirm", data={"estimate": "1"})
    estimate = db.session.scalar(select(Estimate).where(Estimate.service_request_id == req.id))
    assert estimate is not None and estimate.status == "draft"
    assert response.headers["Location"].endswith(f"/estimateview/show/{estimate.id}")
    db.session.refresh(req)
    assert req.status == "accepted"


def test_suggest_a_new_time(shop, login_as, db):
    req = submit(shop)
    client = login_as(shop["advisor"])
    client.post(f"{BOARD}{req.id}/propose", data={"start": later(7, 15), "note": "Later?"})
    db.session.refresh(req)
    proposal = db.session.scalar(select(TimeProposal).where(TimeProposal.service_request_id == req.id))
    assert req.status == "time_proposed" and proposal.note == "Later?" and proposal.proposed_by == "staff"
    assert to_local(proposal.start).strftime("%Y-%m-%dT%H:%M") == later(7, 15)
    local = to_local(proposal.start)  # one whole sentence, the time as people say it (issue 15, item 3)
    said = f"{req.number}: we suggested {local:%a} {local.day} {local:%b} 15:00 to Arctic Refrigeration."
    assert said in flashes(client), flashes(client)


def test_decline_with_reason(shop, login_as, db):
    req = submit(shop)
    login_as(shop["advisor"]).post(f"{BOARD}{req.id}/decline", data={"reason": "We do not service this model"})
    db.session.refresh(req)
    assert req.status == "rejected" and req.decline_reason == "We do not service this model"


def test_accepted_card_creates_a_work_order(shop, login_as, db):
    req = submit(shop)
    requests.perform(req, "confirm", shop["staff"])
    response = login_as(shop["advisor"]).post(f"{BOARD}{req.id}/work_order")
    db.session.refresh(req)
    assert req.status == "resolved" and "/workorderview/show/" in response.headers["Location"]


# --- actions: refused, the form kept -----------------------------------------------------------------

def test_decline_without_reason_keeps_the_card_and_says_why(shop, login_as, db):
    req = submit(shop)
    response = login_as(shop["advisor"]).post(f"{BOARD}{req.id}/decline", data={"reason": "   "})
    assert response.status_code == 422
    html = card(response.text, req)
    assert "A reason is required." in html and "<details open>" in html
    db.session.refresh(req)
    assert req.status == "new"


def test_bad_time_keeps_what_was_typed(shop, login_as, db):
    req = submit(shop)
    client = login_as(shop["advisor"])
    response = client.post(f"{BOARD}{req.id}/propose", data={"start": "next tuesday", "note": "Keep me"})
    assert response.status_code == 422
    html = card(response.text, req)
    assert "Enter a date and time" in html and 'value="next tuesday"' in html and 'value="Keep me"' in html
    assert "has-error" in html
    past = (dt.datetime.now() - dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(f"{BOARD}{req.id}/confirm", data={"start": past})
    html = card(response.text, req)
    assert response.status_code == 422 and "cannot be in the past" in html and f'value="{past}"' in html
    db.session.refresh(req)
    assert req.status == "new" and req.scheduled_start is None


def test_fully_booked_slot_is_refused_at_the_card(shop, login_as, db):
    shop["location"].slot_capacity = 1
    first = submit(shop, service_location_id=shop["location"].id)
    second = submit(shop, service_location_id=shop["location"].id)
    requests.perform(first, "confirm", shop["staff"])
    response = login_as(shop["advisor"]).post(f"{BOARD}{second.id}/confirm")
    assert response.status_code == 422 and "fully booked" in card(response.text, second)
    db.session.refresh(second)
    assert second.status == "new"


def test_stale_form_is_refused(shop, login_as, db):
    req = submit(shop)
    version = req.version
    requests.perform(req, "propose", shop["staff"], start=later())
    response = login_as(shop["advisor"]).post(f"{BOARD}{req.id}/decline",
                                              data={"reason": "Too far", "expected_version": version})
    assert response.status_code == 409
    html = card(response.text, req)
    assert "changed by someone else" in html and "Too far" in html  # the typed reason is kept
    db.session.refresh(req)
    assert req.status == "time_proposed"


def test_action_not_allowed_in_this_state(shop, login_as, db):
    req = submit(shop)
    requests.perform(req, "decline", shop["staff"], reason="No")
    response = login_as(shop["advisor"]).post(f"{BOARD}{req.id}/confirm")
    assert response.status_code == 409
    assert "it is rejected" in response.text  # the card left the board: the message is flashed at the top
    db.session.refresh(req)
    assert req.status == "rejected"


def test_unknown_action_and_missing_request(shop, login_as, db):
    req = submit(shop)
    client = login_as(shop["advisor"])
    response = client.post(f"{BOARD}{req.id}/accept_time")  # a customer's action, not the board's
    assert response.status_code == 302 and any("not available on the booking board" in m for m in flashes(client))
    client.get("/lang/de")
    client.post(f"{BOARD}{req.id}/accept_time")
    assert any("ist auf dem Buchungsplan nicht verfügbar" in m for m in flashes(client)), flashes(client)
    client.get("/lang/en")
    assert client.post(f"{BOARD}{req.id}/cancel").status_code == 302
    assert client.post(f"{BOARD}999999/confirm").status_code == 404
    db.session.refresh(req)
    assert req.status == "new"


# --- query count -------------------------------------------------------------------------------------

def _statements(app, client) -> tuple[int, int]:
    """(all SQL statements of one board page, those not about FAB's permissions and menu)."""
    return page_statements(client, BOARD)


def _fill(shop, db, n):
    for i in range(n):
        req = submit(shop, subject=f"Load {i}", service_location_id=shop["location"].id if i % 2 else None)
        db.session.add(Attachment(customer_id=shop["customer"].id, service_request_id=req.id, filename=f"f{i}.jpg",
                                  stored_name=f"s{n}-{i}", content_type="image/jpeg", size_bytes=1))
        if i % 3 == 1:
            requests.perform(req, "propose", shop["staff"], start=later(5, 8 + i % 8))
        elif i % 3 == 2:
            requests.perform(req, "confirm", shop["staff"], start=later(6 + i, 9))
    db.session.commit()


def test_query_count_does_not_grow_with_the_cards(shop, login_as, db, app):
    client = login_as(shop["advisor"])
    _fill(shop, db, 5)
    client.get(BOARD)  # warm caches that are filled once per process
    few = _statements(app, client)
    _fill(shop, db, 45)
    assert db.session.scalar(select(func.count(ServiceRequest.id))) == 50
    many = _statements(app, client)
    assert few == many, (few, many)
    # per column: a count, the cards, their proposals, their attachments; user, settings, filter lists, the
    # navbar's unread badge; per location on the board (here two: none and the depot) its bookings for the
    # places-free label
    assert many[1] <= 21 + 2, many


def test_the_negotiation_books_what_both_sides_agreed(db, client):
    """SPEC §8: confirm without a start books the open proposal (the customer's counter-proposal), every
    proposal ends accepted / superseded / withdrawn, and staff may propose again while one is open."""
    import datetime as dt

    from app.models import TimeProposal
    from app.services import requests
    from tests.api_support import api_as
    from tests.factories import ServiceTypeFactory, actor, make_user

    staff_user, jane_user = make_user("Advisor"), make_user("Customer")
    service_type = ServiceTypeFactory()
    db.session.commit()
    staff, jane = actor(staff_user), actor(jane_user)
    day = dt.date.today() + dt.timedelta(days=6)
    req = requests.submit(jane, service_type_id=service_type.id, subject="Negotiated", preferred_date=day,
                          preferred_slot="morning")
    first = dt.datetime.combine(day, dt.time(9, 0))
    requests.perform(req, "propose", staff, start=first.isoformat())
    requests.perform(req, "propose", staff, start=(first + dt.timedelta(hours=1)).isoformat())  # again
    assert req.status == "time_proposed"
    counter = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(17, 30))
    requests.perform(req, "propose", jane, start=counter.isoformat())
    assert req.status == "new"
    answer = api_as(client, staff_user).post(f"/service_request/{req.id}/confirm", json={})
    assert answer.status_code == 200, answer.get_json()
    db.session.expire_all()
    booked = db.session.get(type(req), req.id)
    assert booked.status == "accepted"
    outcomes = [(p.proposed_by, p.outcome) for p in db.session.scalars(
        select(TimeProposal).where(TimeProposal.service_request_id == req.id).order_by(TimeProposal.id))]
    assert outcomes == [("staff", "superseded"), ("staff", "superseded"), ("customer", "accepted")]
    from app.core.settings import to_local

    assert to_local(booked.scheduled_start).replace(tzinfo=None) == counter
    other = requests.submit(jane, service_type_id=service_type.id, subject="Withdrawn", preferred_date=day,
                            preferred_slot="morning")
    requests.perform(other, "propose", staff, start=first.isoformat())
    requests.perform(other, "cancel", jane)
    assert [p.outcome for p in other.proposals] == ["withdrawn"]


def test_the_board_books_the_customers_counter_proposal_in_one_press(db, login_as):
    import datetime as dt

    from app.core.settings import to_local
    from app.services import requests
    from tests.factories import ServiceTypeFactory, actor, make_user

    staff_user, jane_user = make_user("Advisor"), make_user("Customer")
    service_type = ServiceTypeFactory()
    db.session.commit()
    day = dt.date.today() + dt.timedelta(days=6)
    req = requests.submit(actor(jane_user), service_type_id=service_type.id, subject="Counter", preferred_date=day,
                          preferred_slot="morning")
    requests.perform(req, "propose", actor(staff_user), start=dt.datetime.combine(day, dt.time(9)).isoformat())
    counter = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(17, 30))
    requests.perform(req, "propose", actor(jane_user), start=counter.isoformat())
    board = login_as(staff_user)
    page = board.get(BOARD).get_data(as_text=True)
    assert "as the customer proposed" in page
    board.post(f"/bookingboard/{req.id}/confirm", data={"expected_version": str(req.version), "start": ""})
    db.session.expire_all()
    booked = db.session.get(type(req), req.id)
    assert booked.status == "accepted" and to_local(booked.scheduled_start).replace(tzinfo=None) == counter
