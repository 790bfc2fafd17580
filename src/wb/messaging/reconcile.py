"""Rebuilds the main database's metadata from the messaging database, the source of truth."""
from __future__ import annotations

from sqlalchemy import func, select

from ..extensions import db
from ..models import utcnow
from .metadata import unread_for
from .models import Conversation, ConversationMembership, Message


def reconcile_conversation(conversation: Conversation, dry_run: bool = False) -> list[str]:
    """Make one conversation's metadata agree with its messages; returns what changed (no commit)."""
    return reconcile_conversations([conversation], dry_run)


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
        changes += reconcile_conversations(batch, dry_run)
        if not dry_run:
            db.session.commit()
        last_id = batch[-1].id
    changes += _remove_orphans(dry_run)
    if not dry_run:
        db.session.commit()
    return changes


def reconcile_conversations(conversations: list[Conversation], dry_run: bool) -> list[str]:
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
            if row is None and conversation.id not in newest:
                continue  # an empty conversation is the draft of whoever opened it: nobody else gets a row
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
            seen = row.seen_message_id  # what "Seen" shows: never past what was read
            if seen is not None and (last_read is None or seen > last_read):
                changes.append(f"conversation {conversation.id}: member {member_id} seen_message_id {seen} -> {last_read}")
                if not dry_run:
                    row.seen_message_id = last_read
            want = {
                "other_user_id": conversation.other_id(member_id),
                "last_message_id": newest.get(conversation.id),
                # Without messages, a row's activity is when that member opened it (no message says more).
                "last_activity_at": latest.get(conversation.id)
                or (row.last_activity_at if row.id is not None else conversation.created_at),
                "unread_count": unread_for(conversation, member_id, last_read),
            }
            if not dry_run:
                _keep_unread_clock(row, want["unread_count"])
            for name, value in want.items():
                if getattr(row, name) != value:
                    if name != "last_activity_at" or row.id is not None:
                        changes.append(
                            f"conversation {conversation.id}: member {member_id} {name} {getattr(row, name)} -> {value}"
                        )
                    if not dry_run:
                        setattr(row, name, value)
    return changes


def _keep_unread_clock(row: ConversationMembership, unread_count: int) -> None:
    """unread_since (wb.notifications) follows the corrected count: cleared when nothing is unread or
    the conversation is muted (no email tells of it);
    started now for unread messages a failed metadata write never recorded (the member hears of them later)."""
    if unread_count == 0 or row.muted:
        row.unread_since = None
    elif row.unread_since is None and unread_count > (row.unread_count or 0):
        row.unread_since = utcnow()


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
