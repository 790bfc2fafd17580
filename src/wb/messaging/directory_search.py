"""Finding a member to write to from the inbox's "New message" box: only members the viewer may message."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, or_, select

from ..extensions import db
from ..models import User
from . import policy, rules
from .models import Block

MIN_QUERY_LENGTH = 2
MAX_QUERY_LENGTH = 80
RESULT_LIMIT = 8


@dataclass
class MemberSearch:
    """What the results region shows: the members offered, or why there are none."""

    query: str
    members: list = field(default_factory=list)  # rows with username and display_name
    too_short: bool = False
    cant_message: str | None = None  # the typed name is a member who can't receive messages


def like_pattern(text: str) -> str:
    r"""A LIKE pattern matching text anywhere, with its own %, _ and \ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _sort_name():
    """What members see as the name (display name, else username), for ordering without case."""
    return func.lower(func.coalesce(func.nullif(User.display_name, ""), User.username))


def search_members(viewer, query: str) -> MemberSearch:
    """Members whose username or display name contains query (any case), with whom viewer may
    start (or continue) a conversation, by name; a fixed number of queries however large the directory is."""
    query = " ".join(query.split())[:MAX_QUERY_LENGTH]
    if len(query) < MIN_QUERY_LENGTH:
        return MemberSearch(query, too_short=True)
    pattern = like_pattern(query)
    matches = or_(User.username.ilike(pattern, escape="\\"), User.display_name.ilike(pattern, escape="\\"))
    members = db.session.execute(
        select(User.username, User.display_name)
        .where(matches, *rules.startable_conditions(viewer, User))
        .order_by(_sort_name(), User.username)
        .limit(RESULT_LIMIT)
    ).all()
    search = MemberSearch(query, members=members)
    if not members and _names_unreachable_member(viewer, query):
        search.cant_message = policy.NEUTRAL_REFUSAL
    return search


def _names_unreachable_member(viewer, query: str) -> bool:
    """The query is exactly the name of a pending or suspended member (asked only when nothing
    matched). Members in a block with the viewer stay unmentioned: a block is private."""
    blocks = select(Block.id).where(policy.blocked_either_way(viewer.id, User.id))
    name = query.lower()
    found = db.session.scalar(
        select(User.id)
        .where(
            or_(func.lower(User.username) == name, func.lower(User.display_name) == name),
            User.status.in_(("pending", "suspended")),
            User.deleted_at.is_(None),
            ~blocks.exists(),
        )
        .limit(1)
    )
    return found is not None
