"""The scheduler process: schedules kept in the database across restarts, local time across daylight
saving, missed runs once, one process running jobs (a lease), interrupted runs failed, failures recorded."""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import time_machine
from flask import current_app
from sqlalchemy import func, select

from app.core.actors import Actor
from app.models import ReportRun, SchedulerLease
from app.reports import CATALOGUE
from app.reports.schedule import latest_fire_time, trigger_for
from app.scheduler import Lease, PorticoScheduler
from app.services import reports

UTC = dt.UTC
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def schedulers(app):
    made = []

    def make(worker: str, **kwargs) -> PorticoScheduler:
        runner = PorticoScheduler(app, worker=worker, **kwargs)
        made.append(runner)
        return runner

    yield make
    for runner in made:
        runner.stop(release=False)


def _definition(name="Sunday workshop", cron="30 6 * * 0", **fields):
    values = dict(name=name, kind="work_orders", cron=cron, format="csv", recipients=[],
                  params={"period": "last_week"})
    values.update(fields)
    return reports.create_definition(Actor.system_actor("test"), **values)


def _runs(db, definition_id) -> list[ReportRun]:
    db.session.expire_all()
    return list(db.session.scalars(select(ReportRun).where(ReportRun.definition_id == definition_id)
                                   .order_by(ReportRun.id)))


def _status(db, run_id) -> str:
    db.session.expire_all()
    return db.session.get(ReportRun, run_id).status


def _wait_for(predicate, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


@pytest.mark.parametrize("now, cron, first_utc, second_utc", [
    # Summer time ends on Sunday 25 October 2026 in Europe/Berlin: 06:30 is 04:30 UTC before, 05:30 after.
    (dt.datetime(2026, 10, 20, 12, 0, tzinfo=UTC), "30 6 * * 0",
     dt.datetime(2026, 10, 25, 5, 30, tzinfo=UTC), dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
    # It starts on Sunday 29 March 2026: Monday 07:00 is 06:00 UTC before, 05:00 after.
    (dt.datetime(2026, 3, 24, 12, 0, tzinfo=UTC), "0 7 * * 1",
     dt.datetime(2026, 3, 30, 5, 0, tzinfo=UTC), dt.datetime(2026, 4, 6, 5, 0, tzinfo=UTC)),
])
def test_schedule_survives_a_restart_at_the_right_local_time(db, schedulers, now, cron, first_utc, second_utc):
    with time_machine.travel(now, tick=False):
        definition = _definition(cron=cron)
        first = schedulers("first")
        assert first.step(paused=True)
        job = first.scheduler.get_job(f"report-{definition.id}")
        assert job.next_run_time == first_utc
        first.stop()

        restarted = schedulers("restarted")  # a new process on the same database
        assert restarted.step(paused=True)
        job = restarted.scheduler.get_job(f"report-{definition.id}")
        assert job is not None and job.kwargs["definition_id"] == definition.id
        assert job.next_run_time == first_utc
        assert job.trigger.get_next_fire_time(job.next_run_time, job.next_run_time + dt.timedelta(seconds=1)) \
            == second_utc
        assert job.coalesce is True and job.misfire_grace_time >= 24 * 3600


def test_missed_slots_run_once_when_the_scheduler_starts_again(db, schedulers):
    with time_machine.travel(dt.datetime(2026, 11, 1, 12, 0, tzinfo=UTC), tick=False):
        definition = _definition(cron="0 7 * * 1")  # Mondays 07:00 Berlin (06:00 UTC in winter)
        before = schedulers("before")
        assert before.step(paused=True)
        before.stop()
    # The machine was off for three weeks: the slots of 2, 9, 16 and 23 November were missed.
    with time_machine.travel(dt.datetime(2026, 11, 23, 10, 0, tzinfo=UTC), tick=True):
        after = schedulers("after")
        assert after.step()
        assert _wait_for(lambda: [r.status for r in _runs(db, definition.id)] == ["succeeded"])
        time.sleep(1)  # a second run would have been submitted together with the first
        runs = _runs(db, definition.id)
        assert len(runs) == 1
        assert runs[0].trigger == "schedule"
        assert runs[0].scheduled_for == dt.datetime(2026, 11, 23, 6, 0)  # the latest slot, in UTC
        assert runs[0].worker == "after"
        job = after.scheduler.get_job(f"report-{definition.id}")
        assert job.next_run_time == dt.datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


def test_two_schedulers_on_one_database_run_a_due_job_once(db, schedulers):
    with time_machine.travel(dt.datetime(2026, 11, 16, 12, 0, tzinfo=UTC), tick=False):
        definition = _definition(cron="0 7 * * 1")
        setup = schedulers("setup")
        setup.step(paused=True)
        setup.stop()
    with time_machine.travel(dt.datetime(2026, 11, 23, 10, 0, tzinfo=UTC), tick=True):
        one, two = schedulers("one", lease_seconds=30), schedulers("two", lease_seconds=30)
        assert one.step() is True
        assert two.step() is False  # stands by: the lease is held
        assert _wait_for(lambda: [r.status for r in _runs(db, definition.id)] == ["succeeded"])
        assert two.step() is False
        time.sleep(1)
        assert [r.worker for r in _runs(db, definition.id)] == ["one"]


def test_a_dead_process_loses_its_lease_and_its_run_is_marked_failed(db, schedulers):
    definition = _definition()
    with time_machine.travel(dt.datetime(2026, 11, 23, 10, 0, tzinfo=UTC), tick=False) as traveller:
        dead, standby = schedulers("dead", lease_seconds=60), schedulers("standby", lease_seconds=60)
        assert dead.step(paused=True)
        run = reports.start_scheduled(definition.id, dt.datetime(2026, 11, 23, 9, 0), "dead")
        dead._deactivate(wait=False)  # killed: the lease is not released, the run stays "running"
        assert standby.step(paused=True) is False
        traveller.shift(dt.timedelta(seconds=30))
        assert standby.step(paused=True) is False  # the lease has not expired yet
        traveller.shift(dt.timedelta(seconds=31))
        assert standby.step(paused=True) is True
    db.session.expire_all()
    failed = db.session.get(ReportRun, run.id)
    assert failed.status == "failed"
    assert "Interrupted" in failed.error and "dead" in failed.error
    assert db.session.get(SchedulerLease, "scheduler").holder == "standby"


def test_lease_is_taken_once_renewed_by_its_holder_and_released(app, db):
    first, second = Lease(db.engine, "first", 10), Lease(db.engine, "second", 10)
    assert first.acquire() and not second.acquire()
    assert first.renew() and not second.renew()
    first.release()
    assert second.acquire() and not first.renew()


def test_a_run_that_raises_is_failed_and_the_scheduler_goes_on(db, schedulers, monkeypatch):
    broken, working = _definition(name="Broken"), _definition(name="Working", kind="data_quality")

    def explode(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(CATALOGUE["work_orders"], "run", explode)
    runner = schedulers("runner", poll_seconds=0.5)
    assert runner.step()
    runner.fire(broken.id)
    runner.fire(working.id)
    failed, = _runs(db, broken.id)
    assert failed.status == "failed" and failed.error == "RuntimeError: the database went away"
    assert failed.finished_at is not None and failed.files is None
    succeeded, = _runs(db, working.id)
    assert succeeded.status == "succeeded"
    assert runner.active and runner.scheduler.running
    queued = reports.perform(broken, "run", Actor.system_actor("test"))
    assert _wait_for(lambda: _status(db, queued.id) == "failed")


def test_jobs_follow_definition_changes(db, schedulers):
    definition = _definition(cron="0 7 * * 1")
    runner = schedulers("runner")
    runner.step(paused=True)
    before = runner.scheduler.get_job(f"report-{definition.id}").next_run_time
    definition.cron = "0 8 * * 1"
    db.session.commit()
    assert runner.sync_definitions() == {"added": 0, "changed": 1, "removed": 0}
    after = runner.scheduler.get_job(f"report-{definition.id}").next_run_time
    assert after - before == dt.timedelta(hours=1)
    assert runner.sync_definitions() == {"added": 0, "changed": 0, "removed": 0}
    definition.enabled = False
    db.session.commit()
    assert runner.sync_definitions()["removed"] == 1
    assert runner.scheduler.get_job(f"report-{definition.id}") is None


def test_latest_fire_time_is_the_slot_a_late_run_belongs_to():
    trigger = trigger_for("0 7 * * 1", "Europe/Berlin")
    now = dt.datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert latest_fire_time(trigger, now) == dt.datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    assert latest_fire_time(trigger_for("*/5 * * * *", "UTC"), now) == now


def test_two_scheduler_processes_run_a_due_job_once(app, db, database_url, schedulers, tmp_path):
    """Real ``flask --app run scheduler`` processes against the test database."""
    with time_machine.travel(dt.datetime.now(UTC) - dt.timedelta(days=8), tick=False):
        definition = _definition(cron="0 7 * * *")
        setup = schedulers("setup")
        setup.step(paused=True)  # stores the job; its next run is now long overdue
        setup.stop()
    env = {**os.environ, "DATABASE_URL": database_url, "PORTICO_EXPORT_DIR": str(tmp_path),
           "PORTICO_SYNC_SECURITY_ON_START": "0", "PORTICO_SCHEDULER_LEASE_SECONDS": "20",
           "PORTICO_SCHEDULER_POLL_SECONDS": "1"}
    command = [str(Path(sys.executable).parent / "flask"), "--app", "run", "scheduler"]
    logs = [tmp_path / "one.log", tmp_path / "two.log"]
    processes = [subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log.open("w"),
                                  stderr=subprocess.STDOUT) for log in logs]
    try:
        both_up = _wait_for(lambda: all("starting" in log.read_text() for log in logs), seconds=180)
        assert both_up, [log.read_text()[-2000:] for log in logs]
        assert _wait_for(lambda: any(r.status == "succeeded" for r in _runs(db, definition.id)), seconds=120)
        assert _wait_for(lambda: any("standing by" in log.read_text() for log in logs), seconds=30)
        time.sleep(3)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)
    texts = [log.read_text() for log in logs]
    assert sum(text.count("is active") for text in texts) == 1, texts
    assert len(_runs(db, definition.id)) == 1
    assert db.session.scalar(select(func.count()).select_from(SchedulerLease)) == 1
    assert current_app.config["SQLALCHEMY_DATABASE_URI"] == database_url
