"""Restoring the messaging database from a backup: check it, swap it in, keep the replaced one, reconcile."""
from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ...extensions import db
from ...models import utcnow
from ..reconcile import reconcile
from . import postgres
from .backup import STAMP, backup, checksum_path, file_sha256, partial_file
from .database import TABLES, OperationFailed, ensure_schema, messaging_engine, sqlite_path

log = logging.getLogger("wb.messaging.operations")

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


@dataclass
class CheckedBackup:
    path: Path
    sha256: str
    conversations: int | None = None
    messages: int | None = None


@dataclass
class Restored:
    backup: CheckedBackup
    kept: Path | None
    changes: list[str]


def check_backup(path) -> CheckedBackup:
    """A backup that matches its checksum and passes an integrity check, or OperationFailed."""
    path = Path(path)
    if not path.is_file():
        raise OperationFailed(f"{path} doesn't exist or isn't a file.")
    expected = _expected_checksum(path)
    actual = file_sha256(path)
    if actual != expected:
        raise OperationFailed(f"Checksum mismatch for {path}: it isn't the file that was backed up; refusing to restore it.")
    with open(path, "rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    if sqlite_path() is None:
        if not head.startswith(PG_DUMP_MAGIC):
            raise OperationFailed(f"{path} isn't a pg_dump custom-format file.")
        postgres.check_dump(path)
        return CheckedBackup(path=path, sha256=actual)
    if head != SQLITE_MAGIC:
        raise OperationFailed(f"{path} isn't a SQLite database.")
    conversations, messages = _check_sqlite_file(path)
    return CheckedBackup(path=path, sha256=actual, conversations=conversations, messages=messages)


def _expected_checksum(path: Path) -> str:
    sums = checksum_path(path)
    try:
        expected = sums.read_text().split()[0].lower()
    except (OSError, IndexError):
        raise OperationFailed(f"No readable checksum file {sums.name} beside {path}; refusing to restore it.") from None
    if not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise OperationFailed(f"{sums} isn't a SHA-256 checksum file; refusing to restore {path.name}.")
    return expected


def _check_sqlite_file(path: Path) -> tuple[int, int]:
    """Integrity check and message counts of a SQLite backup, opened read-only and untouched."""
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        try:
            result = [row[0] for row in connection.execute("PRAGMA integrity_check").fetchall()]
            if result != ["ok"]:
                raise OperationFailed(f"{path} is damaged (integrity check: {result[0]}); refusing to restore it.")
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not set(TABLES) <= tables:
                raise OperationFailed(f"{path} is a SQLite database but not a messaging backup (no messages table).")
            conversations = connection.execute("SELECT count(*) FROM conversations").fetchone()[0]
            messages = connection.execute("SELECT count(*) FROM messages").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise OperationFailed(f"{path} is damaged or not a SQLite database ({error}); refusing to restore it.") from None
    return conversations, messages


def restore(checked: CheckedBackup) -> Restored:
    """Swap a checked backup in for the messaging database, keep the replaced one, reconcile metadata."""
    db.session.remove()  # no open transaction may hold the old database
    messaging_engine().dispose()
    if sqlite_path() is None:
        kept = backup().path  # PostgreSQL: the current data, dumped before it is replaced
        postgres.restore_dump(checked.path)
    else:
        kept = _swap_sqlite_file(checked)
    messaging_engine().dispose()
    ensure_schema()  # an older backup is brought up to the current schema
    changes = reconcile()
    log.info("messaging database restored", extra={"event": "messaging.restore", "path": str(checked.path),
                                                   "kept": str(kept) if kept else None})
    return Restored(backup=checked, kept=kept, changes=changes)


def _swap_sqlite_file(checked: CheckedBackup) -> Path | None:
    target = sqlite_path()
    if not target.parent.is_dir():
        raise OperationFailed(f"The messaging database's folder {target.parent} doesn't exist.")
    partial = partial_file(target.parent, ".messaging-restore-")
    try:
        shutil.copyfile(checked.path, partial)
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        if file_sha256(partial) != checked.sha256:
            raise OperationFailed(f"Copying {checked.path} to {target.parent} changed it; nothing was replaced.")
        kept = None
        if target.exists():
            _fold_wal(target)
            kept = target.with_name(f"{target.name}.replaced-{utcnow().strftime(STAMP)}")
            _keep_copy(target, kept)
        # The old file's WAL and shared-memory index must not be read against the new file;
        # the checkpoint above left nothing in them.
        for suffix in ("-wal", "-shm"):
            target.with_name(target.name + suffix).unlink(missing_ok=True)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return kept


def _fold_wal(target: Path) -> None:
    """Checkpoint the live database so the copy we keep is complete; refuse while it is busy."""
    connection = sqlite3.connect(target, timeout=10)
    try:
        busy, _log, _done = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.Error as error:
        raise OperationFailed(f"Can't checkpoint {target} before replacing it: {error}; nothing was replaced.") from None
    finally:
        connection.close()
    if busy:
        raise OperationFailed(f"{target} is in use; stop the app and try again (nothing was replaced).")


def _keep_copy(target: Path, kept: Path) -> None:
    try:
        os.link(target, kept)
    except OSError:
        shutil.copy2(target, kept)
