#!/usr/bin/env bash
# Lint and test Portico (`make test` runs this once the venv has the dev requirements):
#   1. ruff check .
#   2. pytest on SQLite (side by side with 3 when TEST_DATABASE_URL is set)
#   3. pytest on PostgreSQL when TEST_DATABASE_URL is set (a throw-away database is created on that
#      server by tests/conftest.py through PORTICO_TEST_DATABASE_URL)
# Every step runs even when an earlier one fails; the exit status is non-zero when any failed
# (pytest's "no tests collected", status 5, counts as a failure). Extra arguments go to pytest.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv="${VENV:-venv}"
failed=()

step() {
    local name="$1"
    shift
    echo "==> $name" >&2
    "$@"
    local status=$?
    if [[ $status != 0 ]]; then
        echo "==> $name: FAILED (exit status $status)" >&2
        failed+=("$name")
    fi
}

step "ruff" "$venv/bin/ruff" check .
# With a PostgreSQL target the two runs go side by side (the suite is single-threaded and the machine has
# two cores); each writes its own log, printed whole when both are done.
logs="$(mktemp -d)"
if [[ -n ${TEST_DATABASE_URL:-} ]]; then
    echo "==> pytest on SQLite and on PostgreSQL, side by side" >&2
    env -u PORTICO_TEST_DATABASE_URL "$venv/bin/pytest" -q "$@" >"$logs/sqlite.log" 2>&1 &
    sqlite_pid=$!
    env PORTICO_TEST_DATABASE_URL="$TEST_DATABASE_URL" "$venv/bin/pytest" -q "$@" >"$logs/postgres.log" 2>&1 &
    postgres_pid=$!
    wait "$sqlite_pid"; sqlite_status=$?
    wait "$postgres_pid"; postgres_status=$?
    echo "==> pytest (SQLite)" >&2; cat "$logs/sqlite.log"
    [[ $sqlite_status == 0 ]] || { echo "==> pytest (SQLite): FAILED (exit status $sqlite_status)" >&2; failed+=("pytest (SQLite)"); }
    echo "==> pytest (PostgreSQL)" >&2; cat "$logs/postgres.log"
    [[ $postgres_status == 0 ]] || { echo "==> pytest (PostgreSQL): FAILED (exit status $postgres_status)" >&2; failed+=("pytest (PostgreSQL)"); }
else
    # The SQLite run must not inherit a PostgreSQL target from the caller's environment.
    step "pytest (SQLite)" env -u PORTICO_TEST_DATABASE_URL "$venv/bin/pytest" -q "$@"
    echo "==> pytest (PostgreSQL): skipped, TEST_DATABASE_URL is not set" >&2
fi
rm -rf "$logs"

if [[ ${#failed[@]} != 0 ]]; then
    echo "==> failed: $(IFS=,; echo "${failed[*]}" | sed 's/,/, /g')" >&2
    exit 1
fi
echo "==> all passed" >&2
