"""Service exceptions carry their meaning; the API maps them to status codes, screens to flash messages."""
from __future__ import annotations


class ServiceError(Exception):
    status_code = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    """Absent, or not the actor's to see. Both answer the same (404) so ids cannot be probed."""

    status_code = 404

    def __init__(self, what: str = "Not found"):
        super().__init__(what)


class PermissionDenied(ServiceError):
    status_code = 403

    def __init__(self, message: str = "Your role may not do this."):
        super().__init__(message)


class InvalidTransition(ServiceError):
    status_code = 409

    def __init__(self, entity: str, current_status: str, action: str):
        self.entity = entity
        self.current_status = current_status
        self.action = action
        label = current_status.replace("_", " ")
        super().__init__(f"Cannot {action.replace('_', ' ')} this {entity}: it is {label}.")


class StaleObject(ServiceError):
    status_code = 409

    def __init__(self, entity: str, current_status: str | None = None):
        self.current_status = current_status
        super().__init__(
            f"This {entity} was changed by someone else since you opened it. Reload it and try again."
        )


class ValidationFailed(ServiceError):
    """Field errors: ``{"field": ["message", ...]}``."""

    status_code = 422

    def __init__(self, errors: dict[str, list[str]] | str, field: str = "_schema"):
        if isinstance(errors, str):
            errors = {field: [errors]}
        self.errors = errors
        first = next(iter(errors.values()), ["Invalid input"])
        super().__init__(first[0] if first else "Invalid input")
