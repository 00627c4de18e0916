"""Partial approval (SPEC §8): a fleet approves the safety items and defers the rest.

The customer approves some labour lines (with their parts) and declines the others with a reason; the work
order gets only the approved lines; the declined ones stay on the estimate, marked, and can be offered
again in a revision. Staff see "approved 2 of 3 lines, …". Portal, staff and REST agree.
"""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.core.errors import InvalidTransition, ValidationFailed
from app.core.settings import get_settings
from app.models import Estimate, WorkItem, WorkOrder
from app.services import estimates
from tests.api_support import Api, login_token
from tests.factories import CustomerFactory, actor, make_user

LINES = [
    {"description": "Brake pads front axle", "hours": "1.50", "rate": "100.00",
     "parts": [{"part_number": "BP-1", "description": "Brake pad set", "quantity": "1", "unit_price": "120.00"}]},
    {"description": "Replace wiper blades", "hours": "0.20", "rate": "100.00",
     "parts": [{"part_number": "WB-2", "description": "Wiper blades", "quantity": "2", "unit_price": "15.00"}]},
    {"description": "Tyre tread check", "hours": "0.50", "rate": "100.00", "parts": []},
]


@pytest.fixture()
def fleet(db):
    get_settings().tax_rate = Decimal("19.00")
    customer = CustomerFactory(name="Nordfleet GmbH", kind="business")
    portal = make_user("Customer", customer=customer)
    advisor = make_user("Advisor")
    db.session.commit()
    staff = actor(advisor)
    est = estimates.create(staff, customer_id=customer.id, labour_lines=LINES)
    estimates.perform(est, "submit", staff)
    brakes, wipers, tyres = est.labour_lines
    return dict(customer=customer, portal=portal, advisor=advisor, staff=staff, jane=actor(portal), est=est,
                brakes=brakes, wipers=wipers, tyres=tyres)


def _items(order: WorkOrder) -> list[tuple[str, str]]:
    return [(item.kind, item.description) for item in order.items]


def test_the_work_order_gets_only_the_approved_lines(fleet, db):
    est, brakes, tyres, wipers = fleet["est"], fleet["brakes"], fleet["tyres"], fleet["wipers"]
    order = estimates.perform(est, "approve", fleet["jane"], lines=[brakes.id, tyres.id],
                              reason="Wipers next month")
    assert est.status == "approved"
    assert _items(order) == [("labour", "Brake pads front axle"), ("part", "Brake pad set"),
                             ("labour", "Tyre tread check")]
    assert (brakes.decision, tyres.decision, wipers.decision) == ("approved", "approved", "declined")
    assert wipers.decline_reason == "Wipers next month"
    summary = estimates.approval_summary(est)
    # brakes 150 + 120, tyres 50; wipers 20 + 30 declined
    assert summary == {"lines": 3, "approved": 2, "declined": 1, "approved_net": Decimal("320.00"),
                       "net": Decimal("370.00")}


def test_without_lines_everything_is_approved(fleet, db):
    order = estimates.perform(fleet["est"], "approve", fleet["jane"])
    assert len([i for i in order.items if i.kind == "labour"]) == 3
    assert estimates.approval_summary(fleet["est"])["declined"] == 0


@pytest.mark.parametrize("params,field,message", [
    ({"lines": [999999]}, "lines", "Not a labour line of this estimate: 999999."),
    ({"lines": []}, "lines", "Approve at least one line, or decline the estimate."),
    ({"lines": "all"}, "lines", "Not a valid list."),
    ("brakes only, no reason", "reason", "Say why you decline the lines you did not approve."),
])
def test_bad_approvals_are_refused_at_the_field_and_change_nothing(fleet, db, params, field, message):
    if params == "brakes only, no reason":
        params = {"lines": [fleet["brakes"].id]}
    with pytest.raises(ValidationFailed) as refused:
        estimates.perform(fleet["est"], "approve", fleet["jane"], params)
    assert message in " ".join(map(str, refused.value.errors[field]))
    db.session.expire_all()
    est = db.session.get(Estimate, fleet["est"].id)
    assert est.status == "sent" and all(line.decision is None for line in est.labour_lines)
    assert db.session.scalar(select(func.count(WorkOrder.id))) == 0


def test_a_line_of_another_estimate_is_not_on_this_one(fleet, db):
    other = estimates.create(fleet["staff"], customer_id=fleet["customer"].id, labour_lines=LINES[:1])
    with pytest.raises(ValidationFailed):
        estimates.perform(fleet["est"], "approve", fleet["jane"], lines=[other.labour_lines[0].id],
                          reason="x")


def test_declined_lines_are_offered_again_in_a_revision(fleet, db):
    est = fleet["est"]
    first = estimates.perform(est, "approve", fleet["jane"], lines=[fleet["brakes"].id, fleet["tyres"].id],
                              reason="Wipers next month")
    assert estimates.TABLE.may(est, "offer_again", fleet["staff"])
    revision = estimates.perform(est, "offer_again", fleet["staff"])
    assert (revision.revision, revision.status, est.status) == (2, "draft", "approved")
    assert [line.description for line in revision.labour_lines] == ["Replace wiper blades"]
    assert revision.labour_lines[0].parts[0].description == "Wiper blades"
    assert revision.labour_lines[0].decision is None
    assert not estimates.TABLE.may(est, "offer_again", fleet["staff"])  # offered once
    estimates.perform(revision, "submit", fleet["staff"])
    second = estimates.perform(revision, "approve", fleet["jane"])
    assert second.id != first.id and _items(second) == [("labour", "Replace wiper blades"), ("part", "Wiper blades")]
    with pytest.raises(InvalidTransition):
        estimates.perform(revision, "offer_again", fleet["staff"])  # nothing declined any more


def test_portal_staff_and_rest_agree(fleet, db, client, login_as):
    est, brakes, tyres = fleet["est"], fleet["brakes"], fleet["tyres"]
    page = login_as(fleet["portal"]).get(f"/portal/estimates/{est.id}").get_data(as_text=True)
    assert "Approve some lines only" in page and f'name="approve_line" value="{brakes.id}"' in page
    refused = client.post(f"/portal/estimates/{est.id}/approve",
                          data={"version": est.version, "partial": "1", "approve_line": [brakes.id]})
    assert refused.status_code == 422
    assert "Say why you decline the lines you did not approve." in refused.get_data(as_text=True)
    done = client.post(f"/portal/estimates/{est.id}/approve",
                       data={"version": est.version, "partial": "1", "approve_line": [brakes.id, tyres.id],
                             "reason": "Wipers next month"})
    assert done.status_code == 302
    order = db.session.scalar(select(WorkOrder))
    assert db.session.scalar(select(func.count(WorkItem.id)).where(WorkItem.work_order_id == order.id,
                                                                   WorkItem.kind == "labour")) == 2
    portal_page = client.get(f"/portal/estimates/{est.id}").get_data(as_text=True)
    assert "You approved 2 of 3 lines" in portal_page and "declined" in portal_page

    staff_page = login_as(fleet["advisor"]).get(f"/estimateview/show/{est.id}").get_data(as_text=True)
    assert "approved 2 of 3 lines, €320.00 of €370.00" in staff_page
    assert "Wipers next month" in staff_page

    api = Api(client, login_token(client, fleet["portal"].username))
    item = api.get(f"/estimate/{est.id}").get_json()["result"]
    assert item["status"] == "approved"


def test_the_api_approves_lines(fleet, db, client):
    est = fleet["est"]
    api = Api(client, login_token(client, fleet["portal"].username))
    bad = api.post(f"/estimate/{est.id}/approve", json={"lines": [fleet["brakes"].id, 424242], "reason": "x"})
    assert bad.status_code == 422 and "lines" in bad.get_json()["message"]
    good = api.post(f"/estimate/{est.id}/approve", json={"lines": [fleet["brakes"].id], "reason": "Later"})
    assert good.status_code == 200, good.get_json()
    order = db.session.get(WorkOrder, good.get_json()["work_order_id"])
    assert _items(order) == [("labour", "Brake pads front axle"), ("part", "Brake pad set")]
    again = api.post(f"/estimate/{est.id}/approve", json={})
    assert again.status_code == 409
