"""Online payments: a customer pays an open invoice's balance through a payment provider.

A provider is anything with a ``name`` and ``charge(invoice, amount, token) -> reference`` that raises
``PaymentDeclined`` when the money is refused. Providers are registered by name (``register_provider``)
and the one in use is chosen by the ``PORTICO_PAYMENT_PROVIDER`` setting (app config, then environment;
default ``"demo"``). The built-in ``DemoProvider`` moves no money: the token ``tok_demo_ok`` succeeds with
a reference such as ``demo_3f9a…``, ``tok_demo_declined`` (and anything else) is declined.

The invoice's ``pay_online`` action (``app.services.invoices``) charges the balance through the provider
in use, then records the payment (method ``online``, the provider's name and reference), acting as
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
from flask_babel import lazy_gettext as _l

from ..core.errors import ServiceError
from ..models import Invoice

log = logging.getLogger(__name__)

DEFAULT_PROVIDER = "demo"


class PaymentDeclined(Exception):
    """The provider refused the charge; ``message`` is safe to show to the customer."""

    def __init__(self, message=None):
        message = message or _l("The payment was declined.")
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
            raise PaymentDeclined(_l("The card was declined (demo)."))
        raise PaymentDeclined(_l("The payment details were not accepted."))


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
        raise ServiceError(_l("Online payment is not available at the moment."))
    return factory()


def charged(invoice: Invoice, reference: str, amount: Decimal) -> None:
    """Log a charge before it is recorded: if recording fails after this, the log has it to reconcile."""
    log.info("Online payment %s of %s charged on %s", reference, amount, invoice.number)
