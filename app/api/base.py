"""``PorticoApi``: Flask-AppBuilder's ``ModelRestApi`` with Portico's rules, the base of every resource.

FAB gives the routes, JWT / API-key authentication with permission checks (``@protect``), rison ``q``
(filters, order, paging) and the OpenAPI document. On top of that every resource here:

- sees only the rows ``scope.scoped`` allows (a base filter: list, show, put, delete, actions, files);
- answers in the caller's *audience* (staff, technician without prices, customer without internal
  fields), lets each audience filter and sort only on what it may see, and lists only the caller's own
  rows as options in ``_info``;
- creates records through the service layer (``create``) and changes them only through ``perform``:
  ``PUT`` is the entity's ``edit`` action, ``POST /<pk>/<action>`` its other actions, each body parsed by
  the schema of that row of the entity's action table (the OpenAPI document shows the same schema);
- answers the errors of SPEC §6 (``common.guarded``) and honours ``Idempotency-Key`` on every POST.

Resources declare ``actions`` (``POST /<pk>/<action>``), ``listings`` (``GET /<pk>/<name>``) and
``documents`` (``GET /<pk>/<file>``); their routes and OpenAPI operations are generated from those.
"""
from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from functools import wraps

import jsonschema
import prison
from flask import request
from flask_appbuilder.api import ModelRestApi, expose, merge_response_func, safe
from flask_appbuilder.api.schemas import get_list_schema
from flask_appbuilder.const import (
    API_DESCRIPTION_COLUMNS_RIS_KEY,
    API_LABEL_COLUMNS_RIS_KEY,
    API_LIST_COLUMNS_RIS_KEY,
    API_LIST_TITLE_RIS_KEY,
    API_ORDER_COLUMNS_RIS_KEY,
    API_URI_RIS_KEY,
)
from flask_appbuilder.exceptions import FABException
from flask_appbuilder.security.decorators import permission_name, protect
from marshmallow import Schema, fields

from ..core.scope import current_actor
from ..extensions import db
from ..services.audit import record_edit
from ..services.common import check_version, commit
from ..services.workflow import perform
from . import idempotency
from .common import ApiError, FilterArchived, FilterScope, audience, guarded, json_body, load, parse_int, respond
from .filters import coerce_filters
from .openapi import RESPONSES, action_spec, crud_specs, docstring, file_spec, listing_spec


@dataclass(frozen=True)
class Action:
    """``POST /<pk>/<name>``: a row of the service's action table; ``creates`` the answer's id key.

    The body schema is the row's own parameter schema (``service.TABLE``), so the API, the screens and
    the portal parse an action's parameters the same way."""

    creates: str | None = None
    summary: str = ""
    status: int = 200  # 201 for an action that creates a record (``customer/<id>/invite``)


@dataclass(frozen=True)
class Listing:
    """``GET /<pk>/<name>``: rows from the view method ``method(item, actor)`` dumped with ``schema``."""

    schema: type
    method: str
    what: str


@dataclass(frozen=True)
class Document:
    """``GET /<pk>/<name>``: ``app.documents.render_pdf(kind, item)``."""

    kind: str
    what: str


class VersionBody(Schema):
    """An action without parameters; ``version`` refuses a stale client (409)."""

    version = fields.Integer(metadata={"description": "The version you last read; 409 if it changed since."})


def _route(cls, attr: str, url: str, method: str, permission: str, handler, doc: str) -> None:
    def view(self, pk):
        return handler(self, pk)

    view.__name__ = view.__qualname__ = attr
    view.__doc__ = doc
    setattr(cls, attr, expose(url, methods=[method])(protect()(safe(permission_name(permission)(view)))))


def rison_q(schema: dict):
    """The ``q`` argument read as Rison (or JSON) and checked against ``schema``, as FAB's ``@rison`` does —
    with the schema's validator built once: FAB's ``jsonschema.validate`` checks the schema itself again on
    every request, a third of a REST list's time."""
    validator = jsonschema.validators.validator_for(schema)(schema)

    def decorate(method):
        @wraps(method)
        def wrapper(self, *args, **kwargs):
            value = request.args.get(API_URI_RIS_KEY)
            kwargs["rison"] = {}
            if value:
                try:
                    kwargs["rison"] = prison.loads(value)
                except prison.decoder.ParserException:
                    try:
                        kwargs["rison"] = json.loads(urllib.parse.parse_qs(f"q={value}")["q"][0])
                    except (ValueError, KeyError, IndexError):
                        return self.response_400(message="Not a valid rison/json argument")
            error = jsonschema.exceptions.best_match(validator.iter_errors(kwargs["rison"]))
            if error is not None:
                return self.response_400(message=f"Not a valid rison schema {str(error).splitlines()[0]}")
            return method(self, *args, **kwargs)

        return wrapper

    return decorate


class PorticoApi(ModelRestApi):
    allow_browser_login = False  # JWT or API key only: cookie-authenticated writes would skip CSRF
    base_filters = [["id", FilterScope, None]]
    base_order = ("id", "desc")
    page_size = 20
    responses = {**ModelRestApi.responses, **RESPONSES}
    entity = "record"
    service = None  # the app.services module whose TABLE holds this entity's actions
    table = None  # the entity's action table when its module holds several (units: customers.UNIT_TABLE)
    #: audience ("staff", "technician", "customer") -> marshmallow schema class
    schemas: dict = {}
    add_schemas: dict = {}
    edit_schemas: dict = {}
    #: audience -> columns it may filter / order on
    search: dict = {}
    orders: dict = {}
    #: add/edit field -> function(actor) returning a select() of the rows that may be chosen
    options: dict = {}
    actions: dict[str, Action] = {}
    listings: dict[str, Listing] = {}
    documents: dict[str, Document] = {}
    #: audiences that may download documents (technicians see no prices)
    document_audiences = ("staff", "customer")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        name, entity = cls.__name__, cls.entity
        components = []
        for action, spec in cls.actions.items():
            body = (cls.table or cls.service.TABLE).schema(action)
            components.append(body)
            _route(cls, f"action_{action}", f"/<pk>/{action}", "POST", "action",
                   lambda self, pk, action=action: self.run_action(pk, action),
                   docstring(action_spec(name, entity, action, body.__name__, spec.creates, spec.summary,
                                             spec.status)))
        for listing_name, listing in cls.listings.items():
            components.append(listing.schema)
            _route(cls, f"listing_{listing_name}", f"/<pk>/{listing_name}", "GET", "get",
                   lambda self, pk, listing_name=listing_name: self.run_listing(pk, listing_name),
                   docstring(listing_spec(entity, listing.what, listing.schema.__name__)))
        for file_name, document in cls.documents.items():
            attr = "document_" + file_name.replace(".", "_")
            _route(cls, attr, f"/<pk>/{file_name}", "GET", "get",
                   lambda self, pk, file_name=file_name: self.run_document(pk, file_name),
                   docstring(file_spec(entity, document.what, "application/pdf")))
        cls.openapi_spec_methods = crud_specs(name, entity)
        cls.openapi_spec_component_schemas = tuple(dict.fromkeys(components))

    def __init__(self):
        staff = self.schemas["staff"]
        self.show_columns = list(staff().fields)
        self.list_columns = [c for c in self.list_columns if c in self.show_columns]
        self.add_columns = list(self.add_schemas["staff"]().load_fields) if "staff" in self.add_schemas else []
        self.edit_columns = list(self.edit_schemas["staff"]().load_fields) if "staff" in self.edit_schemas else []
        self.search_columns = list(self.search.get("staff", []))
        self.order_columns = list(self.orders.get("staff", []))
        super().__init__()
        self.show_model_schema = staff()
        self.list_model_schema = staff(only=self.list_columns)
        self.add_model_schema = self.add_schemas.get("staff", VersionBody)()
        self.edit_model_schema = self.edit_schemas.get("staff", VersionBody)()

    # --- reading ----------------------------------------------------------------------------------------

    def schema_for(self, actor, columns=None, many=False):
        """The audience's schema (one instance per audience, columns and ``many``: marshmallow builds its
        fields on every instantiation, a fifth of a REST list's time; dumping keeps no state)."""
        schema = self.schemas.get(audience(actor))
        if schema is None:
            raise ApiError(403, "Your role may not see these records.")
        key = (schema, tuple(columns) if columns else None, many)
        cache = self.__dict__.setdefault("_schemas_made", {})
        if key not in cache:
            cache[key] = schema(only=columns, many=many) if columns else schema(many=many)
        return cache[key]

    def dump(self, item, actor) -> dict:
        return self.schema_for(actor).dump(item)

    def item_or_404(self, pk):
        ident = parse_int(pk)
        item = self.datamodel.get(ident, self._base_filters) if ident else None
        if item is None:
            raise ApiError(404, "Not found")
        return item

    def _columns(self, args, allowed: list[str]) -> list[str]:
        wanted = args.get("columns") or args.get("select_columns") or []
        chosen = [c for c in wanted if c in allowed]
        return chosen or list(allowed)

    @expose("/", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    @rison_q(get_list_schema)
    @merge_response_func(ModelRestApi.merge_order_columns, API_ORDER_COLUMNS_RIS_KEY)
    @merge_response_func(ModelRestApi.merge_list_label_columns, API_LABEL_COLUMNS_RIS_KEY)
    @merge_response_func(ModelRestApi.merge_description_columns, API_DESCRIPTION_COLUMNS_RIS_KEY)
    @merge_response_func(ModelRestApi.merge_list_columns, API_LIST_COLUMNS_RIS_KEY)
    @merge_response_func(ModelRestApi.merge_list_title, API_LIST_TITLE_RIS_KEY)
    def get_list(self, **kwargs):
        return self.get_list_headless(**kwargs)

    # FAB's list route with Portico's ``q`` check (``rison_q``); the listing is ``get_list_headless``. The
    # docstring is FAB's: its OpenAPI operation (which ``crud_specs`` completes) is read from it.
    get_list.__doc__ = ModelRestApi.get_list.__doc__

    def get_list_headless(self, **kwargs):
        return self._list(kwargs.get("rison", {}))

    @guarded
    def _list(self, args):
        actor = current_actor()
        aud = audience(actor)
        allowed = [c for c in self.list_columns if c in self.schema_for(actor).fields]
        columns = self._columns(args, allowed)
        filters = self._filters_for(aud, args.get("filters", []))
        order_column, order_direction = self._order_for(aud, args)
        page, page_size = self._page_args(args)
        count, items = self.datamodel.query(filters, order_column, order_direction, page=page, page_size=page_size)
        response = {}
        self.set_response_key_mappings(response, self.get_list, args, columns=columns)
        if "order_columns" in response:
            response["order_columns"] = list(self.orders.get(aud, []))
        response.update(result=self.schema_for(actor, columns, many=True).dump(items),
                        ids=[item.id for item in items], count=count)
        return respond(200, **response)

    def _filters_for(self, aud: str, raw):
        columns = list(self.search.get(aud, []))
        filters = self.datamodel.get_filters(search_columns=columns, search_filters=self.search_filters)
        raw, archived = self._archived_filter(raw)
        try:
            filters.rest_add_filters(coerce_filters(self.datamodel, columns, raw))
        except FABException as error:
            raise ApiError(400, str(error)) from None
        joined = filters.get_joined_filters(self._base_filters)
        if archived is not None:
            joined.add_filter("id", FilterArchived, archived)
        return joined

    def _archived_filter(self, raw):
        """Archivable rows (customers, units…): lists leave the archived out unless a filter
        ``{"col": "archived", "opr": "eq", "value": true}`` asks for them (false: the default)."""
        if not hasattr(self.datamodel.obj, "archived_at"):
            return raw, None
        wanted = False
        rest = []
        for item in raw if isinstance(raw, list) else []:
            if isinstance(item, dict) and item.get("col") == "archived":
                if item.get("opr") != "eq" or not isinstance(item.get("value"), bool):
                    raise ApiError(400, 'Filter "archived" takes opr "eq" and a value true or false.')
                wanted = item["value"]
            else:
                rest.append(item)
        return (rest if isinstance(raw, list) else raw), wanted

    def _order_for(self, aud: str, args):
        column = args.get("order_column")
        if not column:
            return self.base_order
        if column not in self.orders.get(aud, []):
            raise ApiError(400, f"Cannot order by {column!r}; order by one of: {', '.join(self.orders.get(aud, []))}.")
        return column, args.get("order_direction") or "asc"

    def _page_args(self, args):
        page = args.get("page", 0) or 0
        if not 0 <= page <= 1_000_000:
            raise ApiError(400, "page must be between 0 and 1000000.")
        return self._sanitize_page_args(page, args.get("page_size"))

    def get_headless(self, pk, **kwargs):
        return self._show(pk, kwargs.get("rison", {}))

    @guarded
    def _show(self, pk, args):
        actor = current_actor()
        item = self.item_or_404(pk)
        columns = self._columns(args, list(self.schema_for(actor).fields))
        response = {"id": item.id, "result": self.schema_for(actor, columns).dump(item)}
        self.set_response_key_mappings(response, self.get, args, columns=columns)
        return respond(200, **response)

    def info_headless(self, **kwargs):
        return self._info(kwargs.get("rison", {}))

    @guarded
    def _info(self, args):
        from .info import fields_info, filters_info

        actor = current_actor()
        aud = audience(actor)
        payload = {}
        self.set_response_key_mappings(payload, self.info, args, **args)
        if "add_columns" in payload:
            payload["add_columns"] = fields_info(self, self.add_schemas.get(aud), actor, args.get("add_columns", {}))
        if "edit_columns" in payload:
            payload["edit_columns"] = fields_info(self, self.edit_schemas.get(aud), actor,
                                                  args.get("edit_columns", {}))
        if "filters" in payload:
            payload["filters"] = filters_info(self, self.search.get(aud, []))
        return respond(200, **payload)

    # --- writing ----------------------------------------------------------------------------------------

    def post_headless(self):
        return self._post()

    @guarded
    def _post(self):
        actor = current_actor()
        schema = self.add_schemas.get(audience(actor))
        if schema is None:
            raise ApiError(403, f"Your role may not create {self.entity}s.")
        body = json_body()

        def produce():
            item = self.create(actor, load(schema(), body))
            return 201, {"id": item.id, "result": self.dump(item, actor)}

        return idempotency.run(actor, body, produce)

    def create(self, actor, data: dict):
        raise ApiError(403, f"{self.entity.capitalize()}s are not created here.")

    def put_headless(self, pk):
        return self._put(pk)

    @guarded
    def _put(self, pk):
        actor = current_actor()
        schema = self.edit_schemas.get(audience(actor))
        if schema is None:
            raise ApiError(403, f"Your role may not change {self.entity}s.")
        item = self.item_or_404(pk)
        if self.service is not None:  # an entity with an action table: PUT is its "edit" action
            perform(item, "edit", actor, json_body())
            return respond(200, id=item.id, result=self.dump(item, actor))
        data = load(schema(), json_body(), partial=True)
        check_version(item, data.pop("version", None), self.entity)
        with db.session.no_autoflush:
            self.update(item, actor, data)
            record_edit(item, actor)
        commit(self.entity, item)
        return respond(200, id=item.id, result=self.dump(item, actor))

    def update(self, item, actor, data: dict) -> None:
        """Reference data without an action table (customers, units): set the fields."""
        for name, value in data.items():
            setattr(item, name, value)

    def delete_headless(self, pk):
        return self._delete(pk)

    @guarded
    def _delete(self, pk):
        actor = current_actor()
        item = self.item_or_404(pk)
        self.destroy(item, actor)
        return respond(200, message="Deleted")

    def destroy(self, item, actor) -> None:
        """A row with a ``delete`` action (customers, units…) is deleted only when no history names it;
        everything else is history and never deleted."""
        table = self.table or getattr(self.service, "TABLE", None)
        if table is not None and "delete" in table.actions:
            perform(item, "delete", actor)
            return
        status = getattr(item, "status", None)
        raise ApiError(409, f"A {self.entity} is never deleted: it stays in the history. Cancel or void it instead.",
                       **({"status": status} if status else {}))

    # --- actions, listings and files --------------------------------------------------------------------

    @guarded
    def run_action(self, pk, action: str):
        actor = current_actor()
        spec = self.actions[action]
        item = self.item_or_404(pk)
        body = json_body(required=False)

        def produce():
            result = perform(item, action, actor, body)
            if spec.creates:
                return spec.status, {spec.creates: result.id, **self.action_extra(action, item, result)}
            return spec.status, {"id": item.id, "result": self.dump(item, actor),
                                 **self.action_extra(action, item, result)}

        return idempotency.run(actor, body, produce)

    def action_extra(self, action: str, item, result) -> dict:
        return {}

    @guarded
    def run_listing(self, pk, name: str):
        actor = current_actor()
        listing = self.listings[name]
        item = self.item_or_404(pk)
        rows = getattr(self, listing.method)(item, actor)
        return respond(200, count=len(rows), result=listing.schema(many=True).dump(rows))

    @guarded
    def run_document(self, pk, name: str):
        from .documents import send_document

        actor = current_actor()
        if audience(actor) not in self.document_audiences:
            raise ApiError(403, "Your role may not download these documents.")
        return send_document(self.documents[name].kind, self.item_or_404(pk))
