"""The inbox list, its previews, the unread badge and the dashboard's summary."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import String, bindparam, func, or_, select, type_coerce

from ..database import read_rows
from ..extensions import db
from ..main.views import timeago
from ..models import User
from . import policy
from .conversations import deleted_for, hidden_drafts
from .directory_search import name_matches
from .models import Block, Conversation, ConversationMembership, Message
from .reads import display_name

PREVIEW_LENGTH = 90


MINE = "You: "  # before a preview of one's own message


@dataclass
class InboxRow:
    conversation_id: int
    other_name: str
    preview: str
    unread_count: int
    last_activity_at: datetime
    muted: bool = False
    # The other member is an admin: the row says so, as the directory and profiles do ("ADMlN", a
    # member's name that read "ADMIN", sat beside the real admin with nothing to tell them apart: a
    # street's tester).
    staff: bool = False

    @property
    def preview_parts(self) -> tuple[str, str]:
        """("You:" or "", the words): drawn apart, the words cut at their own end. Cut as one
        left-to-right line, "You: شكرا يوسف…" lost the Arabic's first letter (a building's tester)."""
        if self.preview.startswith(MINE):
            return MINE.strip(), self.preview[len(MINE):]
        return "", self.preview


@dataclass
class InboxPage:
    rows: list[InboxRow]
    page: int
    has_next: bool
    unread_only: bool
    unread_total: int  # the badge number, read with the page
    version: str  # what the list shows, summed up (list_version): its poll asks with it
    # The conversations whose rows are drawn, when only some changed (an answer that brings the
    # list along: views._list_along); None: every row. Rows not drawn carry no preview.
    drawn: frozenset[int] | None = None
    # What the list's search box asked for (the other member's name or username holds it), or None.
    search: str | None = None

    def rows_in_order(self) -> list[list]:
        """Each row's conversation, its time's words and the other member's name, in the list's
        order: what a page that keeps the rows it has needs to order them and bring what they
        show without an event up to date (app.js): the time ("5 min ago" becomes "1 h ago"), and
        a name changed in the other member's settings or closed with their account."""
        return [[row.conversation_id, timeago(row.last_activity_at), row.other_name] for row in self.rows]


def inbox_filter(member_id):
    """The member's conversations the inbox lists: not hidden, not with someone they blocked."""
    blocked = select(Block.blocked_id).where(Block.blocker_id == member_id)
    CM = ConversationMembership
    return CM.user_id == member_id, CM.hidden.is_(False), CM.other_user_id.not_in(blocked)


@functools.cache
def _inbox_statement(unread_only: bool):
    """One page of the inbox, built once per filter (values bound): each conversation's
    metadata with the other member's name, the badge total and the list's version, in one query."""
    CM = ConversationMembership
    member_id = bindparam("member_id")
    query = (
        select(
            CM.conversation_id, CM.last_message_id, CM.unread_count, CM.last_activity_at, CM.muted,
            User.username, User.display_name, User.name_shared, User.status, User.deleted_at, User.role,
            unread_sum(member_id).scalar_subquery().label("unread_total"),
            *_list_summary(member_id),
        )
        .select_from(CM)
        .join(User, User.id == CM.other_user_id)  # a foreign key: every membership's other member has a row
        .where(*inbox_filter(member_id))
        .where(CM.conversation_id.not_in(bindparam("hidden_drafts", expanding=True)))  # conversations.hidden_drafts
    )
    if unread_only:  # and the conversation open beside the list, read as it now is (bindparam "open")
        query = query.where(or_(CM.unread_count > 0, CM.conversation_id == bindparam("open")))
    return query.order_by(CM.last_activity_at.desc(), CM.id.desc()).offset(bindparam("offset")).limit(bindparam("limit"))


def inbox_page(member, page: int = 1, unread_only: bool = False, drawn=None, open_id: int | None = None,
               search: str | None = None) -> InboxPage:
    """One page of conversations, newest activity first, in two queries (one per database).

    With drawn (conversation ids), only those rows are to be drawn: only their previews are read.
    The unread filter keeps the conversation open beside the list (open_id): opening it read it,
    and its row left the list under the member's eyes. With search, only the conversations whose
    other member's name or username holds it, as the members directory finds them (a seller with
    many buyers had only pages of them to go through: a marketplace's tester)."""
    per_page = current_app.config["CONVERSATIONS_PER_PAGE"]
    page = max(page, 1)
    hidden = hidden_drafts(member)
    # Plain rows, not ORM objects: a page shows 30 and changes none.
    statement = _inbox_statement(unread_only)
    if search:  # built for each search: a search is asked now and then, not on every page
        statement = statement.where(name_matches(search))
    rows = read_rows(
        statement,
        {"member_id": member.id, "offset": (page - 1) * per_page, "limit": per_page + 1, "open": open_id or 0,
         "hidden_drafts": sorted(hidden)},
        User,
    ).all()
    has_next = len(rows) > per_page
    rows = rows[:per_page]
    previews = message_previews(member.id, [row.last_message_id for row in rows if row.last_message_id
                                            and (drawn is None or row.conversation_id in drawn)])
    if rows:
        total, version = rows[0].unread_total, list_version(rows[0], len(hidden))
    elif page == 1 and not unread_only and not search:  # an empty first page means no conversations to count
        total, version = 0, EMPTY_LIST_VERSION
    else:  # past the end, or nothing unread: ask
        summary = read_rows(_list_summary_statement(), {"member_id": member.id}, User).one()
        total, version = summary.unread_total, list_version(summary, len(hidden))
    return InboxPage(
        rows=[
            InboxRow(
                conversation_id=row.conversation_id,
                other_name=display_name(row),
                preview=previews.get(row.last_message_id, "No messages yet"),
                unread_count=row.unread_count,
                last_activity_at=row.last_activity_at,
                muted=row.muted,
                staff=row.role == "admin" and row.deleted_at is None,
            )
            for row in rows
        ],
        page=page,
        has_next=has_next,
        unread_only=unread_only,
        unread_total=total,
        version=version,
        drawn=None if drawn is None else frozenset(drawn),
        search=search or None,
    )


HIDDEN_FOUND_AT_MOST = 5


def hidden_found(member, search: str) -> list[tuple[int, str]]:
    """(conversation id, other member's name) of the conversations the member hid whose other member's
    name holds the search, at most HIDDEN_FOUND_AT_MOST, newest first: a seller who hid one after the
    sale searched for it and found nothing (a marketplace's tester). Not those with a member they blocked,
    which the list keeps out too."""
    CM = ConversationMembership
    blocked = select(Block.blocked_id).where(Block.blocker_id == member.id)
    rows = db.session.execute(
        select(CM.conversation_id, User.username, User.display_name, User.name_shared, User.status, User.deleted_at)
        .join(User, User.id == CM.other_user_id)
        .where(CM.user_id == member.id, CM.hidden.is_(True), CM.other_user_id.not_in(blocked), name_matches(search))
        .order_by(CM.last_activity_at.desc(), CM.id.desc()).limit(HIDDEN_FOUND_AT_MOST)
    ).all()
    return [(row.conversation_id, display_name(row)) for row in rows]


def users_by_id(ids) -> dict[int, User]:
    """Members by id, in one query."""
    if not ids:
        return {}
    return {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))}


@functools.cache
def _previews_statement():
    return (
        select(
            Message.id, Message.sender_id, Message.created_at, Message.deleted_at, Message.kept_for_recipient,
            Message.hidden_for_low, Message.hidden_for_high, Conversation.user_low_id,
            func.substr(Message.body, 1, PREVIEW_LENGTH + 1).label("body"),
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.id.in_(bindparam("message_ids", expanding=True)))
    )


def message_previews(member_id: int, message_ids: list[int]) -> dict[int, str]:
    """Short previews of the newest messages, read from the messaging database in one query."""
    if not message_ids:
        return {}
    rows = read_rows(_previews_statement(), {"message_ids": message_ids}, Message).all()
    previews = {}
    for row in rows:
        message_id, sender_id, text = row.id, row.sender_id, row.body
        hidden = row.hidden_for_low if member_id == row.user_low_id else row.hidden_for_high
        if hidden:  # "Message deleted" too, once removed: the thread no longer shows it (an API tester)
            previews[message_id] = "Message removed from your view"
            continue
        if deleted_for(member_id, row):
            preview = "Message deleted"
        else:
            preview = " ".join(text.split())
            if len(preview) > PREVIEW_LENGTH:
                preview = preview[:PREVIEW_LENGTH].rstrip() + "…"
        # Whose, deleted too: "Message deleted" alone, in a member's row about Alice, read as if she had
        # deleted hers (a street's tester).
        previews[message_id] = MINE + preview if sender_id == member_id else preview
    return previews


def unread_total(member) -> int:
    """The badge number: unread messages across visible conversations."""
    if not member.is_authenticated:
        return 0
    return read_rows(_unread_total_statement(), {"member_id": member.id}, User).scalar()


def unread_sum(member_id):
    """One flat aggregate over the inbox's own filter (the badge is polled every few seconds),
    walking ix_memberships_unread: a member in hundreds of conversations has few unread. Muted
    conversations keep their count in the list but add nothing here (badge, title, dashboard)."""
    CM = ConversationMembership
    total = func.coalesce(func.sum(CM.unread_count), 0)
    return select(total).where(*inbox_filter(member_id), CM.unread_count > 0, CM.muted.is_(False))


@functools.cache
def _unread_total_statement():
    return unread_sum(bindparam("member_id"))


# The inbox list's ETag is its version: its unread total, how many conversations it holds,
# their newest activity and their newest preview change. Any send, receive, read or hide moves
# one of them, as does the newest message deleted for both or removed from a member's view
# (metadata.mark_preview_changed) or a mute (writes.mute_conversation), and each is read from an index of the member's own
# memberships (a block's effect shows on the next full page, which the block itself leads to).
EMPTY_LIST_VERSION = "0-0-0-0"


def _list_summary(member_id):
    """The list's version parts besides the unread total: scalar subqueries on ix_memberships_inbox
    and ix_memberships_preview_changed."""
    CM = ConversationMembership
    mine = (CM.user_id == member_id, CM.hidden.is_(False))
    return (
        select(func.count()).select_from(CM).where(*mine).scalar_subquery().label("listed"),
        # The times only go into the version, compared as they are read: not turned into datetimes.
        select(type_coerce(func.max(CM.last_activity_at), String)).where(*mine).scalar_subquery().label("newest_activity_at"),
        select(type_coerce(func.max(CM.preview_changed_at), String)).where(*mine).scalar_subquery()
        .label("newest_preview_change_at"),
    )


_NOT_DIGITS = str.maketrans("", "", " -:.T+")


def list_version(row, hidden: int = 0) -> str:
    """A short string that changes whenever the inbox list would: from a row with unread_total and _list_summary's
    columns, less the drafts left out (hidden: a change of the rules hides or shows them)."""
    activity, preview = (str(moment).translate(_NOT_DIGITS) if moment else 0
                         for moment in (row.newest_activity_at, row.newest_preview_change_at))
    return f"{row.listed - hidden}-{row.unread_total}-{activity}-{preview}"


@functools.cache
def _list_summary_statement():
    member_id = bindparam("member_id")
    return select(unread_sum(member_id).scalar_subquery().label("unread_total"), *_list_summary(member_id))


def hidden_count(member) -> int:
    """How many conversations with messages the member hid (an empty inbox says they are there)."""
    CM = ConversationMembership
    blocked = select(Block.blocked_id).where(Block.blocker_id == member.id)
    return db.session.scalar(select(func.count()).select_from(CM).where(
        CM.user_id == member.id, CM.hidden.is_(True), CM.last_message_id.is_not(None),
        CM.other_user_id.not_in(blocked))) or 0


def blocked_count(member) -> int:
    """How many conversations with messages are left out of the list because the member blocked the
    other (an empty inbox says so: "No conversations yet" read as if they were gone, a tester)."""
    CM = ConversationMembership
    blocked = select(Block.blocked_id).where(Block.blocker_id == member.id)
    return db.session.scalar(select(func.count()).select_from(CM).where(
        CM.user_id == member.id, CM.last_message_id.is_not(None), CM.other_user_id.in_(blocked))) or 0


def dashboard_summary(member) -> dict | None:
    """Unread total and the latest conversations for the dashboard, or None when messaging is off."""
    if not policy.messaging_enabled() or not member.is_active_member:
        return None
    latest = inbox_page(member, page=1)
    return {"unread_total": latest.unread_total, "conversations": latest.rows[:5]}
