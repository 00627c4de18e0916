"""The only way WeasyPrint reaches anything outside the HTML string: the app's static files and ``data:``.

Documents are rendered from HTML that holds text customers typed (faults, notes, references). Jinja escapes
all of it, and as a second wall WeasyPrint gets this fetcher: it answers ``data:`` URLs and files under the
app's ``static/`` folder (addressed through ``STATIC_BASE``, a host that never resolves) and refuses
everything else — ``file://``, ``http(s)://`` to any address, other schemes — without opening a socket or a
file. Static files are read from disk directly, so there are no redirects to follow.
"""
from __future__ import annotations

import base64
import logging
import mimetypes
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

log = logging.getLogger(__name__)

#: The base URL documents are rendered with; relative links resolve to the app's static files.
STATIC_BASE = "https://portico-static.invalid/static/"


class RefusedURL(ValueError):
    """A URL the document fetcher will not load (WeasyPrint logs it and renders without it)."""


class SafeURLFetcher(URLFetcher):
    """Serve ``data:`` URLs and the app's own static files; refuse and record everything else."""

    def __init__(self, static_folder: str | Path):
        super().__init__(timeout=1, allow_redirects=False, allowed_protocols=("data",))
        self.static_root = Path(static_folder).resolve()
        self.refused: list[str] = []
        self.served: list[str] = []

    def fetch(self, url, headers=None):
        if url.startswith(STATIC_BASE):
            response = self._static(url)
        elif url[:5].lower() == "data:":
            response = self._data(url)
        else:
            response = None
        if response is None:
            self.refused.append(url)
            log.info("document fetcher refused %.200s", url)
            raise RefusedURL(f"Refused to load {url[:200]}")
        self.served.append(url[:60])
        return response

    def _static(self, url: str) -> URLFetcherResponse | None:
        parts = urlsplit(url)
        relative = unquote(parts.path)[len(urlsplit(STATIC_BASE).path):]
        try:
            path = (self.static_root / relative).resolve()
        except (OSError, RuntimeError):
            return None
        if not path.is_relative_to(self.static_root) or not path.is_file():
            return None
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})

    @staticmethod
    def _data(url: str) -> URLFetcherResponse | None:
        """``data:[<mime>][;base64],<payload>`` decoded here (no urllib opener, so no network handler)."""
        header, sep, payload = url[5:].partition(",")
        if not sep:
            return None
        params = header.split(";")
        mime = params[0] or "text/plain"
        try:
            body = base64.b64decode(payload, validate=False) if "base64" in params[1:] else unquote_to_bytes(payload)
        except ValueError:
            return None
        return URLFetcherResponse(url, body, {"Content-Type": mime})
