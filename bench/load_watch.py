"""Where the time goes while the load test runs: CPU per side and what PostgreSQL's backends wait for.

``Watch`` samples twice a second, from ``/proc`` (Linux): the CPU seconds of the gunicorn process tree, of
the PostgreSQL backends connected to the bench database (their pids from ``pg_stat_activity``), of the
load client itself and of the whole machine; and from ``pg_stat_activity`` the backends that are
``active`` and those waiting on a lock (``wait_event_type = 'Lock'``) or on a lightweight lock or I/O.
CPU is reported in per cent of one core (200 % = both cores of this machine busy).
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
ACTIVITY = """SELECT pid, state, wait_event_type FROM pg_stat_activity
              WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"""


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of one process, or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14 and 15 of stat(5))


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo += [int(child) for child in task.read_text().split()]
            except OSError:
                pass
    return found


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot, from the first line of ``/proc/stat``."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


@dataclass
class Usage:
    """CPU seconds of a changing set of processes: each counted from when it was first seen."""

    first: dict[int, float] = field(default_factory=dict)
    last: dict[int, float] = field(default_factory=dict)

    def see(self, pids, fresh: bool) -> None:
        for pid in pids:
            seconds = cpu_seconds(pid)
            if seconds is None:
                continue
            self.first.setdefault(pid, seconds if not fresh else 0.0)
            self.last[pid] = seconds

    @property
    def seconds(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


class Watch:
    """Sample while a phase runs; ``stop()`` returns the figures of ``summary()``."""

    def __init__(self, server_pid: int, pg_dsn: str | None, interval: float = 0.5):
        self.server_pid, self.pg_dsn, self.interval = server_pid, pg_dsn, interval
        self.server, self.postgres = Usage(), Usage()
        self.active: list[int] = []
        self.lock_waits: list[int] = []
        self.other_waits: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="load-watch", daemon=True)

    def start(self) -> Watch:
        self._started = time.monotonic()
        self._client = time.process_time()
        self._machine = machine_ticks()
        self._load = os.getloadavg()[0]
        self._thread.start()
        return self

    def _loop(self) -> None:
        conn = None
        if self.pg_dsn:
            import psycopg

            conn = psycopg.connect(self.pg_dsn, autocommit=True)
        first = True
        try:
            while True:
                self.server.see(process_tree(self.server_pid), fresh=False)
                if conn is not None:
                    rows = conn.execute(ACTIVITY).fetchall()
                    self.postgres.see([row[0] for row in rows], fresh=not first)
                    self.active.append(sum(1 for _pid, state, _w in rows if state == "active"))
                    self.lock_waits.append(sum(1 for _p, _s, wait in rows if wait == "Lock"))
                    self.other_waits.append(sum(1 for _p, state, wait in rows
                                                if state == "active" and wait in ("LWLock", "IO", "BufferPin")))
                first = False
                if self._stop.wait(self.interval):
                    break
        finally:
            if conn is not None:
                conn.close()

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join(timeout=10)
        return self.summary()

    def summary(self) -> dict:
        wall = max(time.monotonic() - self._started, 1e-9)
        busy, total = machine_ticks()
        cores = os.cpu_count() or 1
        machine = (busy - self._machine[0]) / max(total - self._machine[1], 1) * 100 * cores
        client = (time.process_time() - self._client) / wall * 100
        server, postgres = self.server.seconds / wall * 100, self.postgres.seconds / wall * 100
        samples = max(len(self.active), 1)
        return {
            "wall_s": round(wall, 2), "cores": cores,
            "load_1min": [round(self._load, 2), round(os.getloadavg()[0], 2)],  # at the start and the end
            "cpu_pct": {"server": round(server, 1), "postgres": round(postgres, 1), "client": round(client, 1),
                        "machine": round(machine, 1), "other": round(max(machine - server - postgres - client, 0), 1)},
            "pg": {"samples": len(self.active), "active_mean": round(sum(self.active) / samples, 2),
                   "active_max": max(self.active, default=0),
                   "lock_wait_samples": sum(1 for n in self.lock_waits if n),
                   "lock_waits_max": max(self.lock_waits, default=0),
                   "lwlock_io_wait_samples": sum(1 for n in self.other_waits if n)},
        }
