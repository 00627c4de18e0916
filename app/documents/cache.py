"""Finished PDFs on disk, so an unchanged document is served again without rendering.

Files live under ``instance/cache/documents/`` (``PORTICO_DOCUMENT_CACHE_DIR`` overrides it), one file per
document: ``<kind>-<id>-<key>.pdf``. The key is a SHA-256 over the kind, the id, the record's version and
``updated_at``, the settings' ``updated_at`` and the rendered HTML itself — so a change anywhere the
document shows (a work item, the unit, the logo) makes a new key even when the record's own row did not
change. Writing a new version removes the older files of the same document; writes are atomic (temporary
file, then rename), so several server processes can share the folder.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from flask import current_app


def cache_dir() -> Path:
    configured = current_app.config.get("PORTICO_DOCUMENT_CACHE_DIR")
    if configured:
        return Path(configured)
    instance = os.environ.get("PORTICO_INSTANCE_DIR") or current_app.instance_path
    return Path(instance) / "cache" / "documents"


def cache_key(kind: str, obj, settings, html: str) -> str:
    digest = hashlib.sha256()
    for part in (kind, obj.id, getattr(obj, "version", ""), getattr(obj, "updated_at", ""),
                 getattr(settings, "updated_at", "")):
        digest.update(f"{part}\x1f".encode())
    digest.update(html.encode("utf-8"))
    return digest.hexdigest()[:32]


def _path(kind: str, ident: int, key: str) -> Path:
    return cache_dir() / f"{kind}-{ident}-{key}.pdf"


def get(kind: str, ident: int, key: str) -> bytes | None:
    try:
        return _path(kind, ident, key).read_bytes()
    except OSError:
        return None


def put(kind: str, ident: int, key: str, pdf: bytes) -> None:
    """Store ``pdf``; a cache that cannot be written never fails the download."""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".pdf")
        with os.fdopen(fd, "wb") as handle:
            handle.write(pdf)
        target = _path(kind, ident, key)
        os.replace(tmp, target)
        for old in folder.glob(f"{kind}-{ident}-*.pdf"):
            if old != target:
                old.unlink(missing_ok=True)
    except OSError:
        current_app.logger.warning("Could not write the document cache in %s", folder, exc_info=True)


def clear() -> None:
    for path in cache_dir().glob("*.pdf"):
        path.unlink(missing_ok=True)
