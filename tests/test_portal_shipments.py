"""Resellers' shipments in the portal: grouping, creation (one location and method), confirmation, documents,
receipt by staff; plain customers get 403, another reseller's shipment 404."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Shipment
from app.services import shipments, work_orders
from tests.factories import ShippingMethodFactory
from tests.repair_shop import anonymous, build, client_for, reseller_orders

LIST = "/portal/shipments/"


@pytest.fixture()
def shop(db):
    return build(with_logo=False)


def shipment_count() -> int:
    return db.session.scalar(select(func.count(Shipment.id)))


def test_only_resellers_reach_shipments(shop):
    [order] = reseller_orders(shop, 1)
    made = shipments.create(shop["reseller_actor"], work_orders=[order.id])
    customer = client_for(shop["customer"])
    assert customer.get(LIST).status_code == 403
    assert customer.get(f"/portal/shipments/{made.id}").status_code == 403
    assert customer.post(f"/portal/shipments/{made.id}/confirm").status_code == 403
    assert customer.post(LIST, data={"work_orders": [order.id]}).status_code == 403
    response = anonymous().get(LIST)
    assert response.status_code == 302 and "/portal/login" in response.headers["Location"]
    assert client_for(shop["staff"]).get(LIST).status_code == 403


def test_confirmed_unshipped_orders_are_grouped_by_location_and_method(shop):
    north = reseller_orders(shop, 2)
    courier = ShippingMethodFactory(name="Express")
    db.session.commit()
    south = reseller_orders(shop, 1, location=shop["second_location"])
    north_express = reseller_orders(shop, 1, method=courier)
    shipped = reseller_orders(shop, 1)
    shipments.create(shop["reseller_actor"], work_orders=[shipped[0].id])
    received = reseller_orders(shop, 1)
    work_orders.perform(received[0], "receive", shop["staff_actor"])
    foreign = work_orders.create(shop["other_actor"], kind="repair", fault="x", service_location_id=shop["location"].id,
                                 shipping_method_id=shop["method"].id)
    page = client_for(shop["reseller"]).get(LIST).get_data(as_text=True)
    groups = page.split('class="card shipment-group"')[1:]
    assert len(groups) == 3
    by_group = {g.split("</legend>")[0]: g for g in groups}
    north_parcel = next(g for legend, g in by_group.items() if "North Depot" in legend and "Parcel" in legend)
    assert all(o.number in north_parcel for o in north) and south[0].number not in north_parcel
    assert any("South Depot" in legend and south[0].number in g for legend, g in by_group.items())
    assert any("Express" in legend and north_express[0].number in g for legend, g in by_group.items())
    for absent in (shipped[0], received[0], foreign):
        assert f">{absent.number}<" not in "".join(groups)
    assert "SHP-000001" in page  # the reseller's shipments are listed below


def test_create_confirm_and_print(shop):
    orders = reseller_orders(shop, 2)
    client = client_for(shop["reseller"])
    response = client.post(LIST, data={"work_orders": [str(o.id) for o in orders]})
    shipment = db.session.scalar(select(Shipment))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/portal/shipments/{shipment.id}")
    assert shipment.status == "draft" and {o.shipment_id for o in orders} == {shipment.id}
    page = client.get(f"/portal/shipments/{shipment.id}").get_data(as_text=True)
    assert "Confirm shipment" in page and "label.pdf" not in page and all(o.number in page for o in orders)

    response = client.post(f"/portal/shipments/{shipment.id}/confirm", data={"expected_version": shipment.version})
    assert response.status_code == 302
    db.session.refresh(shipment)
    assert shipment.status == "confirmed" and shipment.confirmed_at is not None
    page = client.get(f"/portal/shipments/{shipment.id}").get_data(as_text=True)
    assert f"/portal/shipments/{shipment.id}/label.pdf" in page and "packing-list.pdf" in page
    assert "Confirm shipment" not in page
    for doc in ("label.pdf", "packing-list.pdf"):
        download = client.get(f"/portal/shipments/{shipment.id}/{doc}")
        assert download.status_code == 200 and download.data.startswith(b"%PDF")
    again = client.post(f"/portal/shipments/{shipment.id}/confirm")  # a second confirm: refused, no 500
    assert again.status_code == 302
    db.session.refresh(shipment)
    assert shipment.status == "confirmed"


def test_mixed_locations_are_refused(shop):
    north = reseller_orders(shop, 1)
    south = reseller_orders(shop, 1, location=shop["second_location"])
    response = client_for(shop["reseller"]).post(LIST, data={"work_orders": [north[0].id, south[0].id]})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "one service location by one shipping method" in page
    assert shipment_count() == 0 and north[0].shipment_id is None


def test_nothing_chosen_or_foreign_orders_are_refused(shop):
    foreign = work_orders.create(shop["other_actor"], kind="repair", fault="x", service_location_id=shop["location"].id,
                                 shipping_method_id=shop["method"].id)
    client = client_for(shop["reseller"])
    response = client.post(LIST, data={})
    assert response.status_code == 422 and "Choose at least one order." in response.get_data(as_text=True)
    response = client.post(LIST, data={"work_orders": [foreign.id]})
    assert response.status_code == 422 and "Choose your own orders." in response.get_data(as_text=True)
    response = client.post(LIST, data={"work_orders": ["abc"]})
    assert response.status_code == 422
    assert shipment_count() == 0 and foreign.shipment_id is None


def test_another_resellers_shipment_answers_404(shop):
    [order] = reseller_orders(shop, 1)
    made = shipments.create(shop["reseller_actor"], work_orders=[order.id])
    other = client_for(shop["other"])
    assert other.get(f"/portal/shipments/{made.id}").status_code == 404
    assert other.post(f"/portal/shipments/{made.id}/confirm").status_code == 404
    assert other.get(f"/portal/shipments/{made.id}/label.pdf").status_code == 404
    assert other.get("/portal/shipments/999999").status_code == 404
    db.session.refresh(made)
    assert made.status == "draft"


def test_staff_receive_the_shipment_and_its_orders(shop):
    orders = reseller_orders(shop, 2)
    made = shipments.create(shop["reseller_actor"], work_orders=[o.id for o in orders])
    shipments.perform(made, "confirm", shop["reseller_actor"])
    staff = client_for(shop["staff"])
    assert made.number in staff.get(f"/shipmentview/show/{made.id}").get_data(as_text=True)
    response = staff.post(f"/shipmentview/transition/{made.id}/receive")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Shipment, made.id).status == "received"
    assert {o.status for o in db.session.get(Shipment, made.id).work_orders} == {"received"}
    page = client_for(shop["reseller"]).get(f"/portal/shipments/{made.id}").get_data(as_text=True)
    assert "Received by the shop" in page
