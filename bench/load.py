"""Load test on the benchmark shop: ``python -m bench.load --workers 1 2 4 --duration 45 --clients 8``.

For each worker count it starts gunicorn itself (``run:app`` as ``scripts/serve.sh`` does, on a free port
of 127.0.0.1), waits for ``/readyz``, logs the clients in (``bench.load_client``), warms up, then runs the
mixed workload for ``--duration`` seconds or ``--max-requests`` requests, whichever ends first, while
``bench.load_watch`` samples CPU and PostgreSQL's backends; then it logs out, revokes the run's API key
and stops the server. Every process it started is stopped on the way out: at the end, on an error, on
Ctrl-C or SIGTERM. The Markdown tables go to stdout, progress to stderr, every figure to ``--json``
(default ``bench/results/load-<UTC time>.json``).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests

from .generate import BENCH_PASSWORD, BENCH_USER
from .load_client import MIX, TIMEOUT, Budget, Client, Sample, client_address
from .load_shop import Shop, prepare, renew_links
from .load_watch import Watch
from .run import normalize

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
REDIS = "redis://127.0.0.1:6379/13"  # the load test's own Redis database, emptied at the start of a run
SETUP_CLIENT = 999  # the address API logins come from (a client number beyond the load clients')


def echo(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def libpq_dsn(url: str) -> str | None:
    """The same database for psycopg itself (the watch's connection); None for SQLite."""
    from sqlalchemy.engine import make_url

    parsed = make_url(normalize(url))
    if parsed.get_backend_name() != "postgresql":
        return None
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


class Server:
    """One gunicorn (master and ``workers`` workers) in a process group of its own."""

    def __init__(self, workers: int, env: dict[str, str], log: Path, timeout: int = 120):
        self.workers, self.port = workers, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}",
             "--timeout", str(timeout), "--error-logfile", "-", "--no-control-socket", "run:app"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode} (log: {self._log.name})")
            try:
                if requests.get(self.base + "/readyz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.base}/readyz did not answer 200 within {seconds:.0f} s (log: {self._log.name})")

    def stop(self, grace: float = 30) -> None:
        """SIGTERM to the group (gunicorn lets requests in flight finish), SIGKILL what is left after ``grace``."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        try:  # workers orphaned by a killed master are still in the group
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._log.close()


def api_key(base: str, name: str) -> tuple[str, str]:
    """A staff API key for the REST clients, made as docs/api.md says: (key, uuid)."""
    headers = {"X-Forwarded-For": client_address(SETUP_CLIENT)}
    token = requests.post(base + "/api/v1/security/login", headers=headers, timeout=TIMEOUT,
                          json={"username": BENCH_USER, "password": BENCH_PASSWORD, "provider": "db"})
    token.raise_for_status()
    headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    made = requests.post(base + "/api/v1/security/api_keys/", json={"name": name}, headers=headers, timeout=TIMEOUT)
    made.raise_for_status()
    result = made.json()["result"]
    return result["key"], result["uuid"]


def revoke_key(base: str, key: str, uuid: str) -> None:
    requests.delete(f"{base}/api/v1/security/api_keys/{uuid}", headers={"Authorization": f"Bearer {key}"},
                    timeout=TIMEOUT)


def in_parallel(clients: list[Client], work) -> list:
    """``work(client)`` for every client at once, each in its own thread; their results, or the first error."""
    results: list = [None] * len(clients)
    errors: list[BaseException] = []

    def one(n: int) -> None:
        try:
            results[n] = work(clients[n])
        except Exception as exc:  # noqa: BLE001 - raised again in the calling thread
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(n,), daemon=True) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def drive(clients: list[Client], seconds: float, limit: int, mix: dict[str, int]) -> tuple[list[Sample], float]:
    """Every client runs the mix until ``seconds`` pass or ``limit`` requests are taken; (samples, wall s)."""
    budget = Budget(limit, time.monotonic() + seconds)
    out: list[Sample] = []
    threads = [threading.Thread(target=c.run, args=(budget, out, mix), daemon=True) for c in clients]
    started = time.monotonic()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(budget.deadline - time.monotonic(), 0) + TIMEOUT + 5)
    finally:
        budget.stop.set()
    return out, time.monotonic() - started


def phase(workers: int, shop: Shop, env: dict[str, str], work: Path, args, renew=renew_links) -> dict:
    """One worker count: start, log in, warm up, measure, log out, stop. ``renew()`` makes the login links
    (in an app context on the bench database)."""
    run_env = dict(env, PROMETHEUS_MULTIPROC_DIR=str(work / f"metrics-{workers}"))
    Path(run_env["PROMETHEUS_MULTIPROC_DIR"]).mkdir()
    shutil.rmtree(work / "instance" / "cache", ignore_errors=True)  # every worker count starts with no PDFs cached
    server = Server(workers, run_env, work / f"gunicorn-{workers}.log")
    clients: list[Client] = []
    try:
        renew(shop)
        server.wait_ready()
        key, uuid = api_key(server.base, f"bench load, {workers} workers")
        clients = [Client(server.base, shop, n, key, args.seed) for n in range(args.clients)]
        in_parallel(clients, Client.login)
        # every kind once per client, then the mix for --warmup seconds: not measured, but errors count
        warm = [s for first in in_parallel(clients, lambda c: [c.call(kind) for kind in args.mix]) for s in first]
        warm += drive(clients, args.warmup, args.max_requests, args.mix)[0]
        echo(f"  {workers} worker(s): measuring {args.duration:.0f} s with {args.clients} clients")
        watch = Watch(server.proc.pid, libpq_dsn(env["DATABASE_URL"])).start()
        try:
            samples, wall = drive(clients, args.duration, args.max_requests, args.mix)
        finally:
            usage = watch.stop()
        in_parallel(clients, Client.logout)
        revoke_key(server.base, key, uuid)
    finally:
        server.stop()
    result = summarize(samples, wall, args.mix)
    result.update(workers=workers, clients=args.clients, usage=usage, server_pid=server.proc.pid,
                  warmup={"requests": len(warm), "errors": sum(1 for s in warm if s.error),
                          "error_messages": dict(Counter(s.error for s in warm if s.error).most_common(10))})
    echo(f"  {workers} worker(s): {result['requests']} requests, {result['rps']:.1f}/s, p95 {result['p95_ms']:.0f} ms, "
         f"{result['errors']} errors; CPU % server {usage['cpu_pct']['server']}, PostgreSQL "
         f"{usage['cpu_pct']['postgres']}, client {usage['cpu_pct']['client']}, machine {usage['cpu_pct']['machine']}")
    return result


def failures(result: dict) -> int:
    """Errors of one worker count, measured and in the warm-up."""
    return result["errors"] + result["warmup"]["errors"]


def percentile(ordered: list[float], share: float) -> float:
    """Nearest rank, in milliseconds."""
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] * 1000 if ordered else math.nan


def _figures(samples: list[Sample], wall: float) -> dict:
    times = sorted(s.seconds for s in samples)
    return {"requests": len(samples), "rps": round(len(samples) / wall, 2) if wall else 0.0,
            "p50_ms": round(percentile(times, 0.50), 1), "p95_ms": round(percentile(times, 0.95), 1),
            "p99_ms": round(percentile(times, 0.99), 1), "errors": sum(1 for s in samples if s.error)}


def summarize(samples: list[Sample], wall: float, mix: dict[str, int]) -> dict:
    result = _figures(samples, wall)
    result["wall_s"] = round(wall, 2)
    result["kinds"] = {kind: _figures([s for s in samples if s.kind == kind], wall) for kind in mix}
    result["error_messages"] = dict(Counter(s.error for s in samples if s.error).most_common(10))
    return result


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}"


def markdown(phases: list[dict]) -> str:
    lines = ["| workers | requests | req/s | p50 ms | p95 ms | p99 ms | errors | CPU % gunicorn | CPU % PostgreSQL "
             "| CPU % client | CPU % other | CPU % machine | load avg | PG active (mean / max) | lock-wait samples |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for p in phases:
        usage = p["usage"]
        cpu, pg = usage["cpu_pct"], usage["pg"]
        lines.append(f"| {p['workers']} | {p['requests']:,} | {p['rps']:.1f} | {_ms(p['p50_ms'])} | {_ms(p['p95_ms'])} "
                     f"| {_ms(p['p99_ms'])} | {p['errors']} | {cpu['server']:.0f} | {cpu['postgres']:.0f} "
                     f"| {cpu['client']:.0f} | {cpu['other']:.0f} | {cpu['machine']:.0f} "
                     f"| {' → '.join(f'{v:.1f}' for v in usage['load_1min'])} "
                     f"| {pg['active_mean']:.1f} / {pg['active_max']} | {pg['lock_wait_samples']} |")
    head = " | ".join(f"{p['workers']} w: req/s | p50 / p95 / p99 ms | err" for p in phases)
    lines += ["", f"| kind | {head} |", "|---|" + "---:|---|---:|" * len(phases)]
    for kind in phases[0]["kinds"] if phases else ():
        cells = []
        for p in phases:
            k = p["kinds"][kind]
            cells.append(f"{k['rps']:.1f} | {_ms(k['p50_ms'])} / {_ms(k['p95_ms'])} / {_ms(k['p99_ms'])} "
                         f"| {k['errors']}")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def server_env(url: str, work: Path, redis_url: str | None) -> dict[str, str]:
    """What every gunicorn of the run shares: the database, a secret key, a scratch instance directory."""
    env = dict(os.environ, DATABASE_URL=url, PORTICO_SYNC_SECURITY_ON_START="0", PORTICO_TRUSTED_PROXIES="1",
               PORTICO_INSTANCE_DIR=str(work / "instance"), PORTICO_UPLOAD_DIR=str(work / "instance" / "uploads"),
               PORTICO_EXPORT_DIR=str(work / "exports"), LOG_FORMAT="json")
    env.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    if redis_url:
        env["RATELIMIT_STORAGE_URI"] = redis_url
    return env


def redis_or_none(url: str) -> str | None:
    """The run's Redis database, emptied (per-address login limits count from zero), or None without Redis."""
    try:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=1)
        client.flushdb()
        return url
    except Exception:  # noqa: BLE001 - no Redis: rate limits stay per process (memory://)
        return None


def prepare_shop(url: str, customers: int, resellers: int, seed: int):
    """Sync roles once (as serve.sh does), portal logins and id pools, in this process: (shop, about, renew)."""
    from app import create_app
    from app.extensions import db

    app = create_app("config.Config", SQLALCHEMY_DATABASE_URI=normalize(url), PORTICO_SYNC_SECURITY_ON_START=True)

    def renew(shop: Shop) -> None:
        with app.app_context():
            renew_links(shop)
            db.engine.dispose()  # no idle connection of this process among the server's during a run

    with app.app_context():
        shop = prepare(customers, resellers, seed)
        about = {"database": db.engine.url.render_as_string(hide_password=True), "dialect": db.engine.dialect.name}
        db.engine.dispose()
    return shop, about, renew


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("DATABASE_URL"),
                        help="the bench database (default DATABASE_URL), filled by 'python -m bench.generate'")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (threads)")
    parser.add_argument("--duration", type=float, default=45, help="measured seconds per worker count")
    parser.add_argument("--warmup", type=float, default=10, help="seconds of the mix before measuring")
    parser.add_argument("--max-requests", type=int, default=20_000, help="at most this many per worker count")
    parser.add_argument("--customers", type=int, default=4, help="portal accounts (individual or business)")
    parser.add_argument("--resellers", type=int, default=4, help="reseller accounts")
    parser.add_argument("--kinds", nargs="+", choices=list(MIX), help="only these request kinds (default: the mix)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--redis", default=REDIS, help="Redis database for the rate limits ('' for none)")
    parser.add_argument("--json", type=Path, help="where the figures go (default bench/results/load-<time>.json)")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("name the bench database with --url or DATABASE_URL")
    args.mix = {kind: MIX[kind] for kind in args.kinds} if args.kinds else dict(MIX)
    if not 1 <= args.clients <= 500 or args.duration <= 0 or args.max_requests < 1:
        parser.error("--clients 1…500, a positive --duration and --max-requests")

    def terminate(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    started = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="portico-load-"))
    phases: list[dict] = []
    try:
        echo(f"preparing the shop on {args.url.split('@')[-1]}")
        shop, about, renew = prepare_shop(args.url, args.customers, args.resellers, args.seed)
        env = server_env(args.url, work, redis_or_none(args.redis) if args.redis else None)
        for workers in args.workers:
            phases.append(phase(workers, shop, env, work, args, renew))
    except KeyboardInterrupt:
        echo("interrupted: every server is stopped")
        shutil.rmtree(work, ignore_errors=True)
        return 130
    except BaseException:
        echo(f"failed: every server is stopped; their logs are in {work}")
        raise
    if any(failures(p) for p in phases):
        echo(f"errors: the servers' logs are in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    report = {
        "started": started.isoformat(timespec="seconds"), "command": " ".join(["python -m bench.load", *sys.argv[1:]]),
        **about, "cpus": os.cpu_count(), "load_before": [round(v, 2) for v in load_before],
        "load_after": [round(v, 2) for v in os.getloadavg()], "rate_limit_storage": env.get("RATELIMIT_STORAGE_URI",
                                                                                            "memory://"),
        "settings": {k: getattr(args, k) for k in ("clients", "duration", "warmup", "max_requests", "customers",
                                                   "resellers", "seed")},
        "mix": args.mix, "phases": phases,
    }
    target = args.json or RESULTS / f"load-{started:%Y%m%d-%H%M%S}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(phases))
    print(f"\n{args.clients} clients, {args.duration:.0f} s per worker count after {args.warmup:.0f} s warm-up; "
          f"load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after ({os.cpu_count()} CPUs); "
          f"figures in {target}")
    for p in phases:
        for part, messages in (("measured", p["error_messages"]), ("warm-up", p["warmup"]["error_messages"])):
            for message, count in messages.items():
                print(f"- {p['workers']} worker(s), {part}: {count} × {message}")
    return 0 if not any(failures(p) for p in phases) else 1


if __name__ == "__main__":
    sys.exit(main())
