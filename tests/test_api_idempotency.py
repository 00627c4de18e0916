"""``Idempotency-Key`` on creating POSTs: the same request again returns the first answer and creates
nothing; the same key with another request is a 422; two identical requests at once create one record."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from app.api import idempotency
from app.core.settings import shop_today
from app.models import IdempotencyKey, ServiceRequest, WorkOrder
from tests.api_support import api_as
from tests.factories import CustomerFactory, ServiceTypeFactory, make_user


@pytest.fixture()
def setup(client, db):
    service_type = ServiceTypeFactory()
    user = make_user("Customer", customer=CustomerFactory())
    db.session.commit()
    body = {"service_type": service_type.id, "subject": "Fridge", "preferred_date":
            (dt.date.today() + dt.timedelta(days=2)).isoformat()}
    return {"api": api_as(client, user), "body": body, "user": user, "client": client}


def requests_in_db(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(ServiceRequest.id)))


def post(api, body, key):
    return api.post("/service_request/", json=body, headers={"Idempotency-Key": key})


def test_same_key_same_body_returns_the_first_answer(setup, db):
    api, body = setup["api"], setup["body"]
    first = post(api, body, "order-1")
    again = post(api, body, "order-1")
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert requests_in_db(db) == 1
    assert post(api, body, "order-2").get_json()["id"] != first.get_json()["id"]  # a new key is a new request
    assert requests_in_db(db) == 2


def test_same_key_other_body_is_refused(setup, db):
    api, body = setup["api"], setup["body"]
    assert post(api, body, "k").status_code == 201
    refused = post(api, {**body, "subject": "Freezer"}, "k")
    assert refused.status_code == 422 and "Idempotency-Key" in refused.get_json()["message"]
    other_path = api.post("/work_order/", json={"kind": "repair", "fault": "x"}, headers={"Idempotency-Key": "k"})
    assert other_path.status_code == 422
    assert requests_in_db(db) == 1 and db.session.scalar(select(func.count(WorkOrder.id))) == 0


def test_keys_belong_to_their_user(setup, client, db):
    other = api_as(client, make_user("Customer", customer=CustomerFactory()))
    db.session.commit()
    mine = post(setup["api"], setup["body"], "shared")
    theirs = post(other, setup["body"], "shared")
    assert mine.status_code == theirs.status_code == 201
    assert mine.get_json()["id"] != theirs.get_json()["id"]


def test_failed_requests_keep_no_key(setup, db):
    api, body = setup["api"], setup["body"]
    assert post(api, {**body, "subject": ""}, "retry-me").status_code == 422
    assert post(api, body, "retry-me").status_code == 201  # the corrected request goes through
    assert db.session.scalar(select(func.count(IdempotencyKey.id))) == 1


def test_actions_that_create_honour_the_key(client, db):
    staff = make_user("Advisor")
    customer = CustomerFactory()
    db.session.commit()
    api = api_as(client, staff)
    req = api.post("/service_request/", json={"customer": customer.id, "service_type": ServiceTypeFactory().id,
                                              "subject": "x", "preferred_date": shop_today().isoformat()})
    db.session.commit()
    req_id = req.get_json()["id"]
    assert api.post(f"/service_request/{req_id}/confirm").status_code == 200
    first = api.post(f"/service_request/{req_id}/work_order", headers={"Idempotency-Key": "wo"})
    again = api.post(f"/service_request/{req_id}/work_order", headers={"Idempotency-Key": "wo"})
    assert first.status_code == again.status_code == 200 and first.get_json() == again.get_json()
    assert db.session.scalar(select(func.count(WorkOrder.id))) == 1


def test_a_bad_key_is_a_400(setup):
    assert post(setup["api"], setup["body"], "x" * 300).status_code == 400


def test_the_race_is_settled_by_the_unique_index(setup, db, monkeypatch):
    """The twin looked the key up before the winner committed: its insert fails on the unique index, its
    copy of the request is rolled back, and it answers with the winner's stored result."""
    api, body = setup["api"], setup["body"]
    winner = post(api, body, "race")
    real_lookup = idempotency.lookup
    calls = []

    def late_lookup(user_id, key):
        calls.append(key)
        return None if len(calls) == 1 else real_lookup(user_id, key)

    monkeypatch.setattr(idempotency, "lookup", late_lookup)
    twin = post(api, body, "race")
    assert twin.status_code == 201 and twin.get_json() == winner.get_json()
    assert requests_in_db(db) == 1


def test_a_twin_of_an_unfinished_request_is_told_to_retry(setup, db, monkeypatch):
    api, body = setup["api"], setup["body"]
    post(api, body, "slow")
    row = db.session.scalar(select(IdempotencyKey))
    row.status_code = 0  # the winner committed its record but has not stored its answer yet
    db.session.commit()
    real_lookup = idempotency.lookup
    calls = []
    monkeypatch.setattr(idempotency, "lookup", lambda u, k: None if not calls.append(k) and len(calls) == 1
                        else real_lookup(u, k))
    monkeypatch.setattr(idempotency, "WAIT_STEPS", 1)
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0)
    busy = post(api, body, "slow")
    assert busy.status_code == 409 and "still being processed" in busy.get_json()["message"]
    assert requests_in_db(db) == 1


def test_two_identical_requests_at_once_create_one_record(setup, app, db):
    api, body = setup["api"], setup["body"]
    start = threading.Barrier(2)
    answers = []

    def send():
        client = app.test_client()
        start.wait()
        response = client.post("/api/v1/service_request/", json=body,
                               headers={**api.headers(), "Idempotency-Key": "both"})
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert requests_in_db(db) == 1
    codes = sorted(code for code, _ in answers)
    assert codes in ([201, 201], [201, 409]), answers
    created = [payload for code, payload in answers if code == 201]
    assert all(payload == created[0] for payload in created)
    assert post(api, body, "both").get_json() == created[0]  # a retry gets the first answer
