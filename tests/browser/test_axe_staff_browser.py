"""Every main staff page passes axe-core's WCAG 2.1 A/AA rules with no serious or critical violation, for each
staff role (issue 15, item 5), as the portal already does.

axe-core comes from the npm registry through package.json / package-lock.json (``make test`` runs ``npm ci``);
without node_modules/axe-core/axe.min.js these tests skip and say so. The demo data (``seed.load(demo=True)``)
gives the lists and boards rows in every state.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import current_app
from sqlalchemy import select

from seed import load

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
#: Fewest pages first: a navbar link another role's run checked already is not checked again (below).
USERNAMES = {"Technician": "tech", "Advisor": "advisor", "Manager": "manager", "Admin": "admin"}
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN = """tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})
  .then(r => r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => ({
    id: v.id, impact: v.impact, count: v.nodes.length,
    targets: v.nodes.slice(0, 3).map(n => {
      const data = (n.any[0] || {}).data || {};  // color-contrast: the colours and their ratio
      return n.target.join(' ') + (data.fgColor ? ` (${data.fgColor} on ${data.bgColor}: ${data.contrastRatio})` : '');
    })})))"""
#: The staff navbar's own links (menu entries, not logout, language or the brand).
NAV_LINKS = """() => [...document.querySelectorAll('.navbar .dropdown-menu a[href], .navbar-nav > li > a[href]')]
  .map(a => a.getAttribute('href'))"""
SKIP_PREFIXES = ("/logout", "/lang/", "/portal", "/swagger", "/api/", "/static/", "/documents/", "/attachments/")

#: The main entities: (list, add) addresses and the model behind their show page.
ENTITIES = {
    "workorderview": "WorkOrder",
    "servicerequestview": "ServiceRequest",
    "estimateview": "Estimate",
    "invoiceview": "Invoice",
    "customerview": "Customer",
}
BOARDS = ["/", "/bookingboard/", "/serviceboard/", "/calendar/", "/dashboard/", "/technician/today", "/setup/",
          "/search/?q=Jane"]
#: Navbar links checked by an earlier role of this run. Every role's run checks the boards and the main entities'
#: pages (what differs most by role) and its navbar on each of them, but a settings or security list that looks
#: the same to every role that has it is checked once: the whole file stays under three minutes.
CHECKED_MENU_LINKS: set[str] = set()


def _require_axe() -> None:
    if not AXE.exists():
        pytest.skip(f"axe-core not found at {AXE}: run `npm ci` (make test does; it needs node and npm)")


def _pages(page, base: str) -> list[str]:
    """The role's pages: its navbar's menu links, the boards, and a list, show page and add form per entity."""
    import app.models as models
    from app.extensions import db

    paths = list(BOARDS)
    for route, model in ENTITIES.items():
        pk = db.session.scalar(select(getattr(models, model).id).order_by(getattr(models, model).id.desc()).limit(1))
        paths += [f"/{route}/list/", f"/{route}/show/{pk}", f"/{route}/add"]
    from app.views.technician import BOARD_STATES

    tech = db.session.scalar(select(models.User.id).where(models.User.username == "tech"))
    order = db.session.scalar(select(models.WorkOrder.id).where(
        models.WorkOrder.technician_id == tech, models.WorkOrder.status.in_(BOARD_STATES)).limit(1))
    paths.append(f"/technicianboard/show/{order}")  # a technician's work order
    for href in page.evaluate(NAV_LINKS):
        if href.startswith("http") and not href.startswith(base):
            continue  # elsewhere
        path = urlsplit(href).path
        if path and path != "/" and not path.startswith(SKIP_PREFIXES) and path not in paths \
                and path not in CHECKED_MENU_LINKS:
            paths.append(path)
            CHECKED_MENU_LINKS.add(path)
    return list(dict.fromkeys(paths))


@pytest.mark.parametrize("role", list(USERNAMES))
def test_every_staff_page_passes_axe(live_server, page, browser_login, db, role):
    _require_axe()
    load(demo=True)
    db.session.commit()
    browser_login(page, USERNAMES[role], current_app.config["PORTICO_DEMO_PASSWORD"])
    page.goto(f"{live_server}/")
    page.wait_for_load_state("load")
    source = AXE.read_text(encoding="utf-8")
    checked, found, broken = [], [], []
    for path in _pages(page, live_server):
        response = page.goto(f"{live_server}{path}")
        if urlsplit(page.url).path.startswith("/login") or (response and response.status == 403):
            continue  # not this role's page
        if response is None or response.status >= 400:
            broken.append(f"{path}: {response.status if response else 'no response'}")
            continue
        page.evaluate(source)  # not add_script_tag: the Content-Security-Policy refuses an inline <script>
        violations = page.evaluate(RUN, TAGS)
        checked.append(path)
        found += [f"{path}: {v['id']} ({v['impact']}, {v['count']} nodes) e.g. {v['targets']}" for v in violations]
    print(f"{role}: {len(checked)} pages checked: {checked}")
    assert not broken, broken
    assert len(checked) >= 5, checked
    assert not found, "\n".join([f"{len(found)} serious/critical axe violations for {role}:", *found])
