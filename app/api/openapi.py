"""OpenAPI pieces for Portico's resources: error answers, item envelopes and operation specs.

FAB builds ``/api/v1/_openapi`` from each view's method docstrings (YAML after ``---``) and the
``openapi_spec_methods`` overrides. Portico's resources describe every answer they can give (403, 409,
413 and 429 included) and every action's body, so clients and Schemathesis can trust the document.
"""
from __future__ import annotations

import yaml

ERROR_CODES = {
    400: "Malformed request (not JSON, a bad query argument or header)",
    401: "Not logged in (no or an invalid token or API key)",
    403: "Your role may not do this",
    404: "Absent, or not yours",
    409: "Not allowed in the record's current state (``status`` names it), or a conflicting change",
    413: "The request body is too large",
    422: "Validation failed: ``message`` maps each field to its messages",
    429: "Too many requests",
}

MESSAGE = {
    "anyOf": [
        {"type": "string"},
        {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    ]
}

#: Response components, registered under these names by every Portico resource (``BaseApi.responses``).
RESPONSES = {
    f"Error{code}": {
        "description": text,
        "content": {"application/json": {"schema": {
            "type": "object",
            "properties": {"message": MESSAGE, "status": {"type": "string"}},
            "required": ["message"],
        }}},
    }
    for code, text in ERROR_CODES.items()
}


def errors(*codes: int) -> dict:
    return {str(code): {"$ref": f"#/components/responses/Error{code}"} for code in codes}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def envelope(item_schema: str, description: str = "The item") -> dict:
    return {"description": description, "content": json_content({
        "type": "object",
        "properties": {"id": {"type": "integer"}, "result": ref(item_schema)},
        "required": ["id", "result"],
    })}


PK = {"in": "path", "name": "pk", "required": True, "schema": {"type": "integer", "minimum": 1}}
IDEMPOTENCY = {
    "in": "header", "name": "Idempotency-Key", "required": False,
    "description": "Send the same key again to get the first answer back instead of creating a second record.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
RISON_ITEM = {"in": "query", "name": "q", "content": json_content(ref("get_item_schema"))}
RISON_LIST = {"in": "query", "name": "q", "content": json_content(ref("get_list_schema"))}
RISON_INFO = {"in": "query", "name": "q", "content": json_content(ref("get_info_schema"))}


def crud_specs(name: str, entity: str) -> dict:
    """``openapi_spec_methods`` for FAB's list, show, info, post, put and delete of view class ``name``."""
    get_list = {
        "summary": f"List {entity}s (rison q: filters, order, paging)",
        "parameters": [RISON_LIST],
        "responses": {
            "200": {"description": f"A page of {entity}s", "content": json_content({
                "type": "object",
                "properties": {
                    "count": {"type": "integer"},
                    "ids": {"type": "array", "items": {"type": "integer"}},
                    "result": {"type": "array", "items": ref(f"{name}.get_list")},
                    "list_columns": {"type": "array", "items": {"type": "string"}},
                    "order_columns": {"type": "array", "items": {"type": "string"}},
                    "label_columns": {"type": "object"},
                    "description_columns": {"type": "object"},
                    "list_title": {"type": "string"},
                },
                "required": ["count", "ids", "result"],
            })},
            **errors(400, 401, 403, 429),
        },
    }
    get = {
        "summary": f"One {entity}",
        "parameters": [PK, RISON_ITEM],
        "responses": {"200": envelope(f"{name}.get"), **errors(400, 401, 403, 404, 429)},
    }
    post = {
        "summary": f"Create a {entity}",
        "parameters": [IDEMPOTENCY],
        "requestBody": {"required": True, "content": json_content(ref(f"{name}.post"))},
        "responses": {"201": envelope(f"{name}.get", f"The new {entity}"),
                      **errors(400, 401, 403, 404, 409, 413, 422, 429)},
    }
    put = {
        "summary": f"Change a {entity} (send only the fields to change; ``version`` guards against lost updates)",
        "parameters": [PK],
        "requestBody": {"required": True, "content": json_content(ref(f"{name}.put"))},
        "responses": {"200": envelope(f"{name}.get"), **errors(400, 401, 403, 404, 409, 413, 422, 429)},
    }
    delete = {
        "summary": f"Delete a {entity} (refused with 409 while other records depend on it)",
        "parameters": [PK],
        "responses": {"200": {"description": "Deleted", "content": json_content({
            "type": "object", "properties": {"message": {"type": "string"}}})},
            **errors(401, 403, 404, 409, 429)},
    }
    info = {
        "summary": f"Metadata for {entity} forms: fields, the options you may choose, filters, permissions",
        "parameters": [RISON_INFO],
        "responses": {"200": {"description": "Metadata", "content": json_content({
            "type": "object",
            "properties": {
                "add_columns": {"type": "array", "items": {"type": "object"}},
                "edit_columns": {"type": "array", "items": {"type": "object"}},
                "filters": {"type": "object"},
                "permissions": {"type": "array", "items": {"type": "string"}},
                "add_title": {"type": "string"},
                "edit_title": {"type": "string"},
            },
        })}, **errors(400, 401, 403, 429)},
    }
    return {"get_list": {"get": get_list}, "get": {"get": get}, "post": {"post": post},
            "put": {"put": put}, "delete": {"delete": delete}, "info": {"get": info}}


def action_spec(name: str, entity: str, action: str, body: str | None, creates: str | None, summary: str,
                status: int = 200) -> dict:
    """The operation of ``POST /<pk>/<action>``."""
    if creates:
        ok = {"description": f"The id of the created record ({creates})", "content": json_content({
            "type": "object", "properties": {creates: {"type": "integer"}}, "required": [creates]})}
    else:
        ok = envelope(f"{name}.get", f"The updated {entity}")
    spec = {
        "summary": summary or f"{action.replace('_', ' ').capitalize()} the {entity}",
        "parameters": [PK, IDEMPOTENCY],
        "responses": {str(status): ok, **errors(400, 401, 403, 404, 409, 413, 422, 429)},
    }
    if body:
        spec["requestBody"] = {"required": False, "content": json_content(ref(body))}
    return {"post": spec}


def listing_spec(entity: str, what: str, item_schema: str) -> dict:
    return {"get": {
        "summary": f"The {what} of the {entity}",
        "parameters": [PK],
        "responses": {"200": {"description": f"The {what}", "content": json_content({
            "type": "object",
            "properties": {"count": {"type": "integer"},
                           "result": {"type": "array", "items": ref(item_schema)}},
            "required": ["count", "result"],
        })}, **errors(401, 403, 404, 429)},
    }}


def file_spec(entity: str, what: str, mimetype: str, parameters: list | None = None, codes=(401, 403, 404, 429)):
    return {"get": {
        "summary": f"The {what} of the {entity}" if parameters is None else what,
        "parameters": [PK] if parameters is None else parameters,
        "responses": {"200": {"description": what, "content": {mimetype: {"schema": {
            "type": "string", "format": "binary"}}}}, **errors(*codes)},
    }}


def docstring(operations: dict) -> str:
    """A view method docstring FAB's spec builder reads (YAML after ``---``)."""
    return "API operation\n---\n" + yaml.safe_dump(operations, sort_keys=False)
