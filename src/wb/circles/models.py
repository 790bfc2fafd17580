"""Circles and who is in them, and the community's messaging rules (main database)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models import utcnow

CIRCLE_NAME_MAX = 60


class Circle(db.Model):
    """A named group of members. Names are unique in any case (name_key is the lower-cased name)."""

    __tablename__ = "circles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(CIRCLE_NAME_MAX))
    name_key: Mapped[str] = mapped_column(String(CIRCLE_NAME_MAX), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CircleMember(db.Model):
    """One member in one circle. Deleting either removes the row, never the other."""

    __tablename__ = "circle_members"
    __table_args__ = (Index("ix_circle_members_user_id", "user_id"),)

    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class MessagingRule(db.Model):
    """One of the community's messaging rules, as a name and a value (see messaging/rules/):
    "starters" = "all" | "circles:1,2"; "reach" = "anyone" | "shared-circle";
    "protect:<circle id>" = "open-to:3,4", ending ";not-by-own-members" when its own members don't start
    conversations with each other (absent: that circle is not protected)."""

    __tablename__ = "messaging_rules"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(1000))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
