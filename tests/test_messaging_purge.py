"""`./wb messaging purge`: retention wipes the text of long-deleted messages, and only theirs."""
import json
from datetime import timedelta

from sqlalchemy import select, update

from messaging_ops_helpers import SECRET_BODY, converse, invoke, message_rows, messaging_file
from wb.extensions import db
from wb.messaging.models import Message
from wb.models import utcnow


def test_purge_wipes_only_text_deleted_longer_ago_than_the_cutoff(app, alice, bob, messaging_on):
    conversation = converse(alice, bob, ["old deleted one", "recently deleted one", "never deleted", "old deleted two"])
    old, recent, kept, old_two = db.session.scalars(
        select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id)).all()
    now = utcnow()
    old.deleted_at = now - timedelta(days=40)
    old_two.deleted_at = now - timedelta(days=31)
    recent.deleted_at = now - timedelta(days=5)
    kept.created_at = now - timedelta(days=400)
    db.session.commit()
    ids = {m.id: name for m, name in ((old, "old"), (recent, "recent"), (kept, "kept"), (old_two, "old_two"))}

    def bodies():
        return {ids[i]: body for i, _c, _s, body in message_rows()}

    dry = invoke(app, "purge", "--deleted-older-than", "30")
    assert dry.exit_code == 0 and "Dry run: 2 message(s)" in dry.output
    assert bodies()["old"] == "old deleted one"

    wet = invoke(app, "purge", "--deleted-older-than", "30", "--yes")
    assert wet.exit_code == 0 and "Wiped the text of 2 message(s)" in wet.output
    assert bodies() == {"old": "", "old_two": "", "recent": "recently deleted one", "kept": "never deleted"}
    assert "Dry run: 0 message(s)" in invoke(app, "purge", "--deleted-older-than", "30").output
    figures = json.loads(invoke(app, "stats", "--json").output)
    assert (figures["deleted_messages"], figures["wiped_messages"]) == (3, 2)


def test_purge_needs_a_number_of_days(app):
    result = invoke(app, "purge")
    assert result.exit_code != 0 and "--deleted-older-than" in result.output


def test_purge_on_sqlite_leaves_no_trace_of_the_text_in_the_file(sqlite_app, pair):
    converse(*pair, [SECRET_BODY])
    db.session.execute(update(Message).values(deleted_at=utcnow() - timedelta(days=90)))
    db.session.commit()
    assert invoke(sqlite_app, "purge", "--deleted-older-than", "30", "--yes").exit_code == 0
    path = messaging_file(sqlite_app)
    on_disk = path.read_bytes() + (path.with_name(path.name + "-wal").read_bytes()
                                   if path.with_name(path.name + "-wal").exists() else b"")
    assert SECRET_BODY.encode() not in on_disk
