"""The technician's day (/technician/today), work items ticked off, notes, photos, and where each role lands."""
from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import select

from app.core.errors import InvalidTransition, NotFound, PermissionDenied
from app.models import Attachment, AuditEvent, OrderMessage, WorkItem
from app.services import work_orders
from app.views.boards import day_bounds, local_today
from tests.factories import CustomerFactory, UnitFactory, actor, make_user

TODAY = "/technician/today"


@pytest.fixture()
def shop(db):
    customer = CustomerFactory(name="Arctic Refrigeration")
    advisor, tech, other = make_user("Advisor"), make_user("Technician"), make_user("Technician")
    unit = UnitFactory(customer=customer, make="Coolmax", model="CM-200")
    db.session.commit()
    staff = actor(advisor)
    start_of_today = day_bounds(local_today())[0]

    def order(technician=tech, when=start_of_today + dt.timedelta(hours=10), receive=True, fault="Compressor noise"):
        wo = work_orders.create(staff, customer_id=customer.id, kind="repair", unit_id=unit.id, fault=fault)
        wo.items.append(WorkItem(position=0, kind="labour", description="Replace relay", quantity=Decimal("1.50"),
                                 unit_price=Decimal("987.65")))
        wo.items.append(WorkItem(position=1, kind="part", part_number="R-7", description="Relay",
                                 quantity=Decimal("1"), unit_price=Decimal("123.45")))
        db.session.commit()
        if receive:
            work_orders.perform(wo, "receive", staff)
        work_orders.perform(wo, "assign", staff, technician_id=technician.id if technician else None,
                            scheduled_start=when, scheduled_end=when + dt.timedelta(hours=2) if when else None)
        return wo

    return dict(customer=customer, advisor=advisor, staff=staff, tech=tech, other=other, order=order,
                today=start_of_today)


def card(html: str, obj) -> str:
    match = re.search(rf'<article[^>]*id="card-{obj.id}".*?</article>', html, re.S)
    assert match, f"no card for {obj.number}"
    return match.group(0)


def flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for _category, message in session.get("_flashes", [])]


def png(name="photo.png"):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
    buffer.seek(0)
    return buffer, name


# --- where people land -------------------------------------------------------------------------------

@pytest.mark.parametrize("role, target", [("Technician", TODAY), ("Advisor", "/bookingboard/"),
                                          ("Manager", "/dashboard/"), ("Admin", "/setup/"),
                                          ("Customer", "/portal/")])
def test_landing_page_per_role(shop, login_as, role, target):
    response = login_as(make_user(role)).get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith(target)


def test_anonymous_sees_the_welcome_page(client):
    assert client.get("/").status_code == 200


# --- what the day shows ------------------------------------------------------------------------------

def test_today_shows_my_orders_of_today_and_in_progress_only(shop, login_as, db):
    today = shop["order"]()
    running = shop["order"](when=shop["today"] + dt.timedelta(days=3))
    work_orders.perform(running, "clock_on", actor(shop["tech"]))
    overdue = shop["order"](when=shop["today"] - dt.timedelta(days=2))
    tomorrow = shop["order"](when=shop["today"] + dt.timedelta(days=1, hours=9))
    theirs = shop["order"](technician=shop["other"])
    unassigned = shop["order"](technician=None)
    html = login_as(shop["tech"]).get(TODAY).text
    for mine in (today, running, overdue):
        assert mine.number in html
    for not_mine in (tomorrow, theirs, unassigned):
        assert not_mine.number not in html
    assert html.index(running.number) < html.index(today.number)  # in progress first
    assert "clocked on" in card(html, running) and "label-warning" in card(html, overdue)
    assert 'id="clocked-on"' in html
    mine = card(html, today)
    for text in ("Arctic Refrigeration", "Coolmax", "Compressor noise", "Replace relay", "R-7", "Clock on",
                 f"/documents/job_sheet/{today.id}.pdf"):  # the job sheet PDF, without prices
        assert text in mine
    assert "987.65" not in html and "123.45" not in html and "EUR" not in html  # no prices


def test_advisor_has_no_technician_day_and_manager_only_reads(shop, login_as, client):
    wo = shop["order"]()
    login_as(shop["advisor"])
    assert client.get(TODAY).status_code == 403
    login_as(make_user("Manager"))
    assert client.get(TODAY).status_code == 200
    assert client.post(f"{TODAY}/{wo.id}/clock_on").status_code == 403
    login_as(make_user("Customer"))
    assert client.get(TODAY).status_code == 403


def test_menu_entry(shop, login_as):
    assert "My work today" in login_as(shop["tech"]).get(TODAY).text


# --- clock, ready ------------------------------------------------------------------------------------

def test_clock_on_off_and_ready(shop, login_as, db):
    wo = shop["order"]()
    client = login_as(shop["tech"])
    response = client.post(f"{TODAY}/{wo.id}/clock_on", data={"note": "starting", "expected_version": wo.version})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#card-{wo.id}")
    db.session.refresh(wo)
    assert wo.status == "in_progress" and len(wo.time_entries) == 1
    assert f"{TODAY}/{wo.id}/clock_off" in card(client.get(TODAY).text, wo)
    client.post(f"{TODAY}/{wo.id}/clock_off")
    client.post(f"{TODAY}/{wo.id}/ready")
    db.session.refresh(wo)
    assert wo.status == "ready" and all(e.ended_at for e in wo.time_entries)
    assert f'id="card-{wo.id}"' not in client.get(TODAY).text  # done for today


def test_one_open_time_entry_per_technician(shop, login_as, db):
    first, second = shop["order"](), shop["order"]()
    client = login_as(shop["tech"])
    client.post(f"{TODAY}/{first.id}/clock_on")
    response = client.post(f"{TODAY}/{second.id}/clock_on", data={"note": "keep this note"})
    assert response.status_code == 422
    html = card(response.text, second)
    assert f"You are still clocked on to {first.number}" in html and 'value="keep this note"' in html
    db.session.refresh(second)
    assert second.status == "received" and not second.time_entries


def test_stale_clock_form_and_foreign_orders(shop, login_as, db):
    wo = shop["order"]()
    old = wo.version
    work_orders.perform(wo, "assign", shop["staff"], technician_id=shop["tech"].id, scheduled_start=wo.scheduled_start)
    client = login_as(shop["tech"])
    response = client.post(f"{TODAY}/{wo.id}/clock_on", data={"expected_version": old})
    assert response.status_code == 409 and "changed by someone else" in card(response.text, wo)
    theirs = shop["order"](technician=shop["other"])
    assert client.post(f"{TODAY}/{theirs.id}/clock_on").status_code == 404
    assert client.post(f"{TODAY}/{wo.id}/cancel", data={"reason": "x"}).status_code == 302
    assert any("not available" in m for m in flashes(client))
    db.session.refresh(wo)
    assert wo.status == "received"


# --- work items --------------------------------------------------------------------------------------

def test_tick_work_items(shop, login_as, db):
    wo = shop["order"]()
    item = wo.items[0]
    client = login_as(shop["tech"])
    client.post(f"{TODAY}/{wo.id}/item", data={"item_id": item.id, "done": "1"})
    db.session.refresh(item)
    assert item.done
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "item_done"))
    assert audit.entity_id == wo.id and audit.reason == "Replace relay" and audit.actor_id == shop["tech"].id
    assert 'class="done' in card(client.get(TODAY).text, wo)
    client.post(f"{TODAY}/{wo.id}/item", data={"item_id": item.id, "done": ""})
    db.session.refresh(item)
    assert not item.done
    theirs = shop["order"](technician=shop["other"])
    assert client.post(f"{TODAY}/{wo.id}/item", data={"item_id": theirs.items[0].id, "done": "1"}).status_code == 404
    assert client.post(f"{TODAY}/{theirs.id}/item", data={"item_id": theirs.items[0].id}).status_code == 404


def test_set_item_done_service_rules(shop, db):
    wo = shop["order"]()
    item = wo.items[0]
    with pytest.raises(NotFound):
        work_orders.perform(wo, "item", actor(shop["other"]), item=item.id, done=True)
    customer_user = make_user("Customer", customer=shop["customer"])
    with pytest.raises(PermissionDenied):
        work_orders.perform(wo, "item", actor(customer_user), item=item.id, done=True)
    work_orders.perform(wo, "item", shop["staff"], item=item.id, done=True)  # the office may correct it
    assert item.done
    not_received = shop["order"](receive=False)
    with pytest.raises(InvalidTransition) as refused:  # the table's states: 409, naming the state
        work_orders.perform(not_received, "item", actor(shop["tech"]), item=not_received.items[0].id, done=True)
    assert "can no longer change" in refused.value.message or "confirmed" in refused.value.message
    db.session.refresh(not_received.items[0])
    assert not not_received.items[0].done


# --- notes and photos --------------------------------------------------------------------------------

def test_internal_note(shop, login_as, db):
    wo = shop["order"]()
    client = login_as(shop["tech"])
    client.post(f"{TODAY}/{wo.id}/note", data={"text": "Relay was burnt"})
    note = db.session.scalar(select(OrderMessage).where(OrderMessage.work_order_id == wo.id))
    assert note.public is False and note.text == "Relay was burnt" and note.author_id == shop["tech"].id
    assert "Relay was burnt" in card(client.get(TODAY).text, wo)
    response = client.post(f"{TODAY}/{wo.id}/note", data={"text": "   "})
    assert response.status_code == 422 and "Write the message." in card(response.text, wo)


def test_photo_upload(shop, login_as, db):
    wo = shop["order"]()
    client = login_as(shop["tech"])
    response = client.post(f"{TODAY}/{wo.id}/photo", data={"photo": png(), "public": "1"},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    photo = db.session.scalar(select(Attachment).where(Attachment.work_order_id == wo.id))
    assert photo.content_type == "image/png" and photo.public and photo.uploaded_by_id == shop["tech"].id
    assert photo.filename in card(client.get(TODAY).text, wo)
    fake = (io.BytesIO(b"<html><script>alert(1)</script></html>"), "photo.jpg")
    response = client.post(f"{TODAY}/{wo.id}/photo", data={"photo": fake}, content_type="multipart/form-data")
    assert response.status_code == 422 and "has-error" in card(response.text, wo)
    response = client.post(f"{TODAY}/{wo.id}/photo", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose a photo" in card(response.text, wo)
    assert len(db.session.scalars(select(Attachment).where(Attachment.work_order_id == wo.id)).all()) == 1
