"""The admin's setup checklist (issue 15, item 6): what a new shop still has to set up before Monday.

Read-only: each step says whether it is done and, if not, what is missing; the view links each step to the
screen that does it. A step is done by the data, never by ticking it: the shop's name and address, the logo,
a location with opening hours, a service type, a mail server (configuration, not data: ``MAIL_SERVER``), the
legal details invoices need, and a first staff user besides the admins.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import exists, func, select

from ..core.settings import get_settings
from ..extensions import db
from ..models import OpeningHours, Role, ServiceLocation, ServiceType, Settings, User

#: Staff roles whose first user means the shop has its team in (admins alone do not run a shop).
TEAM_ROLES = ("Manager", "Advisor", "Technician")


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    done: bool
    detail: str


def steps() -> list[Step]:
    settings = get_settings()
    default_name = Settings.__table__.c.shop_name.default.arg
    named = bool(settings.shop_name) and settings.shop_name != default_name and bool((settings.address or "").strip())
    locations = db.session.scalar(select(func.count(ServiceLocation.id)).where(ServiceLocation.active.is_(True)))
    open_ones = db.session.scalar(select(func.count(ServiceLocation.id)).where(
        ServiceLocation.active.is_(True),
        exists().where(OpeningHours.service_location_id == ServiceLocation.id)))
    types = db.session.scalar(select(func.count(ServiceType.id)).where(ServiceType.active.is_(True)))
    mail = bool(current_app.config.get("MAIL_SERVER"))
    legal = bool(settings.vat_id or settings.tax_number) and bool(settings.iban)
    team = db.session.scalar(select(func.count(User.id)).where(
        User.active.is_(True), User.roles.any(Role.name.in_(TEAM_ROLES))))
    address = bool((settings.address or "").strip())
    return [
        Step("shop", _("Shop name and address"), named,
             _("“%(name)s”", name=settings.shop_name) if address
             else _("“%(name)s”, no address yet", name=settings.shop_name)),
        Step("logo", _("Logo"), bool(settings.logo), _("on every document") if settings.logo else _("none yet")),
        Step("locations", _("Locations and opening hours"), open_ones > 0,
             _("%(open)s of %(all)s active locations have opening hours", open=open_ones, all=locations)),
        Step("service_types", _("Service types"), types > 0, _("%(count)s offered", count=types)),
        Step("mail", _("Mail server"), mail,
             _("mail goes out") if mail else _("not configured: mail waits in the outbox (set MAIL_SERVER)")),
        Step("legal", _("Legal details for invoices"), legal,
             _("VAT ID or tax number and bank account") if legal
             else _("VAT ID or tax number, and an IBAN, missing")),
        Step("team", _("First staff users"), team > 0,
             _("%(count)s managers, advisors or technicians", count=team)),
    ]
