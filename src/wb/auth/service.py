"""Accounts: registration through invites, approval, admin creation."""
import json
import logging

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from ..circles import service as circles
from ..extensions import db
from ..messaging import live
from ..messaging.safety import tell_compose_changed, tell_every_admin
from ..models import ERASED_USERNAME_PREFIX, AuditEvent, Invite, User, utcnow
from ..notifications.models import Notice
from ..text import has_control_characters
from .forms import AccountForm

log = logging.getLogger("wb.auth")


def is_first_account() -> bool:
    """True while nobody has registered: the first account becomes admin without an invite."""
    return db.session.scalar(select(func.count(User.id))) == 0


def find_invite(token: str | None) -> Invite | None:
    """The invite with that token, or None (tokens are URL-safe, so anything else can't match)."""
    if not token or has_control_characters(token):
        return None
    return db.session.scalar(select(Invite).where(Invite.token == token.strip()))


def end_sessions(member, reason: str) -> None:
    """Sign a member out of every browser and device they are signed in on."""
    member.end_sessions()
    live.record([member.id], "account")  # their held live requests end now
    db.session.commit()
    log.info("sessions ended", extra={"user_id": member.id, "reason": reason})


def change_password(member, new_password: str) -> None:
    """Set a member's new password (ChangePasswordForm checked the current one); ends every session,
    and every unused password reset link of theirs (a member told of a link they didn't ask for
    changes their password, and the link is dead)."""
    member.set_password(new_password)
    void_reset_links(member)
    end_sessions(member, "password_changed")


def void_reset_links(member) -> None:
    """Every unused password reset link of the member stops working (the caller commits)."""
    from .models import PasswordReset

    db.session.execute(update(PasswordReset).where(
        PasswordReset.user_id == member.id, PasswordReset.used_at.is_(None), PasswordReset.voided_at.is_(None))
        .values(voided_at=utcnow()))


def update_profile(member, display_name: str, bio: str) -> None:
    """Save a member's display name (their username when left empty) and bio; a name they leave
    stays theirs for a while (User.RENAMED). A new name counts against RENAME_RATE_LIMIT before
    anything is saved (ratelimits.LimitReached)."""
    from flask import current_app

    from .. import ratelimits

    if (display_name or member.username) != member.display_name:
        ratelimits.take("rename", current_app.config["RENAME_RATE_LIMIT"], f"user:{member.id}")
    former, member.display_name = member.display_name, display_name or member.username
    if former and former != member.display_name:
        db.session.add(AuditEvent(actor_id=member.id, action=User.RENAMED, subject=f"user:{member.id}",
                                  old_value=former, new_value=member.display_name))
    member.bio = bio
    member.note_name_shared()
    db.session.commit()


def register(form) -> User | None:
    """Create the member a validated RegisterForm describes; None, with the reason on the form,
    when another registration won the invite's last use or the username first."""
    first, invite = form.first_account, form.joining_with
    username = form.username.data
    user = User(
        username=username,
        display_name=form.display_name.data or username,
        bio=form.bio.data,
        role="admin" if first else "member",
        status="active" if first or invite.auto_approve else "pending",
        invited_by_id=invite.created_by_id if invite else None,
    )
    user.set_password(form.password.data)
    db.session.add(user)
    if invite is not None and invite.circle_id is not None:  # the circle the invite's newcomers join
        from ..circles.models import CircleMember

        db.session.flush()
        db.session.add(CircleMember(circle_id=invite.circle_id, user_id=user.id))
        if user.status == "active":  # its members' open pages (one waiting for approval counts once approved)
            circles.tell_open_pages()
    if invite is not None:
        # Atomic: two registrations racing for the last use can't both win.
        claimed = db.session.execute(
            Invite.__table__.update()
            .where(Invite.id == invite.id, Invite.uses < Invite.max_uses)
            .values(uses=Invite.uses + 1)
        ).rowcount
        if not claimed:
            db.session.rollback()
            form.invite.errors.append("This invite has already been used. Ask for a new one.")
            return None
    try:
        db.session.flush()  # its id first: the check below passes the member by
        user.note_name_shared()
        if user.status == "pending":  # counted beside Admin on the admins' open pages
            tell_every_admin()
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        form.username.errors.append("That username is taken.")
        return None
    log.info("member registered", extra={"user_id": user.id, "status": user.status, "role": user.role})
    return user


def create_admin(username: str, password: str) -> User:
    """Create an active admin (CLI), or raise ValueError with the reason."""
    form = AccountForm(formdata=MultiDict({"username": username, "password": password}))
    if not form.validate():
        raise ValueError(" ".join(form.first_errors.values()))
    user = User(username=form.username.data, display_name=form.username.data, role="admin", status="active")
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    user.note_name_shared()
    db.session.commit()
    return user


def why_not_manage(user: User) -> str | None:
    """Why an admin may not approve, suspend, reinstate or change the role of this account, or None:
    a closed or erased account stays as it was left (suspending an erased one made it "suspended":
    an outside tester)."""
    if user.deleted_at is None:
        return None
    if user.username.startswith(ERASED_USERNAME_PREFIX):
        return f"{user.username} was erased: an erased account can't be approved, suspended, reinstated or made an admin."
    return (f"{user.username} closed their account: a closed account can't be approved, suspended, reinstated or "
            "made an admin.")


def set_status(user: User, status: str, actor: User | None = None) -> None:
    """Approve, suspend or reinstate a member, recorded with who did it (actor None: the command
    line); a suspension ends their sessions for good. Everyone with a conversation with them has
    their open thread drawn again, its box closed or open."""
    old = user.status
    user.status = status
    if status == "suspended":
        user.end_sessions()  # so reinstating them doesn't revive a cookie someone kept
        void_reset_links(user)  # nor a reset link that reached the wrong person (a re-check tester)
        live.record([user.id], "account")
    if old != status:
        action = SUSPENDED if status == "suspended" else REINSTATED if old == "suspended" else APPROVED
        _record(action, user, old, status, actor)
        # Only Send said "suspended", and a reinstated member's thread said so until reloaded (a
        # residents' building's tester). The same event as a pause: the thread drawn again says which.
        tell_compose_changed(user.id)
        circles.tell_open_pages_if_in_a_circle(user)
        if old == "pending":  # no longer counted beside Admin
            tell_every_admin()
            if status == "active":  # their open page is drawn again, approved (live.js)
                live.record([user.id], "approved")
    db.session.commit()
    log.info("member status changed", extra={"user_id": user.id, "status": status})


def set_role(user: User, role: str, actor: User | None = None) -> None:
    """Make a member an admin ("admin") or an admin a member again ("member"), recorded with who did it."""
    old = user.role
    user.role = role
    if old != role:
        _record(MADE_ADMIN if role == "admin" else ADMIN_REMOVED, user, old, role, actor)
        # A link an admin made for a member would sign in as an admin now; one made for an admin
        # would pass to whoever removed their role (an outside tester took an admin's account so).
        void_reset_links(user)
        if role != "admin":  # told by email, if they gave an address: nothing told them (a re-check tester)
            db.session.add(Notice(user_id=user.id, kind=ROLE_NOTICE,
                                  summary=json.dumps({"by": actor.id if actor is not None else None})))
    db.session.commit()
    log.info("member role changed", extra={"user_id": user.id, "role": role})


# Member management as the audit log records it (Admin → Members lists it: admin/history.py). Only
# flags and rules kept a who and when before; a suspension left no trace of who made it (an outside tester).
ROLE_NOTICE = "demoted"  # the email that tells an admin their role was removed (notifications/delivery.py)
APPROVED, SUSPENDED, REINSTATED = "member.approved", "member.suspended", "member.reinstated"
MADE_ADMIN, ADMIN_REMOVED = "member.made_admin", "member.admin_removed"


def _record(action: str, member: User, old: str, new: str, actor: User | None) -> None:
    """The audit row of an admin's action on a member: ids and the old and new state (the caller commits)."""
    db.session.add(AuditEvent(actor_id=actor.id if actor is not None else None, action=action,
                              subject=f"user:{member.id}", old_value=old, new_value=new))


def invites_of(member) -> list[Invite]:
    """The invites a member made, newest first."""
    return list(db.session.scalars(select(Invite).where(Invite.created_by_id == member.id).order_by(Invite.id.desc())))


def inviters_of(members) -> dict[int, User]:
    """The members whose invites these members joined through (User.invited_by_id), by id (one query)."""
    ids = {member.invited_by_id for member in members if member.invited_by_id is not None}
    if not ids:
        return {}
    return {inviter.id: inviter for inviter in db.session.scalars(select(User).where(User.id.in_(ids)))}


def invitees_of(members) -> dict[int, list[User]]:
    """Whom each of these members brought in with their invites and is still here, oldest first, by
    the inviter's id (one query): an admin traces a suspended member's second account so."""
    ids = [member.id for member in members]
    invitees: dict[int, list[User]] = {}
    if not ids:
        return invitees
    for invitee in db.session.scalars(select(User).where(User.invited_by_id.in_(ids), User.deleted_at.is_(None))
                                      .order_by(User.id)):
        invitees.setdefault(invitee.invited_by_id, []).append(invitee)
    return invitees


def create_member_invite(member, max_uses: int, auto_approve: bool, circle=None) -> Invite:
    """A new invite from a member, on the terms their InviteForm allowed; valid for 14 days."""
    invite = Invite.issue(creator=member, max_uses=max_uses, expires_days=14, auto_approve=auto_approve,
                          circle=circle)
    db.session.commit()
    log.info("invite created", extra={"user_id": member.id, "invite_id": invite.id, "max_uses": max_uses})
    return invite
