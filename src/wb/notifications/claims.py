"""Finding what is due and claiming it into notices, so that no two notify runs ever claim the same thing.

A membership is due when its unread clock (ConversationMembership.unread_since) started at
least WB_NOTIFY_DELAY_MINUTES ago and its member asked for email. Claiming clears the clock
and writes a pending notice in one transaction: a conditional UPDATE ... RETURNING holds the
rows, so a second process running at the same time finds them already cleared.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm import aliased

from ..extensions import db
from ..messaging.models import ConversationMembership
from ..messaging.rules import blocked_ids
from ..models import User
from .models import EmailSettings, Notice

DIGEST_INTERVAL = timedelta(days=1)


def unread_cutoff(now: datetime) -> datetime:
    """Unread clocks started at or before this are due."""
    return now - timedelta(minutes=float(current_app.config["NOTIFY_DELAY_MINUTES"]))


def due_members(now: datetime) -> list[tuple[int, str]]:
    """(member id, frequency) of every member with something due: an index lookup on unread_since."""
    CM, ES = ConversationMembership, EmailSettings
    rows = db.session.execute(
        select(CM.user_id, ES.frequency).distinct()
        .join(ES, ES.user_id == CM.user_id)
        .join(User, User.id == CM.user_id)
        .where(
            CM.unread_since <= unread_cutoff(now), CM.muted.is_(False),  # (a clock muted before they had none)
            ES.address.is_not(None), ES.confirmed_at.is_not(None),
            or_(ES.frequency == "soon", (ES.frequency == "daily") & _digest_allowed(now)),
            User.status == "active", User.deleted_at.is_(None),
        )
        .order_by(CM.user_id)
    ).all()
    # End this read before claiming: on SQLite a write must begin a transaction of its own.
    db.session.commit()
    return [(row.user_id, row.frequency) for row in rows]


def _digest_allowed(now: datetime):
    return or_(EmailSettings.last_digest_at.is_(None), EmailSettings.last_digest_at <= now - DIGEST_INTERVAL)


def claim_due(now: datetime) -> int:
    """Claim everything due into pending notices, one per member; returns how many notices were made."""
    return sum(claim_for_member(user_id, frequency, now) for user_id, frequency in due_members(now))


def claim_for_member(user_id: int, frequency: str, now: datetime) -> int:
    """Once one of a member's conversations is due, all their unread ones into one notice (1), or
    nothing left to claim (0): an email is sent when a conversation's clock runs out, and tells of
    every conversation with unread messages then. Commits.

    All, not only the due ones: each conversation has its own clock, so claiming only those past
    the delay sent a second email as soon as the next clock (started seconds later) ran out.
    """
    CM = ConversationMembership
    due = aliased(CM)
    one_is_due = (
        select(due.user_id).where(due.user_id == user_id, due.unread_since <= unread_cutoff(now),
                                  due.muted.is_(False)).exists()
    )
    claimed = db.session.execute(
        update(CM)
        .where(CM.user_id == user_id, CM.unread_since.is_not(None), one_is_due)
        .values(unread_since=None)
        .returning(CM.other_user_id, CM.unread_count, CM.muted, CM.hidden)
        .execution_options(synchronize_session=False)
    ).all()
    blocked = blocked_ids(user_id)

    def worth_telling(row) -> bool:
        return row.unread_count > 0 and not row.muted and not row.hidden and row.other_user_id not in blocked

    if not any(worth_telling(row) for row in claimed):
        db.session.commit()  # only blocked, muted, hidden or already-read conversations: cleared, nothing to tell
        return 0
    # The email tells the whole of what waits unread, those an earlier email told of too: "1 unread
    # message" to a member with 4 read as if the others had gone (an outside tester).
    unread = db.session.execute(
        select(CM.other_user_id, CM.unread_count, CM.muted, CM.hidden).where(CM.user_id == user_id, CM.unread_count > 0)
    ).all()
    items = sorted(((row.other_user_id, row.unread_count) for row in unread if worth_telling(row)),
                   key=lambda item: (-item[1], item[0]))
    if frequency == "daily" and not _take_digest_slot(user_id, now):
        db.session.rollback()  # another run sent today's digest a moment ago
        return 0
    db.session.add(Notice(user_id=user_id, kind=frequency, status="pending", summary=json.dumps(items),
                          created_at=now))
    db.session.commit()
    return 1


def _take_digest_slot(user_id: int, now: datetime) -> bool:
    """At most one digest a day: a conditional update only one run can win."""
    ES = EmailSettings
    won = db.session.execute(
        update(ES).where(ES.user_id == user_id, _digest_allowed(now)).values(last_digest_at=now)
        .returning(ES.user_id).execution_options(synchronize_session=False)
    ).first()
    return won is not None
