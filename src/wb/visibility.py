"""Whom a member sees: in the members list, a circle's members, the inbox's search, profiles, others'
circles and statuses, and by username anywhere (open a conversation, block, report). Everyone, unless
an admin switched the member_directory flag off: then the admins, the people they have a conversation
with, and those the messaging rules let them start one with (a practice's therapists find their
clients; its clients, who may start with the therapists only, find no other client: an outside tester
listed the whole caseload under /members?circle=Clients). Admins always see everyone. Requests and
comments stay where members meet: an author the viewer sees is named with a link to their profile,
any other is "a member" (a client read another client's name on a request: an outside tester)."""
from __future__ import annotations

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased

from .extensions import db
from .flags import is_enabled
from .models import User
from .text import has_control_characters

FLAG = "member_directory"


def sees_every_member(viewer) -> bool:
    return viewer.role == "admin" or is_enabled(FLAG)


def listed_for(viewer):
    """A condition on User for the members the viewer sees, or None: everyone."""
    if sees_every_member(viewer):
        return None
    from .messaging import rules
    from .messaging.models import ConversationMembership

    # A conversation both have a row of: one with a message. A draft is its opener's row alone, and an
    # empty conversation grants nothing: a draft opened while the rules allowed it kept the other
    # member visible after the directory went off (an outside attacker).
    mine, theirs = aliased(ConversationMembership), aliased(ConversationMembership)
    talked_with = select(mine.other_user_id).where(mine.user_id == viewer.id, exists().where(
        theirs.conversation_id == mine.conversation_id, theirs.user_id == mine.other_user_id))
    may_start = and_(*rules.writable_where(rules.side_of(viewer), User))
    return or_(User.role == "admin", User.id == viewer.id, User.id.in_(talked_with), may_start)


def listed_for_newcomer():
    """listed_for someone joining (no account yet): everyone, or with the directory off the admins."""
    return None if is_enabled(FLAG) else User.role == "admin"


def member_seen_by(viewer, username, *, closed_too: bool = False):
    """The member with this username (as User.by_username reads it) whom the viewer sees, or None:
    nobody has it, the viewer doesn't see them, or (unless closed_too) they left. One query after the
    viewer's own, the same whichever it is: looking the member up first and asking whether the viewer
    sees them after took twice as long for a hidden client as for a name nobody has (a therapy practice's
    tester timed it)."""
    name = (username or "").strip().removeprefix("@").lower()  # written with its @ too, as pages write it
    listed = listed_for(viewer)  # the viewer's side, read whether anyone has the name or not
    if has_control_characters(name):
        return None  # no username has one, and PostgreSQL refuses NUL
    query = select(User).where(User.username == name)
    if not closed_too:
        query = query.where(User.deleted_at.is_(None))
    return db.session.scalar(query if listed is None else query.where(listed))


def sees(viewer, person) -> bool:
    """Whether the viewer sees person, for many people on one page (bylines): the ids they see read once a request."""
    from flask import g

    if sees_every_member(viewer) or person.id == viewer.id:
        return True
    seen = g.get("wb_visible_ids")
    if seen is None:
        seen = g.wb_visible_ids = set(db.session.scalars(select(User.id).where(listed_for(viewer))))
    return person.id in seen
