"""Whom a member sees listed: in the members list, a circle's members, the inbox's search, others'
circles. Everyone, unless an admin switched the member_directory flag off: then the admins and the
people they have a conversation with (a practice's clients must not learn about each other; an
outside tester found the whole caseload under /members?circle=Clients). Admins always see everyone.
Profiles and requests stay where members meet: a request's author is not hidden."""
from __future__ import annotations

from sqlalchemy import or_, select

from .flags import is_enabled
from .models import User

FLAG = "member_directory"


def sees_every_member(viewer) -> bool:
    return viewer.role == "admin" or is_enabled(FLAG)


def listed_for(viewer):
    """A condition on User for the members the viewer sees listed, or None: everyone."""
    if sees_every_member(viewer):
        return None
    from .messaging.models import ConversationMembership

    talked_with = select(ConversationMembership.other_user_id).where(ConversationMembership.user_id == viewer.id)
    return or_(User.role == "admin", User.id == viewer.id, User.id.in_(talked_with))
