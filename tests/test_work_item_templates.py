"""Work item templates (issue 16, item 3): standard jobs and parts with a name per language, kept under Setup
and offered by the estimate builder in the customer's language."""
from __future__ import annotations

from decimal import Decimal

from app.core.settings import get_settings
from app.models import LabourLine, PartLine, WorkItemTemplate
from app.services import estimates
from tests.factories import CustomerFactory, actor, make_user
from tests.test_estimate_builder import LINES, descriptions, form_of


def _templates(db):
    oil = WorkItemTemplate(kind="labour", name="Oil change", names={"de": "Ölwechsel"}, quantity=Decimal("0.75"))
    filt = WorkItemTemplate(kind="part", name="Oil filter", names={"de": "Ölfilter"}, part_number="OF-9",
                            quantity=Decimal("1"), unit_price=Decimal("12.40"))
    old = WorkItemTemplate(kind="labour", name="Carburettor tuning", quantity=Decimal("2"), active=False)
    db.session.add_all([oil, filt, old])
    db.session.commit()
    return oil, filt, old


def test_a_manager_keeps_templates_with_german_names(app, db, client, login_as):
    from app.core import languages

    manager = make_user("Manager")
    db.session.commit()
    login_as(manager)
    page = client.get("/workitemtemplateview/add")
    assert page.status_code == 200 and 'name="name_de"' in page.get_data(as_text=True)
    answer = client.post("/workitemtemplateview/add", data={
        "kind": "labour", "name": "Brake check", "name_de": "Bremsenprüfung", "quantity": "0.5", "unit_price": "",
        "active": "y"})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    row = db.session.query(WorkItemTemplate).filter_by(name="Brake check").one()
    assert row.names == {"de": "Bremsenprüfung"} and row.quantity == Decimal("0.50") and row.kind == "labour"
    assert row.active, "offered"
    with app.app_context():  # a context of its own, as a real request has (the locale is kept per context)
        languages.set_staff_language(manager, "de")
        db.session.commit()
        german = client.get("/workitemtemplateview/list/").get_data(as_text=True)
    assert "Bremsenprüfung" in german and ">Arbeit<" in german and "0,50" in german


def test_the_builder_offers_them_in_the_customers_language(db, client, login_as):
    oil, filt, old = _templates(db)
    customer = CustomerFactory(name="Kältetechnik Nord", language="de")
    advisor = make_user("Advisor")  # reads English
    db.session.commit()
    est = estimates.create(actor(advisor), customer_id=customer.id, labour_lines=LINES)
    login_as(advisor)
    page = client.get(f"/estimatebuilder/{est.id}").get_data(as_text=True)
    assert "Ölwechsel (Labour)" in page and "Ölfilter (Part)" in page and "Carburettor" not in page
    lines = [dict(line, parts=list(line["parts"])) for line in LINES]
    answer = client.post(f"/estimatebuilder/{est.id}", data=form_of(lines, est.version, op="add_template",
                                                                    template_id=str(oil.id)))
    assert answer.status_code == 200
    added = answer.get_data(as_text=True)
    assert descriptions(added)[-1] == "Ölwechsel"
    assert 'name="labour-2-hours" value="0.75"' in added
    assert f'name="labour-2-rate" value="{get_settings().labour_rate:.2f}"' in added  # empty price: the rate
    lines.append({"description": "Ölwechsel", "hours": "0.75", "rate": f"{get_settings().labour_rate:.2f}",
                  "parts": []})
    with_part = client.post(f"/estimatebuilder/{est.id}", data=form_of(lines, est.version, op="add_template",
                                                                       template_id=str(filt.id)))
    assert 'name="labour-2-parts-0-description" value="Ölfilter"' in with_part.get_data(as_text=True)
    assert 'name="labour-2-parts-0-part_number" value="OF-9"' in with_part.get_data(as_text=True)
    lines[-1]["parts"].append({"part_number": "OF-9", "description": "Ölfilter", "quantity": "1.00",
                               "unit_price": "12.40"})
    saved = client.post(f"/estimatebuilder/{est.id}", data=form_of(lines, est.version))
    assert saved.status_code == 302
    assert db.session.query(LabourLine).filter_by(estimate_id=est.id, description="Ölwechsel").count() == 1
    assert db.session.query(PartLine).filter_by(description="Ölfilter", part_number="OF-9").count() == 1


def test_an_archived_or_unknown_template_is_refused_and_the_typing_kept(db, client, login_as):
    oil, filt, old = _templates(db)
    customer = CustomerFactory(language="en")
    advisor = make_user("Advisor")
    db.session.commit()
    est = estimates.create(actor(advisor), customer_id=customer.id, labour_lines=[])
    login_as(advisor)
    for wanted in (str(old.id), "999999", "x"):
        refused = client.post(f"/estimatebuilder/{est.id}", data=form_of([], est.version, op="add_template",
                                                                         template_id=wanted))
        assert refused.status_code == 422 and "Choose a template from the list." in refused.get_data(as_text=True)
    typed = [{"description": "Typed by hand", "hours": "1", "rate": "80", "parts": []}]
    no_line = client.post(f"/estimatebuilder/{est.id}", data=form_of([], est.version, op="add_template",
                                                                     template_id=str(filt.id)))
    assert "Add a labour line first" in no_line.get_data(as_text=True)
    kept = client.post(f"/estimatebuilder/{est.id}", data=form_of(typed, est.version, op="add_template",
                                                                  template_id=str(old.id)))
    assert descriptions(kept.get_data(as_text=True)) == ["Typed by hand"]
