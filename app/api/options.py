"""What a body's relation fields may point at, per caller (``_info`` option lists and checks of ids).

Customer-owned rows come through ``scope.scoped`` (a customer: their own account's rows only);
reference lists are the active rows; technicians are active users with the Technician role.
"""
from __future__ import annotations

from sqlalchemy import select

from ..core.scope import in_use, scoped
from ..extensions import db
from ..models import (
    Address,
    Customer,
    Role,
    ServiceLocation,
    ServiceRequest,
    ServiceType,
    ShippingMethod,
    Unit,
    User,
    WorkOrder,
)
from .common import ApiError


def customers(actor):
    return in_use(scoped(select(Customer), Customer, actor), Customer).order_by(Customer.name)


def units(actor):
    return in_use(scoped(select(Unit), Unit, actor), Unit).order_by(Unit.id.desc())


def addresses(actor):
    return in_use(scoped(select(Address), Address, actor), Address).order_by(Address.id)


def service_types(actor):
    return select(ServiceType).where(ServiceType.active.is_(True)).order_by(ServiceType.name)


def service_locations(actor):
    return select(ServiceLocation).where(ServiceLocation.active.is_(True)).order_by(ServiceLocation.name)


def shipping_methods(actor):
    return select(ShippingMethod).where(ShippingMethod.active.is_(True)).order_by(ShippingMethod.name)


def accepted_requests(actor):
    return (scoped(select(ServiceRequest), ServiceRequest, actor)
            .where(ServiceRequest.status == "accepted").order_by(ServiceRequest.id.desc()))


def technicians(actor):
    if not actor.is_staff:
        return select(User).where(User.id.is_(None))
    return (select(User).where(User.active.is_(True), User.roles.any(Role.name == "Technician"))
            .order_by(User.first_name, User.last_name))


def shippable_orders(actor):
    return (scoped(select(WorkOrder), WorkOrder, actor)
            .where(WorkOrder.status == "confirmed", WorkOrder.shipment_id.is_(None),
                   WorkOrder.service_location_id.is_not(None), WorkOrder.shipping_method_id.is_not(None))
            .order_by(WorkOrder.id.desc()))


def pick(options: dict, field: str, actor, ident, message: str):
    """The row ``ident`` among ``options[field](actor)``; a 422 at ``field`` otherwise (absent, not yours)."""
    if ident is None:
        return None
    stmt = options[field](actor)
    model = stmt.column_descriptions[0]["entity"]
    row = db.session.scalar(stmt.where(model.id == ident).order_by(None).limit(1))
    if row is None:
        raise ApiError(422, {field: [message]})
    return row


def pick_all(options: dict, actor, wanted: dict) -> dict:
    """``{field: (ident, message)}`` → ``{field: row}``; every refused field in one 422."""
    rows, errors = {}, {}
    for field, (ident, message) in wanted.items():
        try:
            rows[field] = pick(options, field, actor, ident, message)
        except ApiError as error:
            errors.update(error.message)
    if errors:
        raise ApiError(422, errors)
    return rows
