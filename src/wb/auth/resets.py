"""Password reset links: an admin (or `./wb members reset-link`) makes a single-use link for a
member who forgot their password; the member opens it and chooses a new one. No email needed."""
from __future__ import annotations

import json
import logging
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from ..api.tokens import hash_token, revoke_all
from ..extensions import db
from ..models import AuditEvent, User, utcnow
from ..text import has_control_characters
from . import service
from ..notifications.models import Notice
from .models import PasswordReset

log = logging.getLogger("wb.auth")

LIFETIME = timedelta(hours=24)
RESET_NOTICE = "reset"  # the email that tells the member a link was made (notifications/delivery.py)
RESET_USED_NOTICE = "pw-set"  # the email that tells them a link set their password
# Audit actions (Admin → Members' "Recent member actions" lists them: admin/history.py).
RESET_LINK_MADE, RESET_LINK_USED = "member.reset_link_made", "member.reset_link_used"
ASK_AGAIN = "Ask an admin for a new password reset link."
ASK_THE_SERVER = "An admin's password reset links come only from whoever runs the server (./wb members reset-link): ask them."


class ResetRefused(ValueError):
    """A link that can't be made or used, with what to tell the person and the HTTP status."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message, self.status = message, status


def why_not_make(member: User, by_admin: bool = False) -> str | None:
    """Why no reset link may be made for this account, or None: closed, erased or suspended ones get
    none; nor, by another admin, an admin's (with it one admin could sign in as another and read
    their messages: a re-check tester); the operator's command line may."""
    if member.is_erased:
        return f"{member.username} was erased: an erased account has no password to reset."
    if member.deleted_at is not None:
        return f"{member.username} closed their account: a closed account can't be signed in to again."
    if member.status == "suspended":
        return f"{member.username} is suspended: reinstate them first, then make the link."
    if by_admin and not current_app.config["ADMIN_RESET_LINKS"]:
        return ("On this community's server, password reset links are made only there, with ./wb members reset-link "
                "(WB_ADMIN_RESET_LINKS is off): ask whoever runs it.")
    if by_admin and member.is_admin:
        return (f"{member.username} is an admin: an admin's password reset link is made on the server, with "
                "./wb members reset-link, not by another admin.")
    if by_admin and was_admin_lately(member):
        # Removing an admin's role and then making their link took their account over (an outside tester).
        return (f"{member.username} was an admin until recently: for {FORMER_ADMIN_DAYS} days after, their password "
                "reset link is made on the server, with ./wb members reset-link, not by an admin.")
    return None


FORMER_ADMIN_DAYS = 30


def _admin_removed_lately():
    from .service import ADMIN_REMOVED

    return select(AuditEvent.subject).where(
        AuditEvent.action == ADMIN_REMOVED, AuditEvent.created_at > utcnow() - timedelta(days=FORMER_ADMIN_DAYS))


def was_admin_lately(member: User) -> bool:
    """Whether the member stopped being an admin within FORMER_ADMIN_DAYS."""
    return db.session.scalar(_admin_removed_lately().where(AuditEvent.subject == f"user:{member.id}").limit(1)) \
        is not None


def former_admin_ids() -> set[int]:
    """Members who stopped being an admin within FORMER_ADMIN_DAYS (Admin → Members offers them no link)."""
    return {int(subject.split(":", 1)[1]) for subject in db.session.scalars(_admin_removed_lately())}


def make_link(member: User, actor: User | None = None) -> str:
    """A new reset link's token for member (shown once; only its hash is stored), valid LIFETIME;
    every earlier link of theirs stops working. actor None: the command line."""
    refusal = why_not_make(member)
    if refusal:
        raise ResetRefused(refusal)
    now = utcnow()
    service.void_reset_links(member)
    token = secrets.token_urlsafe(32)
    row = PasswordReset(user_id=member.id, token_hash=hash_token(token), created_by_id=actor.id if actor else None,
                        created_at=now, expires_at=now + LIFETIME)
    db.session.add(row)
    db.session.add(AuditEvent(actor_id=actor.id if actor else None, action=RESET_LINK_MADE, subject=f"user:{member.id}",
                              new_value="valid 24 hours"))
    # Whoever opens the link signs in as the member: they hear of it by email, if they gave an
    # address, with no link in it (an admin could quietly read another's messages: a re-check tester).
    db.session.add(Notice(user_id=member.id, kind=RESET_NOTICE,
                          summary=json.dumps({"by": actor.id if actor else None, "to": confirmed_address(member)})))
    db.session.commit()
    log.info("password reset link made", extra={"user_id": member.id, "reset_id": row.id})
    return token


def confirmed_address(member: User) -> str | None:
    """The member's confirmed email address now, which a reset link's emails go to even if whoever the
    link signed in sets another (notifications/delivery.py)."""
    from ..notifications.models import EmailSettings

    settings = db.session.get(EmailSettings, member.id)
    return settings.address if settings is not None and settings.confirmed else None


def usable_link(token: str | None) -> PasswordReset:
    """The link with that token, if it may set a password now; otherwise ResetRefused saying why."""
    row = None
    if token and len(token) <= 100 and not has_control_characters(token):
        row = db.session.scalar(select(PasswordReset).where(PasswordReset.token_hash == hash_token(token)))
    if row is None:
        raise ResetRefused(f"This password reset link doesn't work: it may have been copied only in part. {ASK_AGAIN}",
                           404)
    member = row.member
    # Not "ask an admin" where the account is an admin's: theirs come only from the server (an outside
    # admin was told to ask an admin).
    ask_again = ASK_THE_SERVER if member.is_admin else ASK_AGAIN
    if row.used_at is not None:
        raise ResetRefused(f"This password reset link was used already: each works once. {ask_again}", 410)
    if row.voided_at is not None:
        raise ResetRefused("This password reset link no longer works: a newer one was made, or since then the "
                           "password was changed, the account suspended or made an admin. "
                           + ask_again, 410)
    if row.expires_at <= utcnow():
        raise ResetRefused(f"This password reset link has expired: each works for 24 hours. {ask_again}", 410)
    if row.created_by_id is not None and not current_app.config["ADMIN_RESET_LINKS"]:  # switched off since
        raise ResetRefused(f"This password reset link no longer works: on this server only the server makes them. "
                           f"{ask_again}", 410)
    if row.created_by_id is not None and (member.is_admin or was_admin_lately(member)):
        # An admin's link for an account that is an admin's now (a role change voids links too).
        raise ResetRefused(f"This password reset link no longer works: the account is an admin's now. {ask_again}", 410)
    if member.deleted_at is not None:
        raise ResetRefused("This account is closed, so it can't be signed in to again.", 403)
    if member.status == "suspended":
        raise ResetRefused("This account is suspended. Contact an admin outside WhiteBalloon (the member who "
                           "invited you can reach them).", 403)
    return row


def set_password_with(row: PasswordReset, new_password: str) -> User:
    """Spend the link and set the member's new password; every session of theirs ends (as a
    password change does), and every API token. ResetRefused when another request spent the link first."""
    spent = db.session.execute(update(PasswordReset).where(
        PasswordReset.id == row.id, PasswordReset.used_at.is_(None), PasswordReset.voided_at.is_(None),
        PasswordReset.expires_at > utcnow()).values(used_at=utcnow())).rowcount
    if not spent:  # two tabs at once: only one sets the password
        db.session.rollback()
        raise ResetRefused(f"This password reset link was used already: each works once. {ASK_AGAIN}", 410)
    member = row.member
    # Whose link it was, since whoever held it signed in as the member (an outside tester read the
    # line as the member's own doing).
    maker = f"by {row.created_by.name}" if row.created_by is not None else "on the command line"
    db.session.add(AuditEvent(actor_id=member.id, action=RESET_LINK_USED, subject=f"user:{member.id}",
                              new_value=f"password set with a link made {maker}"[:128]))
    # Whoever held the link was signed in as the member and could make an API token that outlived
    # the member's recovery with a second link (a therapy practice's tester read every message with
    # one): a password set with a link revokes them all, and the member is emailed that it was set.
    revoked = revoke_all(member)
    db.session.add(Notice(user_id=member.id, kind=RESET_USED_NOTICE,
                          summary=json.dumps({"by": row.created_by_id, "tokens": revoked, "to": confirmed_address(member)})))
    service.change_password(member, new_password)  # commits, and ends every session
    log.info("password reset with a link", extra={"user_id": member.id, "reset_id": row.id, "tokens_revoked": revoked})
    return member
