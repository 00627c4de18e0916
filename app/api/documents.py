"""PDF documents and the orders CSV, through the documents package (``app.documents``).

The caller has already found the record through the row scope; this only renders and sends it.
"""
from __future__ import annotations

import datetime as dt

from flask import Response, request, stream_with_context

from ..core.errors import ValidationFailed
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


def send_orders_csv(actor) -> Response:
    """``GET /api/v1/work_order/export.csv?start=&end=&bom=``: a reseller's own orders, staff all of them.

    Plain UTF-8 for programs; ``bom=1`` (or ``encoding=utf-8-sig``) starts it with the byte order mark Excel
    needs."""
    from ..documents.csv_export import parse_range, stream_orders_csv, wants_bom

    try:  # the one date-range rule of every export (formats, order, the calendar's ends)
        start, end = parse_range(request.args.get("start"), request.args.get("end"))
        bom = wants_bom(request.args, default=False)
    except ValidationFailed as error:
        raise ApiError(400, error.errors) from None
    customer_id = actor.customer_id if not actor.is_staff else None
    rows = stream_orders_csv(actor, start, end, customer_id=customer_id, bom=bom)
    response = Response(stream_with_context(rows), mimetype="text/csv")
    stamp = dt.date.today().isoformat()
    response.headers["Content-Disposition"] = f'attachment; filename="work-orders-{stamp}.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
