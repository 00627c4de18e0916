"""Portal access from the customer's page (issue 17): invite a person, send a login link or a password reset,
copy a login link, lock and unlock one login — rows of the customer's table, taken through ``perform``, on
the staff screen and ``POST /api/v1/customer/<id>/invite``."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.core.errors import Conflict, PermissionDenied, ValidationFailed
from app.models import AuditEvent, LoginToken, OutboxEmail, PortalUser, User
from app.services import portal_auth
from app.services.workflow import perform
from tests.api_support import api_as
from tests.factories import CustomerFactory, actor, make_user
from tests.portal_support import last_link, last_mail, separate_requests  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("separate_requests")


@pytest.fixture()
def shop(db):
    advisor = make_user("Advisor")
    technician = make_user("Technician")
    customer = CustomerFactory(name="Klara Fischer", kind="individual", email="klara@example.com")
    reseller = CustomerFactory(name="FixIt GmbH", kind="reseller")
    other = CustomerFactory(name="Other Account")
    db.session.commit()
    return {"advisor": advisor, "technician": technician, "customer": customer, "reseller": reseller,
            "other": other}


def mails_to(db, address: str) -> int:
    return db.session.scalar(select(func.count(OutboxEmail.id)).where(OutboxEmail.to_address == address))


def users_with(db, address: str) -> int:
    return db.session.scalar(select(func.count(User.id)).where(func.lower(User.email) == address))


# --- the service rows -----------------------------------------------------------------------------------

def test_invite_makes_a_customer_login_and_queues_the_invitation(db, shop):
    customer = shop["customer"]
    invitation = perform(customer, "invite", actor(shop["advisor"]), {"email": " Klara@Example.com ",
                                                                      "name": "Klara Fischer"})
    assert invitation.created
    user = invitation.link.user
    assert user.email == "klara@example.com" and user.first_name == "Klara" and user.last_name == "Fischer"
    assert [role.name for role in user.roles] == ["Customer"] and user.active
    assert invitation.link.customer_id == customer.id
    mail = last_mail("klara@example.com")
    assert mail.event == "portal.invitation" and "Klara Fischer" in mail.body_text
    assert re.search(r"/portal/login/portico-link-\d+-sealed", mail.body_text)  # no usable link in the outbox
    assert "/portal/login/" in last_link("klara@example.com")
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "customer",
                                                         AuditEvent.entity_id == customer.id)).all()
    assert [(e.action, e.reason) for e in events] == [("invite", "klara@example.com")]


def test_a_reseller_account_gets_the_reseller_role(db, shop):
    invitation = perform(shop["reseller"], "invite", actor(shop["advisor"]), {"email": "desk@fixit.example"})
    assert [role.name for role in invitation.link.user.roles] == ["Reseller"]
    assert invitation.link.user.first_name == "desk"  # no name given: the address's


def test_invite_is_idempotent_by_e_mail(db, shop):
    customer, advisor = shop["customer"], actor(shop["advisor"])
    first = perform(customer, "invite", advisor, {"email": "klara@example.com"})
    again = perform(customer, "invite", advisor, {"email": "KLARA@example.com"})
    assert not again.created and again.link.id == first.link.id
    assert users_with(db, "klara@example.com") == 1 and mails_to(db, "klara@example.com") == 1


def test_several_people_of_one_account(db, shop):
    customer, advisor = shop["customer"], actor(shop["advisor"])
    perform(customer, "invite", advisor, {"email": "klara@example.com"})
    perform(customer, "invite", advisor, {"email": "jonas@example.com", "name": "Jonas"})
    assert db.session.scalar(select(func.count(PortalUser.id)).where(PortalUser.customer_id == customer.id)) == 2


def test_another_accounts_or_a_staff_address_is_409_without_naming_it(db, shop):
    advisor = actor(shop["advisor"])
    perform(shop["other"], "invite", advisor, {"email": "taken@example.com"})
    for address in ("taken@example.com", shop["technician"].email):
        with pytest.raises(Conflict) as refused:
            perform(shop["customer"], "invite", advisor, {"email": address})
        assert "Other Account" not in refused.value.message and refused.value.status_code == 409
    assert users_with(db, "taken@example.com") == 1


@pytest.mark.parametrize("address", ["", "not-an-address", "a@b", "x" * 300 + "@example.com"])
def test_a_bad_address_is_422(db, shop, address):
    with pytest.raises(ValidationFailed) as refused:
        perform(shop["customer"], "invite", actor(shop["advisor"]), {"email": address})
    assert "email" in refused.value.errors


def test_technicians_may_not_give_portal_access(db, shop):
    customer = shop["customer"]
    link = perform(customer, "invite", actor(shop["advisor"]), {"email": "klara@example.com"}).link
    for name, params in (("invite", {"email": "new@example.com"}), ("send_login_link", {"portal_user": link.id}),
                         ("login_link", {"portal_user": link.id}), ("lock_user", {"portal_user": link.id})):
        with pytest.raises(PermissionDenied):
            perform(customer, name, actor(shop["technician"]), params)
    assert users_with(db, "new@example.com") == 0


def test_a_locked_account_invites_nobody(db, shop):
    customer = shop["customer"]
    perform(customer, "lock", actor(shop["advisor"]))
    from app.core.errors import InvalidTransition

    with pytest.raises(InvalidTransition):
        perform(customer, "invite", actor(shop["advisor"]), {"email": "klara@example.com"})


def test_send_login_link_and_password_reset_queue_mails(db, shop):
    customer, advisor = shop["customer"], actor(shop["advisor"])
    link = perform(customer, "invite", advisor, {"email": "klara@example.com"}).link
    perform(customer, "send_login_link", advisor, {"portal_user": link.id})
    assert last_mail("klara@example.com").event == "portal.login_link"
    perform(customer, "send_password_reset", advisor, {"portal_user": str(link.id)})
    assert last_mail("klara@example.com").event == "portal.password_reset"
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == customer.id,
                                                                 AuditEvent.entity_type == "customer")).all()
    assert actions == ["invite", "send_login_link", "send_password_reset"]


def test_another_accounts_portal_user_is_refused(db, shop):
    advisor = actor(shop["advisor"])
    foreign = perform(shop["other"], "invite", advisor, {"email": "taken@example.com"}).link
    with pytest.raises(ValidationFailed) as refused:
        perform(shop["customer"], "login_link", advisor, {"portal_user": foreign.id})
    assert "portal_user" in refused.value.errors


def test_copy_login_link_stores_only_a_hash_and_audits_without_it(db, shop):
    customer, advisor = shop["customer"], actor(shop["advisor"])
    link = perform(customer, "invite", advisor, {"email": "klara@example.com"}).link
    url = perform(customer, "login_link", advisor, {"portal_user": link.id})
    raw = url.rsplit("/", 1)[1]
    assert url.startswith("http") and "/portal/login/" in url and len(raw) >= 43
    stored = portal_auth.find_token(raw)
    assert stored is not None and stored.user_id == link.user_id and stored.token_hash != raw
    assert not db.session.scalar(select(func.count(LoginToken.id)).where(LoginToken.token_hash == raw))
    reasons = db.session.scalars(select(AuditEvent.reason).where(AuditEvent.action == "login_link")).all()
    assert reasons == ["klara@example.com"] and all(raw not in (r or "") for r in reasons)


def test_lock_and_unlock_one_login(db, shop):
    customer, advisor = shop["customer"], actor(shop["advisor"])
    klara = perform(customer, "invite", advisor, {"email": "klara@example.com"}).link
    jonas = perform(customer, "invite", advisor, {"email": "jonas@example.com"}).link
    url = perform(customer, "login_link", advisor, {"portal_user": klara.id})
    perform(customer, "lock_user", advisor, {"portal_user": klara.id})
    assert not klara.user.active and jonas.user.active
    assert portal_auth.find_token(url.rsplit("/", 1)[1]) is None  # its links end
    with pytest.raises(Conflict):
        perform(customer, "send_login_link", advisor, {"portal_user": klara.id})
    perform(customer, "unlock_user", advisor, {"portal_user": klara.id})
    assert klara.user.active
    perform(customer, "send_login_link", advisor, {"portal_user": klara.id})


# --- the customer's page --------------------------------------------------------------------------------

def test_the_customer_page_invites_lists_and_hands_out_a_link(db, client, login_as, shop):
    customer = shop["customer"]
    screen = login_as(shop["advisor"])
    page = screen.get(f"/customerview/show/{customer.id}").get_data(as_text=True)
    assert "Portal access" in page and "Invite to the portal" in page and 'value="klara@example.com"' in page
    response = screen.post(f"/customerview/portal/{customer.id}/invite",
                           data={"email": "klara@example.com", "name": "Klara Fischer"})
    assert response.status_code == 302
    page = screen.get(f"/customerview/show/{customer.id}").get_data(as_text=True)
    assert "invitation is in the outbox" in page and "klara@example.com" in page and "never" in page
    link = db.session.scalar(select(PortalUser).where(PortalUser.customer_id == customer.id))
    for name in ("login_link", "send_login_link", "send_password_reset", "lock_user"):
        assert f'data-action="{name}"' in page

    shown = screen.post(f"/customerview/portal/{customer.id}/login_link", data={"portal_user": link.id})
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    url = re.search(r'id="login-link" value="([^"]+)"', shown.get_data(as_text=True)).group(1)
    assert portal_auth.find_token(url.rsplit("/", 1)[1]).user_id == link.user_id

    again = screen.post(f"/customerview/portal/{customer.id}/invite", data={"email": "jonas"})
    assert again.status_code == 302
    assert "valid e-mail address" in screen.get(f"/customerview/show/{customer.id}").get_data(as_text=True)

    locked = screen.post(f"/customerview/portal/{customer.id}/lock_user", data={"portal_user": link.id})
    assert locked.status_code == 302 and not db.session.get(PortalUser, link.id).user.active
    page = screen.get(f"/customerview/show/{customer.id}").get_data(as_text=True)
    assert 'data-action="unlock_user"' in page and 'data-action="login_link"' not in page
    assert screen.post(f"/customerview/portal/{customer.id}/nonsense").status_code == 404
    assert screen.post("/customerview/portal/999999/invite", data={"email": "x@example.com"}).status_code == 404


def test_the_copied_link_opens_that_customers_portal(db, client, login_as, shop):
    customer = shop["customer"]
    screen = login_as(shop["advisor"])
    screen.post(f"/customerview/portal/{customer.id}/invite", data={"email": "klara@example.com"})
    link = db.session.scalar(select(PortalUser).where(PortalUser.customer_id == customer.id))
    shown = screen.post(f"/customerview/portal/{customer.id}/login_link", data={"portal_user": link.id})
    url = re.search(r'id="login-link" value="([^"]+)"', shown.get_data(as_text=True)).group(1)
    path = url[url.index("/portal/login/"):]
    browser = client.application.test_client()
    assert b"Continue" in browser.get(path).data
    assert browser.post(path).status_code in (302, 303)
    assert "Klara Fischer" in browser.get("/portal/").get_data(as_text=True)


def test_technicians_have_no_portal_access_screen(db, client, login_as, shop):
    screen = login_as(shop["technician"])
    response = screen.post(f"/customerview/portal/{shop['customer'].id}/invite", data={"email": "t@example.com"})
    assert response.status_code in (302, 403) and users_with(db, "t@example.com") == 0


def test_portal_users_are_not_added_from_the_login_picker_any_more(db, client, login_as, shop):
    screen = login_as(shop["advisor"])
    assert screen.get("/portaluserview/add").status_code in (302, 403, 404)
    assert "/portaluserview/add" not in screen.get("/portaluserview/list/").get_data(as_text=True)


# --- the REST API ---------------------------------------------------------------------------------------

def test_api_invite(db, client, shop):
    api = api_as(client, shop["advisor"])
    customer = shop["customer"]
    first = api.post(f"/customer/{customer.id}/invite", json={"email": "klara@example.com", "name": "Klara F"})
    assert first.status_code == 201, first.get_data(as_text=True)
    body = first.get_json()
    assert body["created"] is True and body["email"] == "klara@example.com" and body["customer"] == customer.id
    again = api.post(f"/customer/{customer.id}/invite", json={"email": "Klara@example.com"})
    assert again.status_code == 201 and again.get_json()["created"] is False
    assert again.get_json()["portal_user_id"] == body["portal_user_id"] and users_with(db, "klara@example.com") == 1

    clash = api.post(f"/customer/{shop['other'].id}/invite", json={"email": "klara@example.com"})
    assert clash.status_code == 409 and "Klara" not in clash.get_data(as_text=True)
    bad = api.post(f"/customer/{customer.id}/invite", json={"email": "nope"})
    assert bad.status_code == 422 and "email" in bad.get_json()["message"]
    assert api.post(f"/customer/{customer.id}/invite", json={}).status_code == 422
    assert api.post(f"/customer/{customer.id}/invite", json={"email": "a@example.com", "x": 1}).status_code == 422
    assert api.post("/customer/999999/invite", json={"email": "a@example.com"}).status_code == 404


def test_api_invite_refuses_customers_and_technicians(db, client, shop):
    own = make_user("Customer", customer=shop["customer"])
    db.session.commit()
    mine = api_as(client, own).post(f"/customer/{shop['customer'].id}/invite", json={"email": "a@example.com"})
    assert mine.status_code == 403
    other = api_as(client, own).post(f"/customer/{shop['other'].id}/invite", json={"email": "a@example.com"})
    assert other.status_code == 403  # the role may take no customer action: the same answer for every id
    tech = api_as(client, shop["technician"]).post(f"/customer/{shop['customer'].id}/invite",
                                                   json={"email": "a@example.com"})
    assert tech.status_code in (401, 403) and users_with(db, "a@example.com") == 0
