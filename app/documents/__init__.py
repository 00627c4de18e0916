"""Printable documents: work orders (and the technician's job sheet, without prices), estimates, invoices,
packing lists and shipping labels as PDF.

``render_pdf(kind, obj)`` is the one entry point (portal and staff downloads, the REST API, scheduled
reports). Each kind has a Jinja template under ``templates/documents/`` extending ``documents/base.html``
and one stylesheet, ``static/documents/print.css``. Customer-typed text is escaped by Jinja's autoescape;
WeasyPrint loads nothing but ``data:`` URLs and the app's static files (``fetcher.SafeURLFetcher``).
Finished PDFs are cached on disk (``cache``): a repeat download of an unchanged document is a file read.

Callers check access first (``scope.get_for`` for customers, the view's permission for staff): this
module renders whatever record it is given.
"""
from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale, get_locale, gettext
from markupsafe import Markup

from . import cache
from .context import MODELS, TITLES, build, document_number
from .fetcher import STATIC_BASE, SafeURLFetcher

KINDS = tuple(TITLES)

__all__ = ["KINDS", "MODELS", "document_number", "filename", "html_to_pdf", "render_html", "render_pdf"]


def document_language(obj) -> str | None:
    """The language a document for a customer speaks: that customer's (``Customer.language``), whoever
    downloads it; None (the current request's language) when the customer chose none."""
    customer = getattr(obj, "customer", None)
    language = getattr(customer, "language", None)
    return language if language in (current_app.config.get("LANGUAGES") or {}) else None


#: Documents for the workshop, never for the customer: in the reader's language, not the customer's.
STAFF_KINDS = frozenset({"job_sheet"})


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal (quotes and backslashes escaped, no markup can close the <style>)."""
    cleaned = "".join(ch for ch in text if ch.isprintable() and ch not in "<>")
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


def page_counter() -> str:
    """The page footer's ``content`` in the current language: "Page 1 of 2" / "Seite 1 von 2"."""
    text = gettext("Page %(page)s of %(pages)s", page="\x00page\x00", pages="\x00pages\x00")
    parts = []
    for piece in text.split("\x00"):
        if piece in ("page", "pages"):
            parts.append(f"counter({piece})")
        elif piece:
            parts.append(_css_string(piece))
    return " ".join(parts) or '""'


def render_html(kind: str, obj) -> str:
    if kind not in TITLES:
        raise ValueError(f"Unknown document kind {kind!r}")
    language = None if kind in STAFF_KINDS else document_language(obj)
    if language is None:
        return render_template(f"documents/{kind}.html", lang=str(get_locale() or "en"),
                               page_counter=Markup(page_counter()), **build(kind, obj))
    with force_locale(language):
        return render_template(f"documents/{kind}.html", lang=language, page_counter=Markup(page_counter()),
                               **build(kind, obj))


def html_to_pdf(html: str, fetcher: SafeURLFetcher | None = None) -> bytes:
    """Render HTML to PDF with the restricted fetcher (relative URLs resolve to the app's static files)."""
    from weasyprint import HTML

    fetcher = fetcher or SafeURLFetcher(current_app.static_folder)
    return HTML(string=html, base_url=STATIC_BASE, url_fetcher=fetcher).write_pdf()


def render_pdf(kind: str, obj) -> bytes:
    """The PDF of ``obj`` as document ``kind`` (work_order, job_sheet, estimate, invoice, packing_list, label)."""
    from ..core.settings import get_settings

    html = render_html(kind, obj)
    key = cache.cache_key(kind, obj, get_settings(), html)
    pdf = cache.get(kind, obj.id, key)
    if pdf is None:
        pdf = html_to_pdf(html)
        cache.put(kind, obj.id, key, pdf)
    return pdf


def filename(kind: str, obj) -> str:
    """``WO-000001.pdf``, ``EST-000003-R2.pdf``, ``SHP-000002-label.pdf``…"""
    suffix = {"packing_list": "-packing-list", "label": "-label", "job_sheet": "-job-sheet"}.get(kind, "")
    return f"{document_number(kind, obj)}{suffix}.pdf"
