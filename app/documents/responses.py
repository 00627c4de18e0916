"""HTTP answers for documents, shared by the portal and the staff downloads."""
from __future__ import annotations

import datetime as dt

from flask import Response, stream_with_context

from . import filename, render_pdf


def pdf_response(kind: str, obj) -> Response:
    response = Response(render_pdf(kind, obj), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename(kind, obj)}"'
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def csv_response(chunks, name: str) -> Response:
    """Stream ``chunks`` (a generator of str) as a CSV download, inside the request's context."""
    response = Response(stream_with_context(chunks), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def export_name(start: dt.date | None, end: dt.date | None, prefix: str = "orders") -> str:
    span = "-".join(d.isoformat() for d in (start, end) if d) or "all"
    return f"{prefix}-{span}.csv"
