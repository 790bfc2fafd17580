"""Backups of the messaging database: a consistent, verified copy with its SHA-256, listed and rotated."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from ...models import utcnow
from . import postgres
from .database import (DatabaseDamaged, OperationFailed, damaged_line, engine_name, is_damaged, location,
                       require_database, sqlite_path)
from .identity import stamp_messaging_database

log = logging.getLogger("wb.messaging.operations")

# Backups are messaging-<UTC time>; the copy a restore keeps of the database it replaces is
# pre-restore-<time>, which `--keep` never rotates away: it may be the only copy of the messages sent
# after the restored backup was taken (a rotation deleted one: an operator tester).
BACKUP, PRE_RESTORE = "messaging", "pre-restore"
# A restore's copy of a damaged database (it failed its integrity check) ends -damaged.
BACKUP_NAME = re.compile(r"^(messaging|pre-restore)-(\d{8}T\d{6}Z)(?:-(\d+))?(?:-damaged)?\.(sqlite3|dump)$")
DAMAGED = "-damaged"
STAMP = "%Y%m%dT%H%M%SZ"
LAST_BACKUP_RECORD = "messaging-last-backup.json"
# 1,024 pages is 4 MiB at SQLite's default page size: progress every few MB.
PAGES_PER_STEP = 1024


@dataclass
class Backup:
    path: Path
    taken_at: datetime
    sha256: str | None = None
    size: int = 0
    removed: list[Path] = field(default_factory=list)
    created_folder: Path | None = None  # --out named a folder that didn't exist: made, and said so
    damaged: str | None = None  # kept_damaged: what the integrity check found (the copy is named -damaged)

    @property
    def checksum_path(self) -> Path:
        return checksum_path(self.path)


def checksum_path(path: Path) -> Path:
    """The sha256sum-format file written beside a backup."""
    return path.with_name(path.name + ".sha256")


def backup_folder() -> Path:
    """The default folder for backups: backups/ in the instance folder."""
    return Path(current_app.instance_path) / "backups"


def list_backups(folder: Path | None = None, prefix: str = BACKUP) -> list[Backup]:
    """Backups named <prefix>-<UTC timestamp> in a folder (messaging-, or a restore's pre-restore-), oldest first."""
    folder = folder or backup_folder()
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = BACKUP_NAME.match(path.name)
        if match and match.group(1) == prefix and path.is_file():
            taken_at = datetime.strptime(match.group(2), STAMP)
            found.append((taken_at, int(match.group(3) or 1), Backup(path=path, taken_at=taken_at)))
    return [backup for _at, _n, backup in sorted(found, key=lambda item: item[:2])]


def last_backup() -> Backup | None:
    """The newest backup of this messaging database: in the backups folder, or the last one written
    elsewhere with --out. None when the last one recorded was of another database (the instance was
    pointed at a new one since): the folder's backups are the old one's, and this one has none yet."""
    folder = list_backups()
    record = Path(current_app.instance_path) / LAST_BACKUP_RECORD
    candidates = []
    try:
        data = json.loads(record.read_text())
        if data.get("database", location()) != location():
            return None
        # A restore's copy of what it replaced is no backup of what is there now (it showed as a
        # fresh one, hiding an overdue backup: an operator tester); the restored backup is. Nor is an
        # earlier restore's (after two restores the first one's copy showed: a re-check tester).
        # Copies are named pre-restore- now; the record names those earlier versions made.
        replaced = set(_replaced_copies(data))
        folder = [backup for backup in folder if str(backup.path.resolve()) not in replaced]
        if Path(data["path"]).is_file():
            candidates.append(Backup(path=Path(data["path"]), taken_at=datetime.fromisoformat(data["taken_at"])))
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no record, or an unreadable one: the folder scan stands
    return max(candidates + folder[-1:], key=lambda backup: backup.taken_at, default=None)


def record_restored(restored_from: Path) -> None:
    """After a restore: the last backup of what is there now is the one restored (taken when its
    name says, or when the file was written)."""
    match = BACKUP_NAME.match(restored_from.name)
    taken_at = (datetime.strptime(match.group(2), STAMP) if match
                else datetime.fromtimestamp(restored_from.stat().st_mtime, timezone.utc).replace(tzinfo=None))
    _write_record({"path": str(restored_from.resolve()), "taken_at": taken_at.isoformat()})


def _write_record(fields: dict) -> None:
    """Record the last backup of this database, keeping the copies of what they replaced that earlier
    versions' restores named there (a backup taken since doesn't make them backups of what is there now)."""
    record = Path(current_app.instance_path) / LAST_BACKUP_RECORD
    try:
        earlier = json.loads(record.read_text())
        replaced = _replaced_copies(earlier) if earlier.get("database") == location() else []
    except (OSError, ValueError, AttributeError):
        replaced = []
    try:
        record.write_text(json.dumps({**fields, "database": location(), "replaced_copies": replaced}))
    except OSError:
        log.warning("could not record the last backup", extra={"path": str(record)})


def _replaced_copies(record: dict) -> list[str]:
    """The copies restores made of what they replaced, as a record names them (one, before there
    were lists)."""
    copies = record.get("replaced_copies") or []
    return [*copies, record["replaced_copy"]] if record.get("replaced_copy") else list(copies)


def backup(out=None, keep: int | None = None, progress=None, prefix: str = BACKUP, keep_damaged: bool = False) -> Backup:
    """A consistent, verified copy of the messaging database with a SHA-256 beside it.

    progress(done, total) is called as a SQLite copy advances. A restore's copy of what it replaces
    (prefix PRE_RESTORE) is no backup of what will be there, so it isn't recorded as the last one.
    With keep_damaged (a restore's copy), a SQLite copy that fails its integrity check is kept all the
    same, named -damaged: a damaged database is when a restore is needed (it refused: an operator tester).
    """
    damaged = None
    try:
        require_database()
        stamp_messaging_database()  # the backup says whose it is (a restore elsewhere is refused)
    except (DatabaseDamaged, SQLAlchemyError) as error:
        if not keep_damaged or sqlite_path() is None or not (isinstance(error, DatabaseDamaged) or is_damaged(error)):
            raise
        damaged = str(error)
    taken_at = utcnow().replace(microsecond=0)
    suffix = "sqlite3" if sqlite_path() is not None else "dump"
    if suffix == "dump" and engine_name() != "postgresql":
        raise OperationFailed(f"Backups of a {engine_name()} messaging database aren't supported.")
    target, created_folder = _backup_target(out, taken_at, suffix, prefix)
    partial = partial_file(target.parent, ".messaging-backup-")
    try:
        if suffix == "sqlite3":
            found = _copy_sqlite(sqlite_path(), partial, progress, keep_damaged)
            if found != ["ok"] and not keep_damaged:
                raise OperationFailed(f"The copy of the current messaging database failed its integrity check "
                                      f"({found[0]}): the database is damaged, and nothing was kept; stop the app and "
                                      "restore a backup (`./wb messaging restore PATH`).")
            if found != ["ok"]:
                damaged = found[0]
                target, _ = _backup_target(out, taken_at, suffix, prefix, DAMAGED)
        else:
            postgres.dump(partial)
        digest = file_sha256(partial)
        _place_without_overwriting(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    _write_checksum(target, digest)
    result = Backup(path=target, taken_at=taken_at, sha256=digest, size=target.stat().st_size,
                    created_folder=created_folder, damaged=damaged)
    if prefix == BACKUP:
        _record_last_backup(result)
    if keep:
        result.removed = _rotate(target.parent, keep)
    log.info("messaging backup written", extra={"event": "messaging.backup", "path": str(target), "size": result.size})
    return result


def _backup_target(out, taken_at: datetime, suffix: str, prefix: str, mark: str = "") -> tuple[Path, Path | None]:
    """Where this backup goes (the default folder and name, a folder, or an exact file name), and
    the folder --out named when it had to be made."""
    names_a_folder = bool(out) and str(out).endswith(("/", os.sep))  # Path() would drop the trailing slash
    out = Path(out) if out else None
    if out is None or out.is_dir() or names_a_folder:
        folder, name = out or backup_folder(), None
    else:
        folder, name = out.parent, out.name
    created = folder if out is not None and not folder.exists() else None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise OperationFailed(f"Can't write a backup to {folder}: part of that path is a file, not a folder.") from None
    except OSError as error:
        raise OperationFailed(f"Can't write a backup to {folder}: {error.strerror or error}.") from None
    if name is not None:
        target = folder / name
        if target.exists():
            raise OperationFailed(f"{target} already exists; choose another name (nothing was overwritten).")
        return target, created
    stamp = taken_at.strftime(STAMP)
    target, counter = folder / f"{prefix}-{stamp}{mark}.{suffix}", 1
    while target.exists():
        counter += 1
        target = folder / f"{prefix}-{stamp}-{counter}{mark}.{suffix}"
    return target, created


def partial_file(folder: Path, prefix: str) -> Path:
    """An empty temporary file in folder (same file system, so the final move is atomic)."""
    try:
        handle, name = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".partial")
    except OSError as error:
        raise OperationFailed(f"Can't write to {folder}: {error.strerror or error}.") from None
    os.close(handle)
    return Path(name)


def _copy_sqlite(source_path: Path, destination: Path, progress=None, keep_damaged: bool = False) -> list[str]:
    """SQLite's online backup API from one pinned snapshot, then an integrity check of the copy; returns
    what the check found (["ok"]). With keep_damaged, a database too damaged to copy page by page is
    copied as a file (its write-ahead log folded in first, when SQLite can)."""
    source = sqlite3.connect(f"{source_path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    target = sqlite3.connect(destination)
    try:
        # An open read transaction pins one snapshot for every step: concurrent
        # writers (WAL) neither block the copy nor make it restart.
        source.execute("BEGIN")
        source.execute("SELECT count(*) FROM sqlite_master").fetchone()

        def report(_status, remaining, total):
            if progress is not None:
                progress(total - remaining, total)

        source.backup(target, pages=PAGES_PER_STEP, progress=report)
        source.rollback()
    except sqlite3.Error as error:
        if is_damaged(error) and not keep_damaged:
            raise OperationFailed(damaged_line(str(error), "; no backup was written")) from None
        if not keep_damaged or not is_damaged(error):
            raise OperationFailed(f"The backup of {source_path} failed: {error}.") from None
        source.close()
        target.close()
        _copy_whole_file(source_path, destination)
        return [str(error)]
    finally:
        source.close()
    try:
        target.execute("PRAGMA journal_mode=DELETE")  # the copy is one self-contained file
        return integrity_findings(target.execute("PRAGMA integrity_check").fetchall())
    except sqlite3.Error as error:  # too damaged to check: the copy is as damaged as its source
        return [str(error)]
    finally:
        target.close()


def integrity_findings(rows) -> list[str]:
    """PRAGMA integrity_check's (or quick_check's) rows as one line each (["ok"] when sound): a row can
    hold several lines, under a "*** in database main ***" heading."""
    lines = [line.strip() for row in rows for line in str(row[0]).splitlines()]
    return [line for line in lines if line and not line.startswith("***")] or ["ok"]


def _copy_whole_file(source_path: Path, destination: Path) -> None:
    """The damaged file as it is, byte for byte (its log folded in first where SQLite can), when
    SQLite can't copy it page by page."""
    try:
        with closing(sqlite3.connect(source_path, timeout=10)) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error:
        pass  # too damaged to fold: the file alone is what is left
    shutil.copyfile(source_path, destination)


def file_sha256(path: Path) -> str:
    """The file's SHA-256 as hex, read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _place_without_overwriting(partial: Path, target: Path) -> None:
    """Give the finished file its name; fails rather than replace a file that appeared meanwhile."""
    try:
        os.link(partial, target)
    except FileExistsError:
        raise OperationFailed(f"{target} already exists; nothing was overwritten.") from None
    except OSError as error:
        if target.exists():  # a file system without hard links: a plain move, still never over a file
            raise OperationFailed(f"{target} already exists; nothing was overwritten.") from None
        try:
            os.replace(partial, target)
        except OSError:
            raise OperationFailed(f"Can't write a backup to {target}: {error.strerror or error}.") from None


def _write_checksum(target: Path, digest: str) -> None:
    partial = partial_file(target.parent, ".messaging-checksum-")
    partial.write_text(f"{digest}  {target.name}\n")
    os.replace(partial, checksum_path(target))


def _record_last_backup(result: Backup) -> None:
    _write_record({"path": str(result.path.resolve()), "taken_at": result.taken_at.isoformat(), "sha256": result.sha256})


def _rotate(folder: Path, keep: int) -> list[Path]:
    """Remove the oldest backups in folder beyond the newest `keep`, with their checksums (never a
    restore's pre-restore copy: list_backups leaves those out)."""
    backups = list_backups(folder)
    removed = []
    for old in backups[: max(0, len(backups) - keep)]:
        old.path.unlink(missing_ok=True)
        old.checksum_path.unlink(missing_ok=True)
        removed.append(old.path)
    return removed
