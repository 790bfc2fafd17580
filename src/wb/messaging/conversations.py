"""A conversation fetched and authorized, found or created for a pair, and the audit line every action writes."""
from __future__ import annotations

import functools
import logging

from flask import abort
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from ..circles.models import CircleMember
from ..extensions import db
from ..models import User, utcnow
from ..visibility import listed_for
from .models import RANDOM_IDS, Conversation, ConversationMembership, Message, random_id

log = logging.getLogger("wb.messaging")


def audit(event: str, **ids) -> None:
    """One structured log line per messaging action: ids and timestamps only, never text."""
    log.info(event, extra={"event": event, "at": utcnow().isoformat(timespec="seconds"), **ids})


NOT_FOUND = "That conversation doesn't exist."


def get_conversation_for(member, conversation_id) -> Conversation:
    """The conversation, if member takes part in it; else 404, the same for every id they can't see.

    An empty conversation is the draft of whoever opened it: to the other member it doesn't
    exist until its first message. A 403 for other members' conversations would tell those apart:
    ids come in order, so a 404 among 403s would be a draft addressed to the asker (and the 403s
    a count of everyone's conversations). A draft with a member the opener no longer sees is no
    conversation to them either (hidden_drafts)."""
    row = db.session.execute(_conversation_statement(), {"conversation_id": conversation_id}).first()
    if row is None:
        abort(404, NOT_FOUND)
    conversation = row.Conversation
    if not conversation.has_participant(member.id):
        abort(404, NOT_FOUND)
    if not row.has_message and (membership(member.id, conversation.id) is None
                                or not _sees_id(member, conversation.other_id(member.id))):
        abort(404, NOT_FOUND)
    return conversation


def hidden_drafts(member) -> frozenset[int]:
    """The member's drafts (their row, no message yet) with someone they no longer see (visibility):
    opened while the rules allowed it, they kept a hidden client's name in another client's inbox and
    thread (a practice's tester). The row stays; the draft shows again if the rules open again. One
    query, none while the member sees everyone."""
    listed = listed_for(member)
    if listed is None:
        return frozenset()
    CM = aliased(ConversationMembership)  # listed_for's own subqueries read the unaliased table
    return frozenset(db.session.scalars(
        select(CM.conversation_id).join(User, User.id == CM.other_user_id)
        .where(CM.user_id == member.id, CM.last_message_id.is_(None), ~listed)))


def _sees_id(member, other_id: int) -> bool:
    """Whether member sees the member with this id (visibility.listed_for): one query, none while they see everyone."""
    listed = listed_for(member)
    return listed is None or db.session.scalar(select(User.id).where(User.id == other_id, listed)) is not None


@functools.cache
def _conversation_statement():
    """Every conversation route loads one, with whether it has a message yet: built once
    (session.get rebuilds its query each time)."""
    has_message = select(Message.id).where(Message.conversation_id == Conversation.id).exists()
    return select(Conversation, has_message.label("has_message")).where(Conversation.id == bindparam("conversation_id"))


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


CONVERSATION_IDS = RANDOM_IDS  # a new conversation's id is drawn at random (models.random_id)
ID_TRIES = 5


def create_conversation(a_id: int, b_id: int) -> tuple[Conversation, bool]:
    """Insert the pair's row under a random id; if another request won the race, use theirs."""
    low, high = _pair(a_id, b_id)
    for _ in range(ID_TRIES):
        conversation = Conversation(id=random_id(), user_low_id=low, user_high_id=high)
        db.session.add(conversation)
        try:
            db.session.commit()
            return conversation, True
        except IntegrityError:
            db.session.rollback()
            existing = find_conversation(low, high)
            if existing is not None:  # another request made the pair's row first
                return existing, False
            # else the id was taken (one in millions): draw again
    raise RuntimeError("no free conversation id after several draws")


def ensure_memberships(conversation: Conversation, member_ids=None, opened_at=None) -> None:
    """These members' metadata rows exist (default: both, once the conversation has a message;
    an empty one gets only its opener's row: it is their draft). Commits; tolerates a concurrent insert.
    opened_at: when a member opens it (their row's activity then), else when it was made."""
    wanted = member_ids or (conversation.user_low_id, conversation.user_high_id)
    have = set(
        db.session.scalars(
            select(ConversationMembership.user_id).where(ConversationMembership.conversation_id == conversation.id)
        )
    )
    for member_id in wanted:
        if member_id in have:
            continue
        db.session.add(
            ConversationMembership(
                user_id=member_id,
                conversation_id=conversation.id,
                other_user_id=conversation.other_id(member_id),
                # Opened: then, not when the conversation was made (a member opening someone's draft
                # would learn when that draft was started).
                last_activity_at=opened_at or conversation.created_at or utcnow(),
            )
        )
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()


def hidden_column_name(conversation: Conversation, member_id: int) -> str:
    """The messages column that says "removed from this member's view"."""
    return f"hidden_for_{conversation.side(member_id)}"


# A sender's "Delete for both" of a message to a member who blocked or reported them (safety.keeps_as_evidence)
# deletes it for the sender only: they see it deleted, as any delete for both, and the other member keeps it as it
# was, so neither learns of the other's doing (a 403 told a practice's client they had been reported: an outside
# tester). Such a row keeps its text and is marked kept_for_recipient; deleted_at says when the sender deleted it.
# It is a kept copy only while it holds its text: once the keeper removes it from their view its text goes
# (writes.remove_message_for_me), and the row is deleted for both like any other.
KEPT_COPY = Message.kept_for_recipient.is_(True) & (Message.body != "")


def delete_for_sender_only(message: Message) -> None:
    """Mark the message deleted for its sender, now, while the other member keeps their copy (KEPT_COPY)."""
    message.deleted_at, message.kept_for_recipient = utcnow(), True


def is_kept_copy(message) -> bool:
    """Whether its sender deleted it while the other member keeps their copy (a Message or a row with its
    deleted_at, kept_for_recipient and body: reads.SHOWN_COLUMNS)."""
    return message.deleted_at is not None and bool(message.kept_for_recipient) and bool(message.body)


def deleted_for(viewer_id: int, message) -> bool:
    """Whether this member sees the message as deleted ("Message deleted"): deleted for both, or by them where
    the other member keeps their copy."""
    return message.deleted_at is not None and (message.sender_id == viewer_id or not is_kept_copy(message))


def shown_to_recipient():
    """SQL: the message shows its text to the member it was sent to (not deleted, or their kept copy)."""
    return Message.deleted_at.is_(None) | KEPT_COPY


def message_in(conversation: Conversation, message_id) -> Message:
    """A message of this conversation; a guessed id from anywhere else is simply not found."""
    message = db.session.get(Message, message_id)
    if message is None or message.conversation_id != conversation.id:
        abort(404, "That message doesn't exist.")
    return message


def begun_within(circle_id: int) -> int:
    """How many conversations members of this circle have begun with each other (a message in them):
    a count only, for the admin protecting the circle."""
    CM = ConversationMembership
    members = select(CircleMember.user_id).where(CircleMember.circle_id == circle_id)
    return db.session.scalar(select(func.count()).select_from(CM).where(
        CM.user_id.in_(members), CM.other_user_id.in_(members), CM.user_id < CM.other_user_id,
        CM.last_message_id.is_not(None)))

