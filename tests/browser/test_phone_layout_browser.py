"""The technician's day and the booking board on a phone (390x844, issue 15 item 1), and the staff side in the
portal's visual language (its font, primary buttons, links, badges and cards) at desktop width."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app.models import WorkItem
from app.services import requests, work_orders
from app.views.boards import day_bounds, local_today
from tests.factories import CustomerFactory, ServiceTypeFactory, UnitFactory, actor, make_user

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}

#: What a phone page must satisfy: measured in the page, returned as lists of offenders.
MEASURE = """() => {
  const visible = e => {
    const r = e.getBoundingClientRect();
    return e.offsetParent !== null && r.width > 0 && r.height > 0;
  };
  const label = e => (e.innerText || e.value || e.name || '').trim().slice(0, 40);
  const name = e => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''} "${label(e)}"`;
  const cards = [...document.querySelectorAll('.board-card')].filter(visible);
  const targets = cards.flatMap(card => [...card.querySelectorAll(
      'a, button, summary, .btn, select, textarea, input:not([type=hidden]):not([type=checkbox])')]).filter(visible);
  // a check box's target is its label
  const boxes = [...document.querySelectorAll('.board-card .checkbox-inline')].filter(visible);
  const texts = cards.flatMap(card => [...card.querySelectorAll('dd, li, p, h5')]).filter(visible);
  return {
    scrollWidth: document.documentElement.scrollWidth,
    cards: cards.length,
    wideCards: cards.filter(c => c.getBoundingClientRect().right > window.innerWidth + 0.5
                                 || c.getBoundingClientRect().left < -0.5).map(name),
    cardLefts: [...new Set(cards.map(c => Math.round(c.getBoundingClientRect().left)))],
    small: [...targets, ...boxes].filter(e => e.getBoundingClientRect().height < 44)
             .map(e => `${name(e)} ${Math.round(e.getBoundingClientRect().height)}px`),
    bodyFont: parseFloat(getComputedStyle(document.body).fontSize),
    smallText: texts.filter(e => parseFloat(getComputedStyle(e).fontSize) < 16).map(name),
    narrowForms: [...document.querySelectorAll('.portico-board .form-control')].filter(visible)
                   .filter(e => e.getBoundingClientRect().width
                                < e.closest('form, .panel-body').getBoundingClientRect().width * 0.8)
                   .map(name),
  };
}"""


def assert_phone_usable(page, *, cards: int):
    measured = page.evaluate(MEASURE)
    assert measured["scrollWidth"] <= PHONE["width"], measured["scrollWidth"]
    assert measured["cards"] >= cards, measured
    assert measured["wideCards"] == [], measured["wideCards"]
    assert len(measured["cardLefts"]) == 1, measured["cardLefts"]  # one column: every card starts at the same x
    assert measured["small"] == [], measured["small"]  # every tap target at least 44 px high
    assert measured["bodyFont"] >= 16
    assert measured["smallText"] == [], measured["smallText"]
    assert measured["narrowForms"] == [], measured["narrowForms"]
    # The navbar collapses to Bootstrap's toggle, itself a 44 px target.
    toggle = page.locator(".navbar .navbar-toggle")
    assert toggle.is_visible() and toggle.bounding_box()["height"] >= 44
    assert not page.locator(".navbar .navbar-collapse").is_visible()
    toggle.click()
    page.locator(".navbar .navbar-collapse.in").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_technicians_day_on_a_phone(db, live_server, page, browser_login, screenshot):
    customer = CustomerFactory(name="Arctic Refrigeration")
    staff = actor(make_user("Advisor"))
    tech = make_user("Technician", username="phone-tech")
    unit = UnitFactory(customer=customer, make="Coolmax", model="CM-200 with a rather long model name")
    db.session.commit()
    start = day_bounds(local_today())[0] + dt.timedelta(hours=10)
    for n, fault in enumerate(("Compressor noise", "Door seal torn, the whole left side, and ice on the back wall")):
        order = work_orders.create(staff, customer_id=customer.id, kind="repair", unit_id=unit.id, fault=fault)
        order.items.append(WorkItem(position=0, kind="labour", description="Replace relay", quantity=Decimal("1.5"),
                                    unit_price=Decimal("98.00")))
        order.items.append(WorkItem(position=1, kind="part", part_number="R-7", description="Relay",
                                    quantity=Decimal("1"), unit_price=Decimal("12.00")))
        db.session.commit()
        work_orders.perform(order, "receive", staff)
        begins = start + dt.timedelta(hours=n)
        work_orders.perform(order, "assign", staff, technician_id=tech.id, scheduled_start=begins,
                            scheduled_end=begins + dt.timedelta(hours=1))
    db.session.commit()

    page.set_viewport_size(PHONE)
    browser_login(page, "phone-tech")
    page.goto(f"{live_server}/technician/today")
    page.wait_for_load_state("networkidle")
    screenshot(page, "phone-technician-today")
    assert_phone_usable(page, cards=2)


def test_the_booking_board_on_a_phone(db, live_server, page, browser_login, screenshot):
    customer = CustomerFactory(name="Jane Doe")
    make_user("Advisor", username="phone-advisor")
    jane = actor(make_user("Customer", customer=customer))
    service_type = ServiceTypeFactory(name="Fridge repair")
    unit = UnitFactory(customer=customer, make="Coolmax", model="CM-200")
    db.session.commit()
    day = dt.date.today() + dt.timedelta(days=3)
    requests.submit(jane, service_type_id=service_type.id, subject="Fridge too warm", preferred_date=day,
                    preferred_slot="afternoon", unit_id=unit.id)
    requests.submit(jane, service_type_id=service_type.id, subject="Ice maker", preferred_date=day,
                    preferred_slot="morning")
    waiting = requests.submit(jane, service_type_id=service_type.id, subject="Door seal", preferred_date=day,
                              preferred_slot="morning")
    requests.perform(waiting, "propose", actor(make_user("Advisor")), start=dt.datetime.combine(day, dt.time(15)),
                     note="Afternoon instead?")
    db.session.commit()

    page.set_viewport_size(PHONE)
    browser_login(page, "phone-advisor")
    page.goto(f"{live_server}/bookingboard/")
    page.wait_for_load_state("networkidle")
    page.locator("#column-time_proposed summary").first.click()  # an opened form is a phone-width form too
    screenshot(page, "phone-booking-board")
    assert_phone_usable(page, cards=3)


def test_the_staff_side_speaks_the_portals_visual_language(db, live_server, page, browser_login):
    make_user("Advisor", username="look-advisor")
    db.session.commit()
    page.set_viewport_size({"width": 1366, "height": 800})
    browser_login(page, "look-advisor")
    page.goto(f"{live_server}/bookingboard/")
    style = page.evaluate("""() => {
      const css = (selector, prop) => {
        const e = document.querySelector(selector);
        return e && getComputedStyle(e)[prop];
      };
      const probe = document.createElement('div');  // one of each component, as the portal has them
      probe.innerHTML = '<button class="btn btn-primary">x</button><a href="#">x</a>'
                      + '<span class="status-badge status-new">x</span><div class="panel panel-default"></div>';
      document.querySelector('.portico-board').append(probe);
      return {font: getComputedStyle(document.body).fontFamily, ink: getComputedStyle(document.body).color,
              primary: css('.portico-board .btn-primary', 'backgroundColor'),
              link: css('.portico-board a[href="#"]', 'color'),
              badge: css('.portico-board .status-badge', 'color'), card: css('.portico-board .panel', 'borderTopColor'),
              radius: css('.portico-board .panel', 'borderTopLeftRadius'), navbar: css('.navbar', 'backgroundColor')};
    }""")
    assert style["font"].startswith("system-ui"), style  # the portal's font stack
    assert style["ink"] == "rgb(27, 31, 36)"  # #1b1f24
    assert style["primary"] == "rgb(18, 53, 91)"  # #12355b, the portal's .btn and header
    assert style["navbar"] == "rgb(18, 53, 91)"
    assert style["link"] == "rgb(11, 92, 173)"  # #0b5cad
    assert style["badge"] == "rgb(27, 31, 36)"
    assert style["card"] == "rgb(208, 215, 222)" and style["radius"] == "8px"  # the portal's .card: #d0d7de, 8 px
