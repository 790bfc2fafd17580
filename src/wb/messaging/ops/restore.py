"""Restoring the messaging database from a backup: check it, swap it in, keep the replaced one, reconcile."""
from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import sqlite3
import struct
import sys
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from ...extensions import db
from ...models import User
from .. import live
from ..reconcile import reconcile
from . import postgres
from ...models import utcnow
from .backup import (PRE_RESTORE, STAMP, backup, backup_folder, checksum_path, file_sha256, partial_file,
                     record_restored)
from ..models import MessagingCommunity
from .database import TABLES, OperationFailed, ensure_schema, is_damaged, messaging_engine, sqlite_path
from .identity import community_id

log = logging.getLogger("wb.messaging.operations")

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


@dataclass
class CheckedBackup:
    path: Path
    sha256: str
    conversations: int | None = None
    messages: int | None = None
    summary: str | None = None  # PostgreSQL: which database the dump is of, and when it was taken


@dataclass
class Restored:
    backup: CheckedBackup
    kept: Path | None
    changes: list[str]
    rewiped: int = 0  # messages whose text was erased after the backup was taken, wiped again
    kept_damaged: str | None = None  # the replaced database was damaged: what its copy's check found
    replaced_empty: bool = False  # the replaced database had no tables (or no bytes): nothing to keep
    kept_wal: Path | None = None  # the missing database's WAL, left behind: kept, it may hold the last messages


def check_backup(path) -> CheckedBackup:
    """A backup that matches its checksum, passes an integrity check and is this community's, or OperationFailed."""
    if not str(path).strip():  # Path("") is ".": "Error: . doesn't exist or isn't a file" (an operator tester)
        raise OperationFailed("The backup's path is empty: name the backup file to restore, e.g. "
                              "instance/backups/messaging-<UTC time>.sqlite3.")
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
        if head == SQLITE_MAGIC:  # the other engine's backup: say so (an operator tester)
            raise OperationFailed(f"{path} is a backup of a SQLite messaging database, and this instance's is "
                                  "PostgreSQL: restore it where WB_MESSAGING_DATABASE_URL is a SQLite file.")
        if not head.startswith(PG_DUMP_MAGIC):
            raise OperationFailed(f"{path} isn't a pg_dump custom-format file.")
        summary = postgres.check_dump(path)
        _refuse_unless_ours(path, _dump_contents(path))
        return CheckedBackup(path=path, sha256=actual, summary=summary)
    if head.startswith(PG_DUMP_MAGIC):
        raise OperationFailed(f"{path} is a backup of a PostgreSQL messaging database, and this instance's is "
                              "SQLite: restore it where WB_MESSAGING_DATABASE_URL is that PostgreSQL database.")
    if head != SQLITE_MAGIC:
        raise OperationFailed(f"{path} isn't a SQLite database.")
    conversations, messages, contents = _check_sqlite_file(path)
    _refuse_unless_ours(path, contents)
    return CheckedBackup(path=path, sha256=actual, conversations=conversations, messages=messages)


@dataclass
class Contents:
    """What a backup says about whose it is, and whether its messages' senders fit their conversations."""

    community_id: str | None  # None: taken before databases carried one
    member_ids: set[int]
    misattributed: list[int]  # ids of messages whose sender isn't one of their conversation's two members


def _expected_checksum(path: Path) -> str:
    sums = checksum_path(path)
    try:
        expected = sums.read_text().split()[0].lower()
    except (OSError, IndexError):
        raise OperationFailed(f"No readable checksum file {sums.name} beside {path}; refusing to restore it.") from None
    if not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise OperationFailed(f"{sums} isn't a SHA-256 checksum file; refusing to restore {path.name}.")
    return expected


# A message whose sender is neither member of its conversation (a hand-edited or damaged backup): the
# page would label it as the other member's (an outside tester's own message read as her partner's).
MISATTRIBUTED = """SELECT m.id FROM messages m JOIN conversations c ON c.id = m.conversation_id
                   WHERE m.sender_id <> c.user_low_id AND m.sender_id <> c.user_high_id ORDER BY m.id"""


def _check_sqlite_file(path: Path) -> tuple[int, int, Contents]:
    """Integrity check, counts and contents of a SQLite backup, opened read-only and untouched."""
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
            community = (connection.execute(f"SELECT community_id FROM {MessagingCommunity.__tablename__}").fetchone()
                         if MessagingCommunity.__tablename__ in tables else None)
            member_ids = {row[0] for row in connection.execute(
                "SELECT user_low_id FROM conversations UNION SELECT user_high_id FROM conversations")}
            misattributed = [row[0] for row in connection.execute(MISATTRIBUTED)]
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise OperationFailed(f"{path} is damaged or not a SQLite database ({error}); refusing to restore it.") from None
    return conversations, messages, Contents(community[0] if community else None, member_ids, misattributed)


def _dump_contents(path: Path) -> Contents:
    """The same of a pg_dump file, read from the rows pg_restore writes out of it (nothing is restored)."""
    community = [row[0] for row in postgres.dump_rows(path, MessagingCommunity.__tablename__, ("community_id",))]
    pairs = {int(conversation_id): {int(low), int(high)} for conversation_id, low, high in
             postgres.dump_rows(path, "conversations", ("id", "user_low_id", "user_high_id"))}
    misattributed = sorted(int(message_id) for message_id, conversation_id, sender_id in
                           postgres.dump_rows(path, "messages", ("id", "conversation_id", "sender_id"))
                           if int(sender_id) not in pairs.get(int(conversation_id), (int(sender_id),)))
    return Contents(community[0] if community else None, set().union(*pairs.values()), misattributed)


def _refuse_unless_ours(path: Path, contents: Contents) -> None:
    """Refuse another community's backup (by the id both databases carry; a backup from before they
    carried one, by the members its conversations name), and one whose messages name a sender who
    isn't in their conversation."""
    ours = community_id()
    if contents.community_id is not None and contents.community_id != ours:
        raise OperationFailed(f"{path} is another community's backup (community id {contents.community_id}; "
                              f"this community's is {ours}); refusing to restore it.")
    _refuse_strangers(path, contents.member_ids)
    if contents.misattributed:
        shown = ", ".join(str(message_id) for message_id in contents.misattributed[:5])
        more = ", ..." if len(contents.misattributed) > 5 else ""
        raise OperationFailed(
            f"{path} holds {len(contents.misattributed):,} message(s) whose sender isn't one of their conversation's "
            f"two members (message ids {shown}{more}): each would show as the other member's; refusing to restore it.")


def _refuse_strangers(path: Path, member_ids: set[int]) -> None:
    """A backup whose conversations name members this community doesn't have is another
    community's (or from before a reset): its metadata could never be reconciled here."""
    known = set(db.session.scalars(select(User.id)))
    db.session.commit()  # end the read
    strangers = member_ids - known
    if strangers:
        raise OperationFailed(
            f"{path} holds conversations of {len(strangers):,} member(s) this community doesn't have "
            "(it is another instance's backup?); refusing to restore it.")


def restore(checked: CheckedBackup) -> Restored:
    """Swap a checked backup in for the messaging database, keep the replaced one, reconcile metadata."""
    from ...people.leaving import erase_sent_text, text_erased_members

    refuse_while_in_use()  # asked before the operator's yes too; asked again, as it may have changed since
    handed_out = _ids_handed_out()
    # The current data is kept in backups/ as pre-restore-<time>, which `backup --keep` never rotates
    # away: it may hold the only copy of messages sent since the backup was taken. verify notes each
    # one left, and an erasure says they keep its text, until the operator deletes them.
    kept_damaged, replaced_empty, kept_wal = None, False, None
    if sqlite_path() is None:
        _refuse_other_sessions()
        kept = backup(prefix=PRE_RESTORE).path
        postgres.restore_dump(checked.path)
    else:
        # An empty file (no bytes, or no tables) holds nothing to keep: its copy was refused as having
        # "no messaging tables; restore a backup", the very command being run (an operator tester).
        replaced_empty = sqlite_path().exists() and _is_empty(sqlite_path())
        copy = (backup(prefix=PRE_RESTORE, keep_damaged=True)
                if sqlite_path().exists() and not replaced_empty else None)
        kept, kept_damaged = (copy.path, copy.damaged) if copy is not None else (None, None)
        kept_wal = _keep_orphan_wal(sqlite_path()) if not sqlite_path().exists() else None
        _swap_sqlite_file(checked, damaged=kept_damaged is not None)
    messaging_engine().dispose()
    ensure_schema()  # an older backup is brought up to the current schema
    _never_hand_out_again(handed_out)
    # A backup taken before a member's text was erased still holds it: erased stays erased.
    rewiped = sum(erase_sent_text(member_id) for member_id in text_erased_members())
    changes = reconcile()
    # Tabs left open across the restore showed messages it took away beside new ones (an outside
    # operator tester): once the server is back, their live channel hears this and draws the page again.
    live.record_for_everyone("restored")
    db.session.commit()
    record_restored(checked.path)
    log.info("messaging database restored", extra={"event": "messaging.restore", "path": str(checked.path),
                                                   "kept": str(kept) if kept else None, "rewiped": rewiped,
                                                   "kept_wal": str(kept_wal) if kept_wal else None})
    return Restored(backup=checked, kept=kept, changes=changes, rewiped=rewiped, kept_damaged=kept_damaged,
                    replaced_empty=replaced_empty, kept_wal=kept_wal)


def _keep_orphan_wal(target: Path) -> Path | None:
    """The WAL (and shared-memory index) a missing database file left beside its path, moved into
    backups/ as pre-restore-<time>.sqlite3-wal (-shm): it may hold the last messages written before
    the file was lost, and the swap used to delete it without a word (an operator tester). None when
    there is no WAL, or an empty one (nothing in it to keep; the swap removes it)."""
    wal = target.with_name(target.name + "-wal")
    if not wal.is_file() or wal.stat().st_size == 0:
        return None
    folder = backup_folder()
    folder.mkdir(parents=True, exist_ok=True)
    base, counter = f"{PRE_RESTORE}-{utcnow().strftime(STAMP)}", 1
    kept = folder / f"{base}.sqlite3-wal"
    while kept.exists() or kept.with_name(kept.name[:-len("-wal")]).exists():
        counter += 1
        kept = folder / f"{base}-{counter}.sqlite3-wal"
    for suffix in ("-wal", "-shm"):
        source = target.with_name(target.name + suffix)
        if source.is_file():
            shutil.move(source, kept.with_name(kept.name[:-len("-wal")] + suffix))
    return kept


def start_afresh() -> tuple[bool, list[str]]:
    """`messaging init --empty`: create the schema even though the main database records conversations
    (their messages are lost), then make the metadata agree with it as a restore does. Left as they
    were, the lost conversations stayed in the inboxes, "No messages yet", and a new message's id could
    be one a client had already seen (an operator tester). Returns (created, reconcile's changes)."""
    handed_out = _ids_handed_out()
    created = ensure_schema()
    _never_hand_out_again(handed_out)
    changes = reconcile()
    live.record_for_everyone("restored")  # open tabs draw their page again
    db.session.commit()
    return created, changes


def _is_empty(path: Path) -> bool:
    """The SQLite file has no tables at all (a file of no bytes is an empty database); False when
    SQLite can't read it (a damaged file's copy is kept)."""
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)) as connection:
            return connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    except sqlite3.Error:
        return False


def refuse_while_in_use() -> None:
    """OperationFailed while another process (SQLite) or session (PostgreSQL) has the messaging database
    open: what it wrote next would be lost. This process lets go of its own connections first."""
    db.session.remove()  # no open transaction may hold the old database
    messaging_engine().dispose()
    if sqlite_path() is None:
        _refuse_other_sessions()
    else:
        _refuse_other_processes()


def _ids_handed_out() -> dict[str, int]:
    """The highest conversation and message ids this instance has handed out, as far as the database
    about to be replaced (if it still answers) and the main database's metadata tell."""
    from ..models import Conversation, ConversationMembership, LiveEvent, Message, Report

    known = {
        "conversations": [ConversationMembership.conversation_id, LiveEvent.conversation_id, Report.conversation_id],
        "messages": [ConversationMembership.last_message_id, ConversationMembership.last_read_message_id,
                     ConversationMembership.seen_message_id, LiveEvent.message_id],
    }
    highest = {table: max(db.session.scalar(select(func.max(column))) or 0 for column in columns)
               for table, columns in known.items()}
    db.session.commit()  # end the read
    if sqlite_path() is not None and not sqlite_path().exists():
        return highest  # connecting would create it
    try:
        with messaging_engine().connect() as connection:
            for table, model in (("conversations", Conversation), ("messages", Message)):
                highest[table] = max(highest[table], connection.scalar(select(func.max(model.id))) or 0)
            if sqlite_path() is not None and connection.scalar(text(
                    "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'")):
                counted = connection.scalar(text("SELECT max(seq) FROM sqlite_sequence WHERE name = 'messages'"))
                highest["messages"] = max(highest["messages"], counted or 0)
    except SQLAlchemyError:
        pass  # damaged or gone (why it is being restored): the metadata alone tells
    finally:
        messaging_engine().dispose()
    return highest


def _never_hand_out_again(highest: dict[str, int]) -> None:
    """Let a new row's id come after every id handed out before the restore: a client that saw a lost
    message's id (`?after=<id>`) would otherwise skip the new message that took it. PostgreSQL moves
    its sequences; SQLite's AUTOINCREMENT counter covers messages (conversations keep SQLite's own
    rule, the highest id plus one: see migration e6c2a8f4b1d3)."""
    with messaging_engine().begin() as connection:
        for table, floor in highest.items():
            if not floor:
                continue
            if sqlite_path() is None:
                connection.execute(text(
                    "SELECT setval(pg_get_serial_sequence(:table, 'id'), :floor) WHERE :floor > "
                    "COALESCE(pg_sequence_last_value(pg_get_serial_sequence(:table, 'id')), 0)"),
                    {"table": table, "floor": floor})
            elif table == "messages":
                connection.execute(text("UPDATE sqlite_sequence SET seq = :floor WHERE name = :table AND seq < :floor"),
                                   {"table": table, "floor": floor})
                connection.execute(text("INSERT INTO sqlite_sequence (name, seq) SELECT :table, :floor "
                                        "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = :table)"),
                                   {"table": table, "floor": floor})
    messaging_engine().dispose()


SESSION_CHECKS, SESSION_CHECK_PAUSE = 10, 0.1


def _refuse_other_sessions() -> None:
    """PostgreSQL: refuse while anyone else (the app's workers, a psql) is connected to the messaging
    database: what they wrote between the dump of the current data and the restore would be lost."""
    # A connection just closed (this process's own pool, disposed a moment ago; a pg_dump that has
    # finished) leaves its server process listed until it has exited: asked again for up to a
    # second, only sessions that stay count (a full CI run was refused by its own closed connection).
    with messaging_engine().connect() as connection:
        for _ in range(SESSION_CHECKS):
            others = connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'")).scalar()
            if not others:
                break
            connection.rollback()  # a transaction sees one snapshot of pg_stat_activity: the next look is fresh
            time.sleep(SESSION_CHECK_PAUSE)
    messaging_engine().dispose()
    if others:
        raise OperationFailed(f"{others} other session(s) are connected to the messaging database; stop the app "
                              "(and any psql) and try again (nothing was replaced).")


def _refuse_other_processes() -> None:
    """SQLite: refuse while another process (the app's workers, a `./wb shell`) has the file open:
    what it wrote next would go to the replaced file's log and be lost."""
    target = sqlite_path()
    if not target.parent.is_dir():
        raise OperationFailed(f"The messaging database's folder {target.parent} doesn't exist.")
    holder = _process_holding(target)
    if holder is not None:
        raise OperationFailed(f"{target} is open in another process (pid {holder}): stop the app (and any "
                              "`./wb shell`) and try again (nothing was replaced).")


def _swap_sqlite_file(checked: CheckedBackup, damaged: bool = False) -> None:
    target = sqlite_path()
    partial = partial_file(target.parent, ".messaging-restore-")
    try:
        shutil.copyfile(checked.path, partial)
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        if file_sha256(partial) != checked.sha256:
            raise OperationFailed(f"Copying {checked.path} to {target.parent} changed it; nothing was replaced.")
        if target.exists():
            _fold_wal(target, damaged)
        # The old file's WAL and shared-memory index must not be read against the new file;
        # the checkpoint above left nothing in them.
        for suffix in ("-wal", "-shm"):
            target.with_name(target.name + suffix).unlink(missing_ok=True)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


# Every connection to a WAL database holds a shared lock on byte 128 of its -shm file (the wal-index's
# "DMS" lock in SQLite's unix locking protocol, https://sqlite.org/walformat.html) for as long as it
# is open, whether or not it is in a transaction. Asking whether a write lock there would conflict
# (F_GETLK takes nothing) names a process that has the database open. Linux's struct flock.
WAL_INDEX_DMS_BYTE = 128
FLOCK = "hhqqi"  # l_type, l_whence, l_start, l_len, l_pid


def _process_holding(target: Path) -> int | None:
    """The pid of another process that has this SQLite database open, or None (Linux; elsewhere None)."""
    shm = target.with_name(target.name + "-shm")
    if not sys.platform.startswith("linux") or not shm.exists():
        return None  # no -shm: no connection has the database open
    try:
        fd = os.open(shm, os.O_RDONLY)
    except OSError:
        return None
    try:
        asked = struct.pack(FLOCK, fcntl.F_WRLCK, os.SEEK_SET, WAL_INDEX_DMS_BYTE, 1, 0)
        kind, _whence, _start, _length, pid = struct.unpack(FLOCK, fcntl.fcntl(fd, fcntl.F_GETLK, asked))
    finally:
        os.close(fd)
    return None if kind == fcntl.F_UNLCK else pid


def _fold_wal(target: Path, damaged: bool = False) -> None:
    """Checkpoint the live database so nothing of it is left in its log; refuse while it is busy.
    A damaged one (its copy already kept) that SQLite can't open at all has no log it could fold."""
    connection = sqlite3.connect(target, timeout=10)
    try:
        busy, _log, _done = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.Error as error:
        if damaged and is_damaged(error):  # page 1 overwritten, or garbage (an operator re-check tester)
            return
        raise OperationFailed(f"Can't checkpoint {target} before replacing it: {error}; nothing was replaced.") from None
    finally:
        connection.close()
    if busy:
        raise OperationFailed(f"{target} is in use; stop the app and try again (nothing was replaced).")
