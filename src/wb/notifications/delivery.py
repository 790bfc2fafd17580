"""Delivering pending notices: lease one, build its email, send it, record it. Never twice, never lost.

A notice is leased with a conditional UPDATE (pending and not leased, or its lease expired),
which only one process can win. After sending it is marked sent. A failed send releases the
lease and leaves the notice pending for the next run (unless the server refused the
recipient for good, 5xx: then it is marked refused). The one unavoidable window: a process
that dies after the SMTP server accepted the email but before it recorded that leaves the
notice pending, and the next run after the lease expires sends it again (with the same
Message-ID, so receiving servers may fold the two).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from ..extensions import db
from ..messaging import policy
from ..messaging.rules import blocked_ids
from ..messaging.models import ConversationMembership
from ..models import User
from . import mail
from ..auth.resets import RESET_NOTICE, RESET_USED_NOTICE
from ..auth.service import ROLE_NOTICE
from .emails import Writer, admin_removed_email, confirmation_email, password_set_email, reset_link_email, unread_email
from .models import EmailSettings, Notice

log = logging.getLogger("wb.notifications")

BATCH = 500


@dataclass
class Delivered:
    sent: int = 0
    failed: int = 0
    dropped: int = 0


def _available(now: datetime):
    return (Notice.status == "pending") & or_(Notice.lease_until.is_(None), Notice.lease_until < now)


def deliver_pending(now: datetime) -> Delivered:
    """Send every pending notice nobody else is sending; each at most once per run."""
    result = Delivered()
    ids = list(db.session.scalars(select(Notice.id).where(_available(now)).order_by(Notice.id).limit(BATCH)))
    db.session.commit()
    for notice_id in ids:
        if _lease(notice_id, now):
            outcome = _deliver(notice_id, now)
            setattr(result, outcome, getattr(result, outcome) + 1)
    return result


def _lease(notice_id: int, now: datetime) -> bool:
    """Hold the notice for this process; False when another process holds it or it is done."""
    lease_until = now + timedelta(minutes=float(current_app.config["NOTIFY_LEASE_MINUTES"]))
    won = db.session.execute(
        update(Notice).where(Notice.id == notice_id, _available(now))
        .values(lease_until=lease_until, attempts=Notice.attempts + 1)
        .returning(Notice.id).execution_options(synchronize_session=False)
    ).first()
    db.session.commit()
    return won is not None


def _deliver(notice_id: int, now: datetime) -> str:
    """sent, failed or dropped."""
    notice = db.session.get(Notice, notice_id)
    email = _compose(notice)
    if email is None:
        _finish(notice_id, status="dropped")
        return "dropped"
    try:
        mail.send(email)
    except mail.MailFailed as failure:
        if failure.permanent:  # the address is refused for good: retrying every minute would never end
            log.warning("notice refused by the mail server for good",
                        extra={"notice_id": notice_id, "error": failure.kind})
            _finish(notice_id, status="refused", last_error=failure.kind)
        else:
            log.warning("notice delivery failed; it stays queued for the next run",
                        extra={"notice_id": notice_id, "error": failure.kind})
            _finish(notice_id, last_error=failure.kind)
        return "failed"
    _finish(notice_id, status="sent", sent_at=now)
    log.info("notice sent", extra={"notice_id": notice_id, "kind": notice.kind})
    return "sent"


def _finish(notice_id: int, **values) -> None:
    db.session.execute(update(Notice).where(Notice.id == notice_id).values(lease_until=None, **values))
    db.session.commit()


def _compose(notice: Notice):
    """The email for a notice, or None when it should no longer go out."""
    recipient = db.session.get(User, notice.user_id)
    settings = db.session.get(EmailSettings, notice.user_id)
    if notice.kind in (RESET_NOTICE, RESET_USED_NOTICE) and recipient is not None and recipient.is_active_member:
        # To the address confirmed when the link was made or used (resets.py pins it): whoever a link
        # signed in could set an address of their own, and these went there (a re-check tester).
        pinned = json.loads(notice.summary or "{}").get("to")
        address = pinned or (settings.address if settings is not None and settings.confirmed else None)
        if address is None:
            return None
        write = reset_link_email if notice.kind == RESET_NOTICE else password_set_email
        return write(notice, recipient, address, _reset_link_maker(notice))
    if recipient is None or settings is None or settings.address is None or not recipient.is_active_member:
        return None
    if notice.kind == "confirm":
        return None if settings.confirmed_at is not None else confirmation_email(notice, recipient, settings.address)
    if notice.kind == ROLE_NOTICE:  # likewise
        return admin_removed_email(notice, recipient, settings.address, _reset_link_maker(notice)) \
            if settings.confirmed and not recipient.is_admin else None  # made an admin again since: nothing to tell
    if not settings.confirmed or settings.frequency == "never" or not policy.messaging_enabled():
        return None
    writers = _still_unread(notice)
    return unread_email(notice, recipient, settings.address, writers, settings.frequency,
                        name_writers=settings.names_writers, chosen=settings.name_writers is not None) if writers else None


def _reset_link_maker(notice: Notice) -> str:
    """Who did what the notice tells of (made a reset link, removed an admin's role): the admin's name,
    or the operator's command line."""
    by = json.loads(notice.summary or "{}").get("by")
    maker = db.session.get(User, by) if by else None
    return f"An admin, {maker.name}," if maker is not None else "Whoever runs your community's server"


def _still_unread(notice: Notice) -> list[Writer]:
    """The notice's writers whose messages are still unread, not muted or hidden since, and who aren't
    blocked either way, by name: what the badge counts."""
    counts = dict(json.loads(notice.summary))
    blocked = blocked_ids(notice.user_id)
    CM = ConversationMembership
    rows = db.session.execute(
        select(CM.other_user_id, CM.unread_count, CM.conversation_id, User)
        .join(User, User.id == CM.other_user_id)
        .where(CM.user_id == notice.user_id, CM.other_user_id.in_(list(counts)), CM.unread_count > 0, CM.muted.is_(False),
               CM.hidden.is_(False))
    ).all()
    writers = [
        Writer(policy.FORMER_MEMBER if policy.is_former(row.User) else row.User.name, row.unread_count,
               row.conversation_id)
        for row in rows if row.other_user_id not in blocked
    ]
    return sorted(writers, key=lambda writer: (-writer.count, writer.name))
