"""The community's rules as stored (circles named in messaging_rules) and who is in which circle."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from ...circles.models import Circle, CircleMember, MessagingRule
from ...extensions import db

STARTERS, REACH, PROTECT = "starters", "reach", "protect:"
NOT_BY_OWN_MEMBERS = ";not-by-own-members"  # the end of a protection's stored value (see protection_value)
MESSAGE_FROM = {
    "rules": "Anyone the community's rules allow",
    "circles": "Only members who share a circle with me",
    "nobody": "Nobody new (only people I already have a conversation with)",
}


@dataclass(frozen=True)
class Rules:
    """The community's rules as the decision reads them (circle ids; unknown ids already dropped)."""

    starters: frozenset | None = None  # None: every active member may start
    shared_circle: bool = False  # reach: only members sharing a circle
    protected: dict = field(default_factory=dict)  # protected circle id -> frozenset of circle ids open to it
    # Protected circles whose own members don't start conversations with each other (a practice's
    # clients): only staff and the circles it is open to start with its members.
    not_by_own_members: frozenset = frozenset()
    names: dict = field(default_factory=dict)  # every circle's name by id

    def named_circle_ids(self) -> set:
        """The circles the rules speak of (their words name them to every member)."""
        named = set(self.starters or ())
        for protected, open_to in self.protected.items():
            named |= {protected, *open_to}
        return named

    def names_of(self, ids) -> list[str]:
        return sorted((self.names[i] for i in ids if i in self.names), key=str.lower)


def protection_value(open_to_ids, own_members_start: bool = True) -> str:
    """A protection as stored: "open-to:3,4", and ";not-by-own-members" when its own members don't start."""
    value = "open-to:" + ",".join(str(i) for i in sorted(open_to_ids))
    return value if own_members_start else value + NOT_BY_OWN_MEMBERS


def parse_ids(text: str, prefix: str) -> frozenset:
    """The circle ids in a stored value such as "circles:1,2" (anything unreadable is left out)."""
    body = text.split(";", 1)[0]
    body = body[len(prefix):] if body.startswith(prefix) else ""
    return frozenset(int(part) for part in body.split(",") if part.strip().isdigit())


def load_rules() -> Rules:
    """The rules and every circle's name: two queries."""
    names = dict(db.session.execute(select(Circle.id, Circle.name)).all())
    stored = dict(db.session.execute(select(MessagingRule.name, MessagingRule.value)).all())
    starters_value = stored.get(STARTERS, "all")
    starters = None if starters_value == "all" else parse_ids(starters_value, "circles:") & names.keys()
    protected, not_by_own = {}, set()
    for name, value in stored.items():
        if name.startswith(PROTECT) and name[len(PROTECT):].isdigit() and int(name[len(PROTECT):]) in names:
            circle_id = int(name[len(PROTECT):])
            protected[circle_id] = parse_ids(value, "open-to:") & names.keys()
            if value.endswith(NOT_BY_OWN_MEMBERS):
                not_by_own.add(circle_id)
    return Rules(starters=starters, shared_circle=stored.get(REACH) == "shared-circle", protected=protected,
                 not_by_own_members=frozenset(not_by_own), names=names)


def any_viewer_wide_rule() -> bool:
    """Whether "starters" or "reach" is set at all (one small query): without them no rule refuses
    a member everyone they look at, and nothing more needs reading."""
    stored = dict(db.session.execute(
        select(MessagingRule.name, MessagingRule.value).where(MessagingRule.name.in_((STARTERS, REACH)))).all())
    return stored.get(STARTERS, "all") != "all" or stored.get(REACH) == "shared-circle"


def circle_ids_by_member(ids) -> dict:
    """{member id: frozenset of their circle ids}, in one query."""
    found: dict = {}
    for user_id, circle_id in db.session.execute(
        select(CircleMember.user_id, CircleMember.circle_id).where(CircleMember.user_id.in_(list(ids)))
    ):
        found.setdefault(user_id, set()).add(circle_id)
    return {user_id: frozenset(circle_ids) for user_id, circle_ids in found.items()}


@dataclass(frozen=True)
class Community:
    """The rules and the circles of the members a decision is about: read once for a page."""

    rules: Rules
    circles: dict  # member id -> frozenset of circle ids

    @classmethod
    def load(cls, member_ids, rules: Rules | None = None) -> "Community":
        """Three queries (one when the rules are already read)."""
        return cls(rules or load_rules(), circle_ids_by_member(member_ids))

    def circles_of(self, member_id: int) -> frozenset:
        return self.circles.get(member_id, frozenset())
