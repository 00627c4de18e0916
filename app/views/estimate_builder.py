"""The estimate builder (``Estimates``): a draft's labour lines, with the parts under each, on one page.

``/estimatebuilder/<id>`` shows the draft's lines as one form. Adding a labour line or a part, moving a
line up or down and removing one re-render the form from what was typed (nothing is saved, nothing typed is
lost); *Save* sends the whole list to the estimate's ``edit`` action (``labour_lines``) with the version
the form was opened on, and
*Save and send* also submits the estimate to the customer. The service is the truth: it validates every
field (errors come back keyed ``labour_lines.0.hours`` and are shown at that field, the form still filled
in), refuses a stale form or an estimate that is no longer a draft, and computes the totals
(``estimates.recompute``; the page's script only previews them while typing).

A part is always typed under its labour line, and removing a labour line removes its parts.
"""
from __future__ import annotations

import logging
import re
from decimal import Decimal, InvalidOperation

from babel.numbers import get_decimal_symbol, get_group_symbol
from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from ..core import formatting, languages
from ..core.errors import ServiceError, StaleObject, ValidationFailed
from ..core.i18n import localized_name
from ..core.numbers import NumberNotUnderstood, shown_number, typed_number
from ..core.scope import current_actor
from ..core.settings import get_settings, money
from ..extensions import db
from ..models import Estimate, LabourLine, PartLine, WorkItemTemplate
from ..services import estimates
from .filters import format_money, status_label

log = logging.getLogger(__name__)
LABOUR_FIELDS = ("description", "hours", "rate")
PART_FIELDS = ("part_number", "description", "quantity", "unit_price")
MAX_LINES, MAX_PARTS = 100, 50
_LABOUR_KEY = re.compile(r"labour-(\d{1,3})-(description|hours|rate)")
_PART_KEY = re.compile(r"labour-(\d{1,3})-parts-(\d{1,3})-(part_number|description|quantity|unit_price)")
_OP = re.compile(r"(add_labour|add_part|up|down|remove|part_up|part_down|part_remove)((?::\d{1,3}){0,2})")


# ---------------------------------------------------------------- the form's lines as plain dicts
def _plain(value) -> str:
    """A stored number as the form shows it in the reader's language (``1,50`` in German)."""
    return "" if value is None else shown_number(value) if isinstance(value, Decimal) else str(value)


NUMBER_FIELDS = {"labour": ("hours", "rate"), "part": ("quantity", "unit_price")}


def as_machine(lines: list[dict]) -> tuple[list[dict], dict]:
    """The typed lines with their numbers in machine form (``1,5`` on a German page → ``1.5``), and an error
    per number that cannot be read (that value becomes ``0`` so the service still checks the rest)."""
    errors, machine = {}, []

    def convert(row: dict, names, key: str) -> dict:
        row = dict(row)
        for name in names:
            try:
                row[name] = typed_number(row.get(name, ""))
            except NumberNotUnderstood as problem:
                errors[f"{key}.{name}"] = [str(problem)]
                row[name] = "0"
        return row

    for i, line in enumerate(lines):
        converted = convert(line, NUMBER_FIELDS["labour"], f"labour_lines.{i}")
        converted["parts"] = [convert(part, NUMBER_FIELDS["part"], f"labour_lines.{i}.parts.{j}")
                              for j, part in enumerate(line["parts"])]
        machine.append(converted)
    return machine, errors


def lines_from_estimate(est: Estimate) -> list[dict]:
    return [{"description": line.description, "hours": _plain(line.hours), "rate": _plain(line.rate),
             "parts": [{"part_number": part.part_number or "", "description": part.description,
                        "quantity": _plain(part.quantity), "unit_price": _plain(part.unit_price)}
                       for part in line.parts]}
            for line in est.labour_lines]


def lines_from_form(form) -> list[dict]:
    """The lines as typed, in the order of their indexes (gaps closed)."""
    labour: dict[int, dict] = {}
    for key, value in form.items():
        if match := _LABOUR_KEY.fullmatch(key):
            labour.setdefault(int(match[1]), {"parts": {}})[match[2]] = value
        elif match := _PART_KEY.fullmatch(key):
            line = labour.setdefault(int(match[1]), {"parts": {}})
            line["parts"].setdefault(int(match[2]), {})[match[3]] = value
    lines = []
    for i in sorted(labour)[:MAX_LINES]:
        data = labour[i]
        line = {name: data.get(name, "") for name in LABOUR_FIELDS}
        line["parts"] = [{name: data["parts"][j].get(name, "") for name in PART_FIELDS}
                         for j in sorted(data["parts"])[:MAX_PARTS]]
        lines.append(line)
    return lines


def blank_labour() -> dict:
    return {"description": "", "hours": "", "rate": _plain(get_settings().labour_rate), "parts": []}


def blank_part() -> dict:
    return {"part_number": "", "description": "", "quantity": "1", "unit_price": ""}


def _is_blank_part(part: dict) -> bool:
    return not any(str(part.get(name, "")).strip() for name in ("part_number", "description", "unit_price"))


def _is_blank_labour(line: dict) -> bool:
    return (not any(str(line.get(name, "")).strip() for name in ("description", "hours"))
            and all(_is_blank_part(part) for part in line["parts"]))


def without_blanks(lines: list[dict]) -> list[dict]:
    """Rows added but never filled in are dropped on saving (a default rate or quantity is not filling in)."""
    kept = [dict(line) for line in lines if not _is_blank_labour(line)]
    for line in kept:
        line["parts"] = [part for part in line["parts"] if not _is_blank_part(part)]
    return kept


def _swap(items: list, i: int, j: int) -> None:
    if 0 <= i < len(items) and 0 <= j < len(items):
        items[i], items[j] = items[j], items[i]


def apply_op(lines: list[dict], op: str) -> list[dict]:
    """Add, move or remove a row of the typed lines (``add_part:0``, ``down:1``, ``part_remove:0:2``…)."""
    match = _OP.fullmatch(op or "")
    if not match:
        return lines
    name, args = match[1], [int(x) for x in match[2].split(":") if x]
    i, j = (args + [-1, -1])[:2]
    parts = lines[i]["parts"] if 0 <= i < len(lines) else None
    if name == "add_labour" and len(lines) < MAX_LINES:
        lines.append(blank_labour())
    elif name == "add_part" and parts is not None and len(parts) < MAX_PARTS:
        parts.append(blank_part())
    elif name in ("up", "down"):
        _swap(lines, i, i - 1 if name == "up" else i + 1)
    elif name == "remove" and parts is not None:
        del lines[i]  # its parts go with it
    elif name in ("part_up", "part_down") and parts is not None:
        _swap(parts, j, j - 1 if name == "part_up" else j + 1)
    elif name == "part_remove" and parts is not None and 0 <= j < len(parts):
        del parts[j]
    return lines


# ---------------------------------------------------------------- work item templates
def offered_templates(est: Estimate) -> list[tuple[int, str, str]]:
    """The active templates as (id, kind, name in the customer's language): the line is theirs to read."""
    language = languages.for_customer(est.customer)
    rows = db.session.query(WorkItemTemplate).filter(WorkItemTemplate.active.is_(True)).order_by(
        WorkItemTemplate.kind, WorkItemTemplate.name)
    return [(row.id, row.kind, localized_name(row, language)) for row in rows]


def add_from_template(lines: list[dict], template_id, est: Estimate) -> tuple[list[dict], str | None]:
    """A labour template becomes a new labour line, a part template a part under the last labour line —
    worded in the customer's language, with the template's hours or quantity and price (empty price: the
    shop's labour rate for labour). The typed lines are kept; nothing is saved until Save."""
    try:
        row = db.session.get(WorkItemTemplate, int(template_id or 0))
    except (TypeError, ValueError, OverflowError):
        row = None
    if row is None or not row.active:
        return lines, _("Choose a template from the list.")
    name = localized_name(row, languages.for_customer(est.customer))
    if row.kind == "labour":
        if len(lines) >= MAX_LINES:
            return lines, _("An estimate holds at most %(count)s labour lines.", count=MAX_LINES)
        rate = row.unit_price if row.unit_price is not None else get_settings().labour_rate
        lines.append({"description": name, "hours": _plain(row.quantity), "rate": _plain(rate), "parts": []})
        return lines, None
    if not lines:
        return lines, _("Add a labour line first: parts go under one.")
    if len(lines[-1]["parts"]) >= MAX_PARTS:
        return lines, _("A labour line holds at most %(count)s parts.", count=MAX_PARTS)
    lines[-1]["parts"].append({"part_number": row.part_number or "", "description": name,
                               "quantity": _plain(row.quantity), "unit_price": _plain(row.unit_price)})
    return lines, None


# ---------------------------------------------------------------- sizes the columns can hold
#: Largest value per field; the estimate's total must stay under ``MAX_TOTAL`` (Numeric(12, 2)).
LIMITS = {"hours": Decimal("9999.99"), "quantity": Decimal("9999.99"), "rate": Decimal("99999.99"),
          "unit_price": Decimal("99999.99")}
MAX_TOTAL = Decimal("9999999999.99")


def _too_big(value, limit: Decimal) -> bool:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return False  # not a number at all: the service says so
    return number.is_finite() and abs(number) > limit


def size_errors(lines: list[dict]) -> tuple[dict, list[dict]]:
    """Errors for numbers too large to store, and the lines with those numbers blanked (so that the service
    can still check everything else in the same round)."""
    errors, checked = {}, []
    for i, line in enumerate(lines):
        line = dict(line, parts=[dict(part) for part in line["parts"]])
        fields = [(f"labour_lines.{i}.{name}", line, name) for name in ("hours", "rate")]
        fields += [(f"labour_lines.{i}.parts.{j}.{name}", part, name)
                   for j, part in enumerate(line["parts"]) for name in ("quantity", "unit_price")]
        for key, row, name in fields:
            if _too_big(row[name], LIMITS[name]):
                errors[key] = [_("Too large: at most %(limit)s.", limit=formatting.number(LIMITS[name], 2))]
                row[name] = "0"
        checked.append(line)
    if not errors and preview(checked, Decimal("0"))["subtotal"] > MAX_TOTAL:
        errors["labour_lines"] = [_("The estimate's total is too large.")]
    return errors, checked


# ---------------------------------------------------------------- totals
def _number(value) -> Decimal | None:
    try:
        result = money(value)
    except (ValueError, TypeError, ArithmeticError):
        return None
    return result if result >= 0 else None


def preview(lines: list[dict], tax_rate) -> dict:
    """Line amounts and totals of typed lines, by the service's own ``recompute`` on an unsaved estimate
    (values that are not valid amounts count as nothing)."""
    est = Estimate(tax_rate=tax_rate)
    amounts = []
    for data in lines:
        hours, rate = _number(data["hours"]), _number(data["rate"])
        line = LabourLine(hours=hours or Decimal("0"), rate=rate or Decimal("0"))
        part_amounts = []
        for part_data in data["parts"]:
            quantity, price = _number(part_data["quantity"]), _number(part_data["unit_price"])
            part = PartLine(quantity=quantity or Decimal("0"), unit_price=price or Decimal("0"))
            line.parts.append(part)
            part_amounts.append(part.amount if quantity is not None and price is not None else None)
        est.labour_lines.append(line)
        amounts.append((line.amount if hours is not None and rate is not None else None, part_amounts))
    estimates.recompute(est)
    return {"amounts": amounts, "subtotal": est.subtotal, "tax": est.tax, "total": est.total}


# ---------------------------------------------------------------- the page
class EstimateBuilderView(BaseView):
    route_base = "/estimatebuilder"
    class_permission_name = "Estimates"
    method_permission_name = {"edit": "edit", "save": "edit"}
    default_view = "edit"
    template = "staff/estimate_builder.html"

    def _estimate(self, pk: int) -> Estimate:
        est = db.session.get(Estimate, pk)
        if est is None:
            abort(404)
        return est

    def _back(self, est: Estimate) -> str:
        if request.values.get("back") == "review":
            return url_for("DisputeReviewView.show", pk=est.id)
        return url_for("EstimateView.show", pk=est.id)

    def _page(self, est: Estimate, lines: list[dict], *, version, errors=None, message=None, saved=False,
              stale=False, status: int = 200):
        locale = formatting.locale_name()
        return self.render_template(
            self.template, est=est, lines=lines, version=version, errors=errors or {}, message=message,
            saved=saved, totals=preview(as_machine(lines)[0], est.tax_rate), back=request.values.get("back", ""),
            back_url=self._back(est), currency=get_settings().currency, stale=stale,
            locale=locale, decimal_sign=get_decimal_symbol(locale), group_sign=get_group_symbol(locale),
            templates=offered_templates(est),
        ), status

    @expose("/<int:pk>", methods=["GET"])
    @has_access
    def edit(self, pk):
        est = self._estimate(pk)
        if est.status != "draft":
            state = status_label(est.status).lower()
            if est.status in ("disputed", "declined"):
                flash(_("%(number)s is %(state)s: only a draft's lines can be edited. Revise it to make a new draft.",
                        number=est.display_number, state=state), "warning")
            else:
                flash(_("%(number)s is %(state)s: only a draft's lines can be edited.", number=est.display_number,
                        state=state), "warning")
            return redirect(self._back(est))
        return self._page(est, lines_from_estimate(est), version=est.version, saved=True)

    @expose("/<int:pk>", methods=["POST"])
    @has_access
    def save(self, pk):
        est = self._estimate(pk)
        lines = lines_from_form(request.form)
        version = request.form.get("expected_version", "").strip() or None
        op = request.form.get("op", "save")
        if op == "add_template":
            lines, message = add_from_template(lines, request.form.get("template_id"), est)
            return self._page(est, lines, version=version, message=message, status=422 if message else 200)
        if op not in ("save", "submit"):
            return self._page(est, apply_op(lines, op), version=version)
        lines = without_blanks(lines)  # as typed: shown again if anything is refused
        actor = current_actor()
        machine, unreadable = as_machine(lines)
        too_big, checked = size_errors(machine)
        too_big = {**unreadable, **too_big}
        try:
            if too_big:  # the rest is still checked by the service, nothing is saved
                estimates.build_lines(checked)
                raise ValidationFailed(too_big)
            estimates.perform(est, "edit", actor, labour_lines=machine, expected_version=version)
        except ValidationFailed as error:
            db.session.rollback()
            return self._page(est, lines, version=version, errors={**error.errors, **too_big}, status=422)
        except ServiceError as error:  # a stale form, or no longer a draft: refused, the typing kept
            db.session.rollback()
            return self._page(est, lines, version=version, message=error.message,
                              stale=isinstance(error, StaleObject), status=error.status_code)
        except SQLAlchemyError:
            db.session.rollback()
            log.exception("Saving the lines of %s failed", est.display_number)
            return self._page(est, lines, version=version, status=409,
                              message=_("The lines could not be saved. Reload the page and try again."))
        if op == "submit":
            try:
                estimates.perform(est, "submit", actor, expected_version=est.version)
            except ServiceError as error:
                errors = error.errors if isinstance(error, ValidationFailed) else {}
                return self._page(est, lines_from_estimate(est), version=est.version, errors=errors,
                                  message=_("The lines are saved, but %(number)s was not sent: %(reason)s",
                                            number=est.display_number, reason=error.message),
                                  status=error.status_code)
            flash(_("%(number)s sent to the customer (total %(total)s).", number=est.display_number,
                    total=format_money(est.total)), "success")
            return redirect(self._back(est))
        flash(_("%(number)s: lines saved (total %(total)s).", number=est.display_number,
                total=format_money(est.total)), "success")
        return redirect(url_for(".edit", pk=est.id, back=request.form.get("back") or None))


def register(appbuilder, add) -> None:
    appbuilder.add_view_no_menu(EstimateBuilderView)
