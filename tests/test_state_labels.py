"""Every state of SPEC section 3 has a label in the reader's language (issue 15: enums shown as words)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask_babel import force_locale

from app.services import work_orders
from app.views.filters import STATE_LABELS, record_label, status_label
from tests.factories import CustomerFactory, actor, make_user

SPEC = Path(__file__).resolve().parents[2] / "shared" / "SPEC.md"


def spec_states() -> set[str]:
    """The backquoted state names in SPEC's states section (actions such as `confirm` excluded)."""
    text = SPEC.read_text(encoding="utf-8")
    section = text.split("## 3. States and transitions", 1)[1].split("## 4.", 1)[0]
    states = set()
    for row in re.findall(r"^\|[^|]*\|[^|]*\|[^|]*\|([^|]*)\|", section, re.M):  # the "to" column
        states.update(re.findall(r"`([a-z_]+)`", row))
    for row in re.findall(r"^\|([^|]*)\|", section, re.M):  # the "from" column
        states.update(re.findall(r"`([a-z_]+)`", row))
    states.update(re.findall(r"`([a-z_]+)`", section.split("**Shipment**", 1)[1].split("Only", 1)[0])[::2])
    states |= {"pending_confirmation", "confirmed", "received", "in_progress", "ready", "completed", "cancelled"}
    return states - {"confirm", "receive", "status"}


@pytest.mark.skipif(not SPEC.exists(), reason="../shared/SPEC.md not beside the worktree")
def test_every_spec_state_has_a_german_label(app):
    states = spec_states()
    assert {"new", "time_proposed", "awaiting_authorization", "superseded", "draft"} <= states
    missing = states - set(STATE_LABELS)
    assert not missing, missing
    with app.test_request_context(), force_locale("de"):
        for state in states:
            english = state.replace("_", " ").capitalize()
            assert status_label(state) != english, state
    with app.test_request_context(), force_locale("de"):
        assert status_label("confirmed") == "Bestätigt"
        assert status_label("pending_confirmation") == "Wartet auf Bestätigung"
        assert status_label("succeeded") == "Erfolgreich"
        assert record_label("work_order") == "Arbeitsauftrag"
        # German nouns keep their capital after the colon; English lowers the state
        assert record_label("request.time_proposed").endswith(": Termin vorgeschlagen")
    with app.test_request_context(), force_locale("en"):
        assert record_label("request.time_proposed") == "Service request: time proposed"


def test_english_labels_and_unknown_values(app):
    with app.test_request_context(), force_locale("en"):
        assert status_label("confirmed") == "Confirmed"
        assert status_label("awaiting_authorization") == "Awaiting authorization"
        assert status_label("some_new_state") == "Some new state"
        assert status_label(None) == ""


def test_a_staff_page_in_german_shows_the_state_in_german(db, login_as):
    advisor = make_user("Advisor")
    customer = CustomerFactory(name="Plain Customer")
    db.session.commit()
    order = work_orders.create(actor(advisor), customer_id=customer.id, fault="Rattles")
    db.session.commit()
    assert order.status == "confirmed"
    client = login_as(advisor)
    english = client.get(f"/workorderview/show/{order.id}").get_data(as_text=True)
    assert ">Confirmed<" in english
    client.get("/lang/de")
    german = client.get(f"/workorderview/show/{order.id}").get_data(as_text=True)
    assert ">Bestätigt<" in german
    assert ">Confirmed<" not in german and ">confirmed<" not in german


def test_the_done_sentences_speak_german(app, db):
    from flask_babel import force_locale as locale

    from app.views.sentences import done

    advisor = make_user("Advisor")
    customer = CustomerFactory(name="Plain Customer")
    db.session.commit()
    order = work_orders.create(actor(advisor), customer_id=customer.id, fault="Rattles")
    db.session.commit()
    with app.test_request_context():
        with locale("de"):
            assert done(order, order.number, "receive") == f"{order.number} ist in der Werkstatt eingegangen."
            assert done(order, order.number, "hold", before="new") == f"{order.number} ist jetzt bestätigt."
        with locale("en"):
            assert done(order, order.number, "receive") == f"{order.number} is received in the workshop."
            assert done(order, order.number, "hold", before="new") == f"{order.number} is now confirmed."
