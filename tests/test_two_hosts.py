"""Two app hosts (gunicorn on 127.0.0.2 and 127.0.0.3) on one PostgreSQL database and one Redis (issue 18).

Part of the issue's two-host test: a session started on host A is valid on host B, the login rate limit
counts across both hosts (it would not with per-process ``memory://`` storage), an upload directory and
readiness are shared, a technician's photo uploaded through host A is served by host B (one upload directory).
Two scheduler processes: the standby takes the lease after a SIGKILL of the active one, and 500 queued mails
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


@pytest.fixture(scope="module")
def hosts(app, database_url):
    """Both hosts, started once for the tests of this module (Redis is emptied first)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the two-host test needs PostgreSQL (PORTICO_TEST_DATABASE_URL)")
    _redis_or_skip()
    shared = tempfile.mkdtemp(prefix="portico-shared-")
    env = {**os.environ, "DATABASE_URL": database_url, "RATELIMIT_STORAGE_URI": REDIS_URL,
           "PORTICO_RATELIMIT_ENABLED": "1", "PORTICO_LOGIN_RATE_LIMIT": "4 per minute",
           "PORTICO_TRUSTED_PROXIES": "1", "PORTICO_SYNC_SECURITY_ON_START": "0",
           "PORTICO_UPLOAD_DIR": os.path.join(shared, "uploads"), "PORTICO_EXPORT_DIR": os.path.join(shared, "exports"),
           "PORTICO_INSTANCE_DIR": tempfile.mkdtemp(prefix="portico-instance-"), "LOG_FORMAT": "json"}
    procs, urls = [], []
    try:
        for host in HOSTS:
            port = _free_port(host)
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"{host}:{port}", "--timeout", "60",
                 "--no-control-socket", "run:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
            urls.append(f"http://{host}:{port}")
        for url, proc in zip(urls, procs, strict=True):
            _wait(url, proc)
        yield urls
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


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


def test_login_rate_limit_counts_across_both_hosts(hosts):
    import requests

    _redis_or_skip()  # empties the limiter's counters: the hosts are shared by the module's tests
    a, b = hosts
    statuses = []
    for attempt in range(8):  # 4 per minute in all: alternate hosts, so per-host counting would allow 8
        url = (a, b)[attempt % 2]
        statuses.append(_login(requests.Session(), url, "nobody", "wrong").status_code)
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


def test_standby_scheduler_takes_over_after_sigkill(app, database_url, db):
    """Two scheduler processes: one holds the lease; SIGKILL it and the standby holds it within the lease."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the two-host test needs PostgreSQL (PORTICO_TEST_DATABASE_URL)")
    from app.models import SchedulerLease, utcnow

    lease_seconds = 6
    env = {**os.environ, "DATABASE_URL": database_url, "PORTICO_SYNC_SECURITY_ON_START": "0",
           "PORTICO_INSTANCE_DIR": tempfile.mkdtemp(prefix="portico-instance-"),
           "PORTICO_SCHEDULER_LEASE_SECONDS": str(lease_seconds), "LOG_FORMAT": "json"}
    procs = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "run", "scheduler"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]

    def holder() -> tuple[int, object] | None:
        db.session.expire_all()
        row = db.session.get(SchedulerLease, "scheduler")
        db.session.rollback()
        if row is None or row.expires_at < utcnow():
            return None
        return int(row.holder.split(":")[1]), row.heartbeat_at

    try:
        deadline = time.monotonic() + 90
        while (held := holder()) is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert held is not None, "no scheduler took the lease"
        active = next(p for p in procs if p.pid == held[0])
        standby = next(p for p in procs if p is not active)
        time.sleep(lease_seconds / 2)
        assert holder()[0] == active.pid  # the standby does not steal a live lease
        active.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        while time.monotonic() - killed_at < lease_seconds * 3:
            now_held = holder()
            if now_held is not None and now_held[0] == standby.pid:
                break
            time.sleep(0.25)
        took = time.monotonic() - killed_at
        assert holder() is not None and holder()[0] == standby.pid, "the standby did not take over"
        assert took <= lease_seconds + lease_seconds / 3 + 2, took  # the lease, plus one standby check
    finally:
        stop_all(procs)


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
