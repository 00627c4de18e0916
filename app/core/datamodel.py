"""Flask-AppBuilder's SQLAlchemy interface with the filter catalogue of a model built once per process.

FAB builds a ``Filters`` object for every list, show and REST request — several per request — and each one
asks its converter for the filter classes of *every* column of the model, whether or not it is searched (a
few hundred small objects a request: a tenth of a REST list's time). The filter instances hold no request
state (a request's chosen filters and values live in its own ``Filters``), so each column's list is made
once per model and copied into every new ``Filters``.
"""
from __future__ import annotations

from flask_appbuilder.models.filters import Filters
from flask_appbuilder.models.sqla.interface import SQLAInterface

_CONVERTED: dict[tuple[type, str], list] = {}


class KeptFilters(Filters):
    def _get_filters(self, cols):
        found = {}
        for col in cols:
            key = (self.datamodel.obj, col)
            if key not in _CONVERTED:
                _CONVERTED[key] = self.filter_converter(self.datamodel).convert(col) or []
            if _CONVERTED[key]:
                found[col] = list(_CONVERTED[key])  # a copy: FAB appends a view's own search filters to it
        return found


class PorticoInterface(SQLAInterface):
    """``SQLAInterface`` whose ``Filters`` reuse each column's converted filter list."""

    def get_filters(self, search_columns=None, search_filters=None):
        return KeptFilters(self.filter_converter_class, self, search_columns=search_columns or [],
                           search_filters=search_filters)
