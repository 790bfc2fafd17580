"""Admin → Members' "Recent member actions": which admin (or the command line) approved, suspended,
reinstated, made or removed an admin, resolved a report about or erased which member, made a
password reset link for whom (and when it was used), removed whose comment, request or (with a
suspension) all of them, and when.
From the audit log, which holds ids and states, never message text."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..auth.resets import RESET_LINK_MADE, RESET_LINK_USED
from ..auth.service import ADMIN_REMOVED, APPROVED, MADE_ADMIN, REINSTATED, SUSPENDED
from ..extensions import db
from ..messaging.safety import REPORT_REOPENED, REPORT_RESOLVED
from ..models import AuditEvent, User
from ..people.leaving import ERASED
from ..requests.service import COMMENT_REMOVED, POSTS_REMOVED, REQUEST_REMOVED

ACTION_WORDS = {APPROVED: "Approved", SUSPENDED: "Suspended", REINSTATED: "Reinstated", MADE_ADMIN: "Made an admin",
                ADMIN_REMOVED: "Removed as admin", REPORT_RESOLVED: "Report about them resolved",
                REPORT_REOPENED: "Report about them reopened", ERASED: "Erased",
                RESET_LINK_MADE: "Password reset link made", RESET_LINK_USED: "Password reset link used",
                COMMENT_REMOVED: "Comment removed", REQUEST_REMOVED: "Request removed",
                POSTS_REMOVED: "Requests and comments removed"}


def recent_member_actions(viewer, limit: int = 20) -> list[AuditEvent]:
    """The latest member actions, newest first, with who did each (one query for the actors). Not, to
    an admin, what was done with a report about them: its time pointed at the client who reported
    them (a therapy practice's tester), and such a report goes to the other admins only."""
    about_a_report = AuditEvent.action.in_((REPORT_RESOLVED, REPORT_REOPENED))
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.in_(ACTION_WORDS),
                                 ~(about_a_report & (AuditEvent.subject == f"user:{viewer.id}")))
        .options(selectinload(AuditEvent.actor)).order_by(AuditEvent.id.desc()).limit(limit)))


def members_of(events) -> dict:
    """Each event's member ("user:<id>") as their account, in one query, for the table to name as the
    admin pages do (admin/_member_name.html): one who closed their account or was erased is "former
    member", never their placeholder @erased-N (an outside admin tester); a missing one is too."""
    ids = {int(event.subject.split(":", 1)[1]) for event in events if event.subject.startswith("user:")}
    members = db.session.scalars(select(User).where(User.id.in_(ids))) if ids else []
    return {f"user:{member.id}": member for member in members}
