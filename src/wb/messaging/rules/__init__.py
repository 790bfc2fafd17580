"""Who may write to whom: one decision for every path, and its set-based form for lists and search.

The "Message" button (for one member, or a whole page in a fixed number of queries), opening a
conversation, every send, the thread's compose box, the API, the inbox's search and the
notifications all ask here. The rules themselves are in checks.py, their words in words.py,
the community's stored rules and circles in community.py; this module reads the facts a
decision needs (blocks, conversations with a message) and answers.
"""
from __future__ import annotations

import functools

from flask import g
from sqlalchemy import and_, bindparam, exists, or_, select

from ...extensions import db
from ..models import Block, ConversationMembership, Message
from .checks import Pair, Side, decide, viewer_wide, writable_where
from .community import (
    MESSAGE_FROM, PROTECT, REACH, STARTERS, Community, Rules, any_viewer_wide_rule, circle_ids_by_member, load_rules,
)
from ..policy import counts_as_new, new_conversations_spent
from .words import DAY_LIMIT, MAY_WRITE, NO, REPLY_ONLY, WRITE, Decision, day_limit_spent, nobody_else_in_my_circles

__all__ = [
    "MESSAGE_FROM", "PROTECT", "REACH", "STARTERS", "DAY_LIMIT", "MAY_WRITE", "NO", "REPLY_ONLY", "WRITE",
    "Community", "Decision", "Rules", "Side", "load_rules", "circle_ids_by_member",
    "decide_pair", "decisions_for", "require_may_write", "starting_refusal", "starting_refusal_today", "side_of", "writable_where",
    "blocker_of", "blocked_between", "blocked_ids", "written_with", "conversation_has_message",
    "prepare_page", "page_decision", "day_limit_refusal", "viewer_wide_refusal", "viewer_wide",
]
NOT_READ = object()  # decide_pair: the caller did not read the block along with the other member


# --- the facts: blocks and conversations with a message -----------------------------------------


def _blocks_between(a, b):
    return or_((Block.blocker_id == a) & (Block.blocked_id == b), (Block.blocker_id == b) & (Block.blocked_id == a))


def blocker_of(member_id, other_id):
    """Who blocked whom between two members, as a scalar subquery (NULL: nobody); when both did,
    the member's own block, which they can lift."""
    mine_first = (Block.blocker_id != member_id)
    return (select(Block.blocker_id).where(_blocks_between(member_id, other_id))
            .order_by(mine_first).limit(1).scalar_subquery())


@functools.cache
def _blocker_statement():
    return select(blocker_of(bindparam("member_id"), bindparam("other_id")))


def blocked_between(member_id: int, other_id: int) -> bool:
    """Whether either of two members blocks the other."""
    return db.session.scalar(_blocker_statement(), {"member_id": member_id, "other_id": other_id}) is not None


def _blockers_with(viewer_id: int, ids) -> dict:
    """{member id: who blocked whom} for every listed member in a block with the viewer, in one query."""
    found = {}
    for blocker_id, blocked_id in db.session.execute(
        select(Block.blocker_id, Block.blocked_id).where(
            or_(and_(Block.blocker_id == viewer_id, Block.blocked_id.in_(ids)),
                and_(Block.blocked_id == viewer_id, Block.blocker_id.in_(ids))))
    ):
        other = blocked_id if blocker_id == viewer_id else blocker_id
        if found.get(other) != viewer_id:  # the viewer's own block wins, as in blocker_of
            found[other] = blocker_id
    return found


def blocked_ids(member_id: int) -> set[int]:
    """Everyone this member blocked or was blocked by (the notifications tell nothing of them)."""
    rows = db.session.execute(
        select(Block.blocker_id, Block.blocked_id).where(or_(Block.blocker_id == member_id, Block.blocked_id == member_id))
    ).all()
    return {row.blocked_id if row.blocker_id == member_id else row.blocker_id for row in rows}


def written_with(viewer_id: int, ids) -> set:
    """The listed members the viewer has a conversation with a message with (metadata, one query)."""
    CM = ConversationMembership
    return set(db.session.scalars(
        select(CM.other_user_id).where(CM.user_id == viewer_id, CM.other_user_id.in_(list(ids)),
                                       CM.last_message_id.is_not(None))
    ))


def conversation_has_message(conversation_id: int) -> bool:
    """Asked of the messaging database when the metadata says a conversation is empty (it may lag a send)."""
    return db.session.scalar(select(Message.id).where(Message.conversation_id == conversation_id).limit(1)) is not None


# --- the decision -------------------------------------------------------------------------------


def decide_pair(viewer, other, blocker_id=NOT_READ, written: bool | None = None) -> Decision:
    """May viewer write to other now: the whole answer for one pair. Facts the caller already
    read (the block between the two, whether their conversation has a message) are not read again."""
    if other is None:
        return decide(Pair(viewer, None, None, bool(written)))
    if blocker_id is NOT_READ:
        blocker_id = db.session.scalar(_blocker_statement(), {"member_id": viewer.id, "other_id": other.id})
    if written is None:
        written = bool(written_with(viewer.id, [other.id]))
    return decide(Pair(viewer, other, blocker_id, written))


def require_may_write(viewer, other, blocker_id=NOT_READ, written: bool | None = None) -> None:
    """Raise the Refusal of decide_pair's answer unless viewer may write to other now."""
    decision = decide_pair(viewer, other, blocker_id, written)
    if not decision.may_write:
        raise decision.refusal()


def decisions_for(viewer, people, rules: Rules | None = None) -> dict:
    """{member id: Decision} for everyone listed, in five queries however many there are
    (three when the rules are passed in)."""
    people = [person for person in people if person is not None]
    ids = sorted({person.id for person in people} - {viewer.id})
    if not ids:
        return {person.id: decide(Pair(viewer, person, None, False, Community(Rules(), {}))) for person in people}
    community = Community.load([viewer.id, *ids], rules)
    blockers = _blockers_with(viewer.id, ids)
    written = written_with(viewer.id, ids)
    return {person.id: decide(Pair(viewer, person, blockers.get(person.id), person.id in written, community))
            for person in people}


def side_of(viewer, rules: Rules | None = None) -> Side:
    """The viewer's side of every decision: their circles and the rules (three queries, one with the rules)."""
    rules = rules or load_rules()
    return Side(viewer, circle_ids_by_member([viewer.id]).get(viewer.id, frozenset()), rules)


def starting_refusal(viewer) -> Decision | None:
    """Why viewer may start no conversation at all (staff and replies aside), or None: then it depends
    on the member too. (Whether the viewer's own account may write at all is words.viewer_cannot's question.)"""
    if viewer.role == "admin" or not any_viewer_wide_rule():
        return None
    side = side_of(viewer)
    return viewer_wide(side) or _nobody_else_in_my_circles(side)


def starting_refusal_today(viewer) -> Decision | None:
    """starting_refusal, or else the day's limit once today's new conversations are all started: /me's
    may_start, as pages say it (it said true beside new_conversations_remaining 0: a residents' building's
    tester). Staff count nothing, so the limit never stops them, nor anyone writing to staff."""
    refusal = starting_refusal(viewer)
    if refusal is None and counts_as_new(viewer, None):
        retry_after = new_conversations_spent(viewer)
        refusal = day_limit_spent(retry_after) if retry_after is not None else None
    return refusal


def _nobody_else_in_my_circles(side: Side) -> Decision | None:
    """Reach "shared-circle", and nobody but the viewer (and staff) in any of their circles: they can start
    with staff alone, as one in no circle can, and the inbox says so once (the first resident on a floor
    met only a list of refusals: a residents' building's tester). Said only to a member who sees others'
    circles (with the directory off, who is in one is theirs to know). One query."""
    from ...circles.models import CircleMember
    from ...models import User
    from ...visibility import sees_every_member

    if not side.rules.shared_circle or not side.mine or not sees_every_member(side.viewer):
        return None
    someone = db.session.scalar(select(exists().where(
        CircleMember.circle_id.in_(side.mine), CircleMember.user_id == User.id, User.id != side.viewer.id,
        User.role != "admin", User.status == "active", User.deleted_at.is_(None))))
    return None if someone else nobody_else_in_my_circles()


# --- pages: decided once for everyone a page lists -------------------------------------------------


def prepare_page(viewer, people) -> dict:
    """Decide for everyone a page lists at once (see decisions_for) and keep the answers for
    its "Message" buttons; returns them."""
    decisions = g.setdefault("wb_start_decisions", {})
    decisions.update(decisions_for(viewer, people))
    return decisions


def page_decision(viewer, person) -> Decision:
    """The answer a page's "Message" button shows for person: prepared for the page, or decided now.
    A member who may write to person but would start a conversation with them, when today's new
    conversations are spent, is told so instead of a button that leads to the refusal."""
    decisions = g.setdefault("wb_start_decisions", {})
    if person.id not in decisions:
        decisions.update(decisions_for(viewer, [person]))
    decision = decisions[person.id]
    return (decision.may_write and day_limit_refusal(viewer, person)) or decision


def day_limit_refusal(viewer, person) -> Decision | None:
    """Why the viewer, who may write to person, can't start a conversation with them today after all
    (today's new conversations are spent and they have none yet), or None."""
    spent = counts_as_new(viewer, person) and _spent_starts(viewer)
    return day_limit_spent(spent[0]) if spent and person.id not in spent[1] else None


def _spent_starts(viewer) -> tuple[int, set] | None:
    """When the viewer may start no more conversations today: (seconds until one frees up, everyone
    they have a conversation with a message in it, where writing counts nothing; a draft's first
    message would count). None otherwise. Read once per page."""
    if "wb_spent_starts" not in g:
        retry_after = new_conversations_spent(viewer)
        g.wb_spent_starts = None if retry_after is None else (retry_after, set(db.session.scalars(
            select(ConversationMembership.other_user_id).where(ConversationMembership.user_id == viewer.id,
                                                               ConversationMembership.last_message_id.is_not(None)))))
    return g.wb_spent_starts


def viewer_wide_refusal(decisions: dict) -> Decision | None:
    """A refusal that holds for every member the viewer looks at (who may start at all), if any."""
    return next((decision for decision in decisions.values() if decision.everyone), None)
