"""The service board: open work orders by state and technician; assign, confirm, receive, complete."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import event, select

from app.core.settings import get_settings, to_local
from app.models import AuditEvent, WorkOrder
from app.services import work_orders
from tests.factories import CustomerFactory, ServiceLocationFactory, UnitFactory, actor, make_user

BOARD = "/serviceboard/"


def flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for _category, message in session.get("_flashes", [])]


@pytest.fixture()
def shop(db):
    customer = CustomerFactory(name="Arctic Refrigeration")
    advisor = make_user("Advisor")
    tech = make_user("Technician", username="tina")
    other_tech = make_user("Technician", username="tom")
    jane = make_user("Customer", customer=customer)
    location = ServiceLocationFactory(name="North depot")
    unit = UnitFactory(customer=customer, make="Coolmax", model="CM-200")
    db.session.commit()
    return dict(customer=customer, advisor=advisor, staff=actor(advisor), tech=tech, other_tech=other_tech,
                jane=actor(jane), location=location, unit=unit)


def order(shop, kind="job", by="staff", **extra) -> WorkOrder:
    fields = dict(customer_id=shop["customer"].id, kind=kind, unit_id=shop["unit"].id, fault="Compressor noise")
    fields.update(extra)
    return work_orders.create(shop[by] if by != "staff" else shop["staff"], **fields)


def card(html: str, obj) -> str:
    match = re.search(rf'<article[^>]*id="card-{obj.id}".*?</article>', html, re.S)
    assert match, f"no card for {obj.number}"
    return match.group(0)


def column(html: str, status: str) -> str:
    match = re.search(rf'<section[^>]*id="column-{status}".*?</section>', html, re.S)
    assert match, f"no column {status}"
    return match.group(0)


def local_input(days: int, hour: int) -> str:
    return dt.datetime.combine(dt.date.today() + dt.timedelta(days=days), dt.time(hour)).strftime("%Y-%m-%dT%H:%M")


# --- what it shows -----------------------------------------------------------------------------------

def test_columns_kinds_and_technicians(shop, login_as, db):
    pending = order(shop, by="jane", kind="repair")
    confirmed = order(shop, kind="inspection")
    received = order(shop)
    work_orders.perform(received, "receive", shop["staff"])
    work_orders.perform(received, "assign", shop["staff"], technician_id=shop["tech"].id)
    done = order(shop)
    work_orders.perform(done, "cancel", shop["staff"], reason="duplicate")

    html = login_as(shop["advisor"]).get(BOARD).text
    assert pending.number in column(html, "pending_confirmation")
    assert confirmed.number in column(html, "confirmed") and received.number in column(html, "received")
    assert done.number not in html
    assert "kind-repair" in card(html, pending) and "kind-inspection" in card(html, confirmed)
    assert "tina" in card(html, received) and "unassigned" in card(html, confirmed)
    for text in ("Arctic Refrigeration", "Coolmax", "Compressor noise", f"/workorderview/show/{received.id}"):
        assert text in card(html, received)
    lanes = re.search(r'<table[^>]*id="technician-lanes".*?</table>', html, re.S).group(0)
    assert "Unassigned" in lanes and "tina" in lanes and "tom" not in lanes  # only technicians with open orders


def test_filters_by_technician_kind_and_location(shop, login_as, db):
    mine = order(shop, kind="repair", service_location_id=shop["location"].id)
    work_orders.perform(mine, "assign", shop["staff"], technician_id=shop["tech"].id)
    other = order(shop, kind="inspection")
    client = login_as(shop["advisor"])
    html = client.get(f"{BOARD}?technician={shop['tech'].id}").text
    assert mine.number in html and other.number not in html
    html = client.get(f"{BOARD}?technician=none").text
    assert other.number in html and mine.number not in html
    html = client.get(f"{BOARD}?kind=inspection").text
    assert other.number in html and mine.number not in html
    html = client.get(f"{BOARD}?location={shop['location'].id}").text
    assert mine.number in html and other.number not in html
    assert client.get(f"{BOARD}?technician=x&kind=<b>&location=-").status_code == 200
    assert client.get(f"{BOARD}?page_ready=zz").status_code == 400  # paging is a whole number, or a clear 400


# --- access ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["Technician", "Customer"])
def test_other_roles_are_refused(shop, login_as, client, role):
    wo = order(shop)
    login_as(make_user(role))
    assert client.get(BOARD).status_code == 403
    assert client.post(f"{BOARD}{wo.id}/receive").status_code == 403
    assert wo.status == "confirmed"


def test_manager_uses_the_board_and_it_is_in_the_menu(shop, login_as):
    html = login_as(make_user("Manager")).get(BOARD).text
    assert "Service board" in html and "Workshop" in html


# --- actions -----------------------------------------------------------------------------------------

def test_confirm_receive_complete(shop, login_as, db):
    wo = order(shop, by="jane")
    client = login_as(shop["advisor"])
    response = client.post(f"{BOARD}{wo.id}/confirm", data={"expected_version": wo.version})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#card-{wo.id}")
    db.session.refresh(wo)
    assert wo.status == "confirmed"
    client.post(f"{BOARD}{wo.id}/receive")
    db.session.refresh(wo)
    assert wo.status == "received" and wo.received_at is not None
    work_orders.perform(wo, "clock_on", actor(shop["tech"]))
    work_orders.perform(wo, "ready", actor(shop["tech"]))
    assert f"{BOARD}{wo.id}/complete" in card(client.get(BOARD).text, wo)
    client.post(f"{BOARD}{wo.id}/complete")
    db.session.refresh(wo)
    assert wo.status == "completed"
    assert f"{wo.number} is completed." in flashes(client)


def test_assign_technician_and_window_in_shop_time(shop, login_as, db):
    get_settings().time_zone = "America/New_York"
    db.session.commit()
    wo = order(shop)
    client = login_as(shop["advisor"])
    client.post(f"{BOARD}{wo.id}/assign", data={"technician_id": shop["tech"].id, "expected_version": wo.version,
                                                 "scheduled_start": local_input(2, 9),
                                                 "scheduled_end": local_input(2, 12)})
    db.session.refresh(wo)
    assert wo.technician_id == shop["tech"].id
    assert to_local(wo.scheduled_start).strftime("%Y-%m-%dT%H:%M") == local_input(2, 9)
    assert wo.scheduled_start.hour != 9  # stored in UTC, not as typed
    assert wo.scheduled_end - wo.scheduled_start == dt.timedelta(hours=3)
    event_row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "assign"))
    assert event_row.actor_label == shop["advisor"].username
    assert event_row.reason == f"Assigned to {shop['tech'].get_full_name()}"  # a name, not "technician 4"
    html = card(client.get(BOARD).text, wo)
    assert f'value="{local_input(2, 9)}"' in html and "tina" in html
    # and unassign again
    client.post(f"{BOARD}{wo.id}/assign", data={"technician_id": ""})
    db.session.refresh(wo)
    assert wo.technician_id is None and wo.scheduled_start is None


def test_assign_refusals_keep_the_form(shop, login_as, db):
    wo = order(shop)
    client = login_as(shop["advisor"])
    response = client.post(f"{BOARD}{wo.id}/assign", data={"technician_id": shop["tech"].id,
                                                            "scheduled_start": "tomorrow morning"})
    assert response.status_code == 422
    html = card(response.text, wo)
    assert "Enter a date and time" in html and 'value="tomorrow morning"' in html and "<details open>" in html
    assert f'<option value="{shop["tech"].id}" selected' in re.sub(r"\s+", " ", html)
    response = client.post(f"{BOARD}{wo.id}/assign", data={"technician_id": shop["tech"].id,
                                                            "scheduled_start": local_input(2, 12),
                                                            "scheduled_end": local_input(2, 9)})
    assert response.status_code == 422 and "The end must be after the start." in card(response.text, wo)
    assert f'value="{local_input(2, 9)}"' in card(response.text, wo)
    response = client.post(f"{BOARD}{wo.id}/assign", data={"technician_id": shop["advisor"].id})
    assert response.status_code == 422 and "Choose a technician." in card(response.text, wo)
    response = client.post(f"{BOARD}{wo.id}/assign", data={"technician_id": "abc"})
    assert response.status_code == 422 and "Choose a technician." in card(response.text, wo)
    db.session.refresh(wo)
    assert wo.technician_id is None and wo.scheduled_start is None


def test_refused_transition_and_stale_form(shop, login_as, db):
    wo = order(shop)
    client = login_as(shop["advisor"])
    response = client.post(f"{BOARD}{wo.id}/complete")
    assert response.status_code == 409 and "it is confirmed" in card(response.text, wo)
    version = wo.version
    work_orders.perform(wo, "assign", shop["staff"], technician_id=shop["tech"].id)
    response = client.post(f"{BOARD}{wo.id}/receive", data={"expected_version": version})
    assert response.status_code == 409 and "changed by someone else" in card(response.text, wo)
    db.session.refresh(wo)
    assert wo.status == "confirmed"


def test_unknown_action_and_missing_order(shop, login_as, db):
    wo = order(shop)
    client = login_as(shop["advisor"])
    assert client.post(f"{BOARD}{wo.id}/cancel", data={"reason": "x"}).status_code == 302
    assert any("not available" in m for m in flashes(client))
    assert client.post(f"{BOARD}999999/receive").status_code == 404
    db.session.refresh(wo)
    assert wo.status == "confirmed"


# --- query count -------------------------------------------------------------------------------------

def _statements(client, db) -> int:
    seen = []
    db.session.expire_all()
    listener = lambda conn, cursor, statement, *args: seen.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert client.get(BOARD).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return len(seen)


def _fill(shop, n):
    techs = [shop["tech"].id, shop["other_tech"].id, None]
    for i in range(n):
        wo = order(shop, kind=("job", "inspection", "repair")[i % 3],
                   service_location_id=shop["location"].id if i % 2 else None)
        if techs[i % 3]:
            work_orders.perform(wo, "assign", shop["staff"], technician_id=techs[i % 3])
        if i % 4:
            work_orders.perform(wo, "receive", shop["staff"])


def test_query_count_does_not_grow_with_the_cards(shop, login_as, db):
    client = login_as(shop["advisor"])
    _fill(shop, 5)
    client.get(BOARD)  # warm what is loaded once per process
    few = _statements(client, db)
    _fill(shop, 45)
    assert few == _statements(client, db)
