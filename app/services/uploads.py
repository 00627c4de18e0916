"""Uploaded photos and documents: checked by content, cleaned, stored outside ``static/`` under random names.

``check_file`` decides what a file *is* from its first bytes (JPEG, PNG, WebP, HEIC/HEIF, PDF), never from
its name or the browser's declared type: a PDF named ``photo.jpg`` is taken as a PDF (and renamed
``photo.pdf``); an HTML page or a program named ``photo.jpg`` is refused. Images are decoded with Pillow,
turned upright by their EXIF orientation and written again without EXIF or XMP (so no GPS position
leaves the phone); HEIC becomes JPEG, which every browser shows. PDFs are kept as they are.

``save_upload`` stores one file for a service request or a work order (at most ``Settings.photo_limit``
each) and adds its ``Attachment`` row; the caller commits. Files are served only through the
ownership-checked routes ``/portal/attachments/<id>`` and ``/attachments/<id>`` (``open_attachment``).

The public request form keeps files between its steps as *pending* uploads: already checked and cleaned,
under ``<upload dir>/pending/<draft token>/`` (the token lives in the visitor's session), and turned into
attachments when the request is submitted.
"""
from __future__ import annotations

import io
import json
import logging
import os
import re
import secrets
import shutil
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session
from werkzeug.utils import secure_filename

from ..core.actors import Actor
from ..core.errors import ValidationFailed
from ..core.settings import get_settings
from ..extensions import db
from ..models import Attachment, ServiceRequest, WorkOrder
from . import audit

log = logging.getLogger(__name__)

try:  # HEIC/HEIF (iPhone photos); without the package such files are refused with a clear message.
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover
    HEIF_SUPPORTED = False

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 60_000_000  # a 60-megapixel photo; more is a decompression bomb, not a phone picture
#: The longest side a picture may have: a 1 × 59,000,000 PNG is 115 KB and passes the pixel count, but
#: takes seconds of CPU to decode; no camera makes a side longer than this.
MAX_SIDE = 16_384
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own guard, the second line behind the header check
#: All unsubmitted public-form drafts together keep at most this much (a flood of drafts cannot fill a disk).
DEFAULT_PENDING_MAX_BYTES = 200 * 1024 * 1024
FIELD = "files"

#: What each accepted kind is stored as: (content type, file extension).
KINDS = {
    "jpeg": ("image/jpeg", ".jpg"),
    "png": ("image/png", ".png"),
    "webp": ("image/webp", ".webp"),
    "heic": ("image/jpeg", ".jpg"),  # re-encoded
    "pdf": ("application/pdf", ".pdf"),
}
KINDS_BY_TYPE = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "application/pdf": ".pdf"}
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif"}


@dataclass
class CheckedFile:
    """A file that passed the checks: its display name, stored type and cleaned bytes."""

    filename: str
    content_type: str
    data: bytes

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


def max_bytes() -> int:
    return int(current_app.config.get("PORTICO_UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES))


def photo_limit() -> int:
    return get_settings().photo_limit


def sniff(head: bytes) -> str | None:
    """The kind of file these first bytes start, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return "heic"
    if head.lstrip(b"\xef\xbb\xbf")[:5] == b"%PDF-":
        return "pdf"
    return None


def _display_name(original: str | None, extension: str) -> str:
    stem = Path(secure_filename(original or "") or "upload").stem[:80] or "upload"
    return f"{stem}{extension}"


def size_text(size: int) -> str:
    return f"{size / 1024 / 1024:.0f} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"


def _read_limited(stream: BinaryIO, limit: int, name: str) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise ValidationFailed({FIELD: [_l("%(name)s is larger than %(limit)s.", name=name,
                                           limit=size_text(limit))]})
    return data


def _clean_image(data: bytes, kind: str, name: str) -> bytes:
    """Decode, turn upright, drop EXIF/XMP and encode again (HEIC as JPEG)."""
    if kind == "heic" and not HEIF_SUPPORTED:  # pragma: no cover
        raise ValidationFailed({FIELD: [_l("%(name)s is a HEIC photo, which this server cannot read. "
                                           "Send it as JPEG.", name=name)]})
    try:
        with Image.open(io.BytesIO(data)) as probe:  # reads the header only: nothing is decoded yet
            if probe.width * probe.height > MAX_PIXELS or max(probe.width, probe.height) > MAX_SIDE:
                raise ValidationFailed({FIELD: [_l("%(name)s has too many pixels.", name=name)]})
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
            icc = image.info.get("icc_profile")
            upright.info = {}  # nothing of the original's metadata (EXIF, XMP, comments) is written again
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise ValidationFailed({FIELD: [_l("%(name)s is damaged or not a readable picture.", name=name)]}) from None
    out = io.BytesIO()
    options = {"icc_profile": icc} if icc else {}
    if kind in ("jpeg", "heic"):
        if upright.mode not in ("RGB", "L"):
            upright = upright.convert("RGB")
        upright.save(out, format="JPEG", quality=90, optimize=True, **options)
    elif kind == "png":
        upright.save(out, format="PNG", compress_level=6, **options)  # not ``optimize``: seconds per photo
    else:
        upright.save(out, format="WEBP", quality=90, **options)
    return out.getvalue()


#: PDF names that run something or carry something: a document with one of them is refused.
ACTIVE_PDF_NAMES = {b"JavaScript", b"JS", b"Launch", b"EmbeddedFile", b"EmbeddedFiles", b"RichMedia", b"XFA",
                    b"AA", b"SubmitForm", b"ImportData"}
_PDF_NAME = re.compile(rb"/((?:[A-Za-z0-9]|#[0-9A-Fa-f]{2})+)")
_PDF_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.S)
PDF_INFLATE_LIMIT = 32 * 1024 * 1024  # all streams of one PDF together, decompressed: a bomb stops here


def _pdf_names(chunk: bytes) -> set[bytes]:
    return {re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)
            for raw in _PDF_NAME.findall(chunk)}


def _check_pdf(data: bytes, name: str) -> None:
    """Refuse a PDF with scripts, launch or submit actions or embedded files — also inside compressed
    object streams (inflated with a total budget, so a zip bomb costs nothing)."""
    found = _pdf_names(data) & ACTIVE_PDF_NAMES
    budget = PDF_INFLATE_LIMIT
    for stream in _PDF_STREAM.findall(data) if not found else ():
        inflater, pending, tail = zlib.decompressobj(), stream, b""
        while pending and budget > 0 and not found:  # a megabyte at a time: memory stays small too
            try:
                chunk = inflater.decompress(pending, 1 << 20)
            except zlib.error:
                break  # not Flate (an image, a font): nothing to read names from
            pending = inflater.unconsumed_tail
            if not chunk:
                break
            budget -= len(chunk)
            found |= _pdf_names(tail + chunk) & ACTIVE_PDF_NAMES
            tail = chunk[-64:]  # a name split between two megabytes is still seen
        if found or budget <= 0:
            break
    if found or budget <= 0:
        raise ValidationFailed({FIELD: [_l("%(name)s contains scripts, actions or embedded files. Print it to "
                                           "PDF again (or save it as a picture) and send that.", name=name)]})


def check_file(file_storage) -> CheckedFile:
    """Check one uploaded file (a werkzeug ``FileStorage``); ``ValidationFailed`` at field ``files``."""
    name = secure_filename(file_storage.filename or "") or str(_l("The file"))
    data = _read_limited(file_storage.stream, max_bytes(), name)
    if not data:
        raise ValidationFailed({FIELD: [_l("%(name)s is empty.", name=name)]})
    kind = sniff(data[:64])
    if kind is None:
        raise ValidationFailed({FIELD: [_l("%(name)s is not a photo (JPEG, PNG, WebP, HEIC) or a PDF document.",
                                           name=name)]})
    content_type, extension = KINDS[kind]
    if kind == "pdf":
        _check_pdf(data, name)
    else:
        data = _clean_image(data, kind, name)
    return CheckedFile(filename=_display_name(file_storage.filename, extension), content_type=content_type,
                       data=data)


# --- stored attachments ----------------------------------------------------------------------------------

def upload_dir() -> Path:
    return Path(current_app.config["PORTICO_UPLOAD_DIR"])


def attachment_path(att: Attachment) -> Path:
    if not re.fullmatch(r"[0-9a-f]{32}\.[a-z]{3,4}", att.stored_name or ""):
        raise FileNotFoundError(att.stored_name)
    return upload_dir() / att.stored_name[:2] / att.stored_name


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".part")
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.chmod(temporary, 0o640)
    os.replace(temporary, path)


# --- files follow their transaction: staged while it runs, in place after its commit, gone after a rollback

STAGING = ".staging"
STORED_NAME = re.compile(r"[0-9a-f]{32}\.[a-z]{3,4}")
#: A staged or stored file this old that no row names is left over from a crash: the sweep removes it.
ORPHAN_AGE = 3600


def _staged(session, final: Path, data: bytes) -> None:
    """Write ``data`` under a temporary name; it moves to ``final`` when the session commits and is removed
    if it rolls back, so a failure half-way leaves no file that no row names (and no row without its file)."""
    staged = upload_dir() / STAGING / final.name
    _write(staged, data)
    session.info.setdefault("portico_staged_files", []).append((staged, final))


def _publish(session) -> None:
    for staged, final in session.info.pop("portico_staged_files", []):
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, final)
        except OSError:  # the sweep promotes a staged file whose row was committed
            log.exception("could not move %s into place", staged)


def _discard(session) -> None:
    for staged, _final in session.info.pop("portico_staged_files", []):
        staged.unlink(missing_ok=True)


def install_file_hooks() -> None:
    """Attach the publish / discard hooks to every session (idempotent; done at import)."""
    for name, hook in (("after_commit", _publish), ("after_rollback", _discard)):
        if not event.contains(Session, name, hook):
            event.listen(Session, name, hook)


install_file_hooks()


def sweep(max_age: int = ORPHAN_AGE) -> dict[str, int]:
    """Tidy the upload folder after crashes: a staged file whose row was committed is moved into place; a
    staged or stored file that no row names and that is older than ``max_age`` seconds is removed."""
    root = upload_dir()
    cutoff = time.time() - max_age
    done = {"promoted": 0, "removed": 0}

    def named(names: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(names), 500):
            found.update(db.session.scalars(select(Attachment.stored_name)
                                            .where(Attachment.stored_name.in_(names[start:start + 500]))))
        return found

    staging = root / STAGING
    staged = [p for p in staging.iterdir() if p.is_file()] if staging.is_dir() else []
    known = named([p.name for p in staged])
    for path in staged:
        if path.name in known:
            final = root / path.name[:2] / path.name
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, final)
            done["promoted"] += 1
        elif path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            done["removed"] += 1
    stored = [p for p in root.glob("[0-9a-f][0-9a-f]/*") if p.is_file()]
    known = named([p.name for p in stored if STORED_NAME.fullmatch(p.name)])
    for path in stored:
        if path.name not in known and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)  # a file no row names (or a ``.part`` left by a crash)
            done["removed"] += 1
    return done


def count_for(*, service_request_id: int | None = None, work_order_id: int | None = None) -> int:
    stmt = select(func.count(Attachment.id))
    if service_request_id is not None:
        stmt = stmt.where(Attachment.service_request_id == service_request_id)
    else:
        stmt = stmt.where(Attachment.work_order_id == work_order_id)
    return db.session.scalar(stmt) or 0


def _parent(service_request_id, work_order_id):
    """The request or work order the file is for, locked so two uploads cannot both take the last place."""
    if service_request_id is not None:
        model, ident = ServiceRequest, service_request_id
    else:
        model, ident = WorkOrder, work_order_id
    if ident is None:
        raise ValidationFailed({FIELD: [_l("An upload belongs to a service request or a work order.")]})
    parent = db.session.scalar(select(model).where(model.id == ident).with_for_update())
    if parent is None:
        raise ValidationFailed({FIELD: [_l("The service request or work order does not exist.")]})
    return parent


def store_checked(checked: CheckedFile, *, customer_id: int, service_request_id: int | None = None,
                  work_order_id: int | None = None, actor: Actor, public: bool = True) -> Attachment:
    """Store a checked file for a request or work order; refuses more than ``photo_limit`` per parent."""
    parent = _parent(service_request_id, work_order_id)
    if parent.customer_id != customer_id:
        raise ValidationFailed({FIELD: [_l("The file does not belong to this customer's record.")]})
    limit = photo_limit()
    if count_for(service_request_id=service_request_id, work_order_id=work_order_id) >= limit:
        raise ValidationFailed({FIELD: [_l("At most %(limit)s files can be attached.", limit=limit)]})
    stored_name = secrets.token_hex(16) + KINDS_BY_TYPE.get(checked.content_type, ".bin")
    att = Attachment(customer_id=customer_id, service_request_id=service_request_id, work_order_id=work_order_id,
                     filename=checked.filename, stored_name=stored_name, content_type=checked.content_type,
                     size_bytes=len(checked.data), public=public, uploaded_by_id=actor.user_id)
    _staged(db.session(), attachment_path(att), checked.data)
    db.session.add(att)
    db.session.flush()
    status = getattr(parent, "status", None)
    audit.record(parent, "attach", status, status, actor, checked.filename)
    return att


def save_upload(file_storage, *, customer_id: int, service_request_id: int | None = None,
                work_order_id: int | None = None, actor: Actor, public: bool = True) -> Attachment:
    """Check and store one uploaded file (the team contract); the caller commits."""
    checked = check_file(file_storage)
    return store_checked(checked, customer_id=customer_id, service_request_id=service_request_id,
                         work_order_id=work_order_id, actor=actor, public=public)


def attach(parent, actor: Actor, file, public: bool = True) -> Attachment:
    """The ``attach`` action of a request or work order: a file checked by content, then stored.

    ``file`` is an upload (checked here) or a file checked before (``check_file``); a customer's file is
    always visible to them."""
    checked = file if isinstance(file, CheckedFile) else check_file(file)
    ids = {"service_request_id": parent.id} if isinstance(parent, ServiceRequest) else {"work_order_id": parent.id}
    return store_checked(checked, customer_id=parent.customer_id, actor=actor,
                         public=True if actor.is_customer else bool(public), **ids)


def open_attachment(att: Attachment) -> BinaryIO:
    """The stored file, opened for reading (``FileNotFoundError`` if it is gone)."""
    return open(attachment_path(att), "rb")


def delete_file(att: Attachment) -> None:
    try:
        attachment_path(att).unlink()
    except FileNotFoundError:
        pass


# --- pending uploads of a draft (the public form's summary step) -----------------------------------------

DRAFT_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")
PENDING_ID = re.compile(r"[0-9a-f]{16}")
DRAFT_MAX_AGE = 24 * 3600


def new_draft_token() -> str:
    return secrets.token_urlsafe(32)


def _draft_dir(token: str) -> Path:
    if not DRAFT_TOKEN.fullmatch(token or ""):
        raise ValueError("not a draft token")
    return upload_dir() / "pending" / token


def _manifest(token: str) -> dict:
    try:
        return json.loads((_draft_dir(token) / "draft.json").read_text())
    except (FileNotFoundError, ValueError):
        return {"fields": {}, "files": []}


def _save_manifest(token: str, manifest: dict) -> None:
    _write(_draft_dir(token) / "draft.json", json.dumps(manifest).encode())


def load_draft(token: str | None) -> dict:
    """``{"fields": {...}, "files": [{"id", "filename", "content_type", "size"}]}`` of a draft."""
    if not token or not DRAFT_TOKEN.fullmatch(token):
        return {"fields": {}, "files": []}
    return _manifest(token)


def save_draft_fields(token: str, fields: dict) -> None:
    update_draft(token, fields=fields)


def update_draft(token: str, **values) -> None:
    """Set top-level values of a draft (``fields``, the one-time ``submit_token``)."""
    manifest = _manifest(token)
    manifest.update(values)
    _save_manifest(token, manifest)


def pending_room(token: str | None) -> int:
    """How many more files the draft may take (checked before any file is read or decoded)."""
    count = len(_manifest(token)["files"]) if token and DRAFT_TOKEN.fullmatch(token) else 0
    return max(photo_limit() - count, 0)


def pending_bytes() -> int:
    root = upload_dir() / "pending"
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.is_dir() else 0


def add_pending(token: str, checked: CheckedFile) -> dict:
    """Keep a checked file with the draft; returns its description."""
    manifest = _manifest(token)
    if len(manifest["files"]) >= photo_limit():
        raise ValidationFailed({FIELD: [_l("At most %(limit)s files can be attached.", limit=photo_limit())]})
    limit = int(current_app.config.get("PORTICO_PENDING_MAX_BYTES", DEFAULT_PENDING_MAX_BYTES))
    if pending_bytes() + len(checked.data) > limit:
        purge_stale_drafts(max_age=DRAFT_MAX_AGE // 4)  # make room from drafts untouched for six hours
        if pending_bytes() + len(checked.data) > limit:
            raise ValidationFailed({FIELD: [_l("The shop cannot take more files right now. Send the request "
                                               "without them and add them later.")]})
    entry = {"id": secrets.token_hex(8), "filename": checked.filename, "content_type": checked.content_type,
             "size": len(checked.data)}
    _write(_draft_dir(token) / entry["id"], checked.data)
    manifest["files"].append(entry)
    _save_manifest(token, manifest)
    return entry


def remove_pending(token: str, file_id: str) -> None:
    manifest = _manifest(token)
    manifest["files"] = [f for f in manifest["files"] if f["id"] != file_id]
    if PENDING_ID.fullmatch(file_id or ""):
        (_draft_dir(token) / file_id).unlink(missing_ok=True)
    _save_manifest(token, manifest)


def pending_checked(token: str) -> list[CheckedFile]:
    """The draft's files, ready for ``store_checked``."""
    files = []
    for entry in _manifest(token)["files"]:
        if PENDING_ID.fullmatch(entry.get("id", "")):
            path = _draft_dir(token) / entry["id"]
            if path.exists():
                files.append(CheckedFile(entry["filename"], entry["content_type"], path.read_bytes()))
    return files


def pending_file(token: str, file_id: str) -> tuple[dict, Path] | None:
    """One pending file (for its preview on the summary page), or None."""
    for entry in load_draft(token)["files"]:
        if entry["id"] == file_id and PENDING_ID.fullmatch(file_id):
            return entry, _draft_dir(token) / file_id
    return None


def discard_draft(token: str | None) -> None:
    if token and DRAFT_TOKEN.fullmatch(token):
        shutil.rmtree(_draft_dir(token), ignore_errors=True)


def purge_stale_drafts(max_age: int = DRAFT_MAX_AGE) -> int:
    """Remove drafts nobody touched for a day; returns how many."""
    root = upload_dir() / "pending"
    if not root.is_dir():
        return 0
    cutoff = time.time() - max_age
    removed = 0
    for entry in root.iterdir():
        try:
            if entry.is_dir() and entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
        except OSError:  # pragma: no cover - removed by another process meanwhile
            continue
    return removed
