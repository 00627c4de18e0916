"""The public service request form (``/portal/request``): no account needed.

``validate`` checks what the visitor typed (errors per field, nothing thrown away). ``submit`` turns a
checked draft into a request, once per one-time submission token: the token's ``PublicSubmission`` row is
inserted first, in the same transaction as everything else, so a double click (or a second post of the same
page) finds the row and shows the first request instead of making another. It finds the customer by
e-mail (the portal user's account) or creates one (an individual ``Customer``, a FAB user with role
Customer and no usable password, the ``PortalUser`` link and the address), refuses a locked account,
creates the request through ``requests.submit`` (status ``new``, on the staff board), stores the files
and e-mails a confirmation with a login link to the new request.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import secrets

from email_validator import EmailNotValidError, validate_email
from flask import current_app, render_template
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..core import addresses
from ..core.actors import Actor
from ..core.errors import ValidationFailed
from ..core.settings import absolute, get_settings, to_local
from ..extensions import db
from ..models import SLOTS, Address, Customer, OutboxEmail, PortalUser, PublicSubmission, ServiceType, User, utcnow
from . import availability, notify, portal_auth, requests, uploads
from .portal_auth import LoginRefused, normalise_email, token_hash

log = logging.getLogger(__name__)

FIELDS = ("first_name", "last_name", "email", "phone", "line1", "city", "state", "postal_code",
          "service_type_id", "service_location_id", "slot", "preferred_date", "preferred_slot", "preferred_time",
          "notes")
REQUIRED = {
    "first_name": _l("Enter your first name."), "last_name": _l("Enter your last name."),
    "email": _l("Enter your e-mail address."), "phone": _l("Enter a phone number we can call."),
    "line1": _l("Enter the street and number."), "city": _l("Enter the city."),
    "postal_code": _l("Enter the ZIP code."), "service_type_id": _l("Choose a service."),
    "preferred_date": _l("Choose a preferred date."), "preferred_slot": _l("Choose a time of day."),
}
MAX_LENGTHS = {"first_name": 64, "last_name": 64, "email": 255, "phone": 40, "line1": 200, "city": 100,
               "state": 100, "postal_code": 20, "notes": 4000}
PHONE = re.compile(r"[0-9+()./\- ]+")
TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")


def active_service_types() -> list[ServiceType]:
    return list(db.session.scalars(select(ServiceType).where(ServiceType.active.is_(True)).order_by(ServiceType.name)))


def clean_fields(form) -> dict:
    """The form's text fields, trimmed (what is shown back to the visitor)."""
    return {name: (form.get(name) or "").strip() for name in FIELDS}


def validate(fields: dict) -> dict[str, list[str]]:
    """Field errors of the public form (empty when it can be submitted)."""
    errors: dict[str, list] = {}
    chosen = bool(fields.get("slot"))  # a free time picked: no preferred day and time of day needed
    for name, message in REQUIRED.items():
        if not fields.get(name) and not (chosen and name in ("preferred_date", "preferred_slot")):
            errors[name] = [message]
    for name, limit in MAX_LENGTHS.items():
        if len(fields.get(name) or "") > limit:
            errors.setdefault(name, []).append(_l("At most %(n)s characters.", n=limit))
    if fields.get("email") and "email" not in errors:
        try:
            validate_email(fields["email"], check_deliverability=False)
        except EmailNotValidError:
            errors["email"] = [_l("This is not an e-mail address, such as name@example.com.")]
    phone = fields.get("phone") or ""
    if phone and "phone" not in errors and (not PHONE.fullmatch(phone) or sum(c.isdigit() for c in phone) < 6):
        errors["phone"] = [_l("Enter a phone number with at least 6 digits, such as +49 30 1234567.")]
    if fields.get("service_type_id") and "service_type_id" not in errors:
        if _service_type(fields["service_type_id"]) is None:
            errors["service_type_id"] = [_l("Choose one of the offered services.")]
    if fields.get("preferred_date") and "preferred_date" not in errors:
        day = _date(fields["preferred_date"])
        if day is None:
            errors["preferred_date"] = [_l("Enter the date as YYYY-MM-DD.")]
        elif day < to_local(utcnow()).date():
            errors["preferred_date"] = [_l("The preferred date cannot be in the past.")]
    if chosen and "service_type_id" not in errors:
        try:
            requests.check_slot_choice(fields["service_type_id"], fields.get("service_location_id"), fields["slot"])
        except ValidationFailed as error:
            errors.update(error.errors)
    slot = fields.get("preferred_slot")
    if slot and slot not in SLOTS:
        errors["preferred_slot"] = [_l("Choose morning, afternoon, evening or a time of your choice.")]
    elif slot == "custom":
        if not fields.get("preferred_time"):
            errors["preferred_time"] = [_l("Give the time you would like.")]
        elif _time(fields["preferred_time"]) is None:
            errors["preferred_time"] = [_l("Enter the time as HH:MM, such as 14:30.")]
    return errors


def _service_type(value) -> ServiceType | None:
    try:
        service_type = db.session.get(ServiceType, int(value))
    except (TypeError, ValueError):
        return None
    return service_type if service_type is not None and service_type.active else None


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def _time(value: str) -> dt.time | None:
    try:
        return dt.time.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def _location_id(fields: dict) -> int | None:
    """The chosen location; with a slot and no choice, the one location booked by slot."""
    value = fields.get("service_location_id")
    if value and str(value).isdecimal():
        return int(value)
    if fields.get("slot"):
        locations = availability.bookable_locations()
        return locations[0].id if len(locations) == 1 else None
    return None


def service_type_name(fields: dict, *, stored: bool = False) -> str:
    """The chosen service type's name in the reader's language; ``stored``: the English name (the request's
    subject is data the shop reads and searches, whoever typed it)."""
    service_type = _service_type(fields.get("service_type_id"))
    if service_type is None:
        return ""
    return service_type.name if stored else service_type.local_name


# --- the account -----------------------------------------------------------------------------------------

_free_username = portal_auth.free_username


def find_or_create_customer(fields: dict, language: str | None) -> tuple[Customer, User | None, bool]:
    """The account for the form's e-mail address: ``(customer, portal user or None, created?)``.

    ``LoginRefused("locked")`` for a locked account. The caller commits.
    """
    email = normalise_email(fields["email"])
    user = portal_auth.portal_user_by_email(email)
    if user is not None:
        customer = portal_auth.customer_of(user)
        if customer.shut_out:
            raise LoginRefused("locked")
        return customer, user, False
    name = f"{fields['first_name']} {fields['last_name']}".strip()
    customer = Customer(name=name[:200], kind="individual", email=email, phone=fields["phone"], language=language)
    db.session.add(customer)
    db.session.flush()
    taken = db.session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None
    if taken:  # a staff login (or an unlinked one) has this address: the account gets no login of its own
        log.warning("Public request from %s: a non-portal login has this address; no portal login created", email)
        return customer, None, True
    sm = current_app.appbuilder.sm
    user = sm.add_user(username=_free_username(email), first_name=fields["first_name"][:64],
                       last_name=fields["last_name"][:64], email=email, role=sm.find_role("Customer"),
                       commit=False)  # no password given: FAB stores the hash of a random secret
    if not user:
        raise ValidationFailed({"email": [_l("We could not create an account for this address.")]})
    db.session.add(PortalUser(user_id=user.id, customer_id=customer.id, phone=fields["phone"], language=language))
    return customer, user, True


def find_or_add_address(customer: Customer, fields: dict) -> Address:
    for address in customer.addresses:
        if (address.line1.strip().lower(), address.postal_code.strip().lower(), address.city.strip().lower()) == \
                (fields["line1"].lower(), fields["postal_code"].lower(), fields["city"].lower()):
            return address
    address = Address(customer=customer, line1=fields["line1"], city=fields["city"],
                      state=fields.get("state") or None, postal_code=fields["postal_code"],
                      country=addresses.shop_country())
    db.session.add(address)
    db.session.flush()
    if customer.default_service_address_id is None:
        customer.default_service_address_id = address.id
    return address


# --- submitting ------------------------------------------------------------------------------------------

def new_submission_token() -> str:
    return secrets.token_urlsafe(32)


def submission(token: str) -> PublicSubmission | None:
    if not TOKEN.fullmatch(token or ""):
        return None
    return db.session.scalar(select(PublicSubmission).where(PublicSubmission.token_hash == token_hash(token)))


class AlreadySubmitted(Exception):
    """This submission token was used already (a double click): show that request's confirmation."""


def _subject(fields: dict) -> str:
    first_line = next((line.strip() for line in (fields.get("notes") or "").splitlines() if line.strip()), "")
    name = service_type_name(fields, stored=True)
    return (f"{name}: {first_line}" if first_line else name)[:200]


def submit(token: str, fields: dict, draft_token: str | None):
    """Create the request for a checked draft; ``AlreadySubmitted`` if ``token`` was used before."""
    if not TOKEN.fullmatch(token or ""):
        raise ValidationFailed({"_schema": [_l("This form has expired. Please check it and send it again.")]})
    errors = validate(fields)
    if errors:
        raise ValidationFailed(errors)
    language = str(get_locale() or "") or None
    outbox_mark = db.session.scalar(select(func.max(OutboxEmail.id))) or 0
    claim = PublicSubmission(token_hash=token_hash(token), email=normalise_email(fields["email"]))
    db.session.add(claim)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise AlreadySubmitted() from None
    try:
        customer, user, _created = find_or_create_customer(fields, language)
        address = find_or_add_address(customer, fields)
        req = requests.submit(
            Actor.public(customer_id=customer.id), customer_id=customer.id, source="public",
            contact_name=f"{fields['first_name']} {fields['last_name']}"[:200], contact_email=claim.email,
            contact_phone=fields["phone"], address_id=address.id, service_type_id=int(fields["service_type_id"]),
            subject=_subject(fields), summary=fields.get("notes") or None,
            preferred_date=_date(fields["preferred_date"]), preferred_slot=fields["preferred_slot"] or None,
            preferred_time=_time(fields["preferred_time"]) if fields["preferred_slot"] == "custom" else None,
            service_location_id=_location_id(fields), slot=fields.get("slot") or None,
        )  # commits the claim, the account and the request together (a chosen slot re-checked, or booked)
    except IntegrityError:  # the same token posted twice at the same moment: the other post won
        db.session.rollback()
        raise AlreadySubmitted() from None
    except Exception:
        db.session.rollback()
        raise
    claim = submission(token)
    claim.service_request_id = req.id
    db.session.commit()
    _attach_files(req, draft_token)
    _confirm(req, user, claim.email, fields, outbox_mark)
    return req


def _attach_files(req, draft_token: str | None) -> None:
    if not draft_token:
        return
    actor = Actor.public(customer_id=req.customer_id)
    for checked in uploads.pending_checked(draft_token):
        try:
            uploads.store_checked(checked, customer_id=req.customer_id, service_request_id=req.id, actor=actor)
        except ValidationFailed as error:  # more than the limit: the form refuses that already
            log.warning("Request %s: file %s not attached: %s", req.number, checked.filename, error.message)
    db.session.commit()
    uploads.discard_draft(draft_token)


def _confirm(req, user, email: str, fields: dict, outbox_mark: int) -> None:
    """The confirmation e-mail with a login link to the request (replacing the plain receipt the request
    service queued for this address, so the visitor gets one e-mail)."""
    link = None
    if user is not None:
        raw = portal_auth.issue_token(user, portal_auth.LOGIN)
        link = portal_auth.login_link(raw, f"/portal/requests/{req.id}")
    shop = get_settings()
    with force_locale(str(get_locale() or "en")):
        context = dict(shop=shop, req=req, fields=fields, link=link, hours=shop.magic_link_hours,
                       service=service_type_name(fields), login_url=absolute("/portal/login"))
        text = render_template("portal/request_email.txt", **context)
        html = render_template("portal/request_email.html", **context)
        subject = f"{shop.shop_name}: " + _("We received your request %(number)s", number=req.number)
    receipt = db.session.scalar(
        select(OutboxEmail).where(OutboxEmail.id > outbox_mark, OutboxEmail.event == "request.received",
                                  OutboxEmail.status == "pending", func.lower(OutboxEmail.to_address) == email)
        .order_by(OutboxEmail.id)
    )
    if receipt is not None:
        receipt.subject, receipt.body_text, receipt.body_html = subject[:255], text, html
    else:
        notify.queue_email(email, subject, text, html, event="request.received")
    db.session.commit()
