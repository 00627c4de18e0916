"""Portico's REST API (SPEC §6) under ``/api/v1/``: one module per resource, built on FAB's ModelRestApi.

``register_apis(appbuilder)`` adds every resource, makes authentication failures answer 401 in JSON
(FAB's JWT manager answers 422 for a malformed token otherwise) and gives unknown ``/api/`` URLs and
methods a JSON 404 / 405 instead of an HTML page.
"""
from __future__ import annotations

from flask import current_app, jsonify, request

#: The permission names (``class_permission_name``) of the API resources, for app/security.py.
PERMISSIONS = ("ApiCustomers", "ApiUnits", "ApiServiceRequests", "ApiEstimates", "ApiWorkOrders",
               "ApiInvoices", "ApiShipments", "ApiReports")


def resources() -> list:
    """The model resources of SPEC §6 (each a ModelRestApi with its rows, actions and documents)."""
    from .customers import CustomerApi, UnitApi
    from .estimates import EstimateApi
    from .invoices import InvoiceApi
    from .reports import ReportApi
    from .requests import ServiceRequestApi
    from .shipments import ShipmentApi
    from .work_orders import WorkOrderApi

    return [CustomerApi, UnitApi, ServiceRequestApi, EstimateApi, WorkOrderApi, InvoiceApi, ShipmentApi, ReportApi]


def questions() -> list:
    """Endpoints that answer a question rather than hold rows (SPEC §8: ``/availability``)."""
    from .availability import AvailabilityApi

    return [AvailabilityApi]


def register_apis(appbuilder) -> None:
    for api in resources() + questions():
        appbuilder.add_api(api)
    _json_auth_errors(appbuilder)
    _json_routing_errors(current_app._get_current_object())


def _json_auth_errors(appbuilder) -> None:
    jwt = getattr(appbuilder.sm, "jwt_manager", None)
    if jwt is None:
        return

    def unauthorized(message):
        response = jsonify(message=message)
        response.status_code = 401
        return response

    jwt.unauthorized_loader(lambda reason: unauthorized(f"Not logged in: {reason}."))
    jwt.invalid_token_loader(lambda reason: unauthorized(f"The token is not valid: {reason}."))
    jwt.expired_token_loader(lambda header, data: unauthorized("The token has expired: log in again."))
    jwt.revoked_token_loader(lambda header, data: unauthorized("The token was revoked: log in again."))
    jwt.user_lookup_error_loader(lambda header, data: unauthorized("The user of this token no longer exists."))
    jwt.needs_fresh_token_loader(lambda header, data: unauthorized("Log in again for this action."))


def _json_routing_errors(app) -> None:
    """Unknown URLs and methods under ``/api/`` answer JSON; everything else keeps its own handler."""
    for code, message in ((404, "Not found"), (405, "Method not allowed")):
        previous = app.error_handler_spec.get(None, {}).get(code, {})
        fallback = next(iter(previous.values()), None)

        def handler(error, code=code, message=message, fallback=fallback):
            if request.path.startswith("/api/"):
                response = jsonify(message=message)
                response.status_code = code
                if code == 405 and getattr(error, "valid_methods", None):
                    response.headers["Allow"] = ", ".join(error.valid_methods)
                return response
            return fallback(error) if fallback else error

        app.register_error_handler(code, handler)
