"""What members do to conversations: open, send, read, delete, remove, hide, mute. Each is its own transaction."""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..extensions import db, kept_after_commit, writes_from_here
from ..models import User, utcnow
from ..ratelimits import CountsUnavailable
from ..text import BODY_MAX, TextRefused, clean_text
from . import live, policy, rules, safety
from .conversations import (
    audit,
    create_conversation,
    delete_for_sender_only,
    ensure_memberships,
    find_conversation,
    hidden_column_name,
    is_kept_copy,
    log,
    membership,
    message_in,
)
from .metadata import mark_preview_changed, record_send, recount_unread, set_hidden, set_membership_flag
from .models import Conversation, ConversationMembership, ConversationStart, Message
from .policy import Refusal
from .reads import shares_read_receipts


def open_conversation(sender, recipient) -> tuple[Conversation, bool]:
    """The pair's one conversation, created if needed; returns (conversation, new to the sender).
    Only a member who may write to recipient starts one; one the sender already has opens whatever
    the rules say now (it says why they can't write in it). Until its first message it is the
    draft of whoever opened it: the other member sees nothing of it."""
    conversation = find_conversation(sender.id, recipient.id) if recipient is not None else None
    # New to the sender: no row of theirs, no message (the other member's draft is no conversation
    # yet to them either). Only that is a start, under the rules: refusing one they have answered
    # 403 where its thread says why, once the other member paused, was suspended or left (an API tester).
    new_to_sender = conversation is None or not _already_theirs(sender, conversation)
    if new_to_sender:
        rules.require_may_write(sender, recipient)
    created = False
    if conversation is None:  # an empty row is nobody's until a member's row names it (below)
        conversation, created = create_conversation(sender.id, recipient.id)
    # Opening a new one counts nothing against the day's limit of new conversations
    # (its first message does: send_message); a buyer who pressed Message on five sellers' profiles
    # to look had spent the day's five (a marketplace tester). Once they are spent it is refused
    # here too, rather than at the first message. Their row, hidden, is this request's claim on
    # it: of two requests at once (a double click, a client's retry), one inserts it; the other
    # finds it and opens what is there.
    if new_to_sender:
        try:
            if policy.counts_as_new(sender, recipient):
                policy.refuse_when_new_conversations_spent(sender)
        except (Refusal, CountsUnavailable):  # nothing of it stays: the row this request made
            if created:
                db.session.execute(delete(Conversation).where(Conversation.id == conversation.id))
                db.session.commit()
            raise
        new_to_sender = _claim(conversation, sender.id)
    ensure_memberships(conversation, [sender.id], opened_at=utcnow())
    set_hidden(sender.id, conversation.id, False)
    live.record([sender.id], "listed", conversation.id)
    db.session.commit()
    if created:
        audit("conversation.created", conversation_id=conversation.id, user_id=sender.id, other_user_id=recipient.id)
    return conversation, new_to_sender


def _already_theirs(member, conversation: Conversation) -> bool:
    """Whether member has this conversation already: their own row (their draft, or one with
    messages), or a message in it. The other member's unsent draft isn't theirs yet."""
    return membership(member.id, conversation.id) is not None or rules.conversation_has_message(conversation.id)


def _claim(conversation: Conversation, member_id: int) -> bool:
    """Insert the member's row for this conversation, hidden (nothing shows it yet); False when
    another request inserted it first."""
    db.session.add(ConversationMembership(user_id=member_id, conversation_id=conversation.id,
                                          other_user_id=conversation.other_id(member_id),
                                          last_activity_at=utcnow(), hidden=True))
    try:
        db.session.commit()
        return True
    except IntegrityError:
        db.session.rollback()
        return False


def clean_body(raw) -> str:
    """The message text to store, or a 400 Refusal saying what is wrong with it."""
    try:
        return clean_text(
            raw, BODY_MAX, "Messages", required="Write something before sending.",
            too_long="{label} can be at most {max_length:,} characters; this one has {length:,}.",
            control="Messages can only contain text; remove the control characters and try again.",
        )
    except TextRefused as refused:
        raise Refusal(refused.message, 400, field="body") from None


@dataclass
class Sent:
    message: Message
    recipient: User  # read for the send's checks; the answer shows their name
    read_unread: bool = True  # the reply read messages the sender hadn't (their unread count moved)


def send_message(sender, conversation: Conversation, raw_body, on_stored=None) -> Sent:
    """Store a message (first) and update both members' metadata (second). on_stored(message id), if
    given, adds its own writes to the commit that stores the message (an idempotency key's row)."""
    body = clean_body(raw_body)
    recipient, blocker_id, replied = _recipient(sender, conversation)
    written = replied or rules.conversation_has_message(conversation.id)
    rules.require_may_write(sender, recipient, blocker_id, written)
    if not written and policy.counts_as_new(sender, recipient):  # would start it
        # Refused before anything is spent on it; then the start is counted before the message is
        # stored, and only then its send of the minute: a first message the day's count refused
        # had spent one (an outside tester's six at once with two left: the four refused left 14 of 20).
        policy.refuse_when_new_conversations_spent(sender)
        policy.refuse_when_spent("send", "MESSAGE_RATE_LIMIT", sender)
        writes_from_here()
        with kept_after_commit():  # the sender, the other member and the conversation read above stay
            _count_start(sender, conversation)
    policy.take_rate_limit("send", "MESSAGE_RATE_LIMIT", sender)
    writes_from_here()  # the checks above only read (views.send reads them in autocommit)
    _hold(conversation)
    message = Message(conversation_id=conversation.id, sender_id=sender.id, body=body)
    db.session.add(message)
    if on_stored is not None:
        db.session.flush()  # its id
        on_stored(message.id)
    read_unread = True  # unknown when the metadata update fails: the tab asks for its badge
    # A send reads back exactly what it just wrote (the message, the conversation, both members)
    # for its audit line, the metadata update and the answer: kept, not reloaded after each commit.
    with kept_after_commit():
        db.session.commit()
        audit("message.sent", message_id=message.id, conversation_id=conversation.id, user_id=sender.id)
        try:
            if not written:  # the first message: the conversation now exists for the other member too
                ensure_memberships(conversation)
            read_unread = record_send(conversation, message)
        except SQLAlchemyError as error:
            db.session.rollback()
            log.warning(
                "metadata update failed after send; reconcile will repair it",
                extra={"conversation_id": conversation.id, "message_id": message.id, "error": type(error).__name__},
            )
            _tell_of_message_alone(sender, conversation, message)
    return Sent(message, recipient, read_unread)


def _tell_of_message_alone(sender, conversation: Conversation, message: Message) -> None:
    """The metadata update failed after the message was stored, and its live event went with it:
    record the event on its own, so both members' tabs hear of the message now (their open thread
    reads the messaging database; the list shows it once reconcile repairs the metadata)."""
    try:
        live.record((sender.id, conversation.other_id(sender.id)), "message", conversation.id, message.id)
        db.session.commit()
    except SQLAlchemyError as error:
        db.session.rollback()
        log.warning("live event failed after send; the tabs hear of the message with their next change",
                    extra={"conversation_id": conversation.id, "message_id": message.id, "error": type(error).__name__})


# A start claimed this long ago and not counted yet belongs to a request that died counting it.
START_ABANDONED_AFTER = timedelta(seconds=30)
START_WAIT_SECONDS, START_WAIT_STEP = 3.0, 0.02


def _count_start(sender, conversation: Conversation) -> None:
    """Count the conversation's start against the sender's new conversations of the day, once
    however many of its first messages are sent at once (a double tap, a client's retries: an API
    tester's twelve at once spent all five), and before any of them is stored. Its first message was
    stored, then counted, and deleted again when the day's count refused it; a second message sent at
    that moment found the first stored, went on as a reply and stayed: a conversation started with no
    count, five a day became eight (a re-check tester). The conversation's ConversationStart row makes
    one request its counter; the others wait (a few milliseconds) for its count: counted, they go on
    as that conversation's messages; refused, they take their own turn and are refused as it was."""
    deadline = time.monotonic() + START_WAIT_SECONDS
    while True:
        now = utcnow()
        try:
            db.session.execute(insert(ConversationStart).values(
                conversation_id=conversation.id, member_id=sender.id, counted=False, claimed_at=now))
            db.session.commit()
            break  # this request counts it
        except IntegrityError:
            db.session.rollback()
        start = db.session.execute(select(ConversationStart.counted, ConversationStart.claimed_at)
                                   .where(ConversationStart.conversation_id == conversation.id)).first()
        if start is not None and start.counted:
            return  # counted already: this message continues it
        if start is not None and start.claimed_at < now - START_ABANDONED_AFTER:
            db.session.execute(delete(ConversationStart).where(  # its counter died: taken over
                ConversationStart.conversation_id == conversation.id, ConversationStart.counted.is_(False),
                ConversationStart.claimed_at == start.claimed_at))
            db.session.commit()
            continue
        if time.monotonic() >= deadline:
            raise Refusal("Your first message to them is still on its way. Send this one again in a moment.", 409, 1)
        if start is not None:
            time.sleep(START_WAIT_STEP)  # another request is counting it (cooperative under gevent)
    try:
        policy.take_rate_limit("new-conversation", "NEW_CONVERSATION_RATE_LIMIT", sender)
    except BaseException:
        db.session.rollback()
        db.session.execute(delete(ConversationStart).where(ConversationStart.conversation_id == conversation.id,
                                                           ConversationStart.counted.is_(False)))
        db.session.commit()
        raise
    db.session.execute(update(ConversationStart).where(ConversationStart.conversation_id == conversation.id)
                       .values(counted=True))
    db.session.commit()


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
    """Every send asks it: the other member's account, any block between the two, and whether the
    conversation has a message yet (the metadata's word for it), in one query."""
    member_id, other_id = bindparam("member_id"), bindparam("other_id")
    CM = ConversationMembership
    replied = exists().where(CM.conversation_id == bindparam("conversation_id"), CM.last_message_id.is_not(None))
    return select(User, rules.blocker_of(member_id, other_id).label("blocker_id"), replied.label("replied")).where(
        User.id == other_id
    )


def _recipient(sender, conversation: Conversation) -> tuple[User | None, int | None, bool]:
    """The other member (None once their account is gone), who blocked whom between the two, if
    anyone, and whether the metadata knows of a message in the conversation."""
    row = db.session.execute(
        _recipient_statement(),
        {"member_id": sender.id, "other_id": conversation.other_id(sender.id), "conversation_id": conversation.id},
    ).first()
    return (row.User, row.blocker_id, bool(row.replied)) if row is not None else (None, None, False)


def mark_read(member, conversation: Conversation, up_to: int | None = None) -> None:
    """Everything up to the newest message is read, or up to up_to (a message of this
    conversation: the caller checked); a read marker only moves forward. Either way the member's
    tabs and, with read receipts, the other member's hear of it."""
    mine = membership(member.id, conversation.id)
    if mine is None:
        ensure_memberships(conversation, [member.id])
        mine = membership(member.id, conversation.id)
    newest = db.session.scalar(_newest_message_statement(), {"conversation_id": conversation.id})
    if up_to is not None:
        newest = up_to
    behind = newest is not None and (mine.last_read_message_id or 0) < newest
    if behind or (mine.unread_count and up_to is None):
        live.record([member.id], "read", conversation.id, newest,
                    unread_unchanged=[member.id] if mine.muted else [])  # muted: never in the badge
        other = db.session.get(User, conversation.other_id(member.id))
        # Nor does a member blocked (or blocking) learn of the read: "Seen" moving on their old messages
        # told a blocked member that the blocker was still reading (an outside tester).
        tells_seen = shares_read_receipts(member, other) and not rules.blocked_between(member.id, other.id)
        if tells_seen:  # otherwise not even the wake may tell them of the read
            live.record([other.id], "seen", conversation.id, newest)
        recount_unread(conversation, member.id, read_up_to=newest or 0, tells_seen=tells_seen)


@functools.cache
def _newest_message_statement():
    """Every read asks it: built once, values bound."""
    return select(func.max(Message.id)).where(Message.conversation_id == bindparam("conversation_id"))


def delete_message(member, conversation: Conversation, message_id) -> Message:
    """The sender deletes their own message for both members, and its text for good; where the other
    member blocked or reported them, for the sender only: the other member keeps their copy, and the
    sender sees what any delete for both shows (see conversations.KEPT_COPY)."""
    message = message_in(conversation, message_id)
    if not policy.may_delete_for_both(member, message):
        raise Refusal("You can only delete messages you sent. You can remove this one from your own view.", 403)
    if message.deleted_at is None:
        other_id = conversation.other_id(member.id)
        kept = safety.keeps_as_evidence(other_id, member.id)
        if kept:  # a reported scammer had wiped his victim's copy, leaving nothing to show an admin
            delete_for_sender_only(message)
        else:
            # Its text goes with it, not only from view: an API tester found it kept in the messaging
            # database (until `purge`), where members would expect it gone.
            message.deleted_at, message.body = utcnow(), ""
        db.session.commit()
        audit("message.deleted", message_id=message.id, conversation_id=conversation.id, user_id=member.id)
        told = (member.id,) if kept else (member.id, other_id)  # the keeper's copy is as it was: nothing to tell
        mark_preview_changed(conversation.id, message.id, told)
        live.record(told, "deleted", conversation.id, message.id, unread_unchanged=(member.id,))
        if kept:
            db.session.commit()
        else:
            recount_unread(conversation, other_id)  # and commits
    return message


def remove_message_for_me(member, conversation: Conversation, message_id) -> Message:
    """Either member removes a single message from their own view only."""
    message = message_in(conversation, message_id)
    setattr(message, hidden_column_name(conversation, member.id), True)
    if is_kept_copy(message) and message.sender_id != member.id:
        message.body = ""  # the kept copy's keeper let it go: nobody sees its text any more
    db.session.commit()
    audit("message.removed_for_self", message_id=message.id, conversation_id=conversation.id, user_id=member.id)
    mark_preview_changed(conversation.id, message.id, (member.id,))
    live.record([member.id], "removed", conversation.id, message.id)
    recount_unread(conversation, member.id)
    return message




def hide_conversation(member, conversation: Conversation) -> None:
    """Hide from the member's own inbox until a new message arrives."""
    ensure_memberships(conversation, [member.id])
    set_hidden(member.id, conversation.id, True)
    live.record([member.id], "hidden", conversation.id)
    db.session.commit()
    audit("conversation.hidden", conversation_id=conversation.id, user_id=member.id)


def unhide_conversation(member, conversation: Conversation) -> None:
    """Undo hide_conversation: back in the member's inbox (their other tabs' lists hear of it)."""
    ensure_memberships(conversation, [member.id])
    set_hidden(member.id, conversation.id, False)
    live.record([member.id], "listed", conversation.id)
    db.session.commit()
    audit("conversation.unhidden", conversation_id=conversation.id, user_id=member.id)


def mute_conversation(member, conversation: Conversation, muted: bool) -> None:
    """Mute (or unmute) a conversation for the member: still listed with its unread count, but
    left out of the badge, title, dashboard, desktop notices and emails (inbox.unread_sum, claims)."""
    ensure_memberships(conversation, [member.id])  # a draft is the opener's alone (both rows handed it to the other: a re-check tester)
    # preview_changed_at: the row looks different (Muted), so the list's version moves even when
    # its unread total doesn't (nothing unread in it).
    # unread_since: a muted conversation has no email clock (metadata.record_send starts none), and
    # one it had when muted or unmuted is gone: a muted backlog made an email go out seconds after
    # the next message in another conversation, and an unmuted one would the moment it was unmuted.
    set_membership_flag(member.id, conversation.id, muted=muted, preview_changed_at=utcnow(), unread_since=None)
    live.record([member.id], "muted", conversation.id)  # the member's other tabs: their list and badge
    db.session.commit()
    audit("conversation.muted" if muted else "conversation.unmuted", conversation_id=conversation.id, user_id=member.id)
