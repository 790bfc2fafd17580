"""The main database's metadata of a conversation, written so that any interleaving of writes leaves it right."""
from __future__ import annotations

import functools

from sqlalchemy import Integer, and_, bindparam, case, exists, func, select, update

from ..database import connection_for_one_read
from ..extensions import db
from ..models import User, utcnow
from . import live
from .conversations import ensure_memberships, hidden_column_name, shown_to_recipient
from .models import Conversation, ConversationMembership, Message


def _later(column, value):
    """The larger of a stored cursor and a new value, in SQL (NULL: nothing stored yet; a NULL
    value leaves the cursor as it is)."""
    return case((column.is_(None) | (column < value), value), else_=column)


def _shares_receipts(member_id):
    """Whether the member has read receipts on now, in SQL: their reads move what "Seen" shows."""
    return exists().where(User.id == member_id, User.read_receipts.is_(True))


LOCKED_ROWS = (ConversationMembership.user_id, ConversationMembership.last_read_message_id,
               ConversationMembership.unread_count,  # the count before it is written again
               ConversationMembership.muted)  # a muted conversation's count is left out of the badge


def _rows_in_order(*conditions):
    """The membership rows an UPDATE of several of them touches, locked in user order first
    (PostgreSQL; SQLite writes one at a time): two writers that each lock the rows in the order
    their scan meets them can meet them in opposite orders, and deadlock."""
    CM = ConversationMembership
    return CM.id.in_(select(CM.id).where(*conditions).order_by(CM.user_id).with_for_update())


@functools.cache
def _record_send_statement():
    """Every send runs it: built once, values bound. Holds both rows until the counts are written."""
    CM = ConversationMembership
    sender_id, message_id = bindparam("sender"), bindparam("new_message")
    return (
        update(CM)
        # (binds are not named like columns: those names belong to the SET clause)
        .where(_rows_in_order(CM.conversation_id == bindparam("in_conversation")))
        .values(
            last_message_id=_later(CM.last_message_id, message_id),
            last_activity_at=_later(CM.last_activity_at, bindparam("sent_at")),
            hidden=False,
            # replying means the sender has read everything before it
            last_read_message_id=case(
                (CM.user_id == sender_id, _later(CM.last_read_message_id, message_id)),
                else_=CM.last_read_message_id,
            ),
            seen_message_id=case(
                ((CM.user_id == sender_id) & _shares_receipts(CM.user_id), _later(CM.seen_message_id, message_id)),
                else_=CM.seen_message_id,
            ),
            # the recipient's unread clock starts at the first message they haven't read (or been told
            # of), unless they muted the conversation: no email tells of it, nor may its clock make one
            # go out early for another conversation (claims.py tells of every unread one)
            unread_since=case(
                (CM.user_id == sender_id, None),
                (CM.muted.is_(True), None),
                else_=func.coalesce(CM.unread_since, bindparam("sent_at", type_=CM.unread_since.type)),
            ),
        )
        .returning(*LOCKED_ROWS)
        .execution_options(synchronize_session=False)  # plain values: no loaded row to bring up to date
    )


def record_send(conversation: Conversation, message: Message) -> bool:
    """Metadata for a new message: activity, unread for the recipient, read for the sender, unhide for both.
    True when the sender's unread count moved (the reply read what had come in). Called once the
    message is committed, with it and the conversation kept (kept_after_commit): the session holds
    no connection to the messaging database then."""
    values = {
        "in_conversation": conversation.id, "sender": message.sender_id,
        "new_message": message.id, "sent_at": message.created_at,
    }
    locked = db.session.execute(_record_send_statement(), values).all()
    if len(locked) < 2:  # a member's row is missing (its insert failed earlier): add it, then update again
        db.session.commit()
        ensure_memberships(conversation)
        locked = db.session.execute(_record_send_statement(), values).all()
    # The message's own transaction has ended: the count reads the messaging database on its own.
    counts = _write_unread_counts(conversation, locked, counted_alone=True)
    sender = message.sender_id
    before = next((row.unread_count for row in locked if row.user_id == sender), None)
    read_unread = before != counts.get(sender)
    # Whose badge can't move: the sender's unless the reply read what had come in, and anyone's
    # who muted the conversation (its count stays in the list, out of the badge).
    badge_unchanged = [row.user_id for row in locked if row.muted or (row.user_id == sender and not read_unread)]
    live.record((sender, conversation.other_id(sender)), "message", conversation.id, message.id,
                unread_unchanged=badge_unchanged)
    db.session.commit()
    return read_unread


@functools.cache
def _read_up_to_statement(tells_seen: bool = True):
    """Moves one member's read marker (and what they know is newest) forward, holding their row;
    with tells_seen, also what "Seen" shows the other member if the reader shares their reads."""
    CM = ConversationMembership
    newest = bindparam("newest")
    seen = {"seen_message_id": case((_shares_receipts(CM.user_id), _later(CM.seen_message_id, newest)),
                                    else_=CM.seen_message_id)} if tells_seen else {}
    return (
        update(CM)
        .where(CM.conversation_id == bindparam("in_conversation"), CM.user_id == bindparam("member"))
        .values(
            last_read_message_id=_later(CM.last_read_message_id, newest),
            last_message_id=_later(CM.last_message_id, newest),
            **seen,
        )
        .returning(*LOCKED_ROWS)
        .execution_options(synchronize_session=False)
    )


def recount_unread(conversation: Conversation, member_id: int, read_up_to: int = 0, tells_seen: bool = True) -> None:
    """Recount one member's unread messages (moving their read marker to read_up_to first), and commit.
    tells_seen=False: the read moves no "Seen" (a block stands between the two)."""
    locked = db.session.execute(_read_up_to_statement(tells_seen), {
        # 0 (a recount that reads nothing) as NULL: no marker moves, and none turns from NULL to 0
        "in_conversation": conversation.id, "member": member_id, "newest": read_up_to or None,
    }).all()
    _write_unread_counts(conversation, locked)
    db.session.commit()


def _write_unread_counts(conversation: Conversation, locked, counted_alone=False) -> dict[int, int]:
    """Each locked member's unread count, counted now from the messaging database (and returned).
    counted_alone: the session holds no messaging connection, so the count needs none of its own
    transaction (database.connection_for_one_read)."""
    if not locked:
        return {}
    counts = _unread_counts(conversation, {row.user_id: row.last_read_message_id for row in locked}, counted_alone)
    values = {"in_conversation": conversation.id}
    for number, (member_id, count) in enumerate(counts.items()):
        values[f"member_{number}"], values[f"count_{number}"] = member_id, count
    db.session.connection(bind_arguments={"mapper": ConversationMembership}).execute(
        _write_unread_statement(len(counts)), values)
    return counts


@functools.cache
def _write_unread_statement(members: int):
    """Each member's row (member_N) gets its count (count_N), in one statement (one round trip on
    PostgreSQL): built once per number of members, values bound. Every send and every read runs it."""
    CM = ConversationMembership.__table__.c
    count = case(*((CM.user_id == bindparam(f"member_{number}"), bindparam(f"count_{number}", type_=Integer))
                   for number in range(members)))
    return (
        update(ConversationMembership.__table__)
        .where(CM.conversation_id == bindparam("in_conversation"),
               CM.user_id.in_([bindparam(f"member_{number}") for number in range(members)]))
        .values(
            unread_count=count,
            # nothing left unread: nothing to email about
            unread_since=case((count == 0, None), else_=CM.unread_since),
        )
    )


def _unread_counts(conversation: Conversation, read_markers: dict[int, int | None], alone=False) -> dict[int, int]:
    """Messages each member hasn't read (from the other, still visible to them, past their marker), in one query."""
    members = list(read_markers)
    values = {"in_conversation": conversation.id,
              "past": min((last_read or 0) for last_read in read_markers.values())}
    for number, member_id in enumerate(members):
        values[f"member_{number}"], values[f"read_{number}"] = member_id, read_markers[member_id] or 0
    statement = _unread_counts_statement(tuple(hidden_column_name(conversation, member_id) for member_id in members))
    run = connection_for_one_read(Message).execute if alone else db.session.execute
    return dict(zip(members, run(statement, values).one()))


@functools.cache
def _unread_counts_statement(hidden_columns: tuple[str, ...]):
    """One count per member (member_N, read_N), each reading that member's hidden column: built
    once per shape (a send counts for both sides, a read for one), values bound."""
    return select(*(
        func.count(Message.id).filter(and_(
            Message.sender_id != bindparam(f"member_{number}"),
            getattr(Message, column).is_(False),
            Message.id > bindparam(f"read_{number}"),
        ))
        for number, column in enumerate(hidden_columns)
    )).where(
        Message.conversation_id == bindparam("in_conversation"),
        shown_to_recipient(),  # a kept copy its sender deleted counts for its keeper as before
        Message.id > bindparam("past"),
    )


def unread_for(conversation: Conversation, member_id: int, last_read: int | None) -> int:
    return _unread_counts(conversation, {member_id: last_read})[member_id]


def mark_preview_changed(conversation_id: int, message_id: int, member_ids) -> None:
    """These members' rows that preview this message show it differently now (deleted, removed):
    their lists' versions move, so a polling list fetches the change. Caller commits."""
    CM = ConversationMembership
    db.session.execute(
        update(CM)
        .where(_rows_in_order(CM.conversation_id == conversation_id, CM.user_id.in_(list(member_ids)),
                              CM.last_message_id == message_id))
        .values(preview_changed_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def set_hidden(member_id: int, conversation_id: int, hidden: bool) -> None:
    set_membership_flag(member_id, conversation_id, hidden=hidden)


def set_membership_flag(member_id: int, conversation_id: int, **flags) -> None:
    """One member's own choices about a conversation (hidden, muted); the caller commits."""
    db.session.execute(
        update(ConversationMembership)
        .where(ConversationMembership.user_id == member_id, ConversationMembership.conversation_id == conversation_id)
        .values(**flags)
    )
