"""Turning a ``ReportResult`` into files: a PDF with its charts (WeasyPrint) and one CSV per table.

The PDF template is ``templates/reports/report.html``; charts are embedded as ``data:`` SVG images and
WeasyPrint gets a fetcher that loads nothing else. CSV cells that a spreadsheet would run as a formula
(``=``, ``+``, ``-``, ``@`` …) are prefixed with a quote; money is written as ``1234.50``. Column headings are
in the reader's language (``base.heading``), one header row, the frame's column order.
"""
from __future__ import annotations

import base64
import csv
import logging
from pathlib import Path
from urllib.parse import unquote_to_bytes

from flask import render_template
from markupsafe import Markup

from ..core import formatting
from .base import ReportResult, Table, heading, plain_cents

logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # a line per render step otherwise
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class RefusedURL(ValueError):
    pass


def data_only_fetcher():
    """Report PDFs embed everything as ``data:`` URLs; anything else is refused without being opened."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class DataOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            header, sep, payload = url[5:].partition(",") if url[:5].lower() == "data:" else ("", "", "")
            if not sep:
                raise RefusedURL(f"Report PDFs load nothing from {url[:80]}")
            mime = header.split(";")[0] or "text/plain"
            body = base64.b64decode(payload) if ";base64" in header else unquote_to_bytes(payload)
            return URLFetcherResponse(url, body, {"Content-Type": mime})

    return DataOnlyFetcher(timeout=1, allow_redirects=False, allowed_protocols=("data",))


def svg_data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def table_html(table: Table) -> Markup:
    """The first ``pdf_rows`` rows of a table, money with two decimals and thousands separators."""
    frame = table.display_frame(table.pdf_rows)
    numeric = [c for c in frame.columns if c in table.money or str(frame[c].dtype).startswith(("int", "float"))]
    head = "".join(Markup('<th class="{}">{}</th>').format("num" if c in numeric else "", heading(c))
                   for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = "".join(Markup('<td class="{}">{}</td>').format("num" if c in numeric else "", _cell(v))
                        for c, v in zip(frame.columns, row, strict=True))
        body.append(Markup("<tr>{}</tr>").format(Markup(cells)))
    return Markup("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>").format(
        Markup(head), Markup("".join(body)))


def _cell(value) -> str:
    if value is None:
        return ""
    try:
        if value != value:  # NaN
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(value, int) and not isinstance(value, bool):
        return formatting.number(value)  # 12,500 / 12.500
    return str(value)


def render_pdf(result: ReportResult, *, name: str, period: str, generated: str, shop: str) -> bytes:
    from flask_babel import get_locale
    from weasyprint import HTML

    from ..documents import page_counter  # "Page 1 of 2" / "Seite 1 von 2", as the documents print it

    html = render_template("reports/report.html", result=result, name=name, period=period, generated=generated,
                           shop=shop, lang=str(get_locale() or "en"), page_counter=Markup(page_counter()),
                           charts=[(c.title, svg_data_uri(c.svg)) for c in result.charts],
                           tables=[(t, table_html(t)) for t in result.tables])
    return HTML(string=html, base_url="data:,", url_fetcher=data_only_fetcher()).write_pdf()


def _csv_value(value, money: bool) -> str:
    if money:
        return plain_cents(value)
    if value is None:
        return ""
    text = str(value)
    if text == "nan":
        return ""
    if text.startswith(FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def write_csv(table: Table, path: Path) -> int:
    """Every row of ``table`` to ``path``; returns the number of rows."""
    frame = table.frame
    money = [c in table.money for c in frame.columns]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([_csv_value(heading(c), False) for c in frame.columns])  # the reader's words, one row
        for row in frame.itertuples(index=False):
            writer.writerow([_csv_value(v, m) for v, m in zip(row, money, strict=True)])
    return len(frame)
