"""One door (item 3): every customer-facing route that takes a row id answers 404 for a row that exists but
is not the logged-in customer's to see, and shows nothing of it.

The routes are generated from ``app.url_map``: every rule under ``/portal/`` and ``/api/v1/`` with an id
argument (``<int:…>``, ``<pk>``, ``<…_id>``), for GET and POST. The URL segment before the first id names the
model (``VISIBILITY_MAP``); a rule whose segment is not in the map fails
``test_every_id_route_is_in_the_visibility_map``, which is how a new route gets noticed. Other arguments are
filled in: a second id with the hidden row's own related row (a report's run), ``<action>`` with every action
of the model (its API resource's, and the page's ``CUSTOMER_ACTIONS`` if it has them), a file ``<name>`` with
the row's file.

The hidden rows, for the portal user (a ``Customer``, and a ``Reseller`` for the routes only resellers reach):
another customer's row of every mapped model (their report and its run included); their own estimate never
sent (a draft, and one staff cancelled without sending it); their own draft invoice; their own internal
attachment and staff-audience notification; the shop's users, roles, groups and permissions; another visitor's
pending upload. Each request (POST with an empty form or ``{}``; CSRF is off in TestConfig, as in
test_portal_security) must answer 404 with none of the row's numbers or texts in the body. A 403 is accepted
only where the role may not use the route at all, shown by an id that does not exist getting the same 403 (no
oracle, SPEC §6).
"""
from __future__ import annotations

import itertools
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field

import pytest
from flask import current_app
from flask_appbuilder.security.sqla.models import Group, Permission, PermissionView, Role, User, ViewMenu
from pypdf.errors import PyPdfError
from sqlalchemy import select

from app.api import resources
from app.extensions import db
from app.models import (
    Address,
    Attachment,
    CreditNote,
    Customer,
    Estimate,
    Invoice,
    Notification,
    OrderMessage,
    ReportDefinition,
    ReportRun,
    ServiceRequest,
    Shipment,
    Unit,
    WorkOrder,
)
from app.services import estimates, invoices, requests, shipments, uploads, work_orders
from tests.api_support import api_as
from tests.factories import ServiceLocationFactory, ServiceTypeFactory, ShippingMethodFactory, tomorrow
from tests.portal_support import separate_requests  # noqa: F401 - fixture
from tests.portal_world import LINES, build_customer, in_days, shop_people
from tests.test_documents import text_of
from tests.test_uploads import PDF

pytestmark = pytest.mark.usefixtures("separate_requests")

PREFIXES = ("/portal/", "/api/v1/")
METHODS = ("GET", "POST")


class PendingUpload:
    """A file in a visitor's public request draft (``/portal/request/files/<file_id>``): not a table row."""


#: The URL segment before an id -> the model that id names.
VISIBILITY_MAP = {
    "estimate": Estimate, "estimates": Estimate,
    "invoice": Invoice, "invoices": Invoice, "credit_notes": CreditNote,
    "work_order": WorkOrder, "orders": WorkOrder,
    "service_request": ServiceRequest, "requests": ServiceRequest,
    "shipment": Shipment, "shipments": Shipment,
    "unit": Unit, "units": Unit,
    "addresses": Address,
    "attachments": Attachment,
    "notifications": Notification,
    "customer": Customer,
    "report": ReportDefinition, "runs": ReportRun,
    "files": PendingUpload,
    "users": User, "roles": Role, "groups": Group, "permissions": Permission, "resources": ViewMenu,
    "permissions-resources": PermissionView,
}

PLACEHOLDER = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
ABSENT_ID = 2_000_000_000
ABSENT_KEY = "0123456789abcdef"


# --------------------------------------------------------------------------------------------- the routes
@dataclass(frozen=True)
class Arg:
    name: str
    converter: str
    segment: str  # the path segment before the argument

    @property
    def is_id(self) -> bool:
        return self.converter == "int" or self.name in ("pk", "id") or self.name.endswith("_id")


@dataclass(frozen=True)
class Route:
    rule: str
    method: str
    endpoint: str
    args: tuple[Arg, ...]

    @property
    def api(self) -> bool:
        return self.rule.startswith("/api/")

    @property
    def ids(self) -> list[Arg]:
        return [arg for arg in self.args if arg.is_id]

    def url(self, values: dict) -> str:
        return PLACEHOLDER.sub(lambda m: str(values[m.group("name")]), self.rule)

    def __str__(self) -> str:
        return f"{self.method} {self.rule}"


def _args(rule: str) -> tuple[Arg, ...]:
    parts = rule.split("/")
    return tuple(Arg(m.group("name"), m.group("converter") or "default", parts[i - 1] if i else "")
                 for i, part in enumerate(parts) for m in PLACEHOLDER.finditer(part))


def customer_routes(app) -> list[Route]:
    """Every (rule, method) under the portal and the API whose path takes a row id."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIXES):
            continue
        args = _args(rule.rule)
        if any(arg.is_id for arg in args):
            routes += [Route(rule.rule, method, rule.endpoint, args) for method in METHODS if method in rule.methods]
    return sorted(routes, key=lambda route: (route.rule, route.method))


def arg_values(app, route: Route, arg: Arg, row: Hidden | None) -> list[str]:
    """The values to try for an argument that is not an id ([] when the test does not know it)."""
    if arg.name == "action":  # every action of the model (its API resource's, SPEC §6) and of the page's view
        model = VISIBILITY_MAP.get(route.ids[0].segment)
        view = app.view_functions.get(route.endpoint)
        module = sys.modules.get(getattr(view, "__module__", None) or "")
        offered = [name for api in resources() if api.datamodel.obj is model for name in api.actions]
        return list(dict.fromkeys([*offered, *getattr(module, "CUSTOMER_ACTIONS", ())]))
    if arg.name == "name":  # a file of the row (a report run's)
        return [row.related.get("name", "report.csv") if row else "report.csv"]
    return []


# ------------------------------------------------------------------------------------------ the hidden rows
@dataclass
class Hidden:
    model: type
    case: str
    ident: int | str
    secrets: tuple[str, ...]
    related: dict = field(default_factory=dict)  # model or argument name -> value for the other arguments


def _secrets(obj) -> tuple[str, ...]:
    """What would give the row away in a body: its human numbers and distinctive texts (as strings, taken now)."""
    names = ("display_number", "number", "subject", "fault", "serial_number", "line1", "filename", "title",
             "username", "email")
    found = [str(getattr(obj, name)) for name in names if getattr(obj, name, None)]
    if isinstance(obj, Customer | ReportDefinition | Role | Group | Permission | ViewMenu):
        found.append(obj.name)
    return tuple(dict.fromkeys(found))


def hide(model, case: str, obj, related: dict | None = None) -> Hidden:
    return Hidden(model, case, obj.id, _secrets(obj), related or {})


def build_account(name: str, role: str, staff, tech, service_type, method) -> dict:
    """``portal_world.build_customer`` plus the rows the portal must keep to itself (and a shipment and a
    report where the account has them): everything made through the services, as the shop would."""
    location = ServiceLocationFactory(name=f"{name} depot")
    db.session.commit()
    account = build_customer(name, staff, tech, service_type=service_type, location=location,
                             username=name.lower(), role=role, kind="reseller" if role == "Reseller" else "business")
    me, customer = account["actor"], account["customer"]

    request = requests.submit(me, service_type_id=service_type.id, subject=f"{name} estimate cancelled unsent",
                              preferred_date=tomorrow(), preferred_slot="morning", unit_id=account["unit"].id,
                              address_id=account["address"].id, service_location_id=location.id)
    cancelled = requests.perform(request, "confirm", staff, start=in_days(9), estimate=True)
    estimates.perform(cancelled, "edit", staff, labour_lines=LINES)
    estimates.perform(cancelled, "cancel", staff)
    assert cancelled.status == "cancelled" and cancelled.sent_at is None

    workshop = account["workshop_order"]
    work_orders.perform(workshop, "clock_on", tech)
    work_orders.perform(workshop, "ready", tech)
    draft_invoice = work_orders.perform(workshop, "invoice", staff)
    assert draft_invoice.status == "draft" and account["draft_estimate"].status == "draft"

    order = account["done_order"]
    internal_messages = list(db.session.scalars(select(OrderMessage.text).where(
        OrderMessage.work_order_id == order.id, OrderMessage.public.is_(False))))
    assert internal_messages and order.internal_notes
    files = {public: uploads.store_checked(
        uploads.CheckedFile(f"{name}-{'public' if public else 'internal'}-file.pdf", "application/pdf", PDF),
        customer_id=customer.id, work_order_id=order.id, actor=staff, public=public) for public in (True, False)}
    notes = {audience: Notification(audience=audience, customer_id=customer.id, event="visibility.probe",
                                    title=f"{name} {audience}-audience notification", link="/portal/")
             for audience in ("customer", "staff")}
    db.session.add_all(notes.values())
    report = ReportDefinition(name=f"{name} weekly orders", kind="open_requests", cron="0 7 * * 1",
                              recipients=[f"{name.lower()}@example.com"], customer_id=customer.id)
    run = ReportRun(definition=report, status="succeeded", trigger="manual",
                    files=[{"name": f"{name.lower()}-orders.csv", "content_type": "text/csv"}])
    db.session.add_all([report, run])
    invoice = account["invoice"]  # authorized and paid, then corrected by a credit note
    if invoice.status == "awaiting_authorization":
        invoices.perform(invoice, "authorize", me)
    invoices.perform(invoice, "payments", staff, amount=str(invoice.total), method="cash")
    credit_note = invoices.perform(invoice, "credit", staff, reason=f"{name} goodwill credit")
    shipment = None
    if role == "Reseller":
        shipped = work_orders.create(me, kind="repair", fault=f"{name} shipped fault", service_location_id=location.id,
                                     shipping_method_id=method.id)
        shipment = shipments.create(me, work_orders=[shipped.id])
    db.session.commit()
    return dict(account, cancelled=cancelled, draft_invoice=draft_invoice, internal_messages=internal_messages,
                internal_notes=order.internal_notes, public_file=files[True],
                internal_file=files[False], customer_note=notes["customer"], staff_note=notes["staff"],
                report=report, run=run, shipment=shipment, credit_note=credit_note)


def staff_only_rows(staff_user) -> list[Hidden]:
    """Rows of the shop itself: its users, roles, groups and permissions."""
    group = Group(name="Night shift crew", label="Night shift crew")
    db.session.add(group)
    db.session.commit()
    view_menu = db.session.scalar(select(ViewMenu).where(ViewMenu.name == "ApiReports"))
    permission_view = db.session.scalar(select(PermissionView).where(PermissionView.view_menu_id == view_menu.id))
    return [
        hide(User, "a staff user", staff_user),
        hide(Role, "staff-only", current_app.appbuilder.sm.find_role("Manager")),
        hide(Group, "staff-only", group),
        hide(Permission, "staff-only", permission_view.permission),
        hide(ViewMenu, "staff-only", view_menu),
        Hidden(PermissionView, "staff-only", permission_view.id, ()),
    ]


def pending_upload() -> Hidden:
    """A file another visitor attached to their public request form, not yet sent."""
    token = uploads.new_draft_token()
    entry = uploads.add_pending(token, uploads.CheckedFile("visitor-pending-file.pdf", "application/pdf", PDF))
    return Hidden(PendingUpload, "another visitor's", entry["id"], (entry["filename"],))


def hidden_rows(world, persona: str) -> dict[type, list[Hidden]]:
    mine, theirs = world[persona], world["other"]
    other = "another customer's"
    rows = [
        hide(Estimate, other, theirs["estimate"]),
        hide(Invoice, other, theirs["invoice"]),
        hide(CreditNote, other, theirs["credit_note"]),
        hide(WorkOrder, other, theirs["done_order"]),
        hide(ServiceRequest, other, theirs["proposed"]),
        hide(Shipment, other, theirs["shipment"]),
        hide(Unit, other, theirs["unit"]),
        hide(Address, other, theirs["address"]),
        hide(Attachment, other, theirs["public_file"]),
        hide(Notification, other, theirs["customer_note"]),
        hide(Customer, other, theirs["customer"]),
        hide(User, other, theirs["user"]),
        hide(ReportDefinition, other, theirs["report"], {ReportRun: theirs["run"].id,
                                                         "name": theirs["run"].files[0]["name"]}),
        Hidden(ReportRun, other, theirs["run"].id, (theirs["run"].files[0]["name"],),
               {ReportDefinition: theirs["report"].id}),
        hide(Estimate, "own draft", mine["draft_estimate"]),
        hide(Estimate, "own, cancelled never sent", mine["cancelled"]),
        hide(Invoice, "own draft", mine["draft_invoice"]),
        hide(Attachment, "own internal", mine["internal_file"]),
        hide(Notification, "own staff-audience", mine["staff_note"]),
        *world["staff_only"],
        world["pending"],
    ]
    by_model = defaultdict(list)
    for row in rows:
        by_model[row.model].append(row)
    return by_model


@pytest.fixture()
def world(db):
    """Jane (a Customer), Rexroth (a Reseller) and another reseller account, Polaris, each with a row of
    everything; the shop's own rows; another visitor's pending upload."""
    staff, tech = shop_people()
    service_type, method = ServiceTypeFactory(name="Refrigeration repair"), ShippingMethodFactory(name="Courier")
    db.session.commit()
    result = {persona: build_account(name, role, staff, tech, service_type, method)
              for persona, name, role in (("customer", "Jane", "Customer"), ("reseller", "Rexroth", "Reseller"),
                                          ("other", "Polaris", "Reseller"))}
    result["staff_only"] = staff_only_rows(db.session.get(User, staff.user_id))
    result["pending"] = pending_upload()
    return result


# ------------------------------------------------------------------------------------------------ the walk
class Caller:
    """One portal user: the portal through their browser session, the API with their JWT."""

    def __init__(self, app, login_as, user):
        self.portal = login_as(user)
        self.api = api_as(app.test_client(), user)

    def send(self, route: Route, url: str):
        if route.api:
            return self.api.post(url, json={}) if route.method == "POST" else self.api.get(url)
        return self.portal.post(url, data={}) if route.method == "POST" else self.portal.get(url)


def urls(app, route: Route, row: Hidden) -> list[tuple[str, str]]:
    """(the hidden row's URL, the same URL with an id that does not exist) for every value of the other args."""
    first = route.ids[0]
    values = {first.name: row.ident}
    for arg in route.ids[1:]:
        values[arg.name] = row.related.get(VISIBILITY_MAP[arg.segment], row.ident)
    choices = [[(arg.name, value) for value in arg_values(app, route, arg, row)] for arg in route.args
               if not arg.is_id]
    absent = {first.name: ABSENT_KEY if isinstance(row.ident, str) else ABSENT_ID}
    return [(route.url({**values, **dict(combo)}), route.url({**values, **dict(combo), **absent}))
            for combo in itertools.product(*choices)]


def body_text(response) -> str:
    """The body as text: a PDF's extracted text (and its raw bytes), anything else decoded."""
    raw = response.get_data().decode("utf-8", "replace")
    if response.mimetype == "application/pdf":
        try:
            return text_of(response.get_data()) + raw
        except PyPdfError:
            pass
    return raw


def walk(app, caller: Caller, rows: dict[type, list[Hidden]]) -> dict:
    found = {"failures": [], "exercised": set(), "gated": set(), "unexercised": [], "requests": 0}
    for route in customer_routes(app):
        model = VISIBILITY_MAP.get(route.ids[0].segment)
        if model is None:
            continue  # test_every_id_route_is_in_the_visibility_map names it
        if not rows.get(model):
            found["unexercised"].append(f"{route}: no hidden {model.__name__} row is built for it")
        for row in rows.get(model, []):
            for url, absent_url in urls(app, route, row):
                response = caller.send(route, url)
                found["requests"] += 1
                found["exercised"].add(route)
                leaked = [secret for secret in row.secrets if secret in body_text(response)]
                status = response.status_code
                if status == 404 and not leaked:
                    continue
                if status == 403 and not leaked and caller.send(route, absent_url).status_code == 403:
                    found["gated"].add(route)  # the role may not use the route at all: no oracle
                    continue
                found["failures"].append(f"{route.method} {route.rule} [{row.case} {row.model.__name__}] -> "
                                         f"{status}{f' showing {leaked}' if leaked else ''} ({url})")
    return found


# ------------------------------------------------------------------------------------------------ the tests
def test_every_id_route_is_in_the_visibility_map(app):
    problems = set()
    for route in customer_routes(app):
        for arg in route.args:
            if arg.is_id and arg.segment not in VISIBILITY_MAP:
                problems.add(f"add {route.rule} to the visibility map: which model does the segment "
                             f"{arg.segment!r} before <{arg.name}> name?")
            elif not arg.is_id and not arg_values(app, route, arg, None):
                problems.add(f"add {route.rule} to the visibility map: which values does <{arg.name}> take?")
    assert not problems, "\n".join(sorted(problems))


def test_own_sent_estimate_answers_200_on_its_pages(app, world, login_as):
    """The positive control: the same walk over Jane's own sent estimate gets it, so a 404 for all fails."""
    caller = Caller(app, login_as, world["customer"]["user"])
    estimate = world["customer"]["estimate"]
    own = Hidden(Estimate, "own, sent", estimate.id, (estimate.display_number,))
    pages = [route for route in customer_routes(app)
             if route.method == "GET" and VISIBILITY_MAP.get(route.ids[0].segment) is Estimate
             and len(route.args) == 1]
    assert {route.rule for route in pages} >= {"/portal/estimates/<int:estimate_id>", "/api/v1/estimate/<int:pk>"}
    answers = {}
    for route in pages:
        (url, _), = urls(app, route, own)
        response = caller.send(route, url)
        answers[str(route)] = response.status_code
        if route.rule in ("/portal/estimates/<int:estimate_id>", "/api/v1/estimate/<int:pk>"):
            assert estimate.display_number in body_text(response), route
    assert set(answers.values()) == {200}, answers


def own_visible_rows(account: dict) -> dict[type, Hidden]:
    """One row of each model that the account's users do see (the probe of the leak check)."""
    rows = {Estimate: "estimate", Invoice: "invoice", WorkOrder: "done_order", ServiceRequest: "proposed",
            Unit: "unit", Address: "address", Attachment: "public_file", Notification: "customer_note",
            Customer: "customer", User: "user", Shipment: "shipment"}
    return {model: Hidden(model, "own", account[key].id, ()) for model, key in rows.items() if account[key]}


@pytest.mark.parametrize("persona", ["customer", "reseller"])
def test_own_pages_show_nothing_that_is_hidden(app, world, login_as, persona):
    """Case 4 where the rows have no route of their own: the internal message, file and notes of the
    customer's own work order, and every hidden row above, never appear on the pages of what they do see."""
    mine = world[persona]
    hidden = [secret for rows in hidden_rows(world, persona).values() for row in rows for secret in row.secrets
              if row not in world["staff_only"]]  # the shop's users and roles are not portal content
    hidden += [*mine["internal_messages"], mine["internal_notes"]]
    caller = Caller(app, login_as, mine["user"])
    own = own_visible_rows(mine)
    leaks, shown = [], 0
    for route in customer_routes(app):
        row = own.get(VISIBILITY_MAP.get(route.ids[0].segment))
        if route.method != "GET" or row is None or len(route.args) != 1:
            continue
        (url, _), = urls(app, route, row)
        response = caller.send(route, url)
        if response.status_code == 200:
            shown += 1
            body = body_text(response)
            leaks += [f"{route} ({url}) shows {secret!r}" for secret in hidden if secret in body]
    assert shown >= 15, f"only {shown} pages of the customer's own rows answered 200"
    assert not leaks, "\n".join(leaks)


@pytest.mark.parametrize("persona", ["customer", "reseller"])
def test_rows_the_customer_may_not_see_answer_404_on_every_route(app, world, login_as, persona):
    caller = Caller(app, login_as, world[persona]["user"])
    found = walk(app, caller, hidden_rows(world, persona))
    portal = [route for route in found["exercised"] if not route.api]
    api = [route for route in found["exercised"] if route.api]
    assert len(portal) >= 20 and len(api) >= 20, f"the walk is too short: {len(portal)} portal, {len(api)} API"
    assert not found["unexercised"], "\n".join(found["unexercised"])
    assert not found["failures"], (
        f"{len(found['failures'])} of {found['requests']} requests ({len(portal)} portal and {len(api)} API "
        f"rule/method pairs) did not answer 404 for a row {persona} {world[persona]['user'].username} may not see "
        f"({len(found['gated'])} pairs answered 403 for any id, which is accepted):\n" + "\n".join(found["failures"]))
