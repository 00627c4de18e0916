"""Backup and restore round-trip (issue 11): a filled shop backed up, restored into a fresh database and empty
folders, compares equal table by table, row by row, and file by file (SQLite and PostgreSQL alike)."""
from __future__ import annotations

import hashlib
import io
import json
import tarfile
import tempfile
import uuid
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from app.backup import BackupError, read_manifest, restore
from app.services import uploads
from tests.test_nothing_lost import _invoice, _shop

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _rows(engine) -> dict[str, list[tuple]]:
    from flask_appbuilder import Model

    found = {}
    with engine.connect() as connection:
        for table in Model.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            found[table.name] = [tuple(row) for row in connection.execute(select(table).order_by(*order))]
    return found


def _hashes(root: Path) -> dict[str, str]:
    return {path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.fixture()
def fresh_target(database_url):
    """An empty database of the same kind (a new SQLite file, or a new PostgreSQL database whose schema the
    dump brings) and empty folders, as an app of its own."""
    from app import create_app
    from config import TestConfig

    work = Path(tempfile.mkdtemp(prefix="portico-restore-test-"))
    url = make_url(database_url)
    drop = None
    if url.get_backend_name() == "sqlite":
        target = f"sqlite:///{work / 'restored.db'}"
    else:
        name = f"portico_restore_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url.set(query={}), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        target = url.set(database=name).render_as_string(hide_password=False)

        def drop():
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=target, PORTICO_UPLOAD_DIR=str(work / "uploads"),
                     PORTICO_EXPORT_DIR=str(work / "exports"), PORTICO_SYNC_SECURITY_ON_START=False)
    yield app, work
    with app.app_context():
        from app.extensions import db

        db.engine.dispose()
    if drop:
        drop()


def _fill(db):
    shop = _shop(db)
    _invoice(db, shop)
    uploads.store_checked(uploads.CheckedFile("brake-photo.pdf", "application/pdf", PDF),
                          customer_id=shop["klara"].id, work_order_id=shop["order"].id, actor=shop["staff"])
    export = Path(current_app.config["PORTICO_EXPORT_DIR"]) / "reports" / "weekly.csv"
    export.parent.mkdir(parents=True, exist_ok=True)
    export.write_text("Customer;Invoiced\nKlara Fischer;119.00\n", encoding="utf-8")
    db.session.commit()
    return shop


def test_backup_then_restore_into_a_fresh_database_is_equal(db, runner, fresh_target, tmp_path):
    _fill(db)
    archive = tmp_path / "shop.tar.gz"
    result = runner.invoke(args=["backup", str(archive)])
    assert result.exit_code == 0, result.output
    manifest = read_manifest(archive)
    assert manifest["database"] == db.engine.dialect.name
    assert manifest["migration_head"] and manifest["tables"]["invoice"] == 1
    assert any(name.startswith("uploads/") for name in manifest["files"])
    assert runner.invoke(args=["backup", str(archive)]).exit_code != 0  # never overwrites a backup

    source_rows = _rows(db.engine)
    uploads_dir = Path(current_app.config["PORTICO_UPLOAD_DIR"])
    exports_dir = Path(current_app.config["PORTICO_EXPORT_DIR"])
    target, work = fresh_target
    with target.app_context():
        from app.extensions import db as target_db

        summary = restore(archive)
        assert summary.files == len([n for n in manifest["files"] if not n.startswith("database.")])
        restored_rows = _rows(target_db.engine)
        with pytest.raises(BackupError, match="not empty"):
            restore(archive)  # a restore never overwrites a shop
        from app.models import Customer

        newcomer = Customer(name="After the restore")  # ids (and PostgreSQL's sequences) carry on
        target_db.session.add(newcomer)
        target_db.session.commit()
        assert newcomer.id > max(row[0] for row in restored_rows["customer"])
        target_db.session.remove()
    assert restored_rows == source_rows
    assert _hashes(work / "uploads") == _hashes(uploads_dir)
    assert _hashes(work / "exports") == _hashes(exports_dir)


def _rewrite(archive: Path, out: Path, change) -> None:
    with tarfile.open(archive, "r:gz") as source, tarfile.open(out, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read() if member.isfile() else None
            member, data = change(member, data)
            if data is not None:
                member.size = len(data)
                target.addfile(member, io.BytesIO(data))


def test_restore_refuses_a_damaged_archive_or_a_newer_schema(db, runner, fresh_target, tmp_path):
    _fill(db)
    archive = tmp_path / "shop.tar.gz"
    assert runner.invoke(args=["backup", str(archive)]).exit_code == 0

    damaged = tmp_path / "damaged.tar.gz"
    _rewrite(archive, damaged, lambda m, d: (m, d + b"x" if m.name.startswith("uploads/") else d))
    newer = tmp_path / "newer.tar.gz"

    def bump(member, data):
        if member.name == "manifest.json":
            manifest = json.loads(data)
            manifest["migration_head"] = "9999_from_the_future"
            data = json.dumps(manifest).encode()
        return member, data

    _rewrite(archive, newer, bump)
    target, work = fresh_target
    with target.app_context():
        with pytest.raises(BackupError, match="Checksum mismatch"):
            restore(damaged)
        with pytest.raises(BackupError, match="newer Portico"):
            restore(newer)
    assert not (work / "uploads").exists() or not any((work / "uploads").rglob("*.pdf"))
