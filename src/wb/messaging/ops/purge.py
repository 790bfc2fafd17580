"""Retention: wipe for good the text of messages deleted longer ago than a cutoff."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from ...models import utcnow
from ..conversations import KEPT_COPY
from ..models import Message
from ...database import truncate_wal
from .database import messaging_engine, require_database
from .health import utc_stamp

log = logging.getLogger("wb.messaging.operations")

# A hundred years: further back than any message was deleted, and a cutoff a date can still hold
# (a million days went back past the year 1: OverflowError, an outside tester).
MAX_DAYS = 36_500


@dataclass
class Purge:
    cutoff: datetime
    due: int
    wiped: int = 0
    already_wiped: int = 0
    checkpointed: bool = True


def purge_deleted(older_than_days: int, apply: bool = False, batch_size: int = 1000) -> Purge:
    """Count (or, with apply, wipe for good) the text of messages deleted before the cutoff."""
    require_database()
    cutoff = utcnow() - timedelta(days=older_than_days)
    # A copy kept by a member who reported or blocked its sender is theirs as long as they keep it.
    old_deletion = (Message.deleted_at.is_not(None)) & (Message.deleted_at < cutoff) & ~KEPT_COPY
    engine = messaging_engine()
    with engine.connect() as connection:
        due = connection.scalar(select(func.count()).select_from(Message).where(old_deletion, Message.body != ""))
        already = connection.scalar(select(func.count()).select_from(Message).where(old_deletion, Message.body == ""))
    result = Purge(cutoff=cutoff, due=due, already_wiped=already)
    if apply and due:
        result.wiped = wipe_text(old_deletion & (Message.body != ""), batch_size)
        result.checkpointed = checkpoint_after_wipe()
        log.info("deleted message text purged", extra={"event": "messaging.purge", "count": result.wiped,
                                                       "cutoff": utc_stamp(cutoff)})
    return result


def wipe_text(condition, batch_size: int = 1000) -> int:
    """Blank the bodies of the messages matching condition, in batches so a million rows never sit
    in one transaction; each counts as deleted for both from then on ("Message deleted")."""
    wiped = 0
    while True:
        # SQLite overwrites the freed bytes with zeros (database._sqlite_pragmas: secure_delete).
        with messaging_engine().begin() as connection:
            ids = list(connection.scalars(select(Message.id).where(condition).order_by(Message.id).limit(batch_size)))
            if ids:
                connection.execute(update(Message).where(Message.id.in_(ids)).values(
                    body="", deleted_at=func.coalesce(Message.deleted_at, utcnow())))
        if not ids:
            return wiped
        wiped += len(ids)


def checkpoint_after_wipe() -> bool:
    """SQLite: move the wiped pages out of the WAL into the file; False when a reader held it back."""
    return truncate_wal(messaging_engine())
