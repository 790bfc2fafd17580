"""All messaging rules: conversations, messages, reads, deletes, blocks, reports, reconcile.

A send commits the message to the messaging database first and updates the
main database's metadata second; if the second step fails the message is still
there and reconcile() repairs the metadata.
"""
from __future__ import annotations

import functools
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from flask import abort, current_app
from sqlalchemy import and_, bindparam, case, func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..database import read_rows
from ..extensions import db
from ..models import User, utcnow
from ..text import BODY_MAX, TextRefused, clean_text
from . import policy
from .models import REPORT_REASONS, Block, Conversation, ConversationMembership, Message, Report
from .policy import Refusal

log = logging.getLogger("wb.messaging")

PREVIEW_LENGTH = 90
REPORT_NOTE_MAX = 1000


def audit(event: str, **ids) -> None:
    """One structured log line per messaging action: ids and timestamps only, never text."""
    log.info(event, extra={"event": event, "at": utcnow().isoformat(timespec="seconds"), **ids})


# --- fetch and authorize --------------------------------------------------------


def get_conversation_for(member, conversation_id) -> Conversation:
    """The conversation, if member takes part in it; 404 when unknown, 403 otherwise."""
    try:
        conversation_id = int(conversation_id)
    except (TypeError, ValueError):
        abort(404)
    conversation = db.session.execute(_conversation_statement(), {"conversation_id": conversation_id}).scalar()
    if conversation is None:
        abort(404, "That conversation doesn't exist.")
    if not conversation.has_participant(member.id):
        abort(403, "That conversation is between other members.")
    return conversation


@functools.cache
def _conversation_statement():
    """Every conversation route loads one: built once (session.get rebuilds its query each time)."""
    return select(Conversation).where(Conversation.id == bindparam("conversation_id"))


def membership(member_id: int, conversation_id: int) -> ConversationMembership | None:
    return db.session.scalar(
        select(ConversationMembership).where(
            ConversationMembership.user_id == member_id,
            ConversationMembership.conversation_id == conversation_id,
        )
    )


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def find_conversation(a_id: int, b_id: int) -> Conversation | None:
    low, high = _pair(a_id, b_id)
    return db.session.scalar(
        select(Conversation).where(Conversation.user_low_id == low, Conversation.user_high_id == high)
    )


# --- opening conversations --------------------------------------------------------


def open_conversation(sender, recipient) -> tuple[Conversation, bool]:
    """The pair's one conversation, created if needed; returns (conversation, created)."""
    policy.check_can_message(sender, recipient)
    conversation = find_conversation(sender.id, recipient.id)
    created = False
    if conversation is None:
        policy.take_rate_limit("new-conversation", "NEW_CONVERSATION_RATE_LIMIT", sender)
        conversation, created = _create_conversation(sender.id, recipient.id)
    _ensure_memberships(conversation)
    _set_hidden(sender.id, conversation.id, False)
    db.session.commit()
    if created:
        audit("conversation.created", conversation_id=conversation.id, user_id=sender.id, other_user_id=recipient.id)
    return conversation, created


def _create_conversation(a_id: int, b_id: int) -> tuple[Conversation, bool]:
    """Insert the pair's row; if another request won the race, use theirs."""
    low, high = _pair(a_id, b_id)
    conversation = Conversation(user_low_id=low, user_high_id=high)
    db.session.add(conversation)
    try:
        db.session.commit()
        return conversation, True
    except IntegrityError:
        db.session.rollback()
        existing = find_conversation(low, high)
        if existing is None:  # not a uniqueness race after all
            raise
        return existing, False


def _ensure_memberships(conversation: Conversation) -> None:
    """Both members' metadata rows exist (commits; tolerates a concurrent insert)."""
    have = set(
        db.session.scalars(
            select(ConversationMembership.user_id).where(ConversationMembership.conversation_id == conversation.id)
        )
    )
    for member_id in (conversation.user_low_id, conversation.user_high_id):
        if member_id in have:
            continue
        db.session.add(
            ConversationMembership(
                user_id=member_id,
                conversation_id=conversation.id,
                other_user_id=conversation.other_id(member_id),
                last_activity_at=conversation.created_at or utcnow(),
            )
        )
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()


def _set_hidden(member_id: int, conversation_id: int, hidden: bool) -> None:
    db.session.execute(
        update(ConversationMembership)
        .where(ConversationMembership.user_id == member_id, ConversationMembership.conversation_id == conversation_id)
        .values(hidden=hidden)
    )


# --- sending ----------------------------------------------------------------------


def clean_body(raw) -> str:
    """The message text to store, or a 400 Refusal saying what is wrong with it."""
    try:
        return clean_text(
            raw, BODY_MAX, "Messages", required="Write something before sending.",
            too_long="{label} can be at most {max_length:,} characters; this one has {length:,}.",
            control="Messages can only contain text; remove the control characters and try again.",
        )
    except TextRefused as refused:
        raise Refusal(refused.message, 400) from None


@dataclass
class Sent:
    message: Message
    recipient: User  # read for the send's checks; the answer shows their name


def send_message(sender, conversation: Conversation, raw_body) -> Sent:
    """Store a message (first) and update both members' metadata (second)."""
    body = clean_body(raw_body)
    recipient, blocker_id = _recipient(sender, conversation)
    policy.check_can_message(sender, recipient, blocker_id)
    policy.take_rate_limit("send", "MESSAGE_RATE_LIMIT", sender)
    _hold(conversation)
    message = Message(conversation_id=conversation.id, sender_id=sender.id, body=body)
    db.session.add(message)
    with _kept_after_commit():
        db.session.commit()
        audit("message.sent", message_id=message.id, conversation_id=conversation.id, user_id=sender.id)
        try:
            record_send(conversation, message)
        except SQLAlchemyError as error:
            db.session.rollback()
            log.warning(
                "metadata update failed after send; reconcile will repair it",
                extra={"conversation_id": conversation.id, "message_id": message.id, "error": type(error).__name__},
            )
    return Sent(message, recipient)


@functools.cache
def _hold_statement():
    return select(Conversation.id).where(Conversation.id == bindparam("conversation_id")).with_for_update()


def _hold(conversation: Conversation) -> None:
    """Sends to one conversation take turns until their message commits, so ids are committed in order.

    Polls ask for messages after the newest one shown: a message committed after a newer one
    would never be shown. (PostgreSQL takes the row lock; SQLite writes one at a time anyway.)
    """
    db.session.execute(_hold_statement(), {"conversation_id": conversation.id})


@functools.cache
def _recipient_statement():
    """Every send asks it: the other member's account and any block between the two, in one query."""
    member_id, other_id = bindparam("member_id"), bindparam("other_id")
    return select(User, policy.blocker_of(member_id, other_id).label("blocker_id")).where(User.id == other_id)


def _recipient(sender, conversation: Conversation) -> tuple[User | None, int | None]:
    """The other member (None once their account is gone) and who blocked whom between the two, if anyone."""
    row = db.session.execute(
        _recipient_statement(), {"member_id": sender.id, "other_id": conversation.other_id(sender.id)}
    ).first()
    return (row.User, row.blocker_id) if row is not None else (None, None)


@contextmanager
def _kept_after_commit():
    """Commits inside keep loaded objects as they are instead of expiring them.

    A send reads back exactly what it just wrote (the message, the conversation, both
    members) for its audit line, the metadata update and the response; expiring them
    on each commit would reload three rows twice per send.
    """
    session = db.session()
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = True


# --- metadata writes --------------------------------------------------------------
# Sends, reads, deletes and removals by both members interleave in any order across
# workers and servers. Two rules keep the metadata right under every interleaving:
# - cursors (last_message_id, last_activity_at, last_read_message_id) only move forward:
#   each UPDATE keeps the larger of the stored and the new value itself;
# - an unread count is never adjusted by one: it is recounted from the messaging database
#   while this transaction's UPDATE holds the membership row, so whichever write comes
#   last counts after every message, read, delete and removal that came before it.


def _later(column, value):
    """The larger of a stored cursor and a new value, in SQL (NULL: nothing stored yet)."""
    return case((column.is_(None) | (column < value), value), else_=column)


LOCKED_ROWS = (ConversationMembership.user_id, ConversationMembership.last_read_message_id)


@functools.cache
def _record_send_statement():
    """Every send runs it: built once, values bound. Holds both rows until the counts are written."""
    CM = ConversationMembership
    sender_id, message_id = bindparam("sender"), bindparam("new_message")
    return (
        update(CM)
        # (binds are not named like columns: those names belong to the SET clause)
        .where(CM.conversation_id == bindparam("in_conversation"))
        .values(
            last_message_id=_later(CM.last_message_id, message_id),
            last_activity_at=_later(CM.last_activity_at, bindparam("sent_at")),
            hidden=False,
            # replying means the sender has read everything before it
            last_read_message_id=case(
                (CM.user_id == sender_id, _later(CM.last_read_message_id, message_id)),
                else_=CM.last_read_message_id,
            ),
        )
        .returning(*LOCKED_ROWS)
        .execution_options(synchronize_session=False)  # plain values: no loaded row to bring up to date
    )


def record_send(conversation: Conversation, message: Message) -> None:
    """Metadata for a new message: activity, unread for the recipient, read for the sender, unhide for both."""
    locked = db.session.execute(_record_send_statement(), {
        "in_conversation": conversation.id, "sender": message.sender_id,
        "new_message": message.id, "sent_at": message.created_at,
    }).all()
    if len(locked) < 2:
        db.session.commit()
        reconcile_conversation(conversation)
    else:
        _write_unread_counts(conversation, locked)
    db.session.commit()


@functools.cache
def _read_up_to_statement():
    """Moves one member's read marker (and what they know is newest) forward, holding their row."""
    CM = ConversationMembership
    newest = bindparam("newest")
    return (
        update(CM)
        .where(CM.conversation_id == bindparam("in_conversation"), CM.user_id == bindparam("member"))
        .values(
            last_read_message_id=_later(CM.last_read_message_id, newest),
            last_message_id=_later(CM.last_message_id, newest),
        )
        .returning(*LOCKED_ROWS)
        .execution_options(synchronize_session=False)
    )


def _lock_and_recount(conversation: Conversation, member_id: int, read_up_to: int = 0) -> None:
    """Recount one member's unread messages (moving their read marker to read_up_to first), and commit."""
    locked = db.session.execute(_read_up_to_statement(), {
        "in_conversation": conversation.id, "member": member_id, "newest": read_up_to,
    }).all()
    if locked:
        _write_unread_counts(conversation, locked)
    db.session.commit()


def _write_unread_counts(conversation: Conversation, locked) -> None:
    """Each locked member's unread count, counted now from the messaging database."""
    counts = _unread_counts(conversation, {row.user_id: row.last_read_message_id for row in locked})
    CM = ConversationMembership
    db.session.execute(
        update(CM)
        .where(CM.conversation_id == conversation.id, CM.user_id.in_(list(counts)))
        .values(unread_count=case(counts, value=CM.user_id))
        .execution_options(synchronize_session=False)
    )


def _unread_counts(conversation: Conversation, read_markers: dict[int, int | None]) -> dict[int, int]:
    """Messages each member hasn't read (from the other, still visible to them, past their marker), in one query."""
    counted = {member_id: _unread_condition(conversation, member_id, last_read)
               for member_id, last_read in read_markers.items()}
    row = db.session.execute(
        select(*(func.count(Message.id).filter(condition) for condition in counted.values())).where(
            Message.conversation_id == conversation.id,
            Message.deleted_at.is_(None),
            Message.id > min((last_read or 0) for last_read in read_markers.values()),
        )
    ).one()
    return dict(zip(counted, row))


def _unread_condition(conversation: Conversation, member_id: int, last_read: int | None):
    hidden_column = getattr(Message, _hidden_column(conversation, member_id))
    return and_(Message.sender_id != member_id, hidden_column.is_(False), Message.id > (last_read or 0))


# --- reading ------------------------------------------------------------------------


def _hidden_column(conversation: Conversation, member_id: int) -> str:
    """The messages column that says "removed from this member's view"."""
    return f"hidden_for_{conversation.side(member_id)}"


def _visible_to(conversation: Conversation, member_id: int):
    hidden_column = getattr(Message, _hidden_column(conversation, member_id))
    return and_(Message.conversation_id == conversation.id, hidden_column.is_(False))


# What a thread shows of a message. Read as plain rows (attribute access like a Message):
# a page holds 50 of them, and building ORM objects for rows that are only displayed
# cost more than the query.
SHOWN_COLUMNS = (Message.id, Message.sender_id, Message.body, Message.created_at, Message.deleted_at)


@functools.cache
def _run_statement(hidden_column: str, direction: str):
    """A run of the messages one side of a conversation sees (hidden_column: _hidden_column's
    answer): the newest, those before a cursor or those after it. Every thread page and poll
    asks for one, so each of the six shapes is built once (building costs more than running
    it) and values are bound."""
    hidden = getattr(Message, hidden_column)
    query = select(*SHOWN_COLUMNS).where(Message.conversation_id == bindparam("conversation_id"), hidden.is_(False))
    if direction == "before":
        query = query.where(Message.id < bindparam("cursor"))
    elif direction == "after":
        query = query.where(Message.id > bindparam("cursor"))
    order = Message.id.asc() if direction == "after" else Message.id.desc()
    return query.order_by(order).limit(bindparam("limit"))


def _message_run(member, conversation: Conversation, direction: str, cursor=None, limit=None) -> list:
    statement = _run_statement(_hidden_column(conversation, member.id), direction)
    values = {"conversation_id": conversation.id, "limit": limit or current_app.config["MESSAGES_PER_PAGE"]}
    if cursor is not None:
        values["cursor"] = cursor
    return read_rows(statement, values, Message).all()


@dataclass
class ThreadPage:
    messages: list  # rows of SHOWN_COLUMNS, oldest first
    older_cursor: int | None  # pass as ?before= to get the page before this one


def thread_page(member, conversation: Conversation, before=None) -> ThreadPage:
    """The newest page of messages (or the page before a cursor), oldest first."""
    per_page = current_app.config["MESSAGES_PER_PAGE"]
    direction = "newest" if before is None else "before"
    rows = _message_run(member, conversation, direction, before, limit=per_page + 1)
    has_older = len(rows) > per_page
    rows = rows[:per_page]
    rows.reverse()
    return ThreadPage(messages=rows, older_cursor=rows[0].id if has_older and rows else None)


def messages_after(member, conversation: Conversation, after: int) -> list:
    """Messages newer than a cursor, oldest first (at most one page), as rows of SHOWN_COLUMNS."""
    return _message_run(member, conversation, "after", after)


@dataclass
class ThreadState:
    """What an open thread needs besides its messages, read in one query."""
    other: object | None  # the other member: id, username, display_name, status, deleted_at (None: no account)
    mine: object | None  # my metadata: last_message_id, last_read_message_id, unread_count (None: no row yet)
    theirs: object | None  # theirs, likewise
    blocker_id: int | None  # who blocked whom, if either of us blocked the other


@functools.cache
def _thread_state_statement():
    """Both members' accounts with their metadata for one conversation, and a block between them."""
    CM = ConversationMembership
    member_id, other_id = bindparam("member_id"), bindparam("other_id")
    blocker = policy.blocker_of(member_id, other_id)
    return (
        select(
            User.id, User.username, User.display_name, User.status, User.deleted_at,
            CM.user_id.label("member_of"), CM.last_message_id, CM.last_read_message_id, CM.unread_count,
            blocker.label("blocker_id"),
        )
        .outerjoin(CM, (CM.user_id == User.id) & (CM.conversation_id == bindparam("in_conversation")))
        .where(User.id.in_([member_id, other_id]))
    )


def thread_state(member, conversation: Conversation) -> ThreadState:
    other_id = conversation.other_id(member.id)
    rows = {
        row.id: row for row in read_rows(
            _thread_state_statement(), {"member_id": member.id, "other_id": other_id, "in_conversation": conversation.id},
            User,
        )
    }
    mine, other = rows.get(member.id), rows.get(other_id)
    return ThreadState(
        other=other,
        mine=mine if mine is not None and mine.member_of is not None else None,
        theirs=other if other is not None and other.member_of is not None else None,
        blocker_id=next(iter(rows.values())).blocker_id if rows else None,
    )


@dataclass
class PollResult:
    changed: bool
    conversation: Conversation | None = None
    messages: list = field(default_factory=list)  # rows of SHOWN_COLUMNS
    seen_id: int | None = None


@functools.cache
def _poll_state_statement():
    """Asked for on every poll: built once (building costs more than running it), values bound."""
    CM = ConversationMembership
    return (
        select(
            CM.user_id, CM.last_message_id, CM.last_read_message_id,
            User.status, User.deleted_at, User.session_generation,
        )
        .join(User, User.id == CM.user_id)
        .where(CM.conversation_id == bindparam("conversation_id"))
    )


def poll_state(member_id: int, conversation_id: int):
    """Both members' cursors for this conversation, with the asking member's account state,
    in one query: (mine, theirs), either None when there is no such row."""
    rows = {row.user_id: row for row in read_rows(_poll_state_statement(), {"conversation_id": conversation_id}, User)}
    mine = rows.pop(member_id, None)
    return mine, next(iter(rows.values()), None)


def _seen_now(theirs) -> int:
    return (theirs.last_read_message_id or 0) if theirs else 0


def _nothing_newer(mine, after: int) -> bool:
    return mine is not None and (mine.last_message_id or 0) <= after


def poll_is_idle(state, generation: int, after: int, seen: int) -> bool:
    """True when an active participant's poll, from a session of that generation that is
    still theirs, has nothing to fetch: no newer message and the other member's read marker
    where the client last saw it.

    Every open thread asks this every few seconds and the answer is almost always yes, so
    it is answered before the member's account is loaded, from the metadata rows alone
    (only a participant has one; it tells nobody else anything). Any other answer goes
    the full way: sign-in, account, get_conversation_for. state is poll_state()'s answer.
    """
    mine, theirs = state
    return (
        mine is not None and User.holds_session(mine, generation) and User.may_act(mine)
        and theirs is not None and _nothing_newer(mine, after) and _seen_now(theirs) == seen
    )


def poll(member, conversation_id: int, after: int, seen: int, state=None) -> PollResult:
    """What changed since the client's cursors (after: newest message shown, seen: their read marker).

    Message rows are read only when there are newer ones. state: poll_state() for this member
    and conversation when the request already read it (the quick idle check did).
    """
    mine, theirs = state or poll_state(member.id, conversation_id)
    seen_now = _seen_now(theirs)
    nothing_newer = _nothing_newer(mine, after)
    if nothing_newer and theirs is not None and seen_now == seen:
        return PollResult(changed=False)
    conversation = get_conversation_for(member, conversation_id)
    messages = [] if nothing_newer else messages_after(member, conversation, after)
    if not messages and seen_now == seen:
        return PollResult(changed=False)
    return PollResult(changed=True, conversation=conversation, messages=messages, seen_id=seen_now)


def mark_read(member, conversation: Conversation) -> None:
    """Everything up to the newest message is read."""
    mine = membership(member.id, conversation.id)
    if mine is None:
        _ensure_memberships(conversation)
        mine = membership(member.id, conversation.id)
    newest = db.session.scalar(select(func.max(Message.id)).where(Message.conversation_id == conversation.id))
    behind = newest is not None and (mine.last_read_message_id or 0) < newest
    if behind or mine.unread_count:
        _lock_and_recount(conversation, member.id, read_up_to=newest or 0)


# --- deleting and hiding ---------------------------------------------------------------


def _message_in(conversation: Conversation, message_id) -> Message:
    """A message of this conversation; a guessed id from anywhere else is simply not found."""
    try:
        message_id = int(message_id)
    except (TypeError, ValueError):
        abort(404)
    message = db.session.get(Message, message_id)
    if message is None or message.conversation_id != conversation.id:
        abort(404, "That message doesn't exist.")
    return message


def visible_message(member, conversation: Conversation, message_id) -> Message:
    """A message of this conversation that this member still sees (not removed from their view)."""
    message = _message_in(conversation, message_id)
    if getattr(message, _hidden_column(conversation, member.id)):
        abort(404, "That message doesn't exist.")
    return message


def delete_message(member, conversation: Conversation, message_id) -> Message:
    """The sender deletes their own message for both members."""
    message = _message_in(conversation, message_id)
    if not policy.may_delete_for_both(member, message):
        raise Refusal("You can only delete messages you sent. You can remove this one from your own view.", 403)
    if message.deleted_at is None:
        message.deleted_at = utcnow()
        db.session.commit()
        audit("message.deleted", message_id=message.id, conversation_id=conversation.id, user_id=member.id)
        _recount_unread(conversation, conversation.other_id(member.id))
    return message


def remove_message_for_me(member, conversation: Conversation, message_id) -> Message:
    """Either member removes a single message from their own view only."""
    message = _message_in(conversation, message_id)
    setattr(message, _hidden_column(conversation, member.id), True)
    db.session.commit()
    audit("message.removed_for_self", message_id=message.id, conversation_id=conversation.id, user_id=member.id)
    _recount_unread(conversation, member.id)
    return message


def _unread_for(conversation: Conversation, member_id: int, last_read: int | None) -> int:
    return _unread_counts(conversation, {member_id: last_read})[member_id]


def _recount_unread(conversation: Conversation, member_id: int) -> None:
    _lock_and_recount(conversation, member_id)


def hide_conversation(member, conversation: Conversation) -> None:
    """Hide from the member's own inbox until a new message arrives."""
    _ensure_memberships(conversation)
    _set_hidden(member.id, conversation.id, True)
    db.session.commit()
    audit("conversation.hidden", conversation_id=conversation.id, user_id=member.id)


# --- inbox -------------------------------------------------------------------------------


@dataclass
class InboxRow:
    conversation_id: int
    other_name: str
    preview: str
    unread_count: int
    last_activity_at: datetime


@dataclass
class InboxPage:
    rows: list[InboxRow]
    page: int
    has_next: bool
    unread_only: bool
    unread_total: int  # the badge number, read with the page


def _inbox_filter(member_id):
    """The member's conversations the inbox lists: not hidden, not with someone they blocked."""
    blocked = select(Block.blocked_id).where(Block.blocker_id == member_id)
    CM = ConversationMembership
    return CM.user_id == member_id, CM.hidden.is_(False), CM.other_user_id.not_in(blocked)


@functools.cache
def _inbox_statement(unread_only: bool):
    """One page of the inbox, built once per filter (values bound): each conversation's
    metadata with the other member's name, and the badge total, in one query."""
    CM = ConversationMembership
    member_id = bindparam("member_id")
    query = (
        select(
            CM.conversation_id, CM.last_message_id, CM.unread_count, CM.last_activity_at,
            User.username, User.display_name, User.status, User.deleted_at,
            _unread_sum(member_id).scalar_subquery().label("unread_total"),
        )
        .select_from(CM)
        .join(User, User.id == CM.other_user_id)  # a foreign key: every membership's other member has a row
        .where(*_inbox_filter(member_id))
    )
    if unread_only:
        query = query.where(CM.unread_count > 0)
    return query.order_by(CM.last_activity_at.desc(), CM.id.desc()).offset(bindparam("offset")).limit(bindparam("limit"))


def inbox(member, page: int = 1, unread_only: bool = False) -> InboxPage:
    """One page of conversations, newest activity first, in two queries (one per database)."""
    per_page = current_app.config["CONVERSATIONS_PER_PAGE"]
    page = max(page, 1)
    # Plain rows, not ORM objects: a page shows 30 and changes none.
    rows = read_rows(
        _inbox_statement(unread_only),
        {"member_id": member.id, "offset": (page - 1) * per_page, "limit": per_page + 1},
        User,
    ).all()
    has_next = len(rows) > per_page
    rows = rows[:per_page]
    previews = _previews(member.id, [row.last_message_id for row in rows if row.last_message_id])
    if rows:
        total = rows[0].unread_total
    else:  # an empty first page means no conversations to count; past the end, ask
        total = 0 if page == 1 else unread_total(member)
    return InboxPage(
        rows=[
            InboxRow(
                conversation_id=row.conversation_id,
                other_name=display_name(row),
                preview=previews.get(row.last_message_id, "No messages yet"),
                unread_count=row.unread_count,
                last_activity_at=row.last_activity_at,
            )
            for row in rows
        ],
        page=page,
        has_next=has_next,
        unread_only=unread_only,
        unread_total=total,
    )


def users_by_id(ids) -> dict[int, User]:
    """Members by id, in one query."""
    if not ids:
        return {}
    return {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))}


def other_member(member, conversation: Conversation) -> User | None:
    """The other participant's account (None once it is gone)."""
    return db.session.get(User, conversation.other_id(member.id))


def display_name(user) -> str:
    """A member's name, or 'former member' once they have left or been suspended
    (a User, or a plain row with their name and account columns)."""
    return policy.FORMER_MEMBER if policy.is_former(user) else User.name_of(user)


@functools.cache
def _previews_statement():
    return (
        select(
            Message.id, Message.sender_id, Message.deleted_at, Message.hidden_for_low, Message.hidden_for_high,
            Conversation.user_low_id, func.substr(Message.body, 1, PREVIEW_LENGTH + 1),
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.id.in_(bindparam("message_ids", expanding=True)))
    )


def _previews(member_id: int, message_ids: list[int]) -> dict[int, str]:
    """Short previews of the newest messages, read from the messaging database in one query."""
    if not message_ids:
        return {}
    rows = read_rows(_previews_statement(), {"message_ids": message_ids}, Message).all()
    previews = {}
    for message_id, sender_id, deleted_at, hidden_low, hidden_high, low_id, text in rows:
        hidden = hidden_low if member_id == low_id else hidden_high
        if deleted_at is not None:
            preview = "Message deleted"
        elif hidden:
            preview = "Message removed from your view"
        else:
            preview = " ".join(text.split())
            if len(preview) > PREVIEW_LENGTH:
                preview = preview[:PREVIEW_LENGTH].rstrip() + "…"
            if sender_id == member_id:
                preview = f"You: {preview}"
        previews[message_id] = preview
    return previews


def unread_total(member) -> int:
    """The badge number: unread messages across visible conversations."""
    if not member.is_authenticated:
        return 0
    return read_rows(_unread_total_statement(), {"member_id": member.id}, User).scalar()


def _unread_sum(member_id):
    """One flat aggregate over the inbox's own filter (the badge is polled every few seconds),
    walking ix_memberships_unread: a member in hundreds of conversations has few unread."""
    total = func.coalesce(func.sum(ConversationMembership.unread_count), 0)
    return select(total).where(*_inbox_filter(member_id), ConversationMembership.unread_count > 0)


@functools.cache
def _unread_total_statement():
    return _unread_sum(bindparam("member_id"))


@functools.cache
def _badge_statement():
    """Asked for on every page's badge poll: built once, values bound."""
    member_id = bindparam("member_id")
    return select(
        User.status, User.deleted_at, User.session_generation, _unread_sum(member_id).scalar_subquery()
    ).where(User.id == member_id)


def badge_total_if_active(member_id: int, generation: int) -> int | None:
    """The badge number for an active member whose session of that generation is still
    theirs, None for anyone else, in one query.

    Every open page asks this every few seconds, so it is answered before the member's
    account is loaded (see views._quick_badge); None sends the request the full way.
    """
    row = read_rows(_badge_statement(), {"member_id": member_id}, User).first()
    if row is None or not User.holds_session(row, generation) or not User.may_act(row):
        return None
    return row[3]


def dashboard_summary(member) -> dict | None:
    """Unread total and the latest conversations for the dashboard, or None when messaging is off."""
    if not policy.messaging_enabled() or not member.is_active_member:
        return None
    latest = inbox(member, page=1)
    return {"unread_total": latest.unread_total, "conversations": latest.rows[:5]}


# --- blocks and reports ----------------------------------------------------------------------


def block(blocker, blocked) -> None:
    """Block a member; idempotent."""
    if blocked.id == blocker.id:
        raise Refusal("You can't block yourself.", 400)
    exists = db.session.scalar(
        select(Block).where(Block.blocker_id == blocker.id, Block.blocked_id == blocked.id)
    )
    if exists is None:
        db.session.add(Block(blocker_id=blocker.id, blocked_id=blocked.id))
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            return
        audit("member.blocked", user_id=blocker.id, other_user_id=blocked.id)


def unblock(blocker, blocked) -> None:
    """Lift a block; idempotent."""
    row = db.session.scalar(select(Block).where(Block.blocker_id == blocker.id, Block.blocked_id == blocked.id))
    if row is not None:
        db.session.delete(row)
        db.session.commit()
        audit("member.unblocked", user_id=blocker.id, other_user_id=blocked.id)


def has_blocked(blocker, other) -> bool:
    if not blocker.is_authenticated or other is None:
        return False
    return db.session.scalar(
        select(func.count(Block.id)).where(Block.blocker_id == blocker.id, Block.blocked_id == other.id)
    ) > 0


def blocked_members(member) -> list[User]:
    """Members this member has blocked, for their settings page."""
    return list(
        db.session.scalars(
            select(User).join(Block, Block.blocked_id == User.id)
            .where(Block.blocker_id == member.id).order_by(User.username)
        )
    )


def report(reporter, reported, reason: str, note: str = "", conversation_id=None) -> Report:
    """File a moderation report; never stores message text."""
    if reported.id == reporter.id:
        raise Refusal("You can't report yourself.", 400)
    if reason not in REPORT_REASONS:
        raise Refusal("Choose a reason for the report.", 400)
    try:
        note = clean_text(note, REPORT_NOTE_MAX, "Notes", too_long="Keep the note under {max_length:,} characters.")
    except TextRefused as refused:
        raise Refusal(refused.message, 400) from None
    conversation = find_conversation(reporter.id, reported.id)
    row = Report(
        reporter_id=reporter.id,
        reported_id=reported.id,
        reason=reason,
        note=note,
        conversation_id=conversation.id if conversation else None,
    )
    db.session.add(row)
    db.session.commit()
    audit("member.reported", report_id=row.id, user_id=reporter.id, other_user_id=reported.id)
    return row


def open_reports(status: str = "open") -> list[Report]:
    return list(db.session.scalars(select(Report).where(Report.status == status).order_by(Report.id.desc())))


def resolve_report(admin, report_id) -> Report:
    row = db.session.get(Report, report_id)
    if row is None:
        abort(404, "That report doesn't exist.")
    if row.status != "resolved":
        row.status = "resolved"
        row.resolved_at = utcnow()
        row.resolved_by_id = admin.id
        db.session.commit()
        audit("report.resolved", report_id=row.id, user_id=admin.id)
    return row


# --- reconcile -------------------------------------------------------------------------------


def reconcile_conversation(conversation: Conversation, dry_run: bool = False) -> list[str]:
    """Make one conversation's metadata agree with its messages; returns what changed (no commit)."""
    return _reconcile_batch([conversation], dry_run)


def reconcile(dry_run: bool = False, batch_size: int = 200) -> list[str]:
    """Rebuild all metadata from the messaging database; idempotent. Returns the changes."""
    changes: list[str] = []
    last_id = 0
    while True:
        batch = list(
            db.session.scalars(
                select(Conversation).where(Conversation.id > last_id).order_by(Conversation.id).limit(batch_size)
            )
        )
        if not batch:
            break
        changes += _reconcile_batch(batch, dry_run)
        if not dry_run:
            db.session.commit()
        last_id = batch[-1].id
    changes += _remove_orphans(dry_run)
    if not dry_run:
        db.session.commit()
    return changes


def _reconcile_batch(conversations: list[Conversation], dry_run: bool) -> list[str]:
    ids = [c.id for c in conversations]
    # The newest message and the latest time: a send's cursors only move forward, so two
    # messages sent at once leave the larger of each, whichever message it came from.
    newest, latest = {}, {}
    for conversation_id, newest_id, latest_at in db.session.execute(
        select(Message.conversation_id, func.max(Message.id), func.max(Message.created_at))
        .where(Message.conversation_id.in_(ids)).group_by(Message.conversation_id)
    ):
        newest[conversation_id], latest[conversation_id] = newest_id, latest_at
    rows = {
        (m.conversation_id, m.user_id): m
        for m in db.session.scalars(
            select(ConversationMembership).where(ConversationMembership.conversation_id.in_(ids))
        )
    }
    changes = []
    for conversation in conversations:
        for member_id in (conversation.user_low_id, conversation.user_high_id):
            row = rows.get((conversation.id, member_id))
            if row is None:
                changes.append(f"conversation {conversation.id}: added missing membership for member {member_id}")
                row = ConversationMembership(
                    user_id=member_id, conversation_id=conversation.id,
                    other_user_id=conversation.other_id(member_id), unread_count=0, hidden=False,
                )
                if not dry_run:
                    db.session.add(row)
            newest_id = newest.get(conversation.id)
            last_read = row.last_read_message_id
            # After a restore from an older backup a read marker can point past the
            # newest message; ids after it may be reused, so it must not stay ahead.
            if last_read is not None and (newest_id is None or last_read > newest_id):
                changes.append(
                    f"conversation {conversation.id}: member {member_id} last_read_message_id {last_read} -> {newest_id}"
                )
                last_read = newest_id
                if not dry_run:
                    row.last_read_message_id = newest_id
            want = {
                "other_user_id": conversation.other_id(member_id),
                "last_message_id": newest.get(conversation.id),
                "last_activity_at": latest.get(conversation.id) or conversation.created_at,
                "unread_count": _unread_for(conversation, member_id, last_read),
            }
            for name, value in want.items():
                if getattr(row, name) != value:
                    if name != "last_activity_at" or row.id is not None:
                        changes.append(
                            f"conversation {conversation.id}: member {member_id} {name} {getattr(row, name)} -> {value}"
                        )
                    if not dry_run:
                        setattr(row, name, value)
    return changes


def _remove_orphans(dry_run: bool) -> list[str]:
    """Memberships pointing at conversations the messaging database doesn't have."""
    known = select(ConversationMembership.conversation_id).distinct()
    membership_ids = set(db.session.scalars(known))
    if not membership_ids:
        return []
    existing: set[int] = set()
    ordered = sorted(membership_ids)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        existing |= set(db.session.scalars(select(Conversation.id).where(Conversation.id.in_(chunk))))
    orphans = sorted(membership_ids - existing)
    if orphans and not dry_run:
        for start in range(0, len(orphans), 500):
            db.session.execute(
                ConversationMembership.__table__.delete().where(
                    ConversationMembership.conversation_id.in_(orphans[start : start + 500])
                )
            )
    return [f"conversation {cid}: removed memberships of a conversation that no longer exists" for cid in orphans]
