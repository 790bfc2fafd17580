"""A message its sender deleted while the other member, who reported or blocked them, keeps their copy:
marked by messages.kept_for_recipient, with deleted_at saying when the sender deleted it."""
import re
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy import inspect, select, update

from messaging_helpers import open_conversation, send
from messaging_ops_helpers import converse
from wb.extensions import db
from wb.messaging.models import Message
from wb.models import utcnow

# The messages table as the revision before kept_for_recipient left it (the model has the column).
OLD_MESSAGES = sa.table(
    "messages", sa.column("id", sa.Integer()), sa.column("body", sa.Text()), sa.column("created_at", sa.DateTime()),
    sa.column("deleted_at", sa.DateTime()), sa.column("hidden_for_low", sa.Boolean()),
    sa.column("hidden_for_high", sa.Boolean()),
)
BEFORE_KEPT_FOR_RECIPIENT = "c5d1e8a3f7b9"


def shown(client, cid) -> dict[int, str]:
    """What the member's thread shows of each message by id: its text, or "Message deleted"."""
    page = client.get(f"/messages/{cid}").get_data(as_text=True)
    return {int(message_id): body for message_id, body in
            re.findall(r'<li class="message [^"]*" id="message-(\d+)".*?<p class="body[^"]*"[^>]*>(.*?)</p>', page, re.S)}


def stored(message_id):
    """What the messaging database holds of a message (read afresh)."""
    db.session.expire_all()
    return db.session.execute(
        select(Message.body, Message.created_at, Message.deleted_at, Message.kept_for_recipient)
        .where(Message.id == message_id)).one()


def test_a_delete_for_the_sender_only_stores_when_it_happened_and_that_the_other_member_keeps_it(
        app, alice, bob, login, messaging_on):
    alice_client, bob_client = login(alice), login(bob)
    cid = open_conversation(alice_client, "bob")
    assert send(alice_client, cid, "send the deposit here").status_code == 200
    (message_id,) = db.session.scalars(select(Message.id).where(Message.conversation_id == cid)).all()
    sent_at = utcnow() - timedelta(hours=1)  # sent an hour ago: a delete now can't pass for its sending
    db.session.execute(update(Message).where(Message.id == message_id).values(created_at=sent_at))
    db.session.commit()
    assert bob_client.post("/people/alice/report", data={"reason": "scam"}).status_code == 302

    before = utcnow()
    assert alice_client.post(f"/messages/{cid}/messages/{message_id}/delete").status_code == 302
    after = utcnow()

    db.session.expire_all()
    row = db.session.execute(select(Message.body, Message.created_at, Message.deleted_at)
                             .where(Message.id == message_id)).one()
    assert row.body == "send the deposit here" and row.created_at == sent_at
    assert before <= row.deleted_at <= after  # when Alice deleted it, not when she sent it
    assert stored(message_id).kept_for_recipient is True
    assert shown(bob_client, cid) == {message_id: "send the deposit here"}
    assert shown(alice_client, cid) == {message_id: "Message deleted"}
    assert "send the deposit here" in bob_client.get("/messages").get_data(as_text=True)  # his list's preview
    alice_list = alice_client.get("/messages").get_data(as_text=True)
    assert "Message deleted" in alice_list and "send the deposit here" not in alice_list


def test_the_migration_marks_the_copies_kept_before_it_and_nothing_else(app, alice, bob, login, messaging_on):
    """Before the column, a kept copy was a row stamped deleted when it was sent and still holding its
    text: upgrading marks those (and only those) kept, so the keeper still reads it and its sender
    still sees it deleted."""
    from flask_migrate import downgrade, upgrade

    conversation = converse(alice, bob, ["keep this as evidence", "gone for both", "still here", "let go by its keeper"])
    cid = conversation.id
    kept, both, live, let_go = db.session.scalars(
        select(Message.id).where(Message.conversation_id == cid).order_by(Message.id)).all()
    bob_hidden = f"hidden_for_{conversation.side(bob.id)}"
    alice_client, bob_client = login(alice), login(bob)
    assert bob_client.post("/people/alice/report", data={"reason": "harassment"}).status_code == 302
    engine = db.engines["messaging"]
    db.session.remove()

    downgrade(revision=BEFORE_KEPT_FOR_RECIPIENT, x_arg=["binds=messaging"])
    engine.dispose()
    assert "kept_for_recipient" not in {column["name"] for column in inspect(engine).get_columns("messages")}
    with engine.begin() as connection:  # as the code before the column wrote them
        m = OLD_MESSAGES.c
        connection.execute(update(OLD_MESSAGES).where(m.id == kept).values(deleted_at=m.created_at))
        sent_at = connection.scalar(select(m.created_at).where(m.id == both))
        connection.execute(update(OLD_MESSAGES).where(m.id == both)
                           .values(deleted_at=sent_at + timedelta(minutes=5), body=""))
        connection.execute(update(OLD_MESSAGES).where(m.id == let_go)
                           .values({"deleted_at": m.created_at, "body": "", bob_hidden: True}))
        before = {row.id: tuple(row) for row in connection.execute(
            select(m.id, m.body, m.created_at, m.deleted_at).order_by(m.id))}
    upgrade(x_arg=["binds=messaging"])
    engine.dispose()

    with engine.connect() as connection:
        rows = connection.execute(select(Message.id, Message.body, Message.created_at, Message.deleted_at,
                                         Message.kept_for_recipient).order_by(Message.id)).all()
        if engine.dialect.name == "sqlite":  # added in place: message ids are still never handed out twice
            table = connection.scalar(sa.text("SELECT sql FROM sqlite_master WHERE name = 'messages'"))
            assert "AUTOINCREMENT" in table
    assert {row.id: row.kept_for_recipient for row in rows} == {kept: True, both: False, live: False, let_go: False}
    assert {row.id: tuple(row)[:4] for row in rows} == before  # nothing else changed
    assert shown(bob_client, cid) == {kept: "keep this as evidence", both: "Message deleted", live: "still here"}
    assert shown(alice_client, cid) == {kept: "Message deleted", both: "Message deleted", live: "still here",
                                        let_go: "Message deleted"}


def test_downgrading_stamps_a_kept_copy_as_the_code_before_the_column_knew_it(app, alice, bob, login, messaging_on):
    """The code before the column told a kept copy by deleted_at = created_at: a downgrade writes that
    (when it was deleted is lost), so the keeper keeps it there too, and upgrading again marks it."""
    from flask_migrate import downgrade, upgrade

    from wb.messaging import writes

    conversation = converse(alice, bob, ["keep this as evidence", "gone for both"])
    kept, both = db.session.scalars(
        select(Message.id).where(Message.conversation_id == conversation.id).order_by(Message.id)).all()
    db.session.execute(update(Message).values(created_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    writes.delete_message(alice, conversation, both)
    assert login(bob).post("/people/alice/block", data={"confirmed": "1"}).status_code == 302
    writes.delete_message(alice, conversation, kept)
    assert stored(kept).deleted_at > stored(kept).created_at
    engine = db.engines["messaging"]
    db.session.remove()

    downgrade(revision=BEFORE_KEPT_FOR_RECIPIENT, x_arg=["binds=messaging"])
    engine.dispose()
    with engine.connect() as connection:
        m = OLD_MESSAGES.c
        old = {row.id: (row.body, row.deleted_at == row.created_at) for row in connection.execute(
            select(m.id, m.body, m.created_at, m.deleted_at))}
    assert old == {kept: ("keep this as evidence", True), both: ("", False)}
    upgrade(x_arg=["binds=messaging"])
    engine.dispose()

    assert stored(kept).kept_for_recipient is True and stored(both).kept_for_recipient is False
