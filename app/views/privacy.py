"""Handing out a privacy export (``services.privacy``): the ZIP is written after the action's commit,
opened and unlinked at once (the open handle keeps it readable while it streams; nothing stays on disk)."""
from __future__ import annotations

import os

from flask import send_file


def send_export(export):
    path = export.write()
    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed by the response when it has been sent)
    finally:
        os.unlink(path)
    response = send_file(handle, mimetype="application/zip", as_attachment=True, download_name=export.filename)
    response.headers["Cache-Control"] = "no-store"
    return response
