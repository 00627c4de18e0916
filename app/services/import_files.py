"""Reading an uploaded import file safely: CSV or XLSX, decided by content, size-limited, no formulas, no macros.

- **Size**: at most ``PORTICO_IMPORT_MAX_BYTES`` (default 20 MB) per file.
- **XLSX** (a ZIP): before openpyxl opens it, the ZIP's member count and the uncompressed size of each
  member and of all together are checked against fixed limits (a zip bomb is refused; Python's ``zipfile``
  never inflates a member beyond its declared size). A workbook with macros (``.xlsm``, a
  ``vbaProject.bin`` or a macro-enabled content type) is refused, and so is the old binary ``.xls``.
  openpyxl reads it with defusedxml (no XML entity expansion), read-only, without evaluating anything:
  a **formula cell is refused at its cell** as a row error ("type the value instead"), never imported as
  its cached value or its text.
- **CSV**: UTF-8 with or without a byte-order mark, else Windows-1252; the delimiter ``,`` or ``;`` (or a
  tab), found from the header line; read with pandas in chunks, every cell as text.

``open_table(path, file_format, ...)`` yields ``(row_number, {header: text})`` in chunks, so a file of any
length is read in bounded memory. Header names are stripped; a header that appears twice is refused.
"""
from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..core.errors import ValidationFailed

FIELD = "file"
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
XLSX_MAX_MEMBERS = 500
XLSX_MAX_MEMBER_BYTES = 100 * 1024 * 1024
XLSX_MAX_TOTAL_BYTES = 200 * 1024 * 1024
MAX_COLUMNS = 200
MAX_CELL = 2000  # characters in one cell; more is not a customer's field


class Formula(str):
    """A formula cell's text (refused at its cell by the row checks: formulas are never evaluated)."""


def max_bytes() -> int:
    return int(current_app.config.get("PORTICO_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def refuse(message) -> ValidationFailed:
    return ValidationFailed({FIELD: [message]})


def sniff_format(filename: str, head: bytes) -> str:
    """``"csv"`` or ``"xlsx"`` from the content (the name only to refuse macro workbooks), else 422."""
    name = (filename or "").lower()
    if name.endswith((".xlsm", ".xltm", ".xlam")):
        raise refuse(_l("Workbooks with macros (.xlsm) are not accepted: save the sheet as .xlsx or CSV."))
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise refuse(_l("Old Excel files (.xls) are not accepted: save the sheet as .xlsx or CSV."))
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if b"\x00" in head:
        raise refuse(_l("This file is neither a CSV file nor an Excel workbook (.xlsx)."))
    return "csv"


def read_upload(file_storage) -> tuple[str, bytes]:
    """The uploaded file's name and bytes, refused above the size limit."""
    if file_storage is None or not getattr(file_storage, "filename", ""):
        raise refuse(_l("Choose a CSV or Excel (.xlsx) file."))
    limit = max_bytes()
    data = file_storage.stream.read(limit + 1)
    if len(data) > limit:
        raise refuse(_l("The file is larger than %(limit)s MB.", limit=f"{limit / 1024 / 1024:.0f}"))
    if not data.strip():
        raise refuse(_l("The file is empty."))
    return file_storage.filename, data


# --- XLSX ------------------------------------------------------------------------------------------------

def check_zip(data_or_path) -> None:
    """Refuse a ZIP with too many members, a member or a total too large, or macros (before openpyxl)."""
    source = io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else data_or_path
    try:
        with zipfile.ZipFile(source) as archive:
            members = archive.infolist()
            if len(members) > XLSX_MAX_MEMBERS:
                raise refuse(_l("This workbook has too many parts (%(count)s): it is not imported.",
                                count=len(members)))
            total = 0
            for member in members:
                total += member.file_size
                if member.file_size > XLSX_MAX_MEMBER_BYTES or total > XLSX_MAX_TOTAL_BYTES:
                    raise refuse(_l("This workbook unpacks to more than %(limit)s MB: it is not imported.",
                                    limit=XLSX_MAX_TOTAL_BYTES // 1024 // 1024))
                if member.filename.lower().endswith("vbaproject.bin"):
                    raise refuse(_l("Workbooks with macros (.xlsm) are not accepted: save the sheet as .xlsx or CSV."))
            if "xl/workbook.xml" not in {m.filename for m in members}:
                raise refuse(_l("This file is neither a CSV file nor an Excel workbook (.xlsx)."))
            types = archive.read("[Content_Types].xml") if "[Content_Types].xml" in archive.namelist() else b""
            if b"macroEnabled" in types:
                raise refuse(_l("Workbooks with macros (.xlsm) are not accepted: save the sheet as .xlsx or CSV."))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError):
        raise refuse(_l("This Excel file is damaged or not an .xlsx workbook.")) from None


def _cell_text(cell) -> str:
    value = cell.value
    if value is None:
        return ""
    if getattr(cell, "data_type", None) == "f":
        return Formula(str(getattr(value, "text", value)))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).strip()


def _xlsx_rows(path: Path) -> Iterator[list[str]]:
    import openpyxl  # defusedxml is installed: openpyxl parses with it

    check_zip(path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=False, keep_vba=False, keep_links=False)
    except Exception:  # noqa: BLE001 - whatever openpyxl trips on, the file is not a workbook we read
        raise refuse(_l("This Excel file is damaged or not an .xlsx workbook.")) from None
    try:
        sheet = workbook.worksheets[0]
        for row in sheet.iter_rows():
            yield [_cell_text(cell) for cell in row[:MAX_COLUMNS + 1]]
    except ValidationFailed:
        raise
    except Exception:  # noqa: BLE001
        raise refuse(_l("This Excel file is damaged or not an .xlsx workbook.")) from None
    finally:
        workbook.close()


# --- CSV -------------------------------------------------------------------------------------------------

def detect_encoding(head: bytes) -> str:
    """``utf-8-sig`` (with a BOM), ``utf-8`` or ``cp1252`` (what Excel writes on a German Windows)."""
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not just a character cut at the end of the sample
            return "cp1252"
    return "utf-8"


def detect_delimiter(first_line: str) -> str:
    counts = {d: next(csv.reader([first_line], delimiter=d), []).__len__() for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 1 else ","


def csv_dialect(path: Path) -> tuple[str, str]:
    with open(path, "rb") as handle:
        head = handle.read(64 * 1024)
    encoding = detect_encoding(head)
    text = head.decode(encoding, errors="replace")
    return encoding, detect_delimiter(text.splitlines()[0] if text.splitlines() else "")


def _csv_rows(path: Path, encoding: str, delimiter: str, chunk: int) -> Iterator[list[str]]:
    import pandas as pd

    try:
        reader = pd.read_csv(path, sep=delimiter, encoding=encoding, dtype=str, keep_default_na=False,
                             header=None, chunksize=chunk, skip_blank_lines=True, encoding_errors="strict",
                             engine="c")
        for frame in reader:
            yield from frame.itertuples(index=False, name=None)
    except UnicodeDecodeError:
        raise refuse(_l("The file is not readable as UTF-8 or Windows-1252 text.")) from None
    except (pd.errors.ParserError, ValueError, OverflowError) as error:
        raise refuse(_l("The CSV file cannot be read: %(problem)s", problem=str(error)[:200])) from None


# --- both ----------------------------------------------------------------------------------------------------

def _raw_rows(path: Path, file_format: str, encoding: str | None, delimiter: str | None,
              chunk: int) -> Iterator[list[str]]:
    if file_format == "xlsx":
        return _xlsx_rows(path)
    return _csv_rows(path, encoding or "utf-8", delimiter or ",", chunk)


def _headers(raw: list) -> list[str]:
    headers = [str(h or "").strip() for h in raw]
    while headers and not headers[-1]:
        headers.pop()
    if not any(headers):
        raise refuse(_l("The first row must name the columns (e.g. Name, E-Mail, Street)."))
    if len(headers) > MAX_COLUMNS:
        raise refuse(_l("The file has more than %(limit)s columns.", limit=MAX_COLUMNS))
    if any(isinstance(h, Formula) for h in raw):
        raise refuse(_l("A column name is a formula: type the names as text."))
    named = [h for h in headers if h]
    if len(set(named)) != len(named):
        twice = sorted({h for h in named if named.count(h) > 1})
        raise refuse(_l("Two columns have the same name: %(names)s", names=", ".join(twice)))
    return headers


def open_table(path: Path, file_format: str, encoding: str | None = None, delimiter: str | None = None,
               chunk: int = 500) -> tuple[list[str], Iterator[list[tuple[int, dict]]]]:
    """The headers, and the data rows in chunks of ``chunk``: ``[(row_number, {header: text}), …]``."""
    rows = _raw_rows(path, file_format, encoding, delimiter, chunk)
    try:
        first = next(iter(rows))
    except StopIteration:
        raise refuse(_l("The file is empty.")) from None
    headers = _headers(list(first))

    def chunks():
        batch = []
        for number, raw in enumerate(rows, start=2):
            values = list(raw)
            if not any(str(v).strip() for v in values if v is not None):
                continue
            row = {}
            for header, value in zip(headers, values, strict=False):
                if header:
                    text = value if isinstance(value, Formula) else str(value if value is not None else "").strip()
                    row[header] = text[:MAX_CELL + 1] if not isinstance(text, Formula) else text
            batch.append((number, row))
            if len(batch) >= chunk:
                yield batch
                batch = []
        if batch:
            yield batch

    return headers, chunks()


def inspect_file(path: Path, file_format: str) -> dict:
    """Encoding, delimiter, headers and the number of data rows (the whole file is read once)."""
    encoding = delimiter = None
    if file_format == "xlsx":
        check_zip(path)
    else:
        encoding, delimiter = csv_dialect(path)
    headers, chunks = open_table(path, file_format, encoding, delimiter, chunk=2000)
    total = sum(len(chunk) for chunk in chunks)
    if total == 0:
        raise refuse(_l("The file has column names but no rows."))
    return {"encoding": encoding, "delimiter": delimiter, "headers": headers, "total_rows": total}
