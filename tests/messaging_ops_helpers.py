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
