"""What an open thread shows: its messages, both members' state, and what a poll brings."""
from __future__ import annotations

import functools
from dataclasses import dataclass

from flask import abort, current_app
from sqlalchemy import bindparam, select

from ..database import read_rows
from ..extensions import db
from ..models import User
from . import live, policy, rules
from .conversations import hidden_column_name, message_in
from .models import Block, Conversation, ConversationMembership, Message

# What a thread shows of a message. Read as plain rows (attribute access like a Message):
# a page holds 50 of them, and building ORM objects for rows that are only displayed
# cost more than the query. Carries what conversations.deleted_for reads.
SHOWN_COLUMNS = (Message.id, Message.sender_id, Message.body, Message.created_at, Message.deleted_at,
                 Message.kept_for_recipient)


@functools.cache
def _run_statement(hidden_column: str, direction: str):
    """A run of the messages one side of a conversation sees (hidden_column: hidden_column's
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


def visible_messages(member, conversation: Conversation, direction: str, cursor=None, limit=None) -> list:
    statement = _run_statement(hidden_column_name(conversation, member.id), direction)
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
    rows = visible_messages(member, conversation, direction, before, limit=per_page + 1)
    has_older = len(rows) > per_page
    rows = rows[:per_page]
    rows.reverse()
    return ThreadPage(messages=rows, older_cursor=rows[0].id if has_older and rows else None)


def messages_after(member, conversation: Conversation, after: int) -> list:
    """Messages newer than a cursor, oldest first (at most one page), as rows of SHOWN_COLUMNS."""
    return visible_messages(member, conversation, "after", after)


@dataclass
class ThreadState:
    """What an open thread needs besides its messages, read in one query."""
    other: object | None  # the other member's account columns the rules read (None: no account)
    mine: object | None  # my metadata: last_message_id, last_read_message_id, unread_count, muted (None: no row yet)
    theirs: object | None  # theirs, likewise
    blocker_id: int | None  # who blocked whom, if either of us blocked the other
    blocked_by_me: bool  # I blocked the other member (the header's Safety offers Unblock)


@functools.cache
def _thread_state_statement():
    """Both members' accounts with their metadata for one conversation, and a block between them."""
    CM = ConversationMembership
    member_id, other_id = bindparam("member_id"), bindparam("other_id")
    blocker = rules.blocker_of(member_id, other_id)
    return (
        select(
            User.id, User.username, User.display_name, User.name_shared, User.status, User.deleted_at, User.read_receipts,
            User.role, User.message_from, User.messages_paused,
            CM.user_id.label("member_of"), CM.last_message_id, CM.last_read_message_id, CM.seen_message_id,
            CM.unread_count, CM.muted,
            blocker.label("blocker_id"),
            select(Block.id).where(Block.blocker_id == member_id, Block.blocked_id == other_id)
            .exists().label("blocked_by_me"),
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
        blocked_by_me=bool(rows and next(iter(rows.values())).blocked_by_me),
    )


def seen_by_other(member, conversation: Conversation) -> int:
    """How far the other member has read this conversation (0: nothing yet)."""
    row = db.session.execute(
        _seen_by_other_statement(), {"in_conversation": conversation.id, "other_id": conversation.other_id(member.id)}
    ).first()
    return (row.seen_message_id or 0) if row is not None and shares_read_receipts(member, row) else 0


@functools.cache
def _seen_by_other_statement():
    """Every poll and every send that brings its message asks it: built once, values bound."""
    CM = ConversationMembership
    return (
        select(CM.seen_message_id, User.read_receipts)
        .join(User, User.id == CM.user_id)
        .where(CM.conversation_id == bindparam("in_conversation"), CM.user_id == bindparam("other_id"))
    )


def shares_read_receipts(mine, theirs) -> bool:
    """Read receipts are reciprocal (Signal's choice): "Seen" shows only between two members who
    both let others see when they have read (rows or Users with read_receipts)."""
    return bool(mine is not None and theirs is not None and mine.read_receipts and theirs.read_receipts)


def tell_receipts_changed(member) -> None:
    """member turned their read receipts on or off: tell (with the session's next commit) the other
    member of each of their conversations only where that changes what they are shown, that is where
    they share theirs; a thread woken anyway told a member with receipts off of the setting itself
    (a re-check tester). Only whoever has the conversation: a draft of member's is nothing to them."""
    CM = ConversationMembership
    shown_seen = db.session.execute(
        select(CM.user_id, CM.conversation_id).join(User, User.id == CM.user_id)
        .where(CM.other_user_id == member.id, User.read_receipts.is_(True))
    ).all()
    for other_id, conversation_id in shown_seen:
        live.record([other_id], "seen", conversation_id)


def seen_marker(mine, theirs) -> int:
    """How far the other member has read, as this member may see it: 0 when receipts aren't shared
    (so neither the page, a poll nor the API can tell a read from no read), and never further than
    they read with their receipts on (seen_message_id)."""
    return (theirs.seen_message_id or 0) if shares_read_receipts(mine, theirs) else 0


MOST_CHANGED = 50  # messages a poll re-draws at once (deleted or removed since they were shown)


@dataclass
class PollUpdate:
    """What a poll brings an open thread: newer messages, shown messages that changed, the other
    member's read marker, and the new cursors."""
    conversation: Conversation
    messages: list  # rows of SHOWN_COLUMNS, oldest first
    changed: list  # shown messages drawn again (deleted for both since), rows of SHOWN_COLUMNS
    gone: list  # ids of shown messages this member no longer sees (removed from their view)
    after_id: int  # the newest message the thread now shows
    seen_id: int  # how far the other member has read
    needs_read: bool  # something arrived from the other member: the page marks it read


def poll(member, conversation: Conversation, after: int, seen: int, changed=()) -> PollUpdate | None:
    """What changed since the client's cursors (after: newest message shown, seen: their read
    marker) and for the shown messages named in changed, or None when nothing did."""
    messages = messages_after(member, conversation, after)
    seen_now = seen_by_other(member, conversation)
    redrawn, gone = _shown_again(member, conversation, [i for i in changed if i <= after][:MOST_CHANGED])
    if not messages and not redrawn and not gone and seen_now == seen:
        return None
    return PollUpdate(
        conversation=conversation,
        messages=messages,
        changed=redrawn,
        gone=gone,
        after_id=max([after] + [m.id for m in messages]),
        seen_id=seen_now,
        needs_read=any(m.sender_id != member.id for m in messages),
    )


def _shown_again(member, conversation: Conversation, message_ids) -> tuple[list, list]:
    """Those of these messages the member still sees (drawn again), and the ids of those they don't."""
    if not message_ids:
        return [], []
    hidden = getattr(Message, hidden_column_name(conversation, member.id))
    rows = db.session.execute(
        select(*SHOWN_COLUMNS, hidden.label("hidden"))
        .where(Message.conversation_id == conversation.id, Message.id.in_(message_ids))
        .order_by(Message.id)
    ).all()
    return [row for row in rows if not row.hidden], [row.id for row in rows if row.hidden]


@dataclass
class ThreadView:
    """What an open thread shows: its messages, the other member, the compose box and the poller's cursors."""
    conversation: Conversation
    page: ThreadPage
    other: object | None  # the other member's account row (None once it is gone)
    other_name: str
    blocked_by_me: bool  # the thread's Safety offers Unblock instead of Block
    compose_blocked: rules.Decision | None  # why there is no compose box (and where to go), or None when the member may write
    compose_body: str  # what the compose box holds (what a refused send had)
    compose_error: str | None
    compose_retry_after: int | None  # a limit's refusal: seconds until it may send again
    compose_send_key: str | None  # a refused form send's key (kept for its send again), or None for a new one
    after_id: int  # the poller's cursors: the newest message shown ...
    seen_id: int  # ... and how far the other member had read
    needs_read: bool  # the member has unread messages here: the page marks them read
    muted: bool  # the member muted this conversation (the header offers Unmute)


def thread_view(member, conversation: Conversation, before=None, compose_body="", compose_error=None,
                compose_retry_after=None, compose_send_key=None) -> ThreadView:
    """An open thread (its newest page, or the page before a cursor), in a fixed number of queries."""
    page = thread_page(member, conversation, before=before)
    state = thread_state(member, conversation)
    mine, theirs, other = state.mine, state.theirs, state.other
    newest_shown = max((m.id for m in page.messages), default=0) if before is None else 0
    return ThreadView(
        conversation=conversation,
        page=page,
        other=other,
        other_name=display_name(other),
        blocked_by_me=state.blocked_by_me,
        compose_blocked=_compose_blocked(member, page, state),
        compose_body=compose_body,
        compose_error=compose_error,
        compose_retry_after=compose_retry_after,
        compose_send_key=compose_send_key,
        after_id=max(newest_shown, (mine.last_message_id or 0) if mine else 0),
        seen_id=seen_marker(member, theirs),
        needs_read=bool(mine and mine.unread_count),
        muted=bool(mine and mine.muted),
    )


def _compose_blocked(member, page: ThreadPage, state: ThreadState) -> rules.Decision | None:
    """Why the member may not write here now (the rules' one decision), or None. A conversation
    nobody has written in yet is a start: an opened, empty conversation grants nothing."""
    written = bool(page.messages) or any(row is not None and row.last_message_id for row in (state.mine, state.theirs))
    decision = rules.decide_pair(member, state.other, state.blocker_id, written)
    if decision.may_write and not written and state.other is not None:
        # A draft whose first message today's spent starts would refuse says so before it is typed
        # (a street's tester typed one to be told on Send).
        decision = rules.day_limit_refusal(member, state.other) or decision
    return None if decision.may_write else decision


def visible_message(member, conversation: Conversation, message_id) -> Message:
    """A message of this conversation that this member still sees (not removed from their view)."""
    message = message_in(conversation, message_id)
    if getattr(message, hidden_column_name(conversation, member.id)):
        abort(404, "That message doesn't exist.")
    return message


def other_member(member, conversation: Conversation) -> User | None:
    """The other participant's account (None once it is gone)."""
    return db.session.get(User, conversation.other_id(member.id))


def display_name(user) -> str:
    """A member's name, or 'former member' once they have left or been suspended
    (a User, or a plain row with their name and account columns)."""
    return policy.FORMER_MEMBER if policy.is_former(user) else User.name_of(user)
