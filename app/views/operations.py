"""Warnings about the background work for staff screens (manager dashboard, outbox): a scheduler that stopped
beating, mail that failed, no mail server. Read from ``services.operations``; shown as alert boxes."""
from __future__ import annotations

from flask_babel import gettext as _

from ..services import mailer, operations


def alerts() -> list[tuple[str, str]]:
    """``[(bootstrap category, text)]``, most serious first; empty when all is well."""
    found: list[tuple[str, str]] = []
    scheduler = operations.scheduler_status()
    if scheduler.stale:
        if scheduler.heartbeat_at is None:
            found.append(("danger", _("No scheduler process has run yet: scheduled reports and e-mail wait until "
                                      "one runs (flask --app run scheduler).")))
        else:
            found.append(("danger", _("The scheduler has not reported since %(when)s UTC (%(minutes)s minutes ago): "
                                      "scheduled reports and e-mail are waiting. Check the scheduler process.",
                                      when=f"{scheduler.heartbeat_at:%Y-%m-%d %H:%M}",
                                      minutes=int((scheduler.age_seconds or 0) // 60))))
    outbox = operations.outbox_status()
    if outbox.failed:
        found.append(("danger", _("%(n)s e-mail(s) could not be sent for a day and were given up: see the outbox.",
                                  n=outbox.failed)))
    if not mailer.mail_server_configured() and outbox.pending:
        found.append(("warning", _("%(n)s e-mail(s) not sent: no mail server configured (MAIL_SERVER).",
                                   n=outbox.pending)))
    return found
