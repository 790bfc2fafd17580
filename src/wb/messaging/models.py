"""Messaging data.

Messaging database (bind "messaging"): conversations and messages - the only
place message text is ever stored. User ids there are plain integers; no
foreign key crosses databases.

Main database: the metadata routing, permissions and unread counts need -
memberships, blocks, reports. None of it holds message text, and all of it can
be rebuilt from the messaging database (service.reconcile).
"""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models import utcnow

# Conversations' and reports' ids are drawn at random from this range, not counted up: ids in order
# told a member who opened a conversation that its lower id was the other member's unsent draft,
# told a reporter how many reports others filed (reports are confidential: an API tester), and
# told anyone how many conversations the community has. Above what a counter reaches (seeded
# demos, older rows) and within PostgreSQL's integer, which every table naming them uses.
RANDOM_IDS = (1_000_000, 2**31 - 1)


def random_id() -> int:
    """A new row's id, drawn at random from RANDOM_IDS (a draw already taken fails its insert)."""
    return secrets.randbelow(RANDOM_IDS[1] - RANDOM_IDS[0]) + RANDOM_IDS[0]

# BigInteger ids on PostgreSQL, INTEGER (so still the rowid alias) on SQLite.
MessageId = BigInteger().with_variant(db.Integer(), "sqlite")


# --- messaging database -------------------------------------------------------


class Conversation(db.Model):
    """Exactly one per pair of members, enforced by the database."""

    __bind_key__ = "messaging"
    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("user_low_id", "user_high_id", name="uq_conversations_pair"),
        CheckConstraint("user_low_id < user_high_id", name="ordered_pair"),
        Index("ix_conversations_user_high_id", "user_high_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_low_id: Mapped[int] = mapped_column()
    user_high_id: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def has_participant(self, user_id: int) -> bool:
        return user_id in (self.user_low_id, self.user_high_id)

    def other_id(self, user_id: int) -> int:
        return self.user_high_id if user_id == self.user_low_id else self.user_low_id

    def side(self, user_id: int) -> str:
        """'low' or 'high': which per-side columns belong to this member."""
        return "low" if user_id == self.user_low_id else "high"


class Message(db.Model):
    __bind_key__ = "messaging"
    __tablename__ = "messages"
    __table_args__ = (
        # Thread pages, polls and "newest message" all walk this index.
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        # Retention purge looks for old deletions.
        Index("ix_messages_deleted_at", "deleted_at"),
        # SQLite never hands an id out twice (a client's cursor), a restore included: restore.py.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(MessageId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    sender_id: Mapped[int] = mapped_column()
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When its sender deleted it: for both sides (the body is never served again and is
    # wiped for good by `./wb messaging purge`) unless kept_for_recipient.
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    # Deleted by its sender while the other member, who blocked or reported them, keeps their copy
    # with its text (conversations.KEPT_COPY): deleted_at says when the sender deleted it.
    kept_for_recipient: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Removed by one member from their own view only.
    hidden_for_low: Mapped[bool] = mapped_column(default=False)
    hidden_for_high: Mapped[bool] = mapped_column(default=False)


class MessagingCommunity(db.Model):
    """The community this messaging database belongs to: the main database's Community id, written
    when the schema is made or upgraded and before a backup (ops/identity.py), so a backup says whose it is."""

    __bind_key__ = "messaging"
    __tablename__ = "community"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, default=1)
    community_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- main database: metadata only ---------------------------------------------


class ConversationStart(db.Model):
    """A conversation's start, counted against its opener's new conversations of the day before its
    first message is stored (writes._count_start): one row a conversation, so its first messages,
    however many are sent at once, count once, and none is stored that the day's count refused."""

    __tablename__ = "conversation_starts"

    conversation_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    member_id: Mapped[int] = mapped_column()
    counted: Mapped[bool] = mapped_column(default=False)  # False: its count is being taken now
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationMembership(db.Model):
    """One member's view of one conversation: what the inbox and badge read."""

    __tablename__ = "conversation_memberships"
    __table_args__ = (
        UniqueConstraint("user_id", "conversation_id", name="uq_memberships_user_conversation"),
        Index("ix_memberships_inbox", "user_id", "hidden", "last_activity_at"),
        Index("ix_memberships_conversation_id", "conversation_id"),
        # The badge sums unread counts from this index alone, over only the rows that have some.
        Index("ix_memberships_unread", "user_id", "hidden", "unread_count", "other_user_id"),
        # The inbox list's poll reads the newest preview change from this index alone.
        Index("ix_memberships_preview_changed", "user_id", "hidden", "preview_changed_at"),
        # `./wb messaging notify` finds conversations that became due from this index alone.
        Index("ix_memberships_unread_since", "unread_since", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column()  # lives in the messaging database
    other_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_message_id: Mapped[int | None] = mapped_column(MessageId, default=None)
    unread_count: Mapped[int] = mapped_column(default=0)
    last_read_message_id: Mapped[int | None] = mapped_column(MessageId, default=None)
    # How far the member has read as far as they shared it: moved with last_read_message_id only
    # while their read receipts are on. "Seen" shows the other member this, so what was read with
    # receipts off stays unsaid when they are turned back on.
    seen_message_id: Mapped[int | None] = mapped_column(MessageId, default=None)
    hidden: Mapped[bool] = mapped_column(default=False)
    # When the row last looked different without new activity (its newest message deleted for both
    # or removed from this member's view, the conversation muted or unmuted): part of the inbox
    # list's version.
    preview_changed_at: Mapped[datetime | None] = mapped_column(default=None)
    # When this member's conversation first became unread since they last read it or were
    # emailed about it (wb.notifications): NULL when there is nothing to tell them.
    unread_since: Mapped[datetime | None] = mapped_column(default=None)
    # Muted by this member: still listed with its unread count, but left out of the badge, the
    # tab title, the dashboard, desktop notices and emails.
    muted: Mapped[bool] = mapped_column(default=False, server_default=false())


class Block(db.Model):
    __tablename__ = "blocks"
    __table_args__ = (
        UniqueConstraint("blocker_id", "blocked_id", name="uq_blocks_pair"),
        Index("ix_blocks_blocked_id", "blocked_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    blocker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    blocked_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


REPORT_REASONS = {
    "spam": "Spam or advertising",
    "harassment": "Harassment or bullying",
    "scam": "Scam or fraud",
    "safety": "Threats or safety concern",
    "other": "Something else",
}
REPORT_NOTE_MAX = 1000  # characters of a report's note for the admins


class Report(db.Model):
    """A moderation record: who reported whom, when, about which conversation - never message text."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_status_created", "status", "created_at"),
        # One open report per reporter, member and reason: a second one joins the first
        # (safety.report); two requests at once had filed two (an outside tester).
        Index("uq_reports_open", "reporter_id", "reported_id", "reason", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
    )

    # Drawn at random when filed (safety._filed: random_id); rows filed before keep their counted ids.
    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reported_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(default=None)
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(String(1000), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class LiveEvent(db.Model):
    """Something changed for a member (a message, a delete, "Seen", their list, their account):
    what the tab's live channel answers with (messaging/live.py). Ids and kinds only, never text.
    member_id 0 is everyone (messaging switched off, the rules changed). Ids only grow
    (AUTOINCREMENT on SQLite, a sequence on PostgreSQL) and order all events; seq numbers each
    member's own 1, 2, 3... in id order, and is what a tab's cursor counts (live.cursor_for)."""

    __tablename__ = "live_events"
    __table_args__ = (
        Index("uq_live_events_member_seq", "member_id", "seq", unique=True),
        Index("ix_live_events_created", "created_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(MessageId, primary_key=True)
    member_id: Mapped[int] = mapped_column()
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    conversation_id: Mapped[int | None] = mapped_column(default=None)
    message_id: Mapped[int | None] = mapped_column(MessageId, default=None)
    # May this change move this member's unread count? (Their own message doesn't, unless replying
    # read what had come in.)
    unread: Mapped[bool] = mapped_column(default=True, server_default=true())
    # The tab whose request made the change (a random id it sends as X-WB-Tab), on the acting
    # member's own rows only: that tab's answer refreshed what changed, so it skips the event.
    origin: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
