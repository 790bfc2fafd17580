"""Verify: message text only in the messaging database, metadata in agreement, one conversation per pair."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from ...database import engine_for
from ...extensions import db
from ...models import User
from ..reconcile import reconcile
from ..models import Message
from .backup import PRE_RESTORE, backup_folder, integrity_findings, list_backups
from .database import damaged_line, error_reason, messaging_engine, require_database, sqlite_path

# Texts shorter than this ("ok", "thanks!") are too common to prove a leak.
MIN_COMPARED_LENGTH = 20
# A message's start this long is a copy cut short (a preview column of limited length: an outside
# tester's 32 characters in a VARCHAR(32) passed), looked for as the whole text is.
CUT_COPY_LENGTH = 32
REPORT_LIMIT = 50
# What members write themselves, where they may put the words of a message by their own choice (a
# comment quoting it, a report note): noted, with the row, not a failure. Text anywhere else in the
# main database (a notice, an audit line, metadata) is the app's own doing: a leak.
MEMBERS_OWN_WRITING = {("users", "display_name"), ("users", "bio"), ("help_requests", "title"),
                       ("help_requests", "body"), ("comments", "body"), ("reports", "note"), ("circles", "name"),
                       ("api_tokens", "name")}


@dataclass
class Verification:
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # worth knowing, not a failure

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(batch_size: int = 5000) -> Verification:
    """Is message text only in the messaging database, metadata in agreement, one conversation per pair?"""
    require_database()
    report = Verification()
    if not _check_storage(report):
        return report  # the other checks would read damaged pages: a restore comes first
    _check_no_text_outside(report, batch_size)
    _check_metadata(report)
    _check_pair_constraint(report)
    _check_senders(report)
    _check_community(report)
    _check_erased_text(report)
    _check_no_copies_beside(report)
    _note_pre_restore_copies(report)
    return report


def _check_storage(report: Verification) -> bool:
    """SQLite: PRAGMA quick_check over every page of the file (a page written over where the app
    rarely reads passed stats, verify and the admin page, and failed only a backup: an operator
    tester). False when it found damage. A PostgreSQL server checks its own pages."""
    if sqlite_path() is None:
        return True
    try:
        with messaging_engine().connect() as connection:
            findings = integrity_findings(connection.exec_driver_sql("PRAGMA quick_check").fetchall())
    except SQLAlchemyError as error:
        findings = [error_reason(error)]
    if findings == ["ok"]:
        report.checked.append("storage: SQLite's quick_check read every page and found no damage")
        return True
    more = f"; {len(findings) - 1:,} more finding(s)" if len(findings) > 1 else ""
    report.problems.append(damaged_line(f"quick_check: {findings[0]}{more}"))
    return False


def _main_text_columns() -> list[tuple[str, str, bool]]:
    """Every text column of every main-database table, as the database itself describes them, and
    whether its table has an id column (a problem then names the row)."""
    inspector = inspect(engine_for(None))
    found = []
    for table in inspector.get_table_names():
        columns = inspector.get_columns(table)
        has_id = any(column["name"] == "id" for column in columns)
        found += [(table, column["name"], has_id) for column in columns if isinstance(column["type"], sa.String)]
    return found


# How many message texts are looked for in one pass over the main database's text (each pass reads
# every main value once, position by position): about 20 MB of memory for the bodies held.
TEXTS_PER_PASS = 100_000


def _check_no_text_outside(report: Verification, batch_size: int) -> None:
    """Every message body of MIN_COMPARED_LENGTH+ characters looked for anywhere inside the main
    database's text values: whole ("the same text") or within a longer one (a log line, a quote, a
    concatenated field; an outside tester's copy inside an audit value passed before). The main
    values are held; the bodies come in passes, each indexed by its first MIN_COMPARED_LENGTH
    characters, and every main value's every position is looked up in that index."""
    columns = _main_text_columns()
    values: list[tuple[str, int, int | None]] = []  # (text, column index, row id if the table has ids)
    with engine_for(None).connect() as connection:
        for index, (table_name, column_name, has_id) in enumerate(columns):
            column = sa.column(column_name)
            query = select(column, sa.column("id") if has_id else sa.null()).select_from(sa.table(table_name)).where(
                column.is_not(None), func.length(column) >= MIN_COMPARED_LENGTH
            )
            for value, row_id in connection.execution_options(yield_per=batch_size).execute(query):
                values.append((_comparable(value), index, row_id))
    tables = len({table for table, _column, _has_id in columns})
    report.checked.append(
        f"message text: every message body of {MIN_COMPARED_LENGTH}+ characters (and the first {CUT_COPY_LENGTH} of "
        f"longer ones), in any case, looked for inside every value of {len(columns)} text columns in {tables} "
        "main-database tables"
    )
    if not values:
        return  # nothing in the main database is long enough to hold a copied message
    found: dict[int, set[tuple[int, int | None]]] = {}  # message id -> where its text is
    for texts in _bodies_by_start(batch_size):
        for value, index, row_id in values:
            for start in range(len(value) - MIN_COMPARED_LENGTH + 1):
                for message_id, body in texts.get(value[start:start + MIN_COMPARED_LENGTH], ()):
                    if value.startswith(body, start) or value.startswith(body[:CUT_COPY_LENGTH], start) \
                            and len(body) > CUT_COPY_LENGTH:
                        found.setdefault(message_id, set()).add((index, row_id))
    leaks, copies = [], []
    for message_id in sorted(found):
        where = found[message_id]

        def place(i, row_id):  # the row too, where the table has ids (an operator needs it to mend it)
            return f"{columns[i][0]}.{columns[i][1]}" + ("" if row_id is None else f" row {row_id}")

        own = {(i, row_id) for i, row_id in where if columns[i][:2] in MEMBERS_OWN_WRITING}
        apps = sorted({place(i, row_id) for i, row_id in where - own})
        members = sorted(place(i, row_id) for i, row_id in own)
        if apps:
            leaks.append(f"text of message {message_id} also appears in the main database: {', '.join(apps)}")
        if members:
            copies.append(f"text of message {message_id} also appears in what a member wrote: {', '.join(members)}"
                          " (a member put it there; not the app's doing)")
    report.problems += _limited(leaks)
    report.notes += _limited(copies)


def _comparable(text) -> str:
    """A text as copies of a message are looked for in it: case folded ("HI ALICE" is a copy of
    "Hi Alice"), and stored bytes read as UTF-8 (a copy cast to a blob passed: an outside tester)."""
    if isinstance(text, (bytes, memoryview)):
        text = bytes(text).decode("utf-8", "replace")
    return text.casefold()


def _bodies_by_start(batch_size: int):
    """The message bodies (stripped, MIN_COMPARED_LENGTH characters or more, as _comparable makes
    them), TEXTS_PER_PASS at a time, each pass as {first characters: [(id, body)]}. Longer ones than any
    main value too: their first CUT_COPY_LENGTH characters may be there."""
    length = func.length(Message.body)
    texts: dict[str, list[tuple[int, str]]] = {}
    held, last_id = 0, 0
    while True:
        with messaging_engine().connect() as connection:
            rows = connection.execute(
                select(Message.id, Message.body)
                .where(Message.id > last_id, length >= MIN_COMPARED_LENGTH)
                .order_by(Message.id).limit(batch_size)
            ).all()
        for message_id, body in rows:
            body = _comparable(body.strip())
            if len(body) >= MIN_COMPARED_LENGTH:
                texts.setdefault(body[:MIN_COMPARED_LENGTH], []).append((message_id, body))
                held += 1
        if held >= TEXTS_PER_PASS or (not rows and texts):
            yield texts
            texts, held = {}, 0
        if not rows:
            return
        last_id = rows[-1][0]


def _check_metadata(report: Verification) -> None:
    changes = reconcile(dry_run=True)
    db.session.rollback()
    report.problems += _limited([f"metadata disagrees: {change}" for change in changes])
    report.checked.append("metadata: memberships, unread counts and latest messages against the messaging database")


def _check_pair_constraint(report: Verification) -> None:
    inspector = inspect(messaging_engine())
    pair = {"user_low_id", "user_high_id"}
    unique_sets = [set(c["column_names"]) for c in inspector.get_unique_constraints("conversations")]
    unique_sets += [set(i["column_names"]) for i in inspector.get_indexes("conversations") if i.get("unique")]
    if pair not in unique_sets:
        report.problems.append(
            "constraint missing: conversations has no UNIQUE(user_low_id, user_high_id); one conversation per pair "
            "is not enforced (run `./wb messaging init`, or restore a backup with the constraint)"
        )
    report.checked.append("constraint: one conversation per pair, UNIQUE(user_low_id, user_high_id)")


def _check_senders(report: Verification) -> None:
    """Every message's sender is one of its conversation's two members: one who isn't would be shown
    as the other member (a restored backup's did, to its own writer)."""
    from ..models import Conversation

    with messaging_engine().connect() as connection:
        rows = connection.execute(
            select(Message.id, Message.conversation_id, Message.sender_id)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Message.sender_id != Conversation.user_low_id, Message.sender_id != Conversation.user_high_id)
            .order_by(Message.id)
        ).all()
    report.problems += _limited([
        f"message {message_id} in conversation {conversation_id} names member {sender_id} as its sender, who isn't "
        "one of the conversation's two members (the page would show it as the other member's)"
        for message_id, conversation_id, sender_id in rows])
    report.checked.append("senders: every message's sender is one of its conversation's two members")


def _check_community(report: Verification) -> None:
    """The messaging database carries this community's id (another community's would hold its
    members' conversations under our members' ids)."""
    from .identity import carried_community_id, stored_community_id

    ours, carried = stored_community_id(), carried_community_id()
    if carried is None:
        report.notes.append("the messaging database carries no community id yet; `./wb messaging init` writes it")
    elif ours is not None and carried != ours:
        report.problems.append(f"the messaging database is another community's: it carries community id {carried}, "
                               f"and this community's (in the main database) is {ours}")
    report.checked.append("community: the messaging database carries this community's id")


def _check_erased_text(report: Verification) -> None:
    """Members whose sent text was erased (erasure on request, or closing with "erase"): none of it
    remains; and of members erased on request, nothing but ids and times."""
    from ...people.leaving import erasure_leftovers, evidence_kept_in, text_erased_members

    members = text_erased_members()
    left = {}
    if members:
        with messaging_engine().connect() as connection:
            left = dict(connection.execute(
                select(Message.sender_id, func.count()).where(Message.sender_id.in_(members), Message.body != "")
                .group_by(Message.sender_id)
            ).all())
            # What closing kept for a member who had blocked or reported them is no leftover.
            for member_id in list(left):
                kept = evidence_kept_in(member_id)
                if kept:
                    left[member_id] = connection.execute(select(func.count()).where(
                        Message.sender_id == member_id, Message.body != "", Message.conversation_id.not_in(kept))).scalar()
            left = {member_id: count for member_id, count in left.items() if count}
    names = dict(db.session.execute(select(User.id, User.username).where(User.id.in_(left))).all()) if left else {}
    report.problems += _limited([  # the username to type: "erase them again: ./wb members erase" named nobody
        f"member {member_id}'s text was erased, yet {count:,} of their messages still hold text "
        f"(erase them again: `./wb members erase {names.get(member_id, member_id)}`)"
        for member_id, count in sorted(left.items())
    ] + erasure_leftovers())
    report.checked.append(f"erasure: looked for text left of the {len(members)} member(s) whose sent text was erased, "
                          "and for profiles, addresses or tokens of those erased on request")


def _check_no_copies_beside(report: Verification) -> None:
    """SQLite: no copy of the database left beside it by a restore of an earlier version
    (messaging.sqlite3.replaced-<time>): it kept every message it held, an erased member's too,
    where no backup rotation ever removed it. Restores now keep the replaced data in backups/."""
    path = sqlite_path()
    if path is None:
        return
    left = sorted(path.parent.glob(f"{path.name}.replaced-*"))
    report.problems += _limited([
        f"{copy} is a copy of the messaging database an earlier restore left beside it: it keeps the messages it "
        "held (an erased member's too) outside every backup rotation; delete it, or move it into backups/ "
        "if it is still wanted" for copy in left])
    report.checked.append("copies: looked for copies of the messaging database a restore left beside it")


def _note_pre_restore_copies(report: Verification) -> None:
    """The copies restores kept of what they replaced: no problem, but no rotation removes them."""
    report.notes += _limited([
        f"{copy.path} is the copy a restore kept of the database it replaced; `backup --keep` never removes it, "
        "and it keeps what it held (an erased member's text too): delete it once you no longer need it"
        for copy in list_backups(prefix=PRE_RESTORE)] + [
        f"{wal} is the WAL a restore kept of a missing database file; it may hold its last messages (an erased "
        "member's text too): delete it once you no longer need it"
        for wal in sorted(backup_folder().glob(f"{PRE_RESTORE}-*.sqlite3-wal"))])


def _limited(lines: list[str]) -> list[str]:
    if len(lines) <= REPORT_LIMIT:
        return lines
    return lines[:REPORT_LIMIT] + [f"... and {len(lines) - REPORT_LIMIT:,} more like these"]
