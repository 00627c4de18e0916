"""Two app hosts (gunicorn on 127.0.0.2 and 127.0.0.3) on one PostgreSQL database and one Redis (issue 18).

Part of the issue's two-host test: a session started on host A is valid on host B, the login rate limit
counts across both hosts (it would not with per-process ``memory://`` storage), an upload directory and
readiness are shared. Skipped without PostgreSQL (``PORTICO_TEST_DATABASE_URL``) and Redis on 127.0.0.1:6379.
Not done yet: the two schedulers with SIGKILL take-over and the 500 mails counted at an SMTP server.
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

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parent.parent
HOSTS = ("127.0.0.2", "127.0.0.3")
REDIS_URL = "redis://127.0.0.1:6379/11"
CLIENT = {"X-Forwarded-For": "203.0.113.7"}  # as the reverse proxy in front of both hosts says


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


@pytest.fixture()
def hosts(app, database_url):
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


def _login(session, url: str, username: str, password: str):
    page = session.get(url + "/login/", headers=CLIENT, timeout=10)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    data = {"username": username, "password": password}
    if token:
        data["csrf_token"] = token.group(1)
    return session.post(url + "/login/", data=data, headers=CLIENT, allow_redirects=False, timeout=10)


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

    a, b = hosts
    statuses = []
    for attempt in range(8):  # 4 per minute in all: alternate hosts, so per-host counting would allow 8
        url = (a, b)[attempt % 2]
        statuses.append(_login(requests.Session(), url, "nobody", "wrong").status_code)
    assert statuses.count(429) >= 3, statuses
    assert 429 not in statuses[:4], statuses


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
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
