"""A report run interrupted by a dead scheduler is failed and retried once by the scheduler taking over the
lease (issue 18), through the report run's action table (audited); a scheduler stopping gracefully lets its
job finish, then hands the lease on at once. Fast: in-process schedulers, a frozen clock, SQLite or PostgreSQL."""
from __future__ import annotations

import datetime as dt
import threading
import time

import time_machine
from sqlalchemy import select

from app.core.actors import Actor
from app.models import AuditEvent, ReportRun, SchedulerLease, utcnow
from app.scheduler import PorticoScheduler
from app.services import reports
from tests.test_scheduler import schedulers  # noqa: F401 - in-process schedulers, stopped after the test

UTC = dt.UTC
SLOT = dt.datetime(2026, 11, 23, 9, 0)


def _definition(name="Monday workshop"):
    return reports.create_definition(Actor.system_actor("test"), name=name, kind="work_orders", cron="0 7 * * 1",
                                     format="csv", recipients=[], params={"period": "last_week"})


def _snapshot(db, run_id):
    db.session.expire_all()
    run = db.session.get(ReportRun, run_id)
    return run.status, run.error, run.finished_at, run.worker, run.attempt


def _take_over(traveller, dying: PorticoScheduler, successor: PorticoScheduler) -> None:
    """``dying`` is SIGKILLed (its lease not released); ``successor`` takes the lease once it ran out."""
    dying._deactivate(wait=False)
    assert successor.step(paused=True) is False  # the lease is still live
    traveller.shift(dt.timedelta(seconds=61))
    assert successor.step(paused=True) is True


def test_an_interrupted_run_is_failed_and_retried_once_and_a_retry_not_again(db, schedulers):  # noqa: F811
    definition, other = _definition(), _definition("Other report")
    with time_machine.travel(dt.datetime(2026, 11, 23, 10, 0, tzinfo=UTC), tick=False) as traveller:
        dead, standby, third = (schedulers(name, lease_seconds=60) for name in ("dead", "standby", "third"))
        assert dead.step(paused=True)
        interrupted = reports.start_scheduled(definition.id, SLOT, "dead")
        # Other work that must not be touched: a queued Run now, a finished run, the successor's own run.
        queued = reports.queue_run(other, Actor.system_actor("Jane"))
        done = ReportRun(definition_id=other.id, status="succeeded", trigger="manual", started_at=utcnow(),
                         finished_at=utcnow(), worker="dead", row_count=3)
        own = ReportRun(definition_id=other.id, status="running", trigger="manual", started_at=utcnow(),
                        worker="standby")
        db.session.add_all([done, own])
        db.session.commit()
        untouched = {run.id: _snapshot(db, run.id) for run in (queued, done, own)}

        _take_over(traveller, dead, standby)
        db.session.expire_all()
        failed = db.session.get(ReportRun, interrupted.id)
        assert failed.status == "failed" and failed.finished_at is not None and failed.files is None
        assert "Interrupted" in failed.error and "(dead) stopped" in failed.error
        retries = list(db.session.scalars(select(ReportRun).where(ReportRun.trigger == "retry")))
        assert [(r.status, r.attempt, r.definition_id, r.scheduled_for) for r in retries] == \
            [("queued", 2, definition.id, SLOT)]
        retry = retries[0]
        assert f"tried once more (run {retry.id})" in failed.error
        assert {run_id: _snapshot(db, run_id) for run_id in untouched} == untouched

        events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "report_run")
                                         .order_by(AuditEvent.id)))
        assert [(e.entity_id, e.action, e.from_status, e.to_status, e.actor_label) for e in events] == [
            (retry.id, "retry", None, "queued", "scheduler standby"),
            (interrupted.id, "interrupt", "running", "failed", "scheduler standby"),
        ]

        # The retry starts on the new holder, which is killed in turn: failed, and not retried again.
        assert reports.claim(retry.id, "standby")
        _take_over(traveller, standby, third)
        assert _snapshot(db, retry.id)[0] == "failed"
        assert "not tried again" in db.session.get(ReportRun, retry.id).error
        assert db.session.get(SchedulerLease, "scheduler").holder == "third"
        # The run "standby" had of its own died with it too: failed, and its first retry queued.
        assert _snapshot(db, own.id)[0] == "failed"
        queued_now = db.session.scalars(select(ReportRun).where(ReportRun.status == "queued")
                                        .order_by(ReportRun.id)).all()
        assert [(r.id if r is queued else r.definition_id, r.attempt) for r in queued_now] == \
            [(queued.id, 1), (other.id, 2)]
        assert _snapshot(db, queued.id) == untouched[queued.id]


def test_a_stopping_scheduler_lets_its_job_finish_then_releases_the_lease(db, schedulers):  # noqa: F811
    active, standby = schedulers("active", lease_seconds=3), schedulers("standby", lease_seconds=3)
    assert active.step()
    started, finished = threading.Event(), []

    def report():  # a job that takes longer than one lease renewal (1 s)
        started.set()
        time.sleep(1.5)
        finished.append(time.monotonic())

    active.scheduler.add_job(report, id="slow", jobstore="system")
    assert started.wait(10)
    assert active.stop(timeout=10) is True
    assert finished, "stop() returned before the job in hand finished"
    assert db.session.get(SchedulerLease, "scheduler").holder == "active"
    assert standby.step() is True  # released: taken at once, not after the lease time


def test_a_job_longer_than_the_stop_timeout_keeps_the_lease_for_the_standby_to_expire(db, schedulers):  # noqa: F811
    active = schedulers("active", lease_seconds=3)
    assert active.step()
    release = threading.Event()
    started = threading.Event()

    def report():
        started.set()
        release.wait(10)

    active.scheduler.add_job(report, id="stuck", jobstore="system")
    assert started.wait(10)
    try:
        assert active.stop(timeout=0.5) is False
        db.session.expire_all()
        lease = db.session.get(SchedulerLease, "scheduler")
        assert lease.holder == "active" and lease.expires_at > utcnow()  # not released, not taken over
    finally:
        release.set()


def test_a_run_interrupted_while_its_old_scheduler_still_ran_it_keeps_the_interruption(db, app):
    """A scheduler that lost its lease (a long database outage) finishes a report the new holder has already
    marked interrupted: its result is dropped (no files, no mail); the retry is what counts. And a run its
    scheduler finished before the new holder looked is not interrupted."""
    from app.models import OutboxEmail

    definition = reports.create_definition(Actor.system_actor("test"), name="Mailed", kind="work_orders",
                                           cron="0 7 * * 1", format="csv", recipients=["boss@example.com"],
                                           params={"period": "last_week"})
    late = reports.queue_run(definition, Actor.system_actor("Jane"))
    db.session.commit()
    assert reports.claim(late.id, "old")
    assert reports.fail_interrupted("new") == 1  # the new holder, while "old" still runs it
    run = reports.execute(db.session.get(ReportRun, late.id))  # "old" finishes it now
    assert run.status == "failed" and run.error.startswith("Interrupted") and run.files is None
    assert not reports.run_path(run).exists()
    assert db.session.scalars(select(OutboxEmail)).all() == []  # no mail of the dropped result
    retry = db.session.scalars(select(ReportRun).where(ReportRun.trigger == "retry")).one()
    assert reports.claim(retry.id, "new")
    assert reports.execute(retry).status == "succeeded"
    assert len(db.session.scalars(select(OutboxEmail)).all()) == 1  # one mail, by the retry
    assert reports.fail_interrupted("newer") == 0 and _snapshot(db, retry.id)[0] == "succeeded"
