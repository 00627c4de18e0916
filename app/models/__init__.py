"""All Portico models. Importing this package registers every table on ``Model.metadata``."""
from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import Role, User

from .base import ZERO, utcnow
from .customers import CUSTOMER_KINDS, NOTIFICATION_GROUPS, UNIT_KINDS, Address, Customer, PortalUser, Unit
from .estimates import ESTIMATE_STATUSES, DisputeNote, Estimate, LabourLine, PartLine, dispute_log
from .imports import IMPORT_KINDS, IMPORT_STATUSES, ImportBatch, ImportRow, ImportTemplate
from .invoices import INVOICE_STATUSES, CreditNote, CreditNoteLine, Invoice, InvoiceLine, InvoiceNote, Payment
from .portal import CredentialRevocation, PortalSession, PublicSubmission
from .reports import ReportDefinition, ReportRun
from .requests import REQUEST_STATUSES, SLOTS, Attachment, ServiceRequest, TimeProposal
from .scheduler import SchedulerLease, apscheduler_jobs
from .settings import (
    BOOKING_MODES,
    DEFAULT_SLOT_MINUTES,
    WEEKDAYS,
    CalendarFeed,
    ClosedDay,
    OpeningHours,
    ServiceLocation,
    ServiceType,
    Settings,
    ShippingMethod,
    WorkItemTemplate,
)
from .shipments import SHIPMENT_STATUSES, Shipment
from .system import (
    AuditEvent,
    DocumentSequence,
    IdempotencyKey,
    LoginToken,
    Notification,
    OutboxEmail,
    StaffPreference,
)
from .work_orders import (
    PORTAL_TABS,
    WORK_ORDER_KINDS,
    WORK_ORDER_STATUSES,
    OrderMessage,
    TimeEntry,
    WorkItem,
    WorkOrder,
)

__all__ = [
    "Model", "Role", "User", "ZERO", "utcnow",
    "CUSTOMER_KINDS", "NOTIFICATION_GROUPS", "UNIT_KINDS", "Address", "Customer", "PortalUser", "Unit",
    "ESTIMATE_STATUSES", "DisputeNote", "Estimate", "LabourLine", "PartLine", "dispute_log",
    "IMPORT_KINDS", "IMPORT_STATUSES", "ImportBatch", "ImportRow", "ImportTemplate",
    "INVOICE_STATUSES", "CreditNote", "CreditNoteLine", "Invoice", "InvoiceLine", "InvoiceNote", "Payment",
    "CredentialRevocation", "PortalSession", "PublicSubmission",
    "ReportDefinition", "ReportRun", "SchedulerLease", "apscheduler_jobs",
    "REQUEST_STATUSES", "SLOTS", "Attachment", "ServiceRequest", "TimeProposal",
    "BOOKING_MODES", "DEFAULT_SLOT_MINUTES", "WEEKDAYS", "CalendarFeed", "ClosedDay", "OpeningHours",
    "ServiceLocation", "ServiceType", "Settings", "ShippingMethod", "WorkItemTemplate",
    "SHIPMENT_STATUSES", "Shipment",
    "AuditEvent", "DocumentSequence", "IdempotencyKey", "LoginToken", "Notification", "OutboxEmail", "StaffPreference",
    "PORTAL_TABS", "WORK_ORDER_KINDS", "WORK_ORDER_STATUSES", "OrderMessage", "TimeEntry", "WorkItem",
    "WorkOrder",
]
