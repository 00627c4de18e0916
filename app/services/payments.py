"""Online payments: a customer pays an open invoice's balance through a payment provider.

A provider is anything with a ``name`` and ``charge(invoice, amount, token) -> reference`` that raises
``PaymentDeclined`` when the money is refused. Providers are registered by name (``register_provider``)
and the one in use is chosen by the ``PORTICO_PAYMENT_PROVIDER`` setting (app config, then environment;
default ``"demo"``). The built-in ``DemoProvider`` moves no money: the token ``tok_demo_ok`` succeeds with
a reference such as ``demo_3f9a…``, ``tok_demo_declined`` (and anything else) is declined.

``pay_online`` is what the portal calls. It charges the balance, then records the payment through
``invoices.record_payment`` (method ``online``, the provider's name and reference), acting as
``actor.on_behalf_of_system("online payment")`` so the audit reads "jane (online payment)".
"""
from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from decimal import Decimal
from typing import Protocol, runtime_checkable

from flask import current_app, has_app_context

from ..core.actors import Actor
from ..core.errors import InvalidTransition, PermissionDenied, ServiceError, ValidationFailed
from ..core.scope import get_for
from ..extensions import db
from ..models import Invoice
from . import invoices, notify

log = logging.getLogger(__name__)

DEFAULT_PROVIDER = "demo"


class PaymentDeclined(Exception):
    """The provider refused the charge; ``message`` is safe to show to the customer."""

    def __init__(self, message: str = "The payment was declined."):
        super().__init__(message)
        self.message = message


@runtime_checkable
class PaymentProvider(Protocol):
    name: str

    def charge(self, invoice: Invoice, amount: Decimal, token: str) -> str:
        """Take ``amount`` for ``invoice`` with the customer's ``token``; return the provider's reference."""
        ...


class DemoProvider:
    """A provider for the demo shop and the tests: no money moves."""

    name = "demo"
    OK = "tok_demo_ok"
    DECLINED = "tok_demo_declined"

    def charge(self, invoice: Invoice, amount: Decimal, token: str) -> str:
        if token == self.OK:
            return f"demo_{secrets.token_hex(8)}"
        if token == self.DECLINED:
            raise PaymentDeclined("The card was declined (demo).")
        raise PaymentDeclined("The payment details were not accepted.")


_REGISTRY: dict[str, Callable[[], PaymentProvider]] = {"demo": DemoProvider}


def register_provider(name: str, factory: Callable[[], PaymentProvider]) -> None:
    """Make a provider available under ``name`` (choose it with ``PORTICO_PAYMENT_PROVIDER``)."""
    _REGISTRY[name] = factory


def configured_name() -> str:
    name = current_app.config.get("PORTICO_PAYMENT_PROVIDER") if has_app_context() else None
    return (name or os.environ.get("PORTICO_PAYMENT_PROVIDER") or DEFAULT_PROVIDER).strip()


def get_provider(name: str | None = None) -> PaymentProvider:
    name = name or configured_name()
    factory = _REGISTRY.get(name)
    if factory is None:
        log.error("PORTICO_PAYMENT_PROVIDER names %r; known providers: %s", name, ", ".join(sorted(_REGISTRY)))
        raise ServiceError("Online payment is not available at the moment.")
    return factory()


def pay_online(invoice: Invoice, actor: Actor, token: str) -> Invoice:
    """Charge the balance of the customer's own open invoice and record the payment."""
    if not actor.is_customer:
        raise PermissionDenied("Online payment is made by the customer in the portal.")
    invoice = get_for(Invoice, invoice.id, actor)  # another customer's invoice: NotFound
    token = (token or "").strip() if isinstance(token, str) else ""
    if not token:
        raise ValidationFailed({"token": ["Enter your payment details."]})
    # Lock the row for the charge (PostgreSQL; SQLite serialises writers anyway), then check its state.
    db.session.refresh(invoice, with_for_update=True)
    if invoice.status != "open":
        raise InvalidTransition("invoice", invoice.status, "pay")
    amount = invoice.balance
    if amount <= 0:
        raise ValidationFailed({"amount": ["Nothing is left to pay on this invoice."]})
    provider = get_provider()
    try:
        reference = provider.charge(invoice, amount, token)
    except PaymentDeclined as declined:
        db.session.rollback()
        raise ValidationFailed({"token": [declined.message]}) from None
    system = actor.on_behalf_of_system("online payment")
    notify.to_staff("invoice.payment", f"{invoice.number}: online payment of {amount}",
                    f"{provider.name} reference {reference}", link=f"/invoiceview/show/{invoice.id}",
                    customer_id=invoice.customer_id)
    try:
        return invoices.record_payment(invoice, system, amount=amount, method="online", reference=reference,
                                       provider=provider.name)
    except ServiceError:
        db.session.rollback()
        # Charged but not recorded: say so loudly for reconciliation.
        log.error("Online payment %s of %s on %s was charged but could not be recorded", reference, amount,
                  invoice.number)
        raise
