"""Backup and restore: one archive with the database, the uploads and the exports, and a manifest.

``flask --app run backup PATH`` writes a ``.tar.gz`` holding

- ``database.sqlite`` (SQLite's online backup API: consistent while the shop keeps working) or
  ``database.pgdump`` (``pg_dump`` in custom format, of the schema the app uses);
- ``uploads/…`` and ``exports/…``, every file of the two folders;
- ``manifest.json``: the archive format, the migration head, the row count of every
  table and the SHA-256 of every member.

``flask --app run restore PATH`` brings it back into an **empty** database (and empty folders): it checks
every checksum first, refuses an archive made by a newer schema than this code knows, restores, upgrades
an older schema to the current head, and compares the row counts with the manifest. Nothing here deletes
anything: a non-empty target is refused, never overwritten.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url

FORMAT = 1
MANIFEST = "manifest.json"
FOLDERS = {"uploads": "PORTICO_UPLOAD_DIR", "exports": "PORTICO_EXPORT_DIR"}


class BackupError(Exception):
    """A backup that cannot be written or an archive that must not be restored (the CLI prints it)."""


@dataclass(frozen=True)
class Summary:
    path: Path
    tables: int
    rows: int
    files: int

    def __str__(self) -> str:
        return f"{self.path}: {self.tables} tables, {self.rows} rows, {self.files} files"


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _db():
    from .extensions import db

    return db


def _metadata():
    from flask_appbuilder import Model

    import app.models  # noqa: F401  (every table)

    return Model.metadata


def migration_head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(current_app.extensions["migrate"].directory).get_current_head()


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {script.revision for script in ScriptDirectory(current_app.extensions["migrate"].directory).walk_revisions()}


def current_revision(connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def table_counts(connection) -> dict[str, int]:
    present = set(inspect(connection).get_table_names())
    return {table.name: connection.execute(select(func.count()).select_from(table)).scalar()
            for table in _metadata().sorted_tables if table.name in present}


# --- PostgreSQL: pg_dump / pg_restore with the app's own connection settings ------------------------------

def _pg_connection(url) -> tuple[list[str], dict, str | None]:
    """libpq arguments and environment for ``url``, and the schema its ``search_path`` names (if any)."""
    url = make_url(url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    args = []
    if url.host:
        args += ["-h", url.host]
    if url.port:
        args += ["-p", str(url.port)]
    if url.username:
        args += ["-U", url.username]
    args += ["-d", url.database or "postgres"]
    schema = None
    options = url.query.get("options", "")
    options = " ".join(options) if isinstance(options, tuple) else options
    for part in options.split():
        if part.startswith("-csearch_path="):
            schema = part.split("=", 1)[1].split(",")[0].strip('"')
    if options:
        env["PGOPTIONS"] = options
    return args, env, schema


def _run(command: list[str], env: dict) -> None:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupError(f"{command[0]} not found: install PostgreSQL's client tools (Debian: postgresql-client)."
                          ) from None
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[-2000:]}")


# --- backup -----------------------------------------------------------------------------------------------

def _dump_database(engine, target: Path) -> str:
    """Write the database to ``target``; its member name in the archive."""
    if engine.dialect.name == "sqlite":
        source = sqlite3.connect(engine.url.database)
        try:
            copy = sqlite3.connect(target)
            with copy:
                source.backup(copy)  # the online backup API: a consistent copy while others write
            copy.close()
        finally:
            source.close()
        return "database.sqlite"
    if engine.dialect.name == "postgresql":
        args, env, schema = _pg_connection(engine.url)
        command = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "-f", str(target), *args]
        if schema:
            command += ["--schema", schema]
        _run(command, env)
        return "database.pgdump"
    raise BackupError(f"Backups of {engine.dialect.name} databases are not supported.")


def _folder_files(root: Path):
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path


def backup(path) -> Summary:
    """Write the archive ``path`` (``.tar.gz``); refuse to overwrite an existing file."""
    path = Path(path)
    if path.exists():
        raise BackupError(f"{path} exists already: choose a new name (a backup never overwrites one).")
    engine = _db().engine
    with tempfile.TemporaryDirectory(prefix="portico-backup-") as work:
        dump = Path(work) / "database"
        with engine.connect() as connection:
            head, counts = current_revision(connection), table_counts(connection)
        member = _dump_database(engine, dump)
        files = {member: _sha256_file(dump)}
        sources = {}
        for folder, key in FOLDERS.items():
            root = Path(current_app.config[key])
            for file in _folder_files(root):
                name = f"{folder}/{file.relative_to(root).as_posix()}"
                files[name], sources[name] = _sha256_file(file), file
        manifest = {
            "format": FORMAT,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "database": engine.dialect.name, "migration_head": head, "tables": counts, "files": files,
        }
        partial = path.with_name(path.name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            payload = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
            archive.add(dump, arcname=member)
            for name, file in sources.items():
                archive.add(file, arcname=name)
        partial.replace(path)  # a backup that stopped half-way never looks like a finished one
    return Summary(path, len(counts), sum(counts.values()), len(sources))


# --- restore ----------------------------------------------------------------------------------------------

def _safe_members(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    members = []
    for member in archive.getmembers():
        name = Path(member.name)
        if name.is_absolute() or ".." in name.parts or not (member.isfile() or member.isdir()):
            raise BackupError(f"The archive holds an unsafe entry: {member.name}")
        members.append(member)
    return members


def read_manifest(path) -> dict:
    with tarfile.open(path, "r:gz") as archive:
        try:
            return json.load(archive.extractfile(MANIFEST))
        except KeyError:
            raise BackupError(f"{path} is not a Portico backup (no {MANIFEST}).") from None


def _check_target_empty(engine) -> None:
    with engine.connect() as connection:
        names = set(inspect(connection).get_table_names())
        if names & {table.name for table in _metadata().sorted_tables}:
            raise BackupError("The database is not empty: restore into an empty database (a restore never "
                              "overwrites a shop).")
    for key in FOLDERS.values():
        root = Path(current_app.config[key])
        if any(_folder_files(root)):
            raise BackupError(f"{root} is not empty: restore into empty upload and export folders.")


def _restore_database(engine, member: str, dump: Path) -> None:
    if member == "database.sqlite":
        if engine.dialect.name != "sqlite":
            raise BackupError("This backup holds a SQLite database; the configured database is not SQLite.")
        engine.dispose()
        target = Path(engine.url.database)
        target.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(dump)
        try:
            copy = sqlite3.connect(target)
            with copy:
                source.backup(copy)
            copy.close()
        finally:
            source.close()
        return
    if member == "database.pgdump":
        if engine.dialect.name != "postgresql":
            raise BackupError("This backup holds a PostgreSQL database; the configured database is not PostgreSQL.")
        engine.dispose()
        args, env, _schema = _pg_connection(engine.url)
        _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", *args, str(dump)], env)
        return
    raise BackupError(f"Unknown database member {member!r}.")


def restore(path) -> Summary:
    """Restore the archive ``path`` into the (empty) configured database and folders."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path} not found.")
    manifest = read_manifest(path)
    if manifest.get("format") != FORMAT:
        raise BackupError(f"Unknown backup format {manifest.get('format')!r}.")
    head = manifest.get("migration_head")
    if head and head not in known_revisions():
        raise BackupError(f"The backup was made by a newer Portico (schema {head}): update Portico first.")
    engine = _db().engine
    _check_target_empty(engine)
    expected = manifest.get("files", {})
    with tempfile.TemporaryDirectory(prefix="portico-restore-") as work:
        with tarfile.open(path, "r:gz") as archive:
            members = _safe_members(archive)
            names = {m.name for m in members if m.isfile()} - {MANIFEST}
            if names != set(expected):
                raise BackupError("The archive does not hold the files its manifest lists.")
            archive.extractall(work, members=members, filter="data")
        for name, digest in expected.items():
            if _sha256_file(Path(work) / name) != digest:
                raise BackupError(f"Checksum mismatch for {name}: the archive is damaged.")
        database = next(name for name in expected if name.startswith("database."))
        _restore_database(engine, database, Path(work) / database)
        files = 0
        for folder, key in FOLDERS.items():
            source = Path(work) / folder
            root = Path(current_app.config[key])
            for file in _folder_files(source):
                destination = root / file.relative_to(source)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, destination)
                files += 1
    if head != migration_head():
        from flask_migrate import upgrade

        upgrade()  # an older shop comes back at today's schema
    with engine.connect() as connection:
        counts = table_counts(connection)
    different = {name: (count, counts.get(name)) for name, count in manifest.get("tables", {}).items()
                 if counts.get(name) != count}
    if different and head == migration_head():
        raise BackupError(f"Restored row counts differ from the manifest: {different}")
    return Summary(path, len(counts), sum(counts.values()), files)
