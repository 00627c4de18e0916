"""Staff screens show words, not internals (issue 15, item 3): record types, events, line references and
empty choices. The demo shop supplies the rows; the pages' visible text (not attributes or scripts) is read."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask import current_app

from seed import load
from tests.conftest import login
from tests.repair_shop import anonymous

#: snake_case words, FAB's blank option value and line references such as "labour:17".
RAW = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b|__None|\b(?:labour|part):\d+")
PAGES = ["/auditeventview/list/", "/outboxview/list/", "/disputenoteview/list/", "/workorderview/add",
         "/servicerequestview/add", "/estimateview/add", "/invoiceview/add", "/users/userinfo/",
         "/settingsview/show/{settings}", "/settingsview/edit/{settings}"]


class VisibleText(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts, self._hidden = [], 0

    def handle_starttag(self, tag, attrs):
        self._hidden += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._hidden -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.parts.append(data.strip())


def visible(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    return parser.parts


@pytest.fixture()
def demo_admin(db):
    load(demo=True)
    db.session.commit()
    client = anonymous()
    assert login(client, "admin", current_app.config["PORTICO_DEMO_PASSWORD"]).status_code == 302
    return client


def test_pages_show_no_raw_values(demo_admin):
    found = {}
    from app.core.settings import get_settings

    for path in PAGES:
        path = path.format(settings=get_settings().id)  # not always 1: PostgreSQL's sequences go on
        response = demo_admin.get(path)
        assert response.status_code == 200, path
        raw = sorted({m.group(0) for part in visible(response.text) for m in RAW.finditer(part)})
        if raw:
            found[path] = raw
    assert found == {}


def test_words_stand_where_the_internals_stood(demo_admin):
    audit = " ".join(visible(demo_admin.get("/auditeventview/list/").text))
    assert "Service request" in audit and "Work order" in audit
    outbox = " ".join(visible(demo_admin.get("/outboxview/list/").text))
    assert re.search(r"(Service request|Work order|Estimate|Invoice): [a-z]", outbox)
    notes = " ".join(visible(demo_admin.get("/disputenoteview/list/").text))
    assert "Part " in notes or re.search(r"\b[A-Z][a-z]+ [a-z]", notes)


def test_the_dispute_note_list_names_lines_in_one_statement_per_kind(demo_admin, db):
    from sqlalchemy import event

    statements = []

    def count(conn, cursor, statement, *args):
        if "labour_line" in statement or "part_line" in statement:
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert demo_admin.get("/disputenoteview/list/").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert 1 <= len(statements) <= 2
