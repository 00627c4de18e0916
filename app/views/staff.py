"""The staff screens, registered in the order of the shop's menu.

Each module holds one area (customers, service desk, workshop, technician board, billing and shipments,
setup and reports, system) and registers its own views; related views that cross modules are wired here
so the modules do not import each other.
"""
from __future__ import annotations

from . import (
    add,
    billing,
    booking_board,
    checklist,
    customers,
    dashboard,
    dispute_review,
    estimate_builder,
    imports,
    invoicing,
    reports,
    service_board,
    service_desk,
    setup,
    system,
    technician,
    workshop,
)


def wire_related_views() -> None:
    """Tabs on a show page listing rows of another area (a customer's work orders, an order's invoices…)."""
    documents = [service_desk.ServiceRequestView, service_desk.EstimateView, workshop.WorkOrderView,
                 billing.InvoiceView, billing.ShipmentView]
    customers.CustomerView.related_views = [
        customers.AddressView, customers.UnitView, customers.PortalUserView, *documents,
    ]
    service_desk.ServiceRequestView.related_views = [
        service_desk.TimeProposalView, service_desk.AttachmentView, service_desk.EstimateView, workshop.WorkOrderView,
    ]
    service_desk.EstimateView.related_views = [
        service_desk.LabourLineView, service_desk.DisputeNoteView, workshop.WorkOrderView,
    ]
    workshop.WorkOrderView.related_views = [
        workshop.WorkItemView, workshop.TimeEntryView, workshop.OrderMessageView, billing.InvoiceView,
        service_desk.AttachmentView,
    ]
    billing.ShipmentView.related_views = [workshop.WorkOrderView]


def register(appbuilder) -> None:
    wire_related_views()
    for area in (customers, imports, service_desk, booking_board, estimate_builder, dispute_review, workshop,
                 service_board, technician, billing, invoicing, reports, dashboard, setup, checklist, system):
        area.register(appbuilder, add)
    from . import attachments

    for view in attachments.VIEWS:
        appbuilder.add_view_no_menu(view)
    register_documents(appbuilder)


def register_documents(appbuilder) -> None:
    """PDF and CSV downloads (``documents.StaffDocumentView``) and the work order search filter."""
    from ..services.search import install_order_search
    from . import documents

    appbuilder.add_view_no_menu(documents.StaffDocumentView)
    for view in appbuilder.baseviews:
        if isinstance(view, workshop.WorkOrderView):
            install_order_search(view)
