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


# --------------------------------------------------------------------------- tracking numbers

def dhl_shipment(shop):
    dhl = ShippingMethodFactory(name="DHL Paket", carrier="DHL")
    db.session.commit()
    orders = reseller_orders(shop, 2, method=dhl)
    return shipments.create(shop["reseller_actor"], work_orders=[o.id for o in orders]), orders


def test_the_reseller_enters_a_tracking_number_refused_at_the_field_and_kept(shop):
    made, _orders = dhl_shipment(shop)
    client = client_for(shop["reseller"])
    page = client.get(f"/portal/shipments/{made.id}").get_data(as_text=True)
    assert 'for="tracking_number"' in page and "DHL: 10, 12 or 20 digits" in page
    response = client.post(f"/portal/shipments/{made.id}/tracking",
                           data={"tracking_number": "1Z999AA10123456784", "expected_version": made.version})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="tracking_number-error"' in page and "not a DHL tracking number: expected" in page
    assert 'value="1Z999AA10123456784"' in page and 'aria-invalid="true"' in page  # as typed, at the field
    db.session.refresh(made)
    assert made.tracking_number is None

    response = client.post(f"/portal/shipments/{made.id}/tracking",
                           data={"tracking_number": "0034 0434 1612 3456 7890", "expected_version": made.version})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/portal/shipments/{made.id}")
    db.session.refresh(made)
    assert made.tracking_number == "00340434161234567890"
    page = client.get(f"/portal/shipments/{made.id}").get_data(as_text=True)
    assert "Tracking number 00340434161234567890 saved." in page
    link = 'href="https://www.dhl.com/global-en/home/tracking.html?tracking-id=00340434161234567890&amp;submit=1"'
    assert link in page and 'rel="noopener noreferrer"' in page and "(DHL tracking)" in page
    assert link in client.get(LIST).get_data(as_text=True)  # the list of shipments links it too

    stale = client.post(f"/portal/shipments/{made.id}/tracking",
                        data={"tracking_number": "123456789012", "expected_version": made.version - 1})
    assert stale.status_code == 302 and "changed by someone else" in client.get(
        f"/portal/shipments/{made.id}").get_data(as_text=True)
    db.session.refresh(made)
    assert made.tracking_number == "00340434161234567890"


def test_tracking_on_the_order_page_links_the_carrier(shop):
    made, orders = dhl_shipment(shop)
    shipments.perform(made, "tracking", shop["reseller_actor"], tracking_number="JJD000390007654321098")
    orders[0].tracking_number = "RR123456785DE"  # the shop's own parcel back, on the order
    db.session.commit()
    page = client_for(shop["reseller"]).get(f"/portal/orders/{orders[0].id}").get_data(as_text=True)
    assert 'href="https://www.dhl.com/global-en/home/tracking.html?tracking-id=RR123456785DE&amp;submit=1"' in page
    assert "tracking-id=JJD000390007654321098" in page and made.number in page
    assert f'href="/portal/shipments/{made.id}"' in page
    page = client_for(shop["reseller"]).get(f"/portal/orders/{orders[1].id}").get_data(as_text=True)
    assert "tracking-id=JJD000390007654321098" in page and "RR123456785DE" not in page


def test_an_unknown_carriers_number_is_plain_text(shop):
    [order] = reseller_orders(shop, 1)  # "Parcel": no carrier
    made = shipments.create(shop["reseller_actor"], work_orders=[order.id])
    client = client_for(shop["reseller"])
    response = client.post(f"/portal/shipments/{made.id}/tracking", data={"tracking_number": "abc"})
    assert response.status_code == 422 and "6 to 40 letters" in response.get_data(as_text=True)
    client.post(f"/portal/shipments/{made.id}/tracking", data={"tracking_number": "local run 42"})
    page = client.get(f"/portal/shipments/{made.id}").get_data(as_text=True)
    assert "LOCAL RUN 42" in page and "tracking-link" not in page


def test_tracking_is_the_resellers_own_and_ends_at_receipt(shop):
    made, _orders = dhl_shipment(shop)
    data = {"tracking_number": "123456789012"}
    assert client_for(shop["other"]).post(f"/portal/shipments/{made.id}/tracking", data=data).status_code == 404
    assert client_for(shop["customer"]).post(f"/portal/shipments/{made.id}/tracking", data=data).status_code == 403
    response = anonymous().post(f"/portal/shipments/{made.id}/tracking", data=data)
    assert response.status_code == 302 and "/portal/login" in response.headers["Location"]
    db.session.refresh(made)
    assert made.tracking_number is None
    shipments.perform(made, "confirm", shop["reseller_actor"])
    shipments.perform(made, "receive", shop["staff_actor"])
    client = client_for(shop["reseller"])
    assert 'name="tracking_number"' not in client.get(f"/portal/shipments/{made.id}").get_data(as_text=True)
    response = client.post(f"/portal/shipments/{made.id}/tracking", data=data)
    assert response.status_code == 302
    assert "this shipment: it is received." in client.get(f"/portal/shipments/{made.id}").get_data(as_text=True)
    db.session.refresh(made)
    assert made.tracking_number is None
