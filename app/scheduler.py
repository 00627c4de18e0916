"""The scheduler process: ``flask --app run scheduler``. The one process that runs jobs.

It runs APScheduler 3 (``BackgroundScheduler``) with two job stores:

- ``default``: ``SQLAlchemyJobStore`` on the application's database (table ``apscheduler_jobs``, created by
  migration 0007): one job per enabled ``ReportDefinition`` (``report-<id>``), a ``CronTrigger`` in the
  shop's time zone. Schedules survive restarts; a run missed while the machine was off runs once at the
  next start (``coalesce=True``, a week of ``misfire_grace_time``), not once per missed slot.
- ``system``: in memory, re-added at every start: the outbox every minute (``mailer.send_due``), queued
  "Run now" runs every few seconds, syncing the report jobs with the definitions every minute (by their
  ``updated_at``), the day-before booking reminders every 15 minutes (``requests.send_reminders``), and
  pruning old runs and files daily.

APScheduler 3 has no lock between processes, so Portico adds one: a lease row (``scheduler_lease``) that
one process holds and renews every ``lease_seconds / 3``, writing ``heartbeat_at`` each time (the dashboard,
the outbox screen and ``/readyz`` show a stale one: ``services.operations.scheduler_status``). A second
scheduler process (or a second ``make run``) stays on standby, checking the lease, and takes over only once it
has expired. Whoever takes over marks the runs left ``running`` by a dead process as failed and queues one
retry of each (``reports.fail_interrupted``: the report run's ``interrupt`` action). A scheduled slot
also has a unique index on ``report_run``, so even a process that lost its lease mid-way cannot record a slot twice.

SIGTERM (systemd's stop, a deploy) is graceful: no new job starts, the report in hand finishes (up to
``PORTICO_SCHEDULER_STOP_SECONDS``, the lease renewed meanwhile), then the lease is released and the standby
takes over at its next check (``lease_seconds / 3``), not after the lease time. A report still running at
the timeout is left to the standby: the process exits without releasing, and the run is retried.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import threading
import time
import uuid

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import case, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from .extensions import db
from .models import ReportDefinition, ReportRun, SchedulerLease, utcnow
from .models.scheduler import APSCHEDULER_TABLE
from .reports.schedule import CronError, latest_fire_time, trigger_for

log = logging.getLogger("portico.scheduler")
LEASE_NAME = "scheduler"
MISFIRE_GRACE_SECONDS = 7 * 24 * 3600
#: How often the scheduler looks for bookings of tomorrow that want their reminder.
REMINDER_MINUTES = 15
_thread = threading.local()


class Lease:
    """A row that one process holds until ``expires_at``; atomic take-over with one UPDATE or INSERT."""

    def __init__(self, engine, holder: str, seconds: float, name: str = LEASE_NAME):
        self.engine, self.holder, self.seconds, self.name = engine, holder, seconds, name

    def acquire(self) -> bool:
        """Take the lease if it is free, expired or already ours (then it is renewed)."""
        now = utcnow()
        table = SchedulerLease.__table__
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(table).where(table.c.name == self.name,
                                    or_(table.c.holder == self.holder, table.c.expires_at < now))
                .values(holder=self.holder, expires_at=now + dt.timedelta(seconds=self.seconds), heartbeat_at=now,
                        acquired_at=case((table.c.holder == self.holder, table.c.acquired_at), else_=now))
            ).rowcount
        if taken:
            return True
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(table).values(name=self.name, holder=self.holder, acquired_at=now, heartbeat_at=now,
                                                  expires_at=now + dt.timedelta(seconds=self.seconds)))
        except IntegrityError:
            return False
        return True

    def renew(self) -> bool:
        """Extend our lease and write the heartbeat; False if another process holds it now."""
        table = SchedulerLease.__table__
        now = utcnow()
        with self.engine.begin() as conn:
            return conn.execute(
                update(table).where(table.c.name == self.name, table.c.holder == self.holder)
                .values(expires_at=now + dt.timedelta(seconds=self.seconds), heartbeat_at=now)
            ).rowcount == 1

    def release(self) -> None:
        table = SchedulerLease.__table__
        with self.engine.begin() as conn:
            conn.execute(update(table).where(table.c.name == self.name, table.c.holder == self.holder)
                         .values(expires_at=utcnow() - dt.timedelta(seconds=1)))

    def holder_info(self) -> tuple[str, dt.datetime] | None:
        table = SchedulerLease.__table__
        with self.engine.connect() as conn:
            row = conn.execute(select(table.c.holder, table.c.expires_at).where(table.c.name == self.name)).first()
        return (row.holder, row.expires_at) if row else None


def _bind_thread(runner: PorticoScheduler) -> None:
    _thread.runner = runner


def fire_report(definition_id: int, fingerprint: str = "") -> None:
    """The persisted report job (``app.scheduler:fire_report``); runs in the executing scheduler's thread."""
    runner = getattr(_thread, "runner", None)
    if runner is None:
        log.error("Report job %s fired outside a Portico scheduler thread: ignored", definition_id)
        return
    runner.fire(definition_id)


def fingerprint(definition: ReportDefinition, zone: str) -> str:
    return f"{definition.cron}|{zone}|{definition.updated_at.isoformat() if definition.updated_at else ''}"


class PorticoScheduler:
    """One scheduler process. ``run_forever()`` for the CLI; ``step()`` and ``stop()`` for tests."""

    def __init__(self, app, *, worker: str | None = None, lease_seconds: float = 60, poll_seconds: float = 5,
                 sync_seconds: float = 60, outbox_seconds: float = 60):
        self.app = app
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease_seconds, self.poll_seconds = lease_seconds, poll_seconds
        self.sync_seconds, self.outbox_seconds = sync_seconds, outbox_seconds
        with app.app_context():
            self.lease = Lease(db.engine, self.worker, lease_seconds)
        self.scheduler: BackgroundScheduler | None = None
        self._stop = threading.Event()
        self._busy = threading.Lock()  # one report at a time in this process

    # --- becoming active and standing by ---------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self.scheduler is not None

    def step(self, paused: bool = False) -> bool:
        """Take or renew the lease and start or stop jobs accordingly; returns whether this process is active."""
        try:
            holds = self.lease.acquire() if not self.active else self.lease.renew()
        except SQLAlchemyError:
            log.exception("Scheduler %s could not reach the database for its lease", self.worker)
            holds = False
        if holds and not self.active:
            self._activate(paused)
        elif not holds and self.active:
            log.warning("Scheduler %s lost its lease: standing by", self.worker)
            self._deactivate(wait=False)
        return self.active

    def _activate(self, paused: bool) -> None:
        from .core.settings import get_settings
        from .services import reports

        with self.app.app_context():
            zone = get_settings().time_zone
            interrupted = reports.fail_interrupted(self.worker)
            engine = db.engine
        log.info("Scheduler %s is active (time zone %s); %s interrupted run(s) marked failed", self.worker, zone,
                 interrupted)
        scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=APSCHEDULER_TABLE),
                       "system": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(3, pool_kwargs={"initializer": _bind_thread,
                                                                     "initargs": (self,)})},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS},
            timezone=zone,
        )
        scheduler.start(paused=True)
        self.scheduler = scheduler
        self.sync_definitions()
        system = {"jobstore": "system", "replace_existing": True, "coalesce": True, "misfire_grace_time": 30}
        scheduler.add_job(self._outbox, "interval", seconds=self.outbox_seconds, id="outbox", name="outbox",
                          next_run_time=dt.datetime.now(dt.UTC), **system)
        scheduler.add_job(self._queued, "interval", seconds=self.poll_seconds, id="queued-runs", name="queued runs",
                          next_run_time=dt.datetime.now(dt.UTC), **system)
        scheduler.add_job(self._imports, "interval", seconds=self.poll_seconds, id="queued-imports",
                          name="queued imports", next_run_time=dt.datetime.now(dt.UTC), **system)
        scheduler.add_job(self.sync_definitions, "interval", seconds=self.sync_seconds, id="sync", name="sync",
                          **system)
        scheduler.add_job(self._prune, "cron", hour=3, minute=30, timezone=zone, id="prune", name="prune", **system)
        scheduler.add_job(self._reminders, "interval", minutes=REMINDER_MINUTES, id="booking-reminders",
                          name="booking reminders", **system)
        scheduler.add_job(self._sweep_uploads, "interval", hours=1, id="sweep-uploads", name="sweep uploads",
                          **system)
        if not paused:
            scheduler.resume()

    def _deactivate(self, wait: bool) -> None:
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=wait)

    def stop(self, release: bool = True, timeout: float | None = None) -> bool:
        """Let the job in hand finish (up to ``timeout`` seconds; None: as long as it takes), stop, and hand the
        lease on at once. The lease is renewed while waiting, so the standby does not take over a live run.

        Returns False when a job was still running at the timeout: the lease is then not released (the process
        should exit now); the standby takes over when it runs out and retries the interrupted run."""
        self._stop.set()
        scheduler, self.scheduler = self.scheduler, None  # no new job starts (``fire`` and ``_queued`` look)
        finished = True
        if scheduler is not None and scheduler.running:
            waiting = threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True,
                                       name="scheduler-shutdown")
            waiting.start()
            deadline = None if timeout is None else time.monotonic() + timeout
            while waiting.is_alive() and (deadline is None or time.monotonic() < deadline):
                left = self.lease_seconds / 3 if deadline is None else min(self.lease_seconds / 3,
                                                                            max(deadline - time.monotonic(), 0))
                waiting.join(left)
                if waiting.is_alive():
                    try:
                        self.lease.renew()
                    except SQLAlchemyError:
                        log.exception("Scheduler %s could not renew its lease while stopping", self.worker)
            finished = not waiting.is_alive()
        if not finished:
            log.warning("Scheduler %s: a job still runs after %ss: stopping without it, the lease kept until it "
                        "runs out (the standby then retries the run)", self.worker, timeout)
        elif release:
            try:
                self.lease.release()
            except SQLAlchemyError:
                log.exception("Could not release the scheduler lease")
        return finished

    def run_forever(self, stop_timeout: float | None = None) -> None:
        """Run until SIGTERM or SIGINT; then the job in hand may finish for ``stop_timeout`` seconds."""
        signal.signal(signal.SIGTERM, lambda *_: self._stop.set())
        signal.signal(signal.SIGINT, lambda *_: self._stop.set())
        log.info("Scheduler %s starting (lease %ss)", self.worker, self.lease_seconds)
        was_active = None
        while not self._stop.is_set():
            try:
                active = self.step()
            except Exception:  # noqa: BLE001 - e.g. the database restarting: try again on the next beat
                log.exception("Scheduler %s: lease step failed", self.worker)
                active = self.active
            if active != was_active and not active:
                info = self.lease.holder_info()
                log.info("Scheduler %s standing by: %s", self.worker,
                         f"{info[0]} holds the lease until {info[1]:%H:%M:%S} UTC" if info else "waiting")
            was_active = active
            self._stop.wait(self.lease_seconds / 3)
        log.info("Scheduler %s stopping", self.worker)
        if not self.stop(timeout=stop_timeout):
            logging.shutdown()
            os._exit(1)  # the job's thread would keep the interpreter alive: leave it to the next lease holder

    # --- jobs ----------------------------------------------------------------------------------------------

    def sync_definitions(self) -> dict:
        """Make the report jobs match the enabled definitions (added, changed, removed)."""
        from .core.settings import get_settings

        scheduler = self.scheduler
        if scheduler is None:
            return {}
        counts = {"added": 0, "changed": 0, "removed": 0}
        with self.app.app_context():
            zone = get_settings().time_zone
            wanted = {f"report-{d.id}": d for d in db.session.scalars(
                select(ReportDefinition).where(ReportDefinition.enabled.is_(True)))}
            for job in scheduler.get_jobs(jobstore="default"):
                if job.id not in wanted:
                    job.remove()
                    counts["removed"] += 1
            for job_id, definition in wanted.items():
                stamp = fingerprint(definition, zone)
                job = scheduler.get_job(job_id, jobstore="default")
                if job is not None and job.kwargs.get("fingerprint") == stamp:
                    continue
                try:
                    trigger = trigger_for(definition.cron, zone)
                except CronError as exc:
                    log.error("Report %r has a schedule Portico cannot read (%s): not scheduled", definition.name, exc)
                    continue
                scheduler.add_job(fire_report, trigger, id=job_id, name=definition.name[:100], jobstore="default",
                                  kwargs={"definition_id": definition.id, "fingerprint": stamp},
                                  replace_existing=True)
                counts["changed" if job is not None else "added"] += 1
        if any(counts.values()):
            log.info("Report schedules synced: %s", counts)
        return counts

    def fire(self, definition_id: int) -> None:
        """A definition's slot is due: record the run once and execute it."""
        from .core.settings import shop_zone
        from .services import reports

        with self._busy, self.app.app_context():
            if not self.active:
                return
            definition = db.session.get(ReportDefinition, definition_id)
            if definition is None or not definition.enabled:
                return
            now = dt.datetime.now(dt.UTC)
            try:
                slot = latest_fire_time(trigger_for(definition.cron, shop_zone()), now) or now
            except CronError:
                slot = now
            run = reports.start_scheduled(definition_id, slot.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0),
                                          self.worker)
            if run is not None:
                log.info("Report run %s of %r started (slot %s)", run.id, definition.name, run.scheduled_for)
                reports.execute(run)

    def _queued(self) -> None:
        from .services import reports

        with self._busy, self.app.app_context():
            for run_id in reports.queued_ids():
                if not self.active or self._stop.is_set():
                    return
                if reports.claim(run_id, self.worker):
                    run = db.session.get(ReportRun, run_id)
                    log.info("Report run %s of %r started (Run now)", run_id, run.definition.name)
                    reports.execute(run)

    def _imports(self) -> None:
        """Large customer and unit imports queued on the Import screen (``imports.process``)."""
        from .services import imports

        with self.app.app_context():
            for batch_id in imports.queued_ids():
                if not self.active or self._stop.is_set():
                    return
                imports.process(batch_id)

    def _outbox(self) -> None:
        from .services.mailer import send_due

        with self.app.app_context():
            counts = send_due()
            if any(counts.values()):
                log.info("Outbox: %s", counts)

    def _reminders(self) -> None:
        """The day-before booking reminders, once the shop's reminder time has come (``requests.remind``)."""
        from .services import requests

        with self.app.app_context():
            sent = requests.send_reminders()
            if sent:
                log.info("Booking reminders sent: %s", sent)

    def _sweep_uploads(self) -> None:
        """Upload files left by a crash (staged, or named by no row) are tidied up (``uploads.sweep``)."""
        from .services import uploads

        with self.app.app_context():
            uploads.sweep()
            uploads.purge_stale_drafts()

    def _prune(self) -> None:
        from .services import reports

        with self.app.app_context():
            reports.prune()
