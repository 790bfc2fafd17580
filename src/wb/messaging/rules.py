"""Who may start a conversation with whom: the community's rules, circles and each member's own setting.

One decision for every path: the "Message" button (for one member, or for a whole page in
a fixed number of queries), opening a conversation, the first send, and the inbox's search
(the same rules as SQL conditions). Once a conversation has a message, both members may
keep writing (policy.check_can_message alone decides then). Every refusal's words come from here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import g
from sqlalchemy import and_, exists, false, or_, select

from ..circles.models import Circle, CircleMember, MessagingRule
from ..extensions import db
from ..models import User
from . import policy
from .models import Block, ConversationMembership, Message
from .policy import NOT_LOOKED_UP, Refusal

STARTERS, REACH, PROTECT = "starters", "reach", "protect:"
MESSAGE_FROM = {
    "rules": "Anyone the community's rules allow",
    "circles": "Only members who share a circle with me",
    "nobody": "Nobody new (only people I already have a conversation with)",
}
CIRCLES_LINK = ("circles.directory", "See the circles and who the admins are")


@dataclass(frozen=True)
class Rules:
    """The community's rules as the decision reads them (circle ids; unknown ids already dropped)."""

    starters: frozenset | None = None  # None: every active member may start
    shared_circle: bool = False  # reach: only members sharing a circle
    protected: dict = field(default_factory=dict)  # protected circle id -> frozenset of circle ids open to it
    names: dict = field(default_factory=dict)  # every circle's name by id

    def names_of(self, ids) -> list[str]:
        return sorted((self.names[i] for i in ids if i in self.names), key=str.lower)


def parse_ids(text: str, prefix: str) -> frozenset:
    """The circle ids in a stored value such as "circles:1,2" (anything unreadable is left out)."""
    body = text[len(prefix):] if text.startswith(prefix) else ""
    return frozenset(int(part) for part in body.split(",") if part.strip().isdigit())


def load_rules() -> Rules:
    """The rules and every circle's name: two queries."""
    names = dict(db.session.execute(select(Circle.id, Circle.name)).all())
    stored = dict(db.session.execute(select(MessagingRule.name, MessagingRule.value)).all())
    starters_value = stored.get(STARTERS, "all")
    starters = None if starters_value == "all" else parse_ids(starters_value, "circles:") & names.keys()
    protected = {}
    for name, value in stored.items():
        if name.startswith(PROTECT) and name[len(PROTECT):].isdigit() and int(name[len(PROTECT):]) in names:
            protected[int(name[len(PROTECT):])] = parse_ids(value, "open-to:") & names.keys()
    return Rules(starters=starters, shared_circle=stored.get(REACH) == "shared-circle", protected=protected, names=names)


# --- the words -------------------------------------------------------------------------------------


def join_names(names) -> str:
    """'A', 'A and B', 'A, B and C'."""
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def not_accepting(person) -> Refusal:
    """A member's "nobody new" setting, and a block by them: the very same words, so neither can be told apart."""
    return Refusal(f"{User.name_of(person)} isn't accepting new conversations right now. Only they can change that.",
                   403, explained=True)


def _circles_only(person) -> Refusal:
    return Refusal(
        f"{User.name_of(person)} accepts new conversations only from members of their circles. "
        "Ask an admin if you'd like to join one.", 403, link=CIRCLES_LINK, explained=True,
    )


def _starters_only(rules: Rules) -> Refusal:
    names = rules.names_of(rules.starters)
    if names:
        words = f"Starting conversations is open to members of {join_names(names)}. Ask an admin if you'd like to join."
    else:
        words = "Starting conversations is open to staff only at the moment. Ask an admin if you need to reach someone."
    return Refusal(words + " You can still reply in conversations you already have.", 403,
                   link=CIRCLES_LINK, explained=True, everyone=True)


def _protected(person, rules: Rules, circle_id: int) -> Refusal:
    open_to = rules.names_of(rules.protected[circle_id])
    who = f"staff and members of {join_names(open_to)}" if open_to else "staff"
    return Refusal(
        f"{User.name_of(person)} is in {rules.names[circle_id]}: new conversations with its members are started by "
        f"{who}. Once they write to you, you can reply.", 403, link=CIRCLES_LINK, explained=True,
    )


def _reach(person) -> Refusal:
    return Refusal(
        f"You can start conversations with members who share a circle with you, and {User.name_of(person)} "
        "isn't in any of yours. Ask an admin if you'd like to join one of their circles.",
        403, link=CIRCLES_LINK, explained=True,
    )


# --- the decision ----------------------------------------------------------------------------------


def rule_refusal(viewer, person, rules: Rules, mine: frozenset, theirs: frozenset) -> Refusal | None:
    """Why viewer may not send person the first message under the rules and person's own setting
    (accounts, blocks and replies are decided before). Staff start with anyone; staff are open to anyone."""
    if viewer.is_admin or person.role == "admin":
        return None
    setting = person.message_from or "rules"
    if setting == "nobody":
        return not_accepting(person)
    if setting == "circles" and not mine & theirs:
        return _circles_only(person)
    if rules.starters is not None and not mine & rules.starters:
        return _starters_only(rules)
    for circle_id in sorted(theirs & rules.protected.keys(), key=lambda i: rules.names[i].lower()):
        # A protected circle's own members may start with each other.
        if circle_id not in mine and not mine & rules.protected[circle_id]:
            return _protected(person, rules, circle_id)
    if rules.shared_circle and not mine & theirs:
        return _reach(person)
    return None


def decide(viewer, person, rules, mine, theirs, blocker_id, replied: bool) -> Refusal | None:
    """The whole answer for one pair from facts already read: None when viewer may write to person now."""
    try:
        policy.check_can_message(viewer, person, blocker_id)
    except Refusal as refusal:
        return refusal
    if replied:
        return None
    return rule_refusal(viewer, person, rules, mine, theirs)


def check_can_start(sender, recipient, blocker_id=NOT_LOOKED_UP, replied: bool | None = None) -> None:
    """Raise Refusal unless sender may start (or, once it has a message, continue) a conversation with recipient."""
    policy.check_can_message(sender, recipient, blocker_id)
    if replied is None:
        replied = bool(replied_with(sender.id, [recipient.id]))
    if replied or sender.is_admin:
        return
    circles = circle_ids_by_member([sender.id, recipient.id])
    refusal = rule_refusal(sender, recipient, load_rules(), circles.get(sender.id, frozenset()),
                           circles.get(recipient.id, frozenset()))
    if refusal is not None:
        raise refusal


def starting_refusal(viewer) -> Refusal | None:
    """Why viewer may start no conversation at all (the starters rule), or None: then whether they may
    start with someone depends on that member too (check_can_start)."""
    if viewer.is_admin:
        return None
    rules = load_rules()
    if rules.starters is None:
        return None
    mine = circle_ids_by_member([viewer.id]).get(viewer.id, frozenset())
    return None if mine & rules.starters else _starters_only(rules)


def decisions_for(viewer, people) -> dict:
    """{member id: Refusal or None} for everyone listed, in five queries however many there are."""
    people = [person for person in people if person is not None]
    ids = sorted({person.id for person in people} - {viewer.id})
    if not ids:
        return {person.id: decide(viewer, person, Rules(), frozenset(), frozenset(), None, False) for person in people}
    rules = load_rules()
    circles = circle_ids_by_member([viewer.id, *ids])
    blockers = blockers_with(viewer.id, ids)
    replied = replied_with(viewer.id, ids)
    mine = circles.get(viewer.id, frozenset())
    return {
        person.id: decide(viewer, person, rules, mine, circles.get(person.id, frozenset()),
                          blockers.get(person.id), person.id in replied)
        for person in people
    }


def circle_ids_by_member(ids) -> dict:
    """{member id: frozenset of their circle ids}, in one query."""
    found: dict = {}
    for user_id, circle_id in db.session.execute(
        select(CircleMember.user_id, CircleMember.circle_id).where(CircleMember.user_id.in_(list(ids)))
    ):
        found.setdefault(user_id, set()).add(circle_id)
    return {user_id: frozenset(circle_ids) for user_id, circle_ids in found.items()}


def blockers_with(viewer_id: int, ids) -> dict:
    """{member id: who blocked whom} for every listed member in a block with the viewer, in one query."""
    rows = db.session.execute(
        select(Block.blocker_id, Block.blocked_id).where(
            or_(and_(Block.blocker_id == viewer_id, Block.blocked_id.in_(ids)),
                and_(Block.blocked_id == viewer_id, Block.blocker_id.in_(ids)))
        )
    )
    found = {}
    for blocker_id, blocked_id in rows:
        other = blocked_id if blocker_id == viewer_id else blocker_id
        found.setdefault(other, blocker_id)
    return found


def replied_with(viewer_id: int, ids) -> set:
    """The listed members the viewer has a conversation with at least one message with (metadata, one query)."""
    CM = ConversationMembership
    return set(db.session.scalars(
        select(CM.other_user_id).where(CM.user_id == viewer_id, CM.other_user_id.in_(list(ids)),
                                       CM.last_message_id.is_not(None))
    ))


def conversation_has_message(conversation_id: int) -> bool:
    """Asked of the messaging database when the metadata says a conversation is empty (it may lag a send)."""
    return db.session.scalar(select(Message.id).where(Message.conversation_id == conversation_id).limit(1)) is not None


def startable_conditions(viewer, user_table) -> list:
    """decide() as SQL conditions on the members table, for the inbox's search: members viewer may
    start (or continue) a conversation with. Three small queries first (rules, the viewer's circles)."""
    conditions = list(policy.messageable_by(viewer.id, user_table))
    if viewer.is_admin:
        return conditions
    rules = load_rules()
    mine = circle_ids_by_member([viewer.id]).get(viewer.id, frozenset())

    def in_any_of(circle_ids):
        if not circle_ids:
            return false()
        return exists().where(CircleMember.user_id == user_table.id, CircleMember.circle_id.in_(sorted(circle_ids)))

    CM = ConversationMembership
    replied = exists().where(CM.user_id == viewer.id, CM.other_user_id == user_table.id, CM.last_message_id.is_not(None))
    shares = in_any_of(mine)
    rules_allow = [user_table.message_from != "nobody", or_(user_table.message_from != "circles", shares)]
    if rules.starters is not None and not mine & rules.starters:
        rules_allow.append(false())
    closed = [p for p, open_to in rules.protected.items() if p not in mine and not mine & open_to]
    if closed:
        rules_allow.append(~in_any_of(closed))
    if rules.shared_circle:
        rules_allow.append(shares)
    conditions.append(or_(replied, user_table.role == "admin", and_(*rules_allow)))
    return conditions


# --- pages: decided once for everyone a page lists -------------------------------------------------


def prepare_page(viewer, people) -> dict:
    """Decide for everyone a page lists at once (see decisions_for) and keep the answers for
    its "Message" buttons; returns them."""
    decisions = g.setdefault("wb_start_decisions", {})
    decisions.update(decisions_for(viewer, people))
    return decisions


def page_decision(viewer, person) -> Refusal | None:
    """The answer a page's "Message" button shows for person: prepared for the page, or decided now."""
    decisions = g.setdefault("wb_start_decisions", {})
    if person.id not in decisions:
        decisions.update(decisions_for(viewer, [person]))
    return decisions[person.id]


def viewer_wide_refusal(decisions: dict) -> Refusal | None:
    """A refusal that holds for every member the viewer looks at (who may start at all), if any."""
    return next((refusal for refusal in decisions.values() if refusal is not None and refusal.everyone), None)
