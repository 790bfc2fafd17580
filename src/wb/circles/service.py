"""Creating, renaming and deleting circles and changing who is in them; each change is audited."""
from __future__ import annotations

import re

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import AuditEvent, User
from ..text import TextRefused, clean_line
from .models import CIRCLE_NAME_MAX, Circle, CircleMember

USERNAME_SPLIT = re.compile(r"[\s,]+")


class CircleError(ValueError):
    """A circle change that can't be made; its message says why, in words for an admin."""

    @property
    def message(self) -> str:
        return str(self)


def clean_name(raw) -> str:
    """A circle name as stored, or CircleError: required, at most 60 characters, text only, no commas
    (rules name circles in comma-separated lists)."""
    try:
        name = " ".join(clean_line(raw, CIRCLE_NAME_MAX, "Circle names", required="Give the circle a name.").split())
    except TextRefused as refused:
        raise CircleError(refused.message) from None
    if "," in name:
        raise CircleError("Circle names can't contain commas (the messaging rules list circles with commas).")
    return name


def all_circles() -> list[Circle]:
    return list(db.session.scalars(select(Circle).order_by(func.lower(Circle.name))))


def by_name(name) -> Circle | None:
    """The circle with that name, in any case."""
    key = " ".join(str(name or "").split()).lower()
    if not key or len(key) > CIRCLE_NAME_MAX or "\x00" in key:
        return None
    return db.session.scalar(select(Circle).where(Circle.name_key == key))


def require(name) -> Circle:
    circle = by_name(name)
    if circle is None:
        raise CircleError(f"There is no circle called {name!r}.")
    return circle


def _audit(action: str, subject: str, old=None, new=None, actor=None) -> None:
    db.session.add(AuditEvent(actor_id=actor.id if actor is not None else None, action=action,
                              subject=subject[:128], old_value=_short(old), new_value=_short(new)))


def _short(value):
    return None if value is None else (value if len(value) <= 128 else value[:127] + "…")


def tell_open_pages() -> None:
    """Who is in which circle changed (the caller commits): every member's open pages follow, as they
    do a change of the rules, which read circles (who may start, whom members reach, protected circles),
    as a member's own "only members who share a circle with me" does. These are rare admin actions:
    telling everyone costs less than working out whose pages it changes."""
    from ..messaging import live

    live.record_for_everyone("rules")


def tell_open_pages_if_in_a_circle(member) -> None:
    """A member of a circle became active or stopped being so (approved, suspended, reinstated, or joined
    with an invite): to the rules, who is in that circle changed (they count active members only)."""
    if circles_by_member([member.id]):
        tell_open_pages()


def create(raw_name, actor=None) -> Circle:
    name = clean_name(raw_name)
    if by_name(name) is not None:
        raise CircleError(f"There is already a circle called {by_name(name).name}.")
    circle = Circle(name=name, name_key=name.lower())
    db.session.add(circle)
    _audit("circle.created", name, new=name, actor=actor)
    try:
        db.session.commit()
    except IntegrityError:  # created at the same moment by someone else
        db.session.rollback()
        raise CircleError(f"There is already a circle called {name}.") from None
    return circle


def rename(circle: Circle, raw_name, actor=None) -> Circle:
    name = clean_name(raw_name)
    other = by_name(name)
    if other is not None and other.id != circle.id:
        raise CircleError(f"There is already a circle called {other.name}.")
    old = circle.name
    circle.name, circle.name_key = name, name.lower()
    _audit("circle.renamed", name, old=old, new=name, actor=actor)
    if old != name:
        tell_open_pages()  # the rules' words on open pages name it
    db.session.commit()
    return circle


def delete_circle(circle: Circle, actor=None) -> list[str]:
    """Delete a circle: its members and their messages stay; the rules naming it forget it
    (see rule_changes.forget_circle). Returns what changed in the rules, in words."""
    from ..messaging.rule_changes import forget_circle

    changes = forget_circle(circle, actor=actor)
    _audit("circle.deleted", circle.name, old=circle.name, actor=actor)
    db.session.execute(delete(CircleMember).where(CircleMember.circle_id == circle.id))
    db.session.delete(circle)
    tell_open_pages()  # its members no longer share it, whether or not a rule named it
    db.session.commit()
    return changes


def members_of(circle: Circle) -> list[User]:
    return list(db.session.scalars(
        select(User).join(CircleMember, CircleMember.user_id == User.id)
        .where(CircleMember.circle_id == circle.id, User.deleted_at.is_(None)).order_by(User.username)
    ))


def members_by_circle(circles) -> dict:
    """{circle id: its members by username} for every circle given, in one query."""
    found: dict = {circle.id: [] for circle in circles}
    for circle_id, person in db.session.execute(
        select(CircleMember.circle_id, User).join(User, User.id == CircleMember.user_id)
        .where(CircleMember.circle_id.in_(list(found)), User.deleted_at.is_(None)).order_by(User.username)
    ):
        found[circle_id].append(person)
    return found


def history(limit: int = 20) -> list[AuditEvent]:
    """The latest changes to circles (created, renamed, deleted, members added or removed), newest first."""
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.startswith("circle.")).order_by(AuditEvent.id.desc()).limit(limit)
    ))


def member_counts() -> dict:
    """{circle id: how many members}, in one query."""
    return dict(db.session.execute(
        select(CircleMember.circle_id, func.count()).join(User, User.id == CircleMember.user_id)
        .where(User.deleted_at.is_(None)).group_by(CircleMember.circle_id)
    ).all())


def split_usernames(raw) -> list[str]:
    """Usernames typed into one box, separated by spaces or commas; a leading @ is fine."""
    return [name.lstrip("@") for name in USERNAME_SPLIT.split(str(raw or "")) if name.strip("@")]


def _members_named(usernames) -> list[User]:
    """Every named member, or CircleError naming the ones that don't exist (nothing changes then)."""
    if not usernames:
        raise CircleError("Give at least one username.")
    found, unknown, left = [], [], []
    for username in usernames:
        user = User.by_username(username) if len(username) <= 64 else None
        if user is None:
            unknown.append(username[:64])
        elif user.deleted_at is not None:  # "No member is called 'eve'" for one who left (an operator tester)
            left.append(user.username)
        elif user not in found:
            found.append(user)
    if unknown:
        raise CircleError(f"No member is called {', '.join(repr(name) for name in unknown)}; nobody was changed.")
    if left:
        raise CircleError(f"{', '.join(repr(name) for name in left)} closed {'their account' if len(left) == 1 else 'their accounts'}"
                          "; nobody was changed.")
    return found


def add_members(circle: Circle, usernames, actor=None) -> list[User]:
    """Add members by username (all or none); returns those newly added."""
    people = _members_named(usernames)
    have = set(db.session.scalars(select(CircleMember.user_id).where(CircleMember.circle_id == circle.id)))
    added = [person for person in people if person.id not in have]
    for person in added:
        db.session.add(CircleMember(circle_id=circle.id, user_id=person.id))
        _audit("circle.member_added", circle.name, new=person.username, actor=actor)
    if added:
        tell_open_pages()
    try:
        db.session.commit()
    except IntegrityError:  # added at the same moment by someone else: the wanted state holds
        db.session.rollback()
    return added


def remove_members(circle: Circle, usernames, actor=None) -> list[User]:
    """Remove members by username (all or none); returns those who were in it."""
    people = _members_named(usernames)
    have = set(db.session.scalars(select(CircleMember.user_id).where(CircleMember.circle_id == circle.id)))
    removed = [person for person in people if person.id in have]
    for person in removed:
        _audit("circle.member_removed", circle.name, old=person.username, actor=actor)
    db.session.execute(delete(CircleMember).where(
        CircleMember.circle_id == circle.id, CircleMember.user_id.in_([p.id for p in removed])))
    if removed:
        tell_open_pages()
    db.session.commit()
    return removed


def circles_by_member(ids) -> dict:
    """{member id: [circle, ...] by name}, in one query: what profiles, the directory and admin show."""
    found: dict = {}
    rows = db.session.execute(
        select(CircleMember.user_id, Circle).join(Circle, Circle.id == CircleMember.circle_id)
        .where(CircleMember.user_id.in_(list(ids))).order_by(func.lower(Circle.name))
    )
    for user_id, circle in rows:
        found.setdefault(user_id, []).append(circle)
    return found


def invites_joining(circle: Circle) -> list[str]:
    """What deleting a circle would do to the invites still open that add newcomers to it, in words for
    the confirmation page (they went on quietly adding them to no circle: a street's tester)."""
    from ..models import Invite

    waiting = [invite for invite in db.session.scalars(select(Invite).where(Invite.circle_id == circle.id))
               if invite.problem() is None]
    if not waiting:
        return []
    count = len(waiting)
    return [f"{count} open invite{'' if count == 1 else 's'} add{'s' if count == 1 else ''} newcomers to it: they would "
            "join no circle. Make new invites for another circle on the Invite page if you need them."]
