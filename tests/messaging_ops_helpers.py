"""Helpers the messaging operations tests share: the CLI runner, one-line errors, members and messages.

The fixtures built on them (sqlite_app, pair, some_messages) are in conftest.py.
"""
import hashlib
import os

import pytest
from sqlalchemy import select

from wb.extensions import db
from wb.messaging import writes
from wb.messaging.models import Message
from wb.messaging.ops.backup import last_backup
from wb.messaging.ops.database import sqlite_path
from wb.models import User

SECRET_BODY = "Meet me by the old oak at seven, bring the spare keys please"
PG_ONLY = pytest.mark.skipif(
    not (os.environ.get("WB_TEST_MESSAGING_DATABASE_URL") or "").startswith("postgres"),
    reason="needs WB_TEST_MESSAGING_DATABASE_URL=postgresql://... (CI's second pass)",
)


def invoke(app, *args, **kwargs):
    """Run `./wb messaging ARGS` through the app's CLI runner."""
    return app.test_cli_runner().invoke(args=["messaging", *args], **kwargs)


def assert_one_line_error(result, *fragments):
    """A refused operation: non-zero exit, one `Error:` line, never a traceback."""
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def sha256_of(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def member(username, **fields):
    user = User(username=username, display_name=username.capitalize(), **fields)
    user.set_password("correct horse battery")
    db.session.add(user)
    db.session.commit()
    return user


def converse(sender, recipient, bodies):
    """sender writes each body to recipient; returns the conversation."""
    conversation, _created = writes.open_conversation(sender, recipient)
    for body in bodies:
        writes.send_message(sender, conversation, body)
    return conversation


def message_rows():
    db.session.expire_all()
    return [tuple(row) for row in db.session.execute(
        select(Message.id, Message.conversation_id, Message.sender_id, Message.body).order_by(Message.id)
    )]


def messaging_file(app):
    """The SQLite file behind the app's messaging database (inside its app context)."""
    assert app.config["MESSAGING_DATABASE_URI"].startswith("sqlite:")
    return sqlite_path()


def take_backup(app):
    result = invoke(app, "backup")
    assert result.exit_code == 0, result.output
    return last_backup().path


def damage_pages(*names, keep_header=False):
    """Overwrite with garbage every page of these tables or indexes in the messaging SQLite file, as
    a failing disk would (an operator tester wrote over a page); returns how many pages. With
    keep_header, only the second half of each page: SQLite reads the page, and finds its cells wrong."""
    import sqlite3
    from contextlib import closing

    from wb.messaging.ops.database import messaging_engine

    path = sqlite_path()
    db.session.remove()
    messaging_engine().dispose()
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = connection.execute("PRAGMA page_size").fetchone()[0]
        marks = ", ".join("?" for _ in names)
        pages = [row[0] for row in connection.execute(f"SELECT pageno FROM dbstat WHERE name IN ({marks})", names)]
    with open(path, "r+b") as handle:
        start = size // 2 if keep_header else 0
        for page in pages:
            handle.seek((page - 1) * size + start)
            handle.write(b"\xa5" * (size - start))
    return len(pages)


def messages_btrees():
    """The messages table and its indexes, as SQLite names their pages."""
    from sqlalchemy import text

    with db.engines["messaging"].connect() as connection:
        return connection.execute(text("SELECT name FROM sqlite_master WHERE tbl_name = 'messages'")).scalars().all()


def remove_messaging_file(tmp_path):
    """Move the messaging SQLite file (and its WAL) into tmp_path/moved/, as if it were lost; returns
    a function that puts it back."""
    from wb.messaging.ops.database import messaging_engine

    path = sqlite_path()
    db.session.remove()
    messaging_engine().dispose()
    moved = tmp_path / "moved"
    moved.mkdir(exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        if path.with_name(path.name + suffix).exists():
            path.with_name(path.name + suffix).rename(moved / (path.name + suffix))

    def put_back():
        messaging_engine().dispose()
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
            if (moved / (path.name + suffix)).exists():
                (moved / (path.name + suffix)).rename(path.with_name(path.name + suffix))

    return put_back
