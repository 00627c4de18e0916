"""Two app hosts (gunicorn on 127.0.0.2 and 127.0.0.3) on one PostgreSQL database and one Redis (issue 18).

Part of the issue's two-host test: a session started on host A is valid on host B, the login rate limit
counts across both hosts (it would not with per-process ``memory://`` storage), an upload directory and
readiness are shared, a technician's photo uploaded through host A is served by host B (one upload directory).
Both hosts are reloaded one after the other (SIGHUP, as ``systemctl reload portico-web``) under a client that
keeps calling both: no request fails, every worker pid changes. The negative control: two hosts with
per-process ``memory://`` rate-limit storage do not limit the same logins; and a request still being sent
when its host gets SIGTERM is answered in full (``--graceful-timeout``).
Scheduler processes: the standby takes the lease after a SIGKILL of the active one in the middle of a (test-
only, slow) report run, marks that run failed and retries it once; SIGTERM of the new holder while it runs
the retry lets the retry finish, then hands the lease to a third process at once. 500 queued mails
reach a real SMTP server (aiosmtpd) exactly once although the active scheduler is killed after 250 of them.
A report due every minute runs once per slot, by the lease holder, with one mail, while both are up
(this waits for the next full minute: up to a minute).
Skipped without PostgreSQL (``PORTICO_TEST_DATABASE_URL``) and Redis on 127.0.0.1:6379.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.test_technician_today import shop  # noqa: F401 - the technician's shop fixture

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parent.parent
HOSTS = ("127.0.0.2", "127.0.0.3")
REDIS_URL = "redis://127.0.0.1:6379/11"
CLIENT = {"X-Forwarded-For": "203.0.113.7"}  # as the reverse proxy in front of both hosts says
GRACEFUL_SECONDS = 20  # gunicorn --graceful-timeout: how long in-flight requests may take after SIGTERM


def stop_all(procs) -> None:
    """SIGTERM every process still running, then wait up to 30 s each and kill what is left."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _redis_or_skip():
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=1)
        client.flushdb()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, seconds: float = 90) -> None:
    import requests

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{url}: server exited with {proc.returncode}")
        try:
            if requests.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not come up")


class Hosts(list):
    """The hosts' base URLs (``a, b = hosts``), with their gunicorn master processes in ``procs``."""

    procs: list[subprocess.Popen]


def _start_hosts(database_url: str, workers: int, **settings) -> Hosts:
    """Two gunicorn masters on 127.0.0.2 and 127.0.0.3 (one shared upload and export directory), both up."""
    shared = tempfile.mkdtemp(prefix="portico-shared-")
    env = {**os.environ, "DATABASE_URL": database_url, "RATELIMIT_STORAGE_URI": REDIS_URL,
           "PORTICO_RATELIMIT_ENABLED": "1", "PORTICO_LOGIN_RATE_LIMIT": "4 per minute",
           "PORTICO_TRUSTED_PROXIES": "1", "PORTICO_SYNC_SECURITY_ON_START": "0",
           "PORTICO_UPLOAD_DIR": os.path.join(shared, "uploads"), "PORTICO_EXPORT_DIR": os.path.join(shared, "exports"),
           "PORTICO_INSTANCE_DIR": tempfile.mkdtemp(prefix="portico-instance-"), "LOG_FORMAT": "json", **settings}
    started = Hosts()
    started.procs = []
    try:
        for host in HOSTS:
            port = _free_port(host)
            started.procs.append(subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"{host}:{port}",
                 "--timeout", "60", "--graceful-timeout", str(GRACEFUL_SECONDS), "--no-control-socket", "run:app"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            started.append(f"http://{host}:{port}")
        for url, proc in zip(started, started.procs, strict=True):
            _wait(url, proc)
    except BaseException:
        stop_all(started.procs)
        raise
    return started


@pytest.fixture(scope="module")
def hosts(app, database_url):
    """Both hosts, started once for the tests of this module (Redis is emptied first)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the two-host test needs PostgreSQL (PORTICO_TEST_DATABASE_URL)")
    _redis_or_skip()
    started = _start_hosts(database_url, workers=2)
    try:
        yield started
    finally:
        stop_all(started.procs)


def _login(session, url: str, username: str, password: str, client: dict = CLIENT):
    page = session.get(url + "/login/", headers=client, timeout=10)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    data = {"username": username, "password": password}
    if token:
        data["csrf_token"] = token.group(1)
    return session.post(url + "/login/", data=data, headers=client, allow_redirects=False, timeout=10)


def test_session_from_host_a_is_valid_on_host_b_and_both_are_ready(hosts, db):
    import requests

    from tests.conftest import PASSWORD
    from tests.factories import make_user

    manager = make_user("Manager")
    db.session.commit()
    a, b = hosts
    session = requests.Session()
    logged_in = _login(session, a, manager.username, PASSWORD)
    assert logged_in.status_code in (302, 303) and "/login" not in logged_in.headers["Location"]
    # Behind one proxy the browser sees one site: it sends A's cookies to B as well.
    cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    on_b = requests.get(b + "/outboxview/list/", headers={**CLIENT, "Cookie": cookies}, allow_redirects=False,
                        timeout=10)
    assert on_b.status_code == 200, on_b.status_code  # signed on A, served by B
    anonymous = requests.get(b + "/outboxview/list/", headers=CLIENT, allow_redirects=False, timeout=10)
    assert anonymous.status_code in (302, 303)
    for url in hosts:
        ready = requests.get(url + "/readyz", timeout=10)
        assert ready.status_code == 200 and ready.json()["checks"]["redis"] == {"ok": True}, ready.text


def _eight_wrong_logins(hosts) -> list[int]:
    """4 per minute in all: alternate hosts, so per-host (or per-process) counting would allow all 8."""
    import requests

    _redis_or_skip()  # empties the limiter's counters: the hosts are shared by the module's tests
    return [_login(requests.Session(), hosts[attempt % 2], "nobody", "wrong").status_code for attempt in range(8)]


def test_login_rate_limit_counts_across_both_hosts(hosts):
    statuses = _eight_wrong_logins(hosts)
    assert statuses.count(429) >= 3, statuses
    assert 429 not in statuses[:4], statuses


def test_upload_on_host_a_is_served_by_host_b(hosts, shop, db):  # noqa: F811 - the fixture imported above
    import requests

    from app.models import Attachment
    from tests.conftest import PASSWORD
    from tests.test_technician_today import png

    order = shop["order"]()
    tech = shop["tech"]
    client = {"X-Forwarded-For": "203.0.113.8"}  # another client than the rate-limit test's
    a, b = hosts
    session = requests.Session()
    assert _login(session, a, tech.username, PASSWORD, client).status_code in (302, 303)
    page = session.get(a + "/technician/today", headers=client, timeout=10)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    photo, name = png()
    posted = session.post(f"{a}/technician/today/{order.id}/photo", headers=client, allow_redirects=False,
                          data={"csrf_token": token.group(1) if token else "", "public": "1"},
                          files={"photo": (name, photo, "image/png")}, timeout=10)
    assert posted.status_code in (302, 303), posted.status_code
    db.session.expire_all()
    attachment = db.session.scalars(db.select(Attachment).where(Attachment.work_order_id == order.id)).one()
    db.session.rollback()
    on_a = session.get(f"{a}/attachments/{attachment.id}", headers=client, timeout=10)
    cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies)  # one site behind the proxy
    on_b = requests.get(f"{b}/attachments/{attachment.id}", headers={**client, "Cookie": cookies}, timeout=10)
    assert on_b.status_code == 200 and on_b.headers["Content-Type"] == "image/png", on_b.status_code
    assert on_b.content == on_a.content and on_b.content.startswith(b"\x89PNG")


def _worker_pids(master: subprocess.Popen) -> set[int]:
    """The gunicorn workers of ``master``: the processes whose parent it is (read from /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdecimal():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master.pid:
                found.add(int(entry.name))
    return found


def test_rolling_restart_of_both_hosts_loses_no_request(hosts):
    """A deploy reloads one host, then the other (``systemctl reload portico-web``: SIGHUP, gunicorn starts new
    workers on the new code and lets the old ones finish their requests); a client that keeps sending
    requests to both hosts all the while sees no failure, and every worker pid has changed."""
    import threading

    import requests

    results: list[tuple[float, str, object]] = []
    done = threading.Event()

    def client():
        while not done.is_set():
            for url in hosts:
                try:
                    outcome = requests.get(url + "/login/", headers={"X-Forwarded-For": "203.0.113.9"},
                                           timeout=30).status_code
                except requests.RequestException as error:
                    outcome = repr(error)
                results.append((time.monotonic(), url, outcome))

    sender = threading.Thread(target=client, daemon=True)
    sender.start()
    windows, before, after = {}, {}, {}
    try:
        time.sleep(1)
        for url, master in zip(hosts, hosts.procs, strict=True):
            before[url] = _worker_pids(master)
            began = time.monotonic()
            master.send_signal(signal.SIGHUP)
            deadline = began + 60
            while True:
                now_pids = _worker_pids(master)
                if len(now_pids) == 2 and not now_pids & before[url] and any(
                        at > began and u == url and o == 200 for at, u, o in list(results)):
                    break
                assert time.monotonic() < deadline, (before[url], now_pids)
                time.sleep(0.25)
            windows[url], after[url] = (began, time.monotonic()), now_pids
            time.sleep(0.5)
    finally:
        done.set()
        sender.join(timeout=40)
    failed = [(u, o) for _, u, o in results if o != 200]
    assert not failed, failed[:5]
    for url, (began, ended) in windows.items():
        assert len(before[url]) == 2 and not before[url] & after[url]  # new workers on each host
        assert all(master.poll() is None for master in hosts.procs)  # the masters (and their sockets) stayed
        served = [u for at, u, _ in results if began <= at <= ended]
        assert served.count(url) >= 1 and len(served) >= 2, (url, len(served))  # sent while it restarted


#: A scheduler process as ``flask --app run scheduler`` runs it (``run_forever``: SIGTERM is graceful), with
#: Run now polled every second, and a test-only report "slow_test": the "open_requests" report of the
#: catalogue after a pause of ``SLOW_REPORT_SECONDS``, so that a run is still going when a scheduler is
#: killed or stopped. Registered by this script alone, not by the product.
SLOW_SCHEDULER = ("import os, time, types\n"
                  "from run import app\n"
                  "from app.reports import CATALOGUE\n"
                  "from app.scheduler import PorticoScheduler\n"
                  "base = CATALOGUE['open_requests']\n"
                  "slow = types.ModuleType('slow_test')\n"
                  "slow.__dict__.update({k: v for k, v in vars(base).items() if not k.startswith('__')})\n"
                  "def run(session, start, end, **kwargs):\n"
                  "    time.sleep(float(os.environ['SLOW_REPORT_SECONDS']))\n"
                  "    return base.run(session, start, end, **kwargs)\n"
                  "slow.KIND, slow.run = 'slow_test', run\n"
                  "CATALOGUE['slow_test'] = slow\n"
                  "PorticoScheduler(app, lease_seconds=float(os.environ['PORTICO_SCHEDULER_LEASE_SECONDS']),"
                  " poll_seconds=1).run_forever(stop_timeout=30)\n")


def test_sigkill_hands_over_and_retries_the_run_and_sigterm_finishes_it_then_hands_over_at_once(
        app, database_url, db, tmp_path):
    """Two schedulers; a slow report run is going on the active one. SIGKILL it: the standby takes the lease
    within the lease time, marks the run failed (interrupted) and retries it once. A third scheduler stands
    by; SIGTERM the second while it runs the retry: the retry finishes, the lease is released, and the third
    takes over at its next check, not after the lease time."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the two-host test needs PostgreSQL (PORTICO_TEST_DATABASE_URL)")
    from sqlalchemy import select

    from app.models import AuditEvent, ReportDefinition, ReportRun, SchedulerLease, utcnow

    lease_seconds, report_seconds = 6, 8  # the report outlasts the lease: stopping must renew it
    definition = ReportDefinition(name="Slow report", kind="slow_test", cron="0 3 1 1 *", format="csv",
                                  recipients=[], params={})
    db.session.add(definition)
    db.session.commit()
    env = {**os.environ, "DATABASE_URL": database_url, "PORTICO_SYNC_SECURITY_ON_START": "0",
           "PORTICO_INSTANCE_DIR": tempfile.mkdtemp(prefix="portico-instance-"),
           "PORTICO_EXPORT_DIR": str(tmp_path / "exports"), "PORTICO_SCHEDULER_LEASE_SECONDS": str(lease_seconds),
           "SLOW_REPORT_SECONDS": str(report_seconds), "LOG_FORMAT": "json", "MAIL_SERVER": ""}
    procs: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        log = (tmp_path / f"scheduler-{len(procs)}.log").open("w")
        procs.append(subprocess.Popen([sys.executable, "-c", SLOW_SCHEDULER], cwd=ROOT, env=env,
                                      stdout=log, stderr=subprocess.STDOUT))
        return procs[-1]

    def holder() -> tuple[int, object] | None:
        db.session.expire_all()
        row = db.session.get(SchedulerLease, "scheduler")
        db.session.rollback()
        if row is None or row.expires_at < utcnow():
            return None
        return int(row.holder.split(":")[1]), row.acquired_at

    def runs() -> list[ReportRun]:
        db.session.expire_all()
        found = list(db.session.scalars(select(ReportRun).order_by(ReportRun.id)))
        db.session.rollback()
        return found

    def wait_for(predicate, seconds: float, what: str):
        deadline = time.monotonic() + seconds
        while not (found := predicate()):
            assert time.monotonic() < deadline, f"{what}: {[(r.status, r.worker, r.error) for r in runs()]}"
            time.sleep(0.25)
        return found

    try:
        start(), start()
        held = wait_for(holder, 90, "no scheduler took the lease")
        active = next(p for p in procs if p.pid == held[0])
        standby = next(p for p in procs if p is not active)
        db.session.add(ReportRun(definition_id=definition.id, status="queued", trigger="manual", worker="test"))
        db.session.commit()
        first = wait_for(lambda: [r for r in runs() if r.status == "running"], 20, "the run did not start")[0]
        assert int(first.worker.split(":")[1]) == active.pid
        time.sleep(lease_seconds / 2)
        assert holder()[0] == active.pid  # the standby does not steal a live lease

        active.send_signal(signal.SIGKILL)  # half-way through the report
        killed_at = time.monotonic()
        wait_for(lambda: (holder() or (0,))[0] == standby.pid, lease_seconds * 3, "the standby did not take over")
        took = time.monotonic() - killed_at
        assert took <= lease_seconds + lease_seconds / 3 + 2, took  # the lease, plus one standby check
        # the next standby, as systemd restarts the killed one (RestartSec): started once the standby holds the
        # lease, so that it cannot win the race for the expired lease while it starts up on a busy machine
        third = start()
        interrupted, retry = wait_for(lambda: (found := runs()) and len(found) == 2 and found[1].status == "running"
                                      and found, 20, "the retry did not start")
        assert interrupted.status == "failed" and interrupted.attempt == 1 and interrupted.finished_at
        assert interrupted.error.startswith("Interrupted: the scheduler process") and \
            f":{active.pid}:" in interrupted.error and "tried once more" in interrupted.error, interrupted.error
        assert (retry.trigger, retry.attempt, int(retry.worker.split(":")[1])) == ("retry", 2, standby.pid)
        audit = db.session.scalars(select(AuditEvent).where(
            AuditEvent.entity_type == "report_run", AuditEvent.entity_id == interrupted.id)).all()
        assert [(e.action, e.from_status, e.to_status) for e in audit] == [("interrupt", "running", "failed")]
        assert str(standby.pid) in audit[0].actor_label
        db.session.rollback()

        wait_for(lambda: _worker_started(tmp_path, third), 60, "the third scheduler did not start")
        standby.send_signal(signal.SIGTERM)  # while it runs the retry: the retry finishes first
        assert standby.wait(timeout=report_seconds + 20) == 0
        finished = next(r for r in runs() if r.id == retry.id)
        assert finished.status == "succeeded", (finished.status, finished.error)
        new_holder = wait_for(holder, lease_seconds, "nobody took the released lease")
        assert new_holder[0] == third.pid
        handed_over = (new_holder[1] - finished.finished_at).total_seconds()
        assert 0 <= handed_over <= lease_seconds / 3 + 1.5 < lease_seconds, handed_over  # at once, not by expiry
        assert len(runs()) == 2  # the finished retry was not interrupted, nor retried again
    finally:
        stop_all(procs)


def _worker_started(tmp_path: Path, proc: subprocess.Popen) -> bool:
    """Has this scheduler process logged its start (it stands by from then on)?"""
    return any(f":{proc.pid}:" in log.read_text() and "starting" in log.read_text()
               for log in tmp_path.glob("scheduler-*.log"))


#: A scheduler process as ``flask --app run scheduler`` runs it, but with the outbox every second (not every
#: minute), so that 500 mails (100 per run) go out in seconds.
SCHEDULER = ("from run import app\n"
             "from app.scheduler import PorticoScheduler\n"
             "import os\n"
             "PorticoScheduler(app, lease_seconds=float(os.environ['PORTICO_SCHEDULER_LEASE_SECONDS']),"
             " outbox_seconds=1).run_forever()\n")


class _CountingInbox:
    """An aiosmtpd handler that records the outbox id of each mail it accepts (from its Message-ID).

    ``kill_at``: when that many mails are in, the next mail's sender (``kill_pid``) is SIGKILLed before the
    mail is accepted: the kill falls between two mails, after the last one the server said 250 to.
    """

    def __init__(self, kill_at: int | None = None):
        self.ids: list[int] = []
        self.kill_at, self.kill_pid, self.killed_at = kill_at, None, None

    async def handle_DATA(self, server, session, envelope):
        if self.kill_pid and self.killed_at is None and len(self.ids) >= self.kill_at:
            os.kill(self.kill_pid, signal.SIGKILL)
            self.killed_at = time.monotonic()
            return "451 sender killed"
        found = re.search(rb"^Message-ID: <[^>]*portico-(\d+)@", envelope.content, re.M | re.I)
        self.ids.append(int(found.group(1)) if found else -1)
        return "250 OK"


def _lease_holder(db):
    from app.models import SchedulerLease, utcnow

    db.session.expire_all()
    row = db.session.get(SchedulerLease, "scheduler")
    db.session.rollback()
    if row is None or row.expires_at < utcnow():
        return None
    return int(row.holder.split(":")[1])


def test_500_mails_sent_exactly_once_when_the_active_scheduler_is_killed_half_way(app, database_url, db):
    """Two schedulers point at one real SMTP server; the active one is SIGKILLed after 250 mails; the standby
    takes over and sends the rest: every outbox mail arrives exactly once (none twice, none missing)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the two-host test needs PostgreSQL (PORTICO_TEST_DATABASE_URL)")
    from aiosmtpd.controller import Controller
    from sqlalchemy import func, select

    from app.models import OutboxEmail
    from app.services import notify

    inbox = _CountingInbox(kill_at=250)
    smtp_port = _free_port("127.0.0.1")
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    lease_seconds = 6
    env = {**os.environ, "DATABASE_URL": database_url, "PORTICO_SYNC_SECURITY_ON_START": "0",
           "PORTICO_INSTANCE_DIR": tempfile.mkdtemp(prefix="portico-instance-"),
           "PORTICO_SCHEDULER_LEASE_SECONDS": str(lease_seconds), "LOG_FORMAT": "json",
           "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_port), "MAIL_USE_TLS": "0", "MAIL_USERNAME": ""}
    procs = [subprocess.Popen([sys.executable, "-c", SCHEDULER], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(2)]
    try:
        deadline = time.monotonic() + 90
        while (active_pid := _lease_holder(db)) is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert active_pid in [p.pid for p in procs], "no scheduler took the lease"
        standby = next(p for p in procs if p.pid != active_pid)
        inbox.kill_pid = active_pid
        for i in range(500):
            notify.queue_email(f"customer{i}@example.com", f"Mail {i}", f"Body {i}")
        db.session.commit()
        queued = set(db.session.scalars(select(OutboxEmail.id)))
        db.session.rollback()
        assert len(queued) == 500
        deadline = time.monotonic() + 90
        while len(set(inbox.ids)) < 500 and time.monotonic() < deadline:
            time.sleep(0.25)
        time.sleep(2)  # a double sending would show up now
        assert inbox.killed_at is not None, "the active scheduler was never killed"
        assert next(p for p in procs if p.pid == active_pid).wait(timeout=5) == -signal.SIGKILL
        assert _lease_holder(db) == standby.pid
        duplicates = sorted({i for i in inbox.ids if inbox.ids.count(i) > 1})
        assert not duplicates, f"{len(duplicates)} mail(s) sent twice, e.g. {duplicates[:5]}"
        assert set(inbox.ids) == queued, f"missing: {sorted(queued - set(inbox.ids))[:5]}"
        assert len(inbox.ids) == 500
        pending = db.session.scalar(select(func.count()).select_from(OutboxEmail)
                                    .where(OutboxEmail.status != "sent"))
        assert pending == 0
    finally:
        stop_all(procs)
        controller.stop()


def test_a_scheduled_report_slot_runs_once_while_both_schedulers_are_up(app, database_url, db):
    """A report due every minute, two schedulers up: each slot gives one run, by the lease holder, and one mail."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the two-host test needs PostgreSQL (PORTICO_TEST_DATABASE_URL)")
    from aiosmtpd.controller import Controller
    from sqlalchemy import select

    from app.models import ReportDefinition, ReportRun

    db.session.add(ReportDefinition(name="Every minute", kind="open_requests", cron="* * * * *",
                                    recipients=["manager@example.com"]))
    db.session.commit()
    inbox = _CountingInbox()
    smtp_port = _free_port("127.0.0.1")
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    env = {**os.environ, "DATABASE_URL": database_url, "PORTICO_SYNC_SECURITY_ON_START": "0",
           "PORTICO_INSTANCE_DIR": tempfile.mkdtemp(prefix="portico-instance-"),
           "PORTICO_EXPORT_DIR": tempfile.mkdtemp(prefix="portico-exports-"),
           "PORTICO_SCHEDULER_LEASE_SECONDS": "6", "LOG_FORMAT": "json",
           "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_port), "MAIL_USE_TLS": "0", "MAIL_USERNAME": ""}
    procs = [subprocess.Popen([sys.executable, "-c", SCHEDULER], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(2)]

    def runs() -> list[ReportRun]:
        db.session.expire_all()
        found = list(db.session.scalars(select(ReportRun).order_by(ReportRun.id)))
        db.session.rollback()
        return found

    try:
        deadline = time.monotonic() + 100  # the next minute, after start-up
        while not (done := [r for r in runs() if r.status == "succeeded"]) or not inbox.ids:
            assert time.monotonic() < deadline, [(r.status, r.error) for r in runs()]
            time.sleep(0.5)
        time.sleep(3)  # a second run of the slot, or a second mail, would show up now
        holder = _lease_holder(db)
        first = done[0]
        same_slot = [r for r in runs() if r.scheduled_for == first.scheduled_for]
        assert len(same_slot) == 1 and first.trigger == "schedule"
        assert int(first.worker.split(":")[1]) == holder
        finished = [r for r in runs() if r.status == "succeeded"]
        assert len(inbox.ids) == len(finished), (len(inbox.ids), len(finished))  # one mail per run, not two
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        controller.stop()


@pytest.fixture(scope="module")
def memory_hosts(app, database_url):
    """The negative control: two hosts (one worker each) whose rate limits live in each process's memory."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the two-host test needs PostgreSQL (PORTICO_TEST_DATABASE_URL)")
    _redis_or_skip()
    started = _start_hosts(database_url, workers=1, RATELIMIT_STORAGE_URI="memory://")
    try:
        yield started
    finally:
        stop_all(started.procs)


def test_with_per_process_storage_the_login_limit_would_not_count_across_hosts(memory_hosts):
    """The same eight wrong logins as above: with ``memory://`` each host counts only its own four, so none is
    refused. The Redis-backed hosts refuse them: that test's assertion is meaningful."""
    statuses = _eight_wrong_logins(memory_hosts)
    assert 429 not in statuses, statuses
    assert statuses.count(200) + statuses.count(302) + statuses.count(303) + statuses.count(400) == 8, statuses


def test_sigterm_lets_an_in_flight_request_finish(memory_hosts):
    """A request whose client is still sending its headers when the host's gunicorn gets SIGTERM is answered in
    full (gunicorn --graceful-timeout); then the host exits cleanly."""
    url, master = memory_hosts[0], memory_hosts.procs[0]
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=GRACEFUL_SECONDS) as conn:
        conn.sendall(b"GET /readyz HTTP/1.1\r\nHost: portico.example\r\n")  # a slow client: half a request
        time.sleep(1)  # accepted by the worker, which is reading it
        master.send_signal(signal.SIGTERM)
        time.sleep(2)  # the master has stopped accepting and told its worker to finish
        assert master.poll() is None  # still waiting for the in-flight request
        conn.sendall(b"X-Request-ID: in-flight-1\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert b"x-request-id: in-flight-1" in head.lower() and b'"ready":true' in body.replace(b" ", b""), answer
    assert master.wait(timeout=GRACEFUL_SECONDS + 10) == 0
