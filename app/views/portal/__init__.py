"""The customer portal under ``/portal/`` (SPEC §7). ``register`` adds its views, none with a menu entry."""
from __future__ import annotations


def register(appbuilder) -> None:
    from flask import current_app

    from . import estimates, home, invoices, notifications, orders, page_helpers, profile, requests

    for module in (home, requests, estimates, orders, invoices, profile, notifications):
        for view in module.VIEWS:
            appbuilder.add_view_no_menu(view)
    page_helpers.install(current_app)
    from . import documents, repair_orders, shipments

    for module in (repair_orders, shipments, documents):
        for view in module.VIEWS:
            appbuilder.add_view_no_menu(view)
    register_doors(appbuilder)


def register_doors(appbuilder) -> None:
    """Sign-in, the public request form and file downloads; the portal's language and session check."""
    from flask import current_app

    from . import attachments, auth, locale, public_request, slots

    for module in (auth, public_request, slots, attachments):
        for view in module.VIEWS:
            appbuilder.add_view_no_menu(view)
    locale.install(current_app)
    auth.install_session_check(current_app)
