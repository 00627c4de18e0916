"""PDF documents and the orders CSV, through the documents package (``app.documents``).

The caller has already found the record through the row scope; this only renders and sends it.
"""
from __future__ import annotations

import datetime as dt

from flask import Response, request, stream_with_context

from .common import ApiError

#: Shipping papers exist once the shipment is confirmed (SPEC §3: confirm produces them).
NEEDS_CONFIRMED = {"packing_list", "label"}


def send_document(kind: str, item) -> Response:
    from ..documents import filename, render_pdf

    if kind in NEEDS_CONFIRMED and getattr(item, "status", None) == "draft":
        raise ApiError(409, "Confirm the shipment first: its packing list and label are made then.",
                       status=item.status)
    pdf = render_pdf(kind, item)
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename(kind, item)}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _date_arg(name: str) -> dt.date | None:
    value = request.args.get(name)
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, {name: ["Give the date as YYYY-MM-DD."]}) from None


def send_orders_csv(actor) -> Response:
    """``GET /api/v1/work_order/export.csv?start=&end=``: a reseller's own orders, staff all of them."""
    from ..documents.csv_export import stream_orders_csv

    start, end = _date_arg("start"), _date_arg("end")
    if start and end and end < start:
        raise ApiError(400, {"end": ["The end date is before the start date."]})
    customer_id = actor.customer_id if not actor.is_staff else None
    rows = stream_orders_csv(actor, start, end, customer_id=customer_id)
    response = Response(stream_with_context(rows), mimetype="text/csv")
    stamp = dt.date.today().isoformat()
    response.headers["Content-Disposition"] = f'attachment; filename="work-orders-{stamp}.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
