"""Every rule once, in two forms side by side: a check on one pair of members, and the same
condition as SQL on the members table (for the members a search or list may offer).

The answer for a pair is the first rule that refuses, in order. Account and safety rules
hold in every conversation; the start rules only until a conversation has its first message,
and never when either member is staff. The set-based form is "no rule refuses". Adding a
rule means adding one class here (both forms) and its words in words.py;
tests/test_rules_agree.py checks the two forms agree for every pair.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy import and_, exists, false, or_, true

from ...circles.models import CircleMember
from ..models import Block, ConversationMembership
from . import words
from .community import Community, Rules
from .words import MAY_WRITE, Decision


@dataclass(frozen=True)
class Side:
    """What the rules know of the viewer before looking at anyone: the account, their circles, the rules."""

    viewer: object
    mine: frozenset
    rules: Rules


@dataclass
class Pair:
    """The viewer and another member (a User, a row with its account columns, or None once gone)."""

    viewer: object
    other: object | None
    blocker_id: int | None  # whoever blocked the other between the two, if either did
    written: bool  # their conversation has a message
    known: Community | None = None  # the rules and both members' circles, when already read

    @functools.cached_property
    def community(self) -> Community:
        """Read only when a start rule asks (a conversation with a message never does)."""
        return self.known or Community.load([self.viewer.id, self.other.id])

    @property
    def side(self) -> Side:
        return Side(self.viewer, self.community.circles_of(self.viewer.id), self.community.rules)

    @property
    def theirs(self) -> frozenset:
        return self.community.circles_of(self.other.id)


def _constant(flag: bool):
    return true() if flag else false()


def _in_any_of(other, circle_ids):
    if not circle_ids:
        return false()
    return exists().where(CircleMember.user_id == other.id, CircleMember.circle_id.in_(sorted(circle_ids)))


def _block(blocker_id, blocked_id):
    return exists().where(Block.blocker_id == blocker_id, Block.blocked_id == blocked_id)


# --- in every conversation ------------------------------------------------------------------


class ViewerAccount:
    """Only active members write."""

    def refuses(self, pair):
        return not _active(pair.viewer)

    def refuses_where(self, side, other):
        return _constant(not _active(side.viewer))

    def decision(self, pair):
        return words.viewer_cannot(pair.viewer)


class OtherAccount:
    """Only to active members: not pending, suspended, deleted or gone."""

    def refuses(self, pair):
        return pair.other is None or not _active(pair.other)

    def refuses_where(self, side, other):
        return or_(other.status != "active", other.deleted_at.is_not(None))

    def decision(self, pair):
        other = pair.other
        if other is None or other.deleted_at is not None:
            return words.left() if pair.written else words.no_such_member()
        if other.status == "suspended":
            return words.suspended()
        return words.pending()


class Yourself:
    def refuses(self, pair):
        return pair.other.id == pair.viewer.id

    def refuses_where(self, side, other):
        return other.id == side.viewer.id

    def decision(self, pair):
        return words.yourself()


class YouBlocked:
    def refuses(self, pair):
        return pair.blocker_id == pair.viewer.id

    def refuses_where(self, side, other):
        return _block(side.viewer.id, other.id)

    def decision(self, pair):
        return words.you_blocked(pair.other)


class NotAccepting:
    """Their block, or their "Pause messages" (staff may still write to a paused member)."""

    def refuses(self, pair):
        paused = pair.other.messages_paused and pair.viewer.role != "admin"
        return pair.blocker_id == pair.other.id or bool(paused)

    def refuses_where(self, side, other):
        paused = other.messages_paused.is_(True) if side.viewer.role != "admin" else false()
        return or_(_block(other.id, side.viewer.id), paused)

    def decision(self, pair):
        return words.not_accepting(pair.other)


# --- until the first message, and never for staff -------------------------------------------


class StartersOnly:
    """Who may start at all: the viewer's circles, the same for everyone they look at."""

    def refuses_viewer(self, side):
        return side.rules.starters is not None and not side.mine & side.rules.starters

    def refuses(self, pair):
        return self.refuses_viewer(pair.side)

    def refuses_where(self, side, other):
        return _constant(self.refuses_viewer(side))

    def decision(self, pair):
        return words.starters_only(pair.community.rules)


class InNoCircle:
    """Reach "shared-circle" and the viewer in no circle: nobody shares one."""

    def refuses_viewer(self, side):
        return side.rules.shared_circle and not side.mine

    def refuses(self, pair):
        return self.refuses_viewer(pair.side)

    def refuses_where(self, side, other):
        return _constant(self.refuses_viewer(side))

    def decision(self, pair):
        return words.in_no_circle()


class NobodyNew:
    """The other member's own setting: nobody new."""

    def refuses(self, pair):
        return pair.other.message_from == "nobody"

    def refuses_where(self, side, other):
        return other.message_from == "nobody"

    def decision(self, pair):
        return words.nobody_new(pair.other)


class CirclesOnly:
    """The other member's own setting: only members sharing a circle."""

    def refuses(self, pair):
        return pair.other.message_from == "circles" and not pair.side.mine & pair.theirs

    def refuses_where(self, side, other):
        return and_(other.message_from == "circles", ~_in_any_of(other, side.mine))

    def decision(self, pair):
        return words.circles_only(pair.other, _joinable(pair))


class Protected:
    """A protected circle: started by staff, the circles it is open to, and its own members unless
    the admin chose otherwise (a practice's clients, who share their circle, wrote to each other)."""

    @staticmethod
    def closed(side) -> list:
        """The protected circles the viewer may not start with, by name."""
        rules = side.rules

        def open_for_viewer(c, open_to):
            return bool(side.mine & open_to) or (c in side.mine and c not in rules.not_by_own_members)

        shut = [c for c, open_to in rules.protected.items() if not open_for_viewer(c, open_to)]
        return sorted(shut, key=lambda c: rules.names[c].lower())

    def refuses(self, pair):
        return any(c in pair.theirs for c in self.closed(pair.side))

    def refuses_where(self, side, other):
        return _in_any_of(other, self.closed(side))

    def decision(self, pair):
        from ...visibility import sees_every_member

        circle_id = next(c for c in self.closed(pair.side) if c in pair.theirs)
        return words.protected(pair.other, pair.community.rules, circle_id, sees_every_member(pair.viewer))


class NoSharedCircle:
    """Reach "shared-circle": only members sharing a circle with the viewer."""

    def refuses(self, pair):
        return pair.side.rules.shared_circle and not pair.side.mine & pair.theirs

    def refuses_where(self, side, other):
        return and_(_constant(side.rules.shared_circle), ~_in_any_of(other, side.mine))

    def decision(self, pair):
        return words.no_shared_circle(pair.other, _joinable(pair))


def _joinable(pair) -> bool:
    """Whether "ask an admin to join one of their circles" is advice the viewer can take: the other member
    is in a circle, and the viewer sees members' circles (a marketplace tester, in none, was named as one)."""
    from ...visibility import sees_every_member

    return bool(pair.theirs) and sees_every_member(pair.viewer)


ALWAYS = (ViewerAccount(), OtherAccount(), Yourself(), YouBlocked(), NotAccepting())
UNTIL_WRITTEN = (StartersOnly(), InNoCircle(), NobodyNew(), CirclesOnly(), Protected(), NoSharedCircle())
VIEWER_WIDE = tuple(rule for rule in UNTIL_WRITTEN if hasattr(rule, "refuses_viewer"))


def _active(account) -> bool:
    return account.status == "active" and account.deleted_at is None


def _staff_on_either_side(pair) -> bool:
    return pair.viewer.role == "admin" or pair.other.role == "admin"


def decide(pair: Pair) -> Decision:
    """The answer for one pair: the first refusal, or may write.

    A viewer whom the rules keep from starting with anyone (staff aside) is told that first, before
    anything about the other member they have no conversation with: the other's pause, block,
    suspension or pending approval is theirs, and a reason the viewer couldn't write anyway (a
    practice's client read "Erin isn't accepting messages right now" beside every comment of hers)."""
    if (pair.other is not None and not pair.written and _active(pair.viewer)
            and pair.other.id != pair.viewer.id and not _staff_on_either_side(pair)):
        for rule in VIEWER_WIDE:
            if rule.refuses_viewer(pair.side):
                return rule.decision(pair)
    for rule in ALWAYS:
        if rule.refuses(pair):
            return rule.decision(pair)
    if pair.written or _staff_on_either_side(pair):
        return MAY_WRITE
    for rule in UNTIL_WRITTEN:
        if rule.refuses(pair):
            return rule.decision(pair)
    return MAY_WRITE


def viewer_wide(side: Side) -> Decision | None:
    """A start rule that refuses the viewer whomever they look at (staff aside), or None."""
    if side.viewer.role == "admin":
        return None
    for rule in VIEWER_WIDE:
        if rule.refuses_viewer(side):
            return rule.decision(Pair(side.viewer, None, None, False, Community(side.rules, {side.viewer.id: side.mine})))
    return None


def start_refused_between(rules: Rules, mine: frozenset, theirs: frozenset):
    """The start rule that keeps a member in just the circles `mine` from starting a conversation with
    one in just `theirs`, or None: decide() for two ordinary members (neither staff, each accepting
    anyone the rules allow, no block), for the words that tell an admin what the rules mean."""
    viewer = SimpleNamespace(id=1, role="member", message_from="rules")
    other = SimpleNamespace(id=2, role="member", message_from="rules")
    pair = Pair(viewer, other, None, False, Community(rules, {1: frozenset(mine), 2: frozenset(theirs)}))
    return next((rule for rule in UNTIL_WRITTEN if rule.refuses(pair)), None)


def writable_where(side: Side, other) -> list:
    """decide() as SQL conditions on the members table `other`: whom the viewer may write to now."""
    conditions = [~rule.refuses_where(side, other) for rule in ALWAYS]
    if side.viewer.role == "admin":
        return conditions
    CM = ConversationMembership
    written = exists().where(CM.user_id == side.viewer.id, CM.other_user_id == other.id, CM.last_message_id.is_not(None))
    may_start = and_(*(~rule.refuses_where(side, other) for rule in UNTIL_WRITTEN))
    conditions.append(or_(written, other.role == "admin", may_start))
    return conditions
