"""What an operator needs to know about the background work: is the scheduler alive, is mail going out.

Read by the manager dashboard, the outbox screen, ``/readyz`` and the metrics. The scheduler that holds the
lease writes ``heartbeat_at`` at every renewal (every lease/3 seconds); once the lease has run out and no
standby took it over, nobody runs reports or sends mail: the heartbeat is *stale*.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import func, select

from ..extensions import db
from ..models import OutboxEmail, SchedulerLease, utcnow

LEASE_NAME = "scheduler"  # app.scheduler.LEASE_NAME (the scheduler imports services, not the other way)


@dataclasses.dataclass(frozen=True)
class SchedulerStatus:
    holder: str | None
    heartbeat_at: dt.datetime | None
    expires_at: dt.datetime | None
    now: dt.datetime

    @property
    def stale(self) -> bool:
        """No scheduler ever ran, or the lease ran out with no one renewing it."""
        return self.expires_at is None or self.expires_at < self.now

    @property
    def age_seconds(self) -> float | None:
        """Seconds since the last heartbeat (the scheduler's lag), None if it never beat."""
        beat = self.heartbeat_at
        return None if beat is None else max((self.now - beat).total_seconds(), 0.0)

    def as_dict(self) -> dict:
        return {"stale": self.stale, "heartbeat_at": _iso(self.heartbeat_at),
                "heartbeat_age_seconds": None if self.age_seconds is None else round(self.age_seconds, 1)}


def scheduler_status(now: dt.datetime | None = None) -> SchedulerStatus:
    now = now or utcnow()
    lease = db.session.get(SchedulerLease, LEASE_NAME)
    if lease is None:
        return SchedulerStatus(None, None, None, now)
    return SchedulerStatus(lease.holder, lease.heartbeat_at or lease.acquired_at, lease.expires_at, now)


@dataclasses.dataclass(frozen=True)
class OutboxStatus:
    pending: int
    failed: int
    oldest_pending_at: dt.datetime | None
    now: dt.datetime

    @property
    def oldest_pending_age_seconds(self) -> float:
        return 0.0 if self.oldest_pending_at is None else max((self.now - self.oldest_pending_at).total_seconds(), 0)


def outbox_status(now: dt.datetime | None = None) -> OutboxStatus:
    now = now or utcnow()
    rows = dict(db.session.execute(
        select(OutboxEmail.status, func.count()).group_by(OutboxEmail.status)).all())
    oldest = db.session.scalar(select(func.min(OutboxEmail.created_at)).where(OutboxEmail.status == "pending"))
    return OutboxStatus(int(rows.get("pending", 0)), int(rows.get("failed", 0)), oldest, now)


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds") + "Z"
