"""The API's main-database tables: personal access tokens and idempotency keys (never message text)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..messaging.models import MessageId
from ..models import utcnow


class AccessToken(db.Model):
    """A member's personal access token: only its SHA-256 is stored, the token is shown once.

    It works until revoked (revoked_at) or, when its owner chose a lifetime, until expires_at."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)  # None: never expires

    def expired(self, now: datetime) -> bool:
        """Whether the token's chosen lifetime is over at `now` (naive UTC)."""
        return self.expires_at is not None and self.expires_at <= now


class IdempotencyKey(db.Model):
    """A send's Idempotency-Key (hashed) and the message it stored: a retried send stores once.

    message_id is NULL while the first request with the key is still sending. body_hash tells a
    retry from another message once the text is gone (deleted for both): keyed, never the text."""

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (
        UniqueConstraint("user_id", "key_hash", name="uq_api_idempotency_keys_user_key"),
        Index("ix_api_idempotency_keys_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key_hash: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[int] = mapped_column()  # lives in the messaging database
    message_id: Mapped[int | None] = mapped_column(MessageId, default=None)
    body_hash: Mapped[str | None] = mapped_column(String(64), default=None)  # NULL: claimed before it was kept
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
