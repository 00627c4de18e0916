#!/usr/bin/env bash
# Serve Portico with gunicorn at http://127.0.0.1:$PORT (default 5000), and beside it the one scheduler
# process (`flask --app run scheduler`: scheduled reports and the outbox) when the app has that command.
# Stopping the server (Ctrl-C, SIGTERM) stops the scheduler too. `make run` migrates and seeds first.
# A scheduler that dies is started again (after 1, 2, 4 … at most 30 s), as systemd does in production.
# Logs: one line per request from the app (LOG_FORMAT=text here; JSON lines when LOG_FORMAT=json).
#
# Stopping is graceful: gunicorn lets in-flight requests finish (GUNICORN_GRACEFUL_TIMEOUT), the scheduler its
# running report (PORTICO_SCHEDULER_STOP_SECONDS). `kill -HUP <gunicorn pid>` reloads the code without a
# lost request.
#
# Environment: PORT, WEB_CONCURRENCY (gunicorn workers, default 2: they share rate limits through Redis,
# else one worker serves), GUNICORN_TIMEOUT (seconds, default 120), GUNICORN_GRACEFUL_TIMEOUT (seconds,
# default 30), RATELIMIT_STORAGE_URI, DATABASE_URL and every other setting config.py reads.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv="${VENV:-venv}"
port="${PORT:-5000}"
workers="${WEB_CONCURRENCY:-2}"
flask=("$venv/bin/flask" --app run)

if [[ ! -x "$venv/bin/gunicorn" ]]; then
    echo "serve.sh: $venv/bin/gunicorn missing: run 'make venv' first" >&2
    exit 1
fi

# Rate limits must count across workers: with several, they share Redis (the one on this machine when
# RATELIMIT_STORAGE_URI is unset and it answers); without a shared store, one worker serves, so a limit
# never becomes "per worker" and an attacker's tries are counted once.
if [[ -z "${RATELIMIT_STORAGE_URI:-}" && "$workers" -gt 1 ]]; then
    if "$venv/bin/python" -c 'import redis, sys; redis.Redis(socket_timeout=1).ping()' >/dev/null 2>&1; then
        export RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0"
        echo "serve.sh: rate limits in Redis (redis://127.0.0.1:6379/0), shared by $workers workers" >&2
    else
        echo "serve.sh: no RATELIMIT_STORAGE_URI and no Redis on 127.0.0.1:6379: serving with one worker" \
            "(set RATELIMIT_STORAGE_URI=redis://… for more)" >&2
        workers=1
    fi
fi

# Roles and permissions are synced once, here, instead of by every gunicorn worker and the scheduler at
# the same moment (concurrent syncs race on the same permission rows).
"${flask[@]}" sync-security
export PORTICO_SYNC_SECURITY_ON_START="${PORTICO_SYNC_SECURITY_ON_START:-0}"

scheduler_pid=""
server_pid=""

stop() {
    trap - EXIT INT TERM
    local pid
    for pid in $server_pid $scheduler_pid; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export LOG_FORMAT="${LOG_FORMAT:-text}"

# The scheduler under a small supervisor: restarted whenever it exits, stopped with it on TERM.
supervise_scheduler() {
    local child="" delay=1 status
    trap '[[ -n "$child" ]] && kill -TERM "$child" 2>/dev/null; wait 2>/dev/null; exit 0' TERM INT
    while true; do
        "${flask[@]}" scheduler &
        child=$!
        echo "serve.sh: scheduler started (pid $child)" >&2
        status=0
        wait "$child" || status=$?
        child=""
        echo "serve.sh: the scheduler exited (status $status): starting it again in ${delay}s" >&2
        sleep "$delay" &
        wait $! || true
        delay=$(( delay < 16 ? delay * 2 : 30 ))
    done
}

if "${flask[@]}" scheduler --help >/dev/null 2>&1; then
    supervise_scheduler &
    scheduler_pid=$!
else
    echo "serve.sh: no 'flask --app run scheduler' command yet: serving without the scheduler" >&2
fi

"$venv/bin/gunicorn" \
    --workers "$workers" \
    --bind "127.0.0.1:$port" \
    --timeout "${GUNICORN_TIMEOUT:-120}" \
    --graceful-timeout "${GUNICORN_GRACEFUL_TIMEOUT:-30}" \
    --error-logfile - \
    --no-control-socket \
    run:app &
server_pid=$!
echo "serve.sh: Portico at http://127.0.0.1:$port/ (Ctrl-C stops it)" >&2

status=0
wait "$server_pid" || status=$?
server_pid=""
exit "$status"
