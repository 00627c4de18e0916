"""Flask CLI commands: ``flask --app run seed --demo``, ``sync-security``, ``outbox``, ``scheduler``,
``backup PATH`` and ``restore PATH``."""
from __future__ import annotations

import click
from flask import current_app


def register(app) -> None:
    @app.cli.command("sync-security")
    def sync_security_command():
        """Create permissions for every view and set each role to its definition in app/security.py."""
        from .security import sync_security

        if sync_security(current_app.appbuilder):
            click.echo("Roles and permissions are in sync.")
        else:
            raise click.ClickException("Security tables missing: run 'flask --app run db upgrade' first.")

    @app.cli.command("outbox")
    def outbox_command():
        """Send the e-mail that is due now (the scheduler process does this every minute)."""
        from .services.mailer import send_due

        click.echo(send_due())

    @app.cli.command("scheduler")
    @click.option("--lease-seconds", default=60.0, envvar="PORTICO_SCHEDULER_LEASE_SECONDS", show_default=True,
                  help="How long the lease lasts without renewal (a standby process takes over after it).")
    @click.option("--poll-seconds", default=5.0, envvar="PORTICO_SCHEDULER_POLL_SECONDS", show_default=True,
                  help="How often queued 'Run now' runs are picked up.")
    @click.option("--stop-seconds", default=240.0, envvar="PORTICO_SCHEDULER_STOP_SECONDS", show_default=True,
                  help="On SIGTERM, how long a running report may take to finish before the process exits.")
    def scheduler_command(lease_seconds: float, poll_seconds: float, stop_seconds: float):
        """Run scheduled reports and send the outbox: the one process that runs jobs (Ctrl-C stops it)."""
        from .scheduler import PorticoScheduler

        PorticoScheduler(current_app._get_current_object(), lease_seconds=lease_seconds,
                         poll_seconds=poll_seconds).run_forever(stop_timeout=stop_seconds)

    @app.cli.command("backup")
    @click.argument("path", type=click.Path(dir_okay=False))
    def backup_command(path: str):
        """Write one archive (.tar.gz) with the database, the uploads, the exports and a manifest."""
        from .backup import BackupError, backup

        try:
            click.echo(f"Backed up {backup(path)}")
        except BackupError as error:
            raise click.ClickException(str(error)) from None

    @app.cli.command("restore")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    def restore_command(path: str):
        """Restore a backup into an empty database and empty upload and export folders."""
        from .backup import BackupError, restore

        try:
            click.echo(f"Restored {restore(path)}")
        except BackupError as error:
            raise click.ClickException(str(error)) from None

    @app.cli.command("seed")
    @click.option("--demo", is_flag=True, help="Load the demo shop (idempotent).")
    def seed_command(demo: bool):
        """Load reference data, and with --demo the demo accounts and their history."""
        from seed import load

        summary = load(demo=demo)
        click.echo(summary)
