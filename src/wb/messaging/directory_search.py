"""Finding a member to write to from the inbox's "New message" box: those the viewer may write to
first, then the others who match, each with the rules' own words for why not (as their profile says)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy import and_, case, exists, func, or_, select

from ..database import folded
from ..extensions import db
from ..models import User
from ..text import CONTROL_CHARACTERS, search_folded
from ..visibility import listed_for
from . import policy, rules
from .models import ConversationMembership

MIN_QUERY_LENGTH = 2
MAX_QUERY_LENGTH = 80
RESULT_LIMIT = 8


@dataclass
class Found:
    """One member a search lists: a User, and why the viewer may not write to them (None: they may)."""

    member: User
    refusal: rules.Decision | None = None


@dataclass
class MemberSearch:
    """What the results region shows: the members found, or why there are none."""

    query: str
    found: list = field(default_factory=list)  # Found, those the viewer may write to first
    too_short: bool = False
    cant_message: str | None = None  # the typed name is a member who can't receive messages
    everyone: rules.Decision | None = None  # a refusal that holds for every listed member: said once
    more: bool = False  # more members match than are listed: the page says to type more of the name

    @property
    def members(self) -> list:
        """The members the viewer may write to."""
        return [entry.member for entry in self.found if entry.refusal is None]


def like_pattern(text: str) -> str:
    r"""A LIKE pattern matching text anywhere, with its own %, _ and \ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def typed_name(raw) -> str:
    """What was typed to find a member, as searched: control characters as spaces (no name has one,
    and PostgreSQL refuses NUL), spaces folded, at most MAX_QUERY_LENGTH, and without the "@" pages
    show before a username ("@sam" finds sam)."""
    return " ".join(CONTROL_CHARACTERS.sub(" ", str(raw or "")).split())[:MAX_QUERY_LENGTH].lstrip("@").strip()


def name_matches(query: str):
    """Members whose username or display name holds each word of query, in any case, with or without
    accents, apostrophes or hyphens ("zoe", "ZOË" and "ødegård" all find Zoë Ødegård; "osullivan" Mary
    O'Sullivan; "ngozi okonkwo" Ngozi Adebayo-Okonkwo): New message's search and the directory's."""
    words = search_folded(query).split() or [""]
    return and_(*(or_(folded(User.username).like(like_pattern(word), escape="\\"),
                      folded(User.display_name).like(like_pattern(word), escape="\\")) for word in words))


def sort_name():
    """What members see as the name (display name, else username), for ordering without case."""
    return func.lower(func.coalesce(func.nullif(User.display_name, ""), User.username))


def search_members(viewer, query: str) -> MemberSearch:
    """Active members whose username or display name contains query (any case), those the viewer may
    write to first (the rules' set-based form), then by name; a fixed number of queries however
    large the directory is (three more when some listed member may not be written to)."""
    query = typed_name(query)
    if len(query) < MIN_QUERY_LENGTH:
        return MemberSearch(query, too_short=True)
    matches = name_matches(query)
    side = rules.side_of(viewer)
    writable = and_(*rules.writable_where(side, User))
    listed = listed_for(viewer)  # where members see only some members, the search finds only those
    rows = db.session.execute(
        select(User, case((writable, True), else_=False).label("writable"))
        .where(matches, User.status == "active", User.deleted_at.is_(None), User.id != viewer.id,
               *([] if listed is None else [listed]))
        # After those one may write to: the member whose username or whole name was typed, then those one
        # talks with already ("sam" listed "Sam from Elm St @zed" above the Sam Green @sam a buyer wrote to:
        # a marketplace's tester; "Sam Green" listed "Sam Green¹" first, who had written to her: a re-check
        # tester), then by name.
        .order_by(case((writable, 0), else_=1), case((_named(query), 0), else_=1),
                  case((_talks_with(viewer), 0), else_=1), sort_name(), User.username)
        .limit(RESULT_LIMIT + 1)  # one more than shown: whether to say there are more
    ).all()
    more, rows = len(rows) > RESULT_LIMIT, rows[:RESULT_LIMIT]
    refused = [row.User for row in rows if not row.writable]
    decisions = rules.decisions_for(viewer, refused, side.rules) if refused else {}
    # Those the viewer may write to but has no conversation with yet, when today's are all started:
    # the limit, said once above the results.
    spent = {row.User.id: rules.day_limit_refusal(viewer, row.User) for row in rows if row.writable}
    spent = {member_id: replace(refusal, everyone=True) for member_id, refusal in spent.items() if refusal}
    search = MemberSearch(query, found=[Found(row.User, decisions.get(row.User.id) or spent.get(row.User.id))
                                        for row in rows], more=more)
    # Where the viewer may start with nobody but staff, the page says so above the search already.
    search.everyone = None if rules.viewer_wide(side) else rules.viewer_wide_refusal({**decisions, **spent})
    if not rows and listed is None and _names_unreachable_member(viewer, query):
        search.cant_message = policy.NEUTRAL_REFUSAL
    return search


def _named(query: str):
    """Whether a member (User) has the typed username or display name, whole, in any case, in SQL."""
    return or_(User.username == query.lower(), folded(User.display_name) == search_folded(query))


def _talks_with(viewer):
    """Whether the viewer has a conversation with a message in it with the member (User), in SQL."""
    CM = ConversationMembership
    return exists().where(CM.user_id == viewer.id, CM.other_user_id == User.id, CM.last_message_id.is_not(None))


def _names_unreachable_member(viewer, query: str) -> bool:
    """The query is exactly the name of a pending or suspended member (asked only when nothing
    matched). Members in a block with the viewer stay unmentioned: a block is private."""
    name = query.lower()
    found = db.session.scalar(
        select(User.id)
        .where(
            or_(func.lower(User.username) == name, func.lower(User.display_name) == name),
            User.status.in_(("pending", "suspended")),
            User.deleted_at.is_(None),
            rules.blocker_of(viewer.id, User.id).is_(None),
        )
        .limit(1)
    )
    return found is not None
