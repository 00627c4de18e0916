"""``GET /_info``: the fields of the caller's add and edit bodies, with the options each relation may take.

FAB lists every row of a related table as options (another customer's units included). Here each
resource names, per field, a function returning a ``select()`` of the rows the caller may choose: their
own rows through ``scope.scoped``, active reference rows (service types, locations, shipping methods),
or for staff the shop's technicians.
"""
from __future__ import annotations

from flask_appbuilder._compat import as_unicode
from sqlalchemy import func, select

from ..extensions import db

PAGE_SIZE = 20


def option_values(stmt, page=None, page_size=None) -> tuple[int, list[dict]]:
    page = page if isinstance(page, int) and page >= 0 else 0
    page_size = page_size if isinstance(page_size, int) and 0 < page_size <= 100 else PAGE_SIZE
    count = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(stmt.limit(page_size).offset(page * page_size)).all()
    return count or 0, [{"id": row.id, "value": str(row)} for row in rows]


def fields_info(view, schema_cls, actor, column_args: dict) -> list[dict]:
    if schema_cls is None:
        return []
    schema = schema_cls()
    info = []
    for name, field in schema.load_fields.items():
        entry = {
            "name": name,
            "label": view.label_columns.get(name) or name.replace("_", " ").capitalize(),
            "description": as_unicode(field.metadata.get("description", "")),
            "type": type(field).__name__,
            "required": field.required,
            "unique": name in getattr(view, "unique_fields", ()),
        }
        validators = [str(v) for v in getattr(field, "validators", [])]
        if validators:
            entry["validate"] = validators
        choose = view.options.get(name)
        if choose is not None:
            args = column_args.get(name, {}) if isinstance(column_args, dict) else {}
            args = args if isinstance(args, dict) else {}
            entry["count"], entry["values"] = option_values(choose(actor), args.get("page"), args.get("page_size"))
        info.append(entry)
    return info


def filters_info(view, columns: list[str]) -> dict:
    filters = view.datamodel.get_filters(search_columns=list(columns), search_filters=view.search_filters)
    available = filters.get_search_filters()
    return {column: [{"name": as_unicode(f.name), "operator": f.arg_name} for f in available.get(column, [])]
            for column in columns}
