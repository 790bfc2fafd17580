"""Operating the messaging database: schema, health figures, backup, restore, verify, retention purge.

Every operation here raises OperationFailed carrying one line an operator can act
on; the CLI turns it into an error and a non-zero exit, the admin page into a
notice. Nothing here ever prints, logs or returns message text.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import func, inspect, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from .. import flags
from ..database import check_database, engine_for, redact_url, upgrade
from ..extensions import db
from ..models import utcnow
from . import reconcile
from .models import Conversation, ConversationMembership, Message
from .policy import FLAG

log = logging.getLogger("wb.messaging.operations")

BIND = "messaging"
TABLES = ("conversations", "messages")
BACKUP_NAME = re.compile(r"^messaging-(\d{8}T\d{6}Z)(?:-(\d+))?\.(sqlite3|dump)$")
STAMP = "%Y%m%dT%H%M%SZ"
LAST_BACKUP_RECORD = "messaging-last-backup.json"
# 1,024 pages is 4 MiB at SQLite's default page size: progress every few MB.
PAGES_PER_STEP = 1024
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
# Texts shorter than this ("ok", "thanks!") are too common to prove a leak.
MIN_COMPARED_LENGTH = 20
REPORT_LIMIT = 50
INSTALL_PG_CLIENT = "install the PostgreSQL client tools (e.g. `apt-get install postgresql-client`) and try again"


class OperationFailed(Exception):
    """An operation that could not be done; str() is one line saying why."""


# --- where the database is ---------------------------------------------------------


def _engine():
    return engine_for(BIND)


def engine_name() -> str:
    return _engine().dialect.name


def sqlite_path() -> Path | None:
    """The messaging database's file, or None when it is not a SQLite file."""
    url = _engine().url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def location() -> str:
    """Where the messaging database is, safe to print (passwords redacted)."""
    path = sqlite_path()
    return str(path) if path is not None else redact_url(_engine().url)


def database_error_line(error: Exception) -> str:
    """One printable line for a driver error, without parameters or passwords."""
    original = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    reason = lines[0] if lines else type(original).__name__
    return f"Can't reach the messaging database at {location()}: {reason}"


def require_database() -> None:
    """Go on only when the messaging database exists, answers, and has its tables."""
    path = sqlite_path()
    if path is not None and not path.is_file():
        # Connecting would silently create an empty file; say what is wrong instead.
        raise OperationFailed(
            f"The messaging database {path} doesn't exist; run `./wb messaging init` or restore a backup."
        )
    try:
        with _engine().connect() as connection:
            connection.execute(text("SELECT 1"))
        present = schema_present()
    except SQLAlchemyError as error:
        raise OperationFailed(database_error_line(error)) from None
    if not present:
        raise OperationFailed(
            f"The messaging database at {location()} has no messaging tables; run `./wb messaging init`."
        )


def schema_present() -> bool:
    """True when the messaging database has its tables."""
    names = set(inspect(_engine()).get_table_names())
    return all(table in names for table in TABLES)


def ensure_schema() -> bool:
    """Create or upgrade the messaging schema; returns True when it had to create it."""
    missing = not schema_present()
    upgrade([BIND])
    return missing


# --- health figures: one function for the admin page and `stats --json` --------------------


def messaging_health() -> dict:
    """Every figure the admin page and `stats --json` show. Counts only: no text, no pairs."""
    cadence = float(current_app.config["MESSAGING_BACKUP_CADENCE_HOURS"])
    figures = {
        "enabled": flags.is_enabled(FLAG),
        "engine": engine_name(),
        "location": location(),
        "reachable": False,
        "error": None,
        "probe_latency_ms": None,
        "size_bytes": None,
        "wal_size_bytes": None,
        "schema_revision": None,
        "conversations": None,
        "messages": None,
        "deleted_messages": None,
        "wiped_messages": None,
        "members_with_unread": None,
        "backup_cadence_hours": cadence,
        **_backup_figures(cadence),
        "generated_at": _iso(utcnow()),
    }
    try:
        require_database()
        figures.update(_storage_figures())
        figures.update(_count_figures())
    except OperationFailed as error:
        figures["error"] = str(error)
    except SQLAlchemyError as error:
        figures["error"] = database_error_line(error)
    return figures


def _storage_figures() -> dict:
    probe = check_database(BIND)
    if not probe["ok"]:
        raise OperationFailed(f"Can't reach the messaging database at {location()}: {probe['error']}")
    figures = {"reachable": True, "probe_latency_ms": probe["latency_ms"], "schema_revision": _schema_revision()}
    path = sqlite_path()
    if path is not None:
        wal = path.with_name(path.name + "-wal")
        figures["size_bytes"] = path.stat().st_size
        figures["wal_size_bytes"] = wal.stat().st_size if wal.exists() else 0
    elif engine_name() == "postgresql":
        with _engine().connect() as connection:
            figures["size_bytes"] = connection.scalar(
                text("SELECT pg_total_relation_size('conversations') + pg_total_relation_size('messages')")
            )
    return figures


def _schema_revision() -> str | None:
    """The messaging database's own Alembic revision."""
    if "alembic_version" not in inspect(_engine()).get_table_names():
        return None
    with _engine().connect() as connection:
        return connection.scalar(text("SELECT version_num FROM alembic_version"))


def _count_figures() -> dict:
    deleted = Message.deleted_at.is_not(None)
    with _engine().connect() as connection:
        figures = {
            "conversations": connection.scalar(select(func.count()).select_from(Conversation)),
            "messages": connection.scalar(select(func.count()).select_from(Message)),
            "deleted_messages": connection.scalar(select(func.count()).select_from(Message).where(deleted)),
            "wiped_messages": connection.scalar(
                select(func.count()).select_from(Message).where(deleted, Message.body == "")
            ),
        }
    figures["members_with_unread"] = db.session.scalar(
        select(func.count(func.distinct(ConversationMembership.user_id))).where(ConversationMembership.unread_count > 0)
    )
    return figures


def _backup_figures(cadence_hours: float) -> dict:
    latest = last_backup()
    if latest is None:
        return {"last_backup": None, "last_backup_at": None, "backup_age_hours": None, "backup_overdue": True}
    age = (utcnow() - latest.taken_at).total_seconds() / 3600
    return {
        "last_backup": str(latest.path),
        "last_backup_at": _iso(latest.taken_at),
        "backup_age_hours": round(age, 2),
        "backup_overdue": age > cadence_hours,
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds") + "Z"


# --- backups ---------------------------------------------------------------------------


@dataclass
class Backup:
    path: Path
    taken_at: datetime
    sha256: str | None = None
    size: int = 0
    removed: list[Path] = field(default_factory=list)

    @property
    def checksum_path(self) -> Path:
        return checksum_path(self.path)


def checksum_path(path: Path) -> Path:
    """The sha256sum-format file written beside a backup."""
    return path.with_name(path.name + ".sha256")


def backup_folder() -> Path:
    return Path(current_app.instance_path) / "backups"


def list_backups(folder: Path | None = None) -> list[Backup]:
    """Backups named messaging-<UTC timestamp> in a folder, oldest first."""
    folder = folder or backup_folder()
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = BACKUP_NAME.match(path.name)
        if match and path.is_file():
            taken_at = datetime.strptime(match.group(1), STAMP)
            found.append((taken_at, int(match.group(2) or 1), Backup(path=path, taken_at=taken_at)))
    return [backup for _at, _n, backup in sorted(found, key=lambda item: item[:2])]


def last_backup() -> Backup | None:
    """The newest backup: in the backups folder, or the last one written elsewhere with --out."""
    candidates = list_backups()[-1:]
    record = Path(current_app.instance_path) / LAST_BACKUP_RECORD
    try:
        data = json.loads(record.read_text())
        if Path(data["path"]).is_file():
            candidates.append(Backup(path=Path(data["path"]), taken_at=datetime.fromisoformat(data["taken_at"])))
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no record, or an unreadable one: the folder scan stands
    return max(candidates, key=lambda backup: backup.taken_at, default=None)


def backup(out=None, keep: int | None = None, progress=None) -> Backup:
    """A consistent, verified copy of the messaging database with a SHA-256 beside it.

    progress(done, total) is called as a SQLite copy advances.
    """
    require_database()
    taken_at = utcnow().replace(microsecond=0)
    suffix = "sqlite3" if sqlite_path() is not None else "dump"
    if suffix == "dump" and engine_name() != "postgresql":
        raise OperationFailed(f"Backups of a {engine_name()} messaging database aren't supported.")
    target = _backup_target(out, taken_at, suffix)
    partial = _partial_file(target.parent, ".messaging-backup-")
    try:
        if suffix == "sqlite3":
            _copy_sqlite(sqlite_path(), partial, progress)
        else:
            _dump_postgres(partial)
        digest = file_sha256(partial)
        _place_without_overwriting(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    _write_checksum(target, digest)
    result = Backup(path=target, taken_at=taken_at, sha256=digest, size=target.stat().st_size)
    _record_last_backup(result)
    if keep:
        result.removed = _rotate(target.parent, keep)
    log.info("messaging backup written", extra={"event": "messaging.backup", "path": str(target), "size": result.size})
    return result


def _backup_target(out, taken_at: datetime, suffix: str) -> Path:
    """Where this backup goes: the default folder and name, a folder, or an exact file name."""
    names_a_folder = bool(out) and str(out).endswith(("/", os.sep))  # Path() would drop the trailing slash
    out = Path(out) if out else None
    if out is None or out.is_dir() or names_a_folder:
        folder, name = out or backup_folder(), None
    else:
        folder, name = out.parent, out.name
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
        return target
    stamp = taken_at.strftime(STAMP)
    target, counter = folder / f"messaging-{stamp}.{suffix}", 1
    while target.exists():
        counter += 1
        target = folder / f"messaging-{stamp}-{counter}.{suffix}"
    return target


def _partial_file(folder: Path, prefix: str) -> Path:
    """An empty temporary file in folder (same file system, so the final move is atomic)."""
    try:
        handle, name = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".partial")
    except OSError as error:
        raise OperationFailed(f"Can't write to {folder}: {error.strerror or error}.") from None
    os.close(handle)
    return Path(name)


def _copy_sqlite(source_path: Path, destination: Path, progress=None) -> None:
    """SQLite's online backup API from one pinned snapshot, then an integrity check of the copy."""
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
        target.execute("PRAGMA journal_mode=DELETE")  # the copy is one self-contained file
        result = [row[0] for row in target.execute("PRAGMA integrity_check").fetchall()]
    except sqlite3.Error as error:
        raise OperationFailed(f"The backup of {source_path} failed: {error}.") from None
    finally:
        source.close()
        target.close()
    if result != ["ok"]:
        raise OperationFailed(f"The copy failed its integrity check ({result[0]}); nothing was kept.")


def _pg_command(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise OperationFailed(f"{name} isn't installed: {INSTALL_PG_CLIENT}.")
    return found


def _pg_connection() -> tuple[str, dict]:
    """A libpq URL for the messaging database, and the environment carrying its password."""
    url = _engine().url
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run_pg(arguments: list[str], env: dict) -> None:
    result = subprocess.run(arguments, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        tool = Path(arguments[0]).name
        raise OperationFailed(f"{tool} failed: {lines[0] if lines else f'exit status {result.returncode}'}")


def _dump_postgres(destination: Path) -> None:
    """pg_dump in custom format, read back with pg_restore --list as its integrity check."""
    pg_dump = _pg_command("pg_dump")
    dsn, env = _pg_connection()
    _run_pg([pg_dump, "--format=custom", "--no-owner", f"--file={destination}", f"--dbname={dsn}"], env)
    _check_dump(destination)


def _check_dump(path: Path) -> None:
    _run_pg([_pg_command("pg_restore"), "--list", str(path)], dict(os.environ))


def file_sha256(path: Path) -> str:
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
    partial = _partial_file(target.parent, ".messaging-checksum-")
    partial.write_text(f"{digest}  {target.name}\n")
    os.replace(partial, checksum_path(target))


def _record_last_backup(result: Backup) -> None:
    record = Path(current_app.instance_path) / LAST_BACKUP_RECORD
    try:
        record.write_text(json.dumps({"path": str(result.path.resolve()), "taken_at": result.taken_at.isoformat(),
                                      "sha256": result.sha256}))
    except OSError:
        log.warning("could not record the last backup", extra={"path": str(record)})


def _rotate(folder: Path, keep: int) -> list[Path]:
    """Remove the oldest backups in folder beyond the newest `keep`, with their checksums."""
    backups = list_backups(folder)
    removed = []
    for old in backups[: max(0, len(backups) - keep)]:
        old.path.unlink(missing_ok=True)
        old.checksum_path.unlink(missing_ok=True)
        removed.append(old.path)
    return removed


# --- restore ------------------------------------------------------------------------------


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
        _check_dump(path)
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
    _engine().dispose()
    if sqlite_path() is None:
        kept = backup().path  # PostgreSQL: the current data, dumped before it is replaced
        _pg_restore(checked.path)
    else:
        kept = _swap_sqlite_file(checked)
    _engine().dispose()
    ensure_schema()  # an older backup is brought up to the current schema
    changes = reconcile.reconcile()
    log.info("messaging database restored", extra={"event": "messaging.restore", "path": str(checked.path),
                                                   "kept": str(kept) if kept else None})
    return Restored(backup=checked, kept=kept, changes=changes)


def _swap_sqlite_file(checked: CheckedBackup) -> Path | None:
    target = sqlite_path()
    if not target.parent.is_dir():
        raise OperationFailed(f"The messaging database's folder {target.parent} doesn't exist.")
    partial = _partial_file(target.parent, ".messaging-restore-")
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


def _pg_restore(path: Path) -> None:
    """All or nothing: pg_restore in one transaction, replacing the messaging tables."""
    pg_restore = _pg_command("pg_restore")
    dsn, env = _pg_connection()
    _run_pg([pg_restore, "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
             f"--dbname={dsn}", str(path)], env)


# --- verify ---------------------------------------------------------------------------------


@dataclass
class Verification:
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(batch_size: int = 5000) -> Verification:
    """Is message text only in the messaging database, metadata in agreement, one conversation per pair?"""
    require_database()
    report = Verification()
    _check_no_text_outside(report, batch_size)
    _check_metadata(report)
    _check_pair_constraint(report)
    return report


def _digest(value: str) -> bytes:
    return hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _main_text_columns() -> list[tuple[str, str]]:
    """Every text column of every main-database table, as the database itself describes them."""
    inspector = inspect(engine_for(None))
    return [
        (table, column["name"])
        for table in inspector.get_table_names()
        for column in inspector.get_columns(table)
        if isinstance(column["type"], sa.String)
    ]


def _check_no_text_outside(report: Verification, batch_size: int) -> None:
    """Hash the main database's long text values, then stream message bodies past that set."""
    columns = _main_text_columns()
    seen: dict[bytes, set[int]] = {}
    lengths: set[int] = set()  # a body of any other length can't equal a main value: no need to hash it
    with engine_for(None).connect() as connection:
        for index, (table_name, column_name) in enumerate(columns):
            column = sa.column(column_name)
            query = select(column).select_from(sa.table(table_name)).where(
                column.is_not(None), func.length(column) >= MIN_COMPARED_LENGTH
            )
            for (value,) in connection.execution_options(yield_per=batch_size).execute(query):
                value = value.strip()
                lengths.add(len(value))
                seen.setdefault(_digest(value), set()).add(index)
    tables = len({table for table, _column in columns})
    report.checked.append(
        f"message text: every message body of {MIN_COMPARED_LENGTH}+ characters against the values of "
        f"{len(columns)} text columns in {tables} main-database tables"
    )
    if not lengths:
        return  # nothing in the main database is long enough to be a copied message
    # Only bodies as long as some main value can equal one: let the database skip the rest.
    length = func.length(Message.body)
    candidates = length.in_(sorted(lengths)) if len(lengths) <= 500 else length >= MIN_COMPARED_LENGTH
    leaks, last_id = [], 0
    while True:
        with _engine().connect() as connection:
            rows = connection.execute(
                select(Message.id, Message.body).where(Message.id > last_id, candidates)
                .order_by(Message.id).limit(batch_size)
            ).all()
        if not rows:
            break
        for message_id, body in rows:
            where = seen.get(_digest(body.strip()))
            if where:
                places = ", ".join(sorted(f"{columns[i][0]}.{columns[i][1]}" for i in where))
                leaks.append(f"text of message {message_id} also appears in the main database: {places}")
        last_id = rows[-1][0]
    report.problems += _limited(leaks)


def _check_metadata(report: Verification) -> None:
    changes = reconcile.reconcile(dry_run=True)
    db.session.rollback()
    report.problems += _limited([f"metadata disagrees: {change}" for change in changes])
    report.checked.append("metadata: memberships, unread counts and latest messages against the messaging database")


def _check_pair_constraint(report: Verification) -> None:
    inspector = inspect(_engine())
    pair = {"user_low_id", "user_high_id"}
    unique_sets = [set(c["column_names"]) for c in inspector.get_unique_constraints("conversations")]
    unique_sets += [set(i["column_names"]) for i in inspector.get_indexes("conversations") if i.get("unique")]
    if pair not in unique_sets:
        report.problems.append(
            "constraint missing: conversations has no UNIQUE(user_low_id, user_high_id); one conversation per pair "
            "is not enforced (run `./wb messaging init`, or restore a backup with the constraint)"
        )
    report.checked.append("constraint: one conversation per pair, UNIQUE(user_low_id, user_high_id)")


def _limited(lines: list[str]) -> list[str]:
    if len(lines) <= REPORT_LIMIT:
        return lines
    return lines[:REPORT_LIMIT] + [f"... and {len(lines) - REPORT_LIMIT:,} more like these"]


# --- retention ------------------------------------------------------------------------------


@dataclass
class Purge:
    cutoff: datetime
    due: int
    wiped: int = 0
    already_wiped: int = 0
    checkpointed: bool = True


def purge_deleted(older_than_days: int, apply: bool = False, batch_size: int = 1000) -> Purge:
    """Count (or, with apply, wipe for good) the text of messages deleted before the cutoff."""
    require_database()
    cutoff = utcnow() - timedelta(days=older_than_days)
    old_deletion = (Message.deleted_at.is_not(None)) & (Message.deleted_at < cutoff)
    engine = _engine()
    with engine.connect() as connection:
        due = connection.scalar(select(func.count()).select_from(Message).where(old_deletion, Message.body != ""))
        already = connection.scalar(select(func.count()).select_from(Message).where(old_deletion, Message.body == ""))
    result = Purge(cutoff=cutoff, due=due, already_wiped=already)
    if apply and due:
        result.wiped = _wipe(old_deletion & (Message.body != ""), batch_size)
        result.checkpointed = _checkpoint_after_wipe()
        log.info("deleted message text purged", extra={"event": "messaging.purge", "count": result.wiped,
                                                       "cutoff": _iso(cutoff)})
    return result


def _wipe(condition, batch_size: int) -> int:
    """Blank the bodies in batches, so a million rows never sit in one transaction."""
    wiped = 0
    sqlite = sqlite_path() is not None
    while True:
        with _engine().begin() as connection:
            if sqlite:
                # Overwrite freed bytes instead of leaving the old text in the file.
                connection.exec_driver_sql("PRAGMA secure_delete=ON")
            ids = list(connection.scalars(select(Message.id).where(condition).order_by(Message.id).limit(batch_size)))
            if ids:
                connection.execute(update(Message).where(Message.id.in_(ids)).values(body=""))
            if sqlite:
                connection.exec_driver_sql("PRAGMA secure_delete=OFF")
        if not ids:
            return wiped
        wiped += len(ids)


def _checkpoint_after_wipe() -> bool:
    """SQLite: move the wiped pages out of the WAL into the file; False when a reader held it back."""
    if sqlite_path() is None:
        return True
    with _engine().connect() as connection:
        busy = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    return not busy


def describe_size(size: int | None) -> str:
    """1536 -> '1.5 KiB'."""
    if size is None:
        return "unknown"
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"
