"""``Idempotency-Key`` on POSTs that create something (SPEC §6).

The same key with the same request returns the first answer and creates nothing; the same key with
another request (path or body) answers 422. Keys belong to the user who sent them.

The key's row is added to the session *before* the service runs, so the service's own commit stores it
atomically with what it created. Two identical requests at once both try to insert ``(user_id, key)``;
the unique index lets one commit, and the other's whole transaction (its copy of the new record
included) fails and is rolled back, after which it answers with the winner's stored result. Between the
winner's commit and the moment its answer is stored (one more small commit) the loser answers 409
"still being processed"; retrying then returns the stored answer.
"""
from __future__ import annotations

import hashlib
import json
import time

from flask import request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import IdempotencyKey
from .common import ApiError, respond

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
WAIT_STEPS, WAIT_SECONDS = 20, 0.1


def request_hash(body) -> str:
    canonical = json.dumps({"method": request.method, "path": request.path, "body": body},
                           sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def header_key() -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ApiError(400, f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters.")
    return key


def lookup(user_id: int, key: str) -> IdempotencyKey | None:
    return db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.user_id == user_id,
                                                          IdempotencyKey.key == key))


def wait_for_answer(found: IdempotencyKey, user_id: int, key: str) -> IdempotencyKey:
    """A twin request committed but has not stored its answer yet: give it a moment (bounded)."""
    for _ in range(WAIT_STEPS):
        if found.status_code:
            break
        db.session.rollback()
        time.sleep(WAIT_SECONDS)
        found = lookup(user_id, key) or found
    return found


def replay(found: IdempotencyKey, digest: str):
    if found.request_hash != digest:
        raise ApiError(422, {HEADER: ["This key was already used for a different request. Use a new key."]})
    if not found.status_code:
        raise ApiError(409, f"A request with this {HEADER} is still being processed. Retry in a moment.")
    response = respond(found.status_code, **(found.response or {}))
    response.headers["Idempotent-Replayed"] = "true"
    return response


def run(actor, body, produce):
    """Answer ``produce()`` (which returns ``(status, payload)``) at most once per key and request."""
    key = header_key()
    if key is None or actor.user_id is None:
        status, payload = produce()
        return respond(status, **payload)
    digest = request_hash(body)
    found = lookup(actor.user_id, key)
    if found is not None:
        return replay(found, digest)
    row = IdempotencyKey(user_id=actor.user_id, key=key, request_hash=digest, status_code=0, response=None)
    try:
        db.session.add(row)
        db.session.flush()  # claims the key now: a concurrent twin waits here, then fails on the unique index
        status, payload = produce()
    except IntegrityError:
        db.session.rollback()
        found = lookup(actor.user_id, key)
        if found is None:
            raise  # a conflict of the record itself, not of the key
        return replay(wait_for_answer(found, actor.user_id, key), digest)
    if 200 <= status < 300:
        row.status_code, row.response = status, payload
        db.session.add(row)
        db.session.commit()
    else:  # nothing was created: keep no key
        db.session.rollback()
    return respond(status, **payload)
