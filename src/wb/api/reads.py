"""What the API reads that the HTML pages show differently: conversation pages by cursor, one
conversation's summary, a page of messages in either direction, in a fixed number of queries.

Built from messaging's own building blocks (the inbox's filter, unread sum and previews, the
thread's run of visible messages): module-private names there, used here so that the API and
the inbox can't disagree about what a member sees."""
from __future__ import annotations

import base64
import binascii
import functools
from datetime import datetime

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import aliased

from ..database import read_rows
from ..extensions import db
from ..messaging import inbox, reads, rules
from ..messaging.models import ConversationMembership as CM
from ..models import User
from ..security import MAX_DATABASE_ID, whole_number
from .problems import ApiProblem

Theirs = aliased(CM)
ROW_COLUMNS = (
    CM.id, CM.conversation_id, CM.other_user_id, CM.last_message_id, CM.unread_count, CM.last_activity_at,
    CM.last_read_message_id, CM.hidden, Theirs.seen_message_id.label("their_last_read"),
    User.username, User.display_name, User.name_shared, User.status, User.deleted_at, User.read_receipts, CM.muted,
)


def _rows_query():
    """My memberships with the other member's account and how far they have read."""
    return (
        select(*ROW_COLUMNS)
        .select_from(CM)
        .join(User, User.id == CM.other_user_id)
        .outerjoin(Theirs, (Theirs.conversation_id == CM.conversation_id) & (Theirs.user_id == CM.other_user_id))
    )


@functools.cache
def _page_statement(unread_only: bool, after_cursor: bool):
    """A page of the inbox (its own filter: not hidden, not with someone I blocked), newest
    activity first, with the badge total: built once per shape, values bound."""
    member_id = bindparam("member_id")
    query = _rows_query().add_columns(inbox.unread_sum(member_id).scalar_subquery().label("unread_total"))
    query = query.where(*inbox.inbox_filter(member_id))
    if unread_only:
        query = query.where(CM.unread_count > 0)
    if after_cursor:
        at, conversation_id = bindparam("cursor_at"), bindparam("cursor_id")
        query = query.where(or_(CM.last_activity_at < at,
                                and_(CM.last_activity_at == at, CM.conversation_id < conversation_id)))
    return query.order_by(CM.last_activity_at.desc(), CM.conversation_id.desc()).limit(bindparam("limit"))


# A cursor names the page's last conversation by its id, drawn at random, not by its membership
# row's, which counts up across the community: a member read from two cursors how many
# conversations others had started in between (an outside tester). "c" tells the two kinds apart.
_CURSOR_CONVERSATION = "|c"


def encode_cursor(row) -> str:
    """An opaque cursor: where the page ended (last activity and conversation id)."""
    raw = f"{row.last_activity_at.isoformat()}{_CURSOR_CONVERSATION}{row.conversation_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """A cursor this API gave out, or a 422 problem naming it, as every invalid query parameter is."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        at, _, conversation_id = raw.partition(_CURSOR_CONVERSATION)
        number = whole_number(conversation_id, MAX_DATABASE_ID)
        if number is None:
            raise ValueError
        return datetime.fromisoformat(at), number
    except (ValueError, binascii.Error, UnicodeDecodeError):
        detail = "That cursor is malformed: pass next_cursor from a page exactly as it came."
        raise ApiProblem(422, detail, errors=[{"location": "query", "name": "cursor", "detail": detail}]) from None


def conversation_page(member, limit: int, cursor: str | None, unread_only: bool):
    """(rows, previews, next cursor, unread total): one query per database, and a third only
    when the page is empty (the total then can't come along with a row)."""
    values = {"member_id": member.id, "limit": limit + 1}
    if cursor is not None:
        values["cursor_at"], values["cursor_id"] = decode_cursor(cursor)
    rows = read_rows(_page_statement(unread_only, cursor is not None), values, User).all()
    more = len(rows) > limit
    rows = rows[:limit]
    previews = inbox.message_previews(member.id, [row.last_message_id for row in rows if row.last_message_id])
    total = rows[0].unread_total if rows else inbox.unread_total(member)
    return rows, previews, encode_cursor(rows[-1]) if more and rows else None, total


@functools.cache
def _one_statement():
    return _rows_query().where(CM.user_id == bindparam("member_id"), CM.conversation_id == bindparam("conversation_id"))


def conversation_row(member, conversation):
    """My membership row of one conversation, with its preview (hidden ones too)."""
    values = {"member_id": member.id, "conversation_id": conversation.id}
    row = read_rows(_one_statement(), values, User).first()
    if row is None:  # its metadata was never written (a failed insert): write it now
        from ..messaging.conversations import ensure_memberships

        ensure_memberships(conversation, [member.id])
        row = read_rows(_one_statement(), values, User).one()
    previews = inbox.message_previews(member.id, [row.last_message_id] if row.last_message_id else [])
    return row, previews


def send_decisions(member, rows) -> dict:
    """{each row's other member's id: may I write to them now (the rules' decision)}, in a fixed
    number of queries: a client learnt it only from a refused send (an API tester)."""
    others = {row.other_user_id: None for row in rows}
    others.update({user.id: user for user in db.session.scalars(select(User).where(User.id.in_(list(others))))})
    found = rules.decisions_for(member, [user for user in others.values() if user is not None])
    decisions = {other_id: found.get(other_id) or rules.decide_pair(member, None) for other_id in others}
    for row in rows:  # a draft whose first message today's spent starts would refuse (one count read)
        if not row.last_message_id and decisions[row.other_user_id].may_write:
            decisions[row.other_user_id] = _first_message_refusal(member, others[row.other_user_id]) \
                or decisions[row.other_user_id]
    return decisions


def send_decision(member, row):
    """May I write to this row's other member now (the rules' decision)."""
    other = db.session.get(User, row.other_user_id)
    decision = rules.decide_pair(member, other)
    if decision.may_write and not row.last_message_id:
        decision = _first_message_refusal(member, other) or decision
    return decision


def _first_message_refusal(member, other):
    """Why a draft's first message would be refused today though the rules let it through (the day's
    new conversations are spent: an API tester read may_send true, then got 429), or None."""
    return rules.day_limit_refusal(member, other) if other is not None else None


def message_page(member, conversation, before=None, after=None, limit=50):
    """(messages oldest first, older cursor, more newer, their read marker as I may see it). With
    both after and before: the messages between the two."""
    if after is not None:
        rows = reads.visible_messages(member, conversation, "after", after, limit=limit + 1)
        if before is not None and rows and rows[-1].id >= before:  # the range ends within these rows
            rows = [row for row in rows if row.id < before]
        more_newer, older = len(rows) > limit, None
        rows = rows[:limit]
    else:
        direction = "newest" if before is None else "before"
        rows = reads.visible_messages(member, conversation, direction, before, limit=limit + 1)
        has_older = len(rows) > limit
        rows = rows[:limit]
        rows.reverse()
        more_newer, older = False, (rows[0].id if has_older and rows else None)
    return rows, older, more_newer, (reads.seen_by_other(member, conversation) or None)
