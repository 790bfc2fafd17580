"""Notification data, all in the main database: addresses, preferences, notices and runs. Never message text."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models import utcnow

FREQUENCIES = {
    "never": "Never",
    "soon": "Soon after a message arrives",
    "daily": "In a daily digest",
}


class EmailSettings(db.Model):
    """A member's email address and what they want to hear about. Shown to nobody but the member."""

    __tablename__ = "email_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    address: Mapped[str | None] = mapped_column(String(254), default=None)
    # Set when the member followed a confirmation link for exactly this address; a change clears it.
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    frequency: Mapped[str] = mapped_column(String(8), default="never", server_default="never")
    # Whether an email names who wrote; off, it says only how many messages wait in each
    # conversation (for an inbox others may read: a shared address, a therapy client's). None until the
    # member chooses: the community's switch (emails_name_who_wrote) says, as it is now (names_writers).
    name_writers: Mapped[bool | None] = mapped_column(default=None)
    # When the last daily digest was claimed: at most one a day.
    last_digest_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def confirmed(self) -> bool:
        return self.address is not None and self.confirmed_at is not None

    @property
    def names_writers(self) -> bool:
        """Whether its emails name who wrote: the member's choice, or until they make one the community's
        (a member who had only added an address kept naming after the admin switched naming off: a re-check
        tester)."""
        from ..flags import is_enabled

        return self.name_writers if self.name_writers is not None else is_enabled("emails_name_who_wrote")


class Notice(db.Model):
    """One email to send: claimed from due memberships (or asked for by a new address), then delivered once.

    status: pending -> sent; dropped when it no longer should go out (read meanwhile, unsubscribed);
    refused when the mail server refused the address for good.
    A delivery holds a lease (lease_until) so a second notify process leaves it alone.
    """

    __tablename__ = "notices"
    __table_args__ = (
        Index("ix_notices_status_id", "status", "id"),
        Index("ix_notices_sent_at", "sent_at"),
        Index("ix_notices_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # soon, daily, confirm
    status: Mapped[str] = mapped_column(String(8), default="pending")
    # Who wrote and how many: JSON [[other_user_id, unread_count], ...]. Ids and counts only.
    summary: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(64), default=None)  # an exception's class name
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


class NotifyRun(db.Model):
    """One run of `./wb messaging notify`: when, and how many emails went out or failed."""

    __tablename__ = "notify_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    claimed: Mapped[int] = mapped_column(default=0)
    sent: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
