"""The service layer: every change of Portico's data is an action of an entity's table here.

Each workflow module (``requests``, ``estimates``, ``work_orders``, ``invoices``, ``shipments``,
``reports``) ends with its ``TABLE``: one row per action — transitions and everything else (notes,
messages, assignments, payments, edits, lines, attachments, report runs) — naming its states, who may
take it and its parameter schema. ``workflow.perform(obj, action, actor, params)`` is the one door that
staff screens, the portal, the REST API and the scheduler call; effects never commit and never check
states or roles. Shared basics (errors, actors, row scope, settings) live in ``app.core``.
"""

# Every action table registers itself when its module is imported: import them all, so ``perform`` and the
# screens find the table of any entity whichever module a caller imported first.
from . import (  # noqa: E402, F401
    accounts,
    catalog,
    customers,
    estimates,
    invoices,
    reports,
    requests,
    shipments,
    shop_settings,
    work_orders,
)
