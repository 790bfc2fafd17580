"""A member's own conversations as a ZIP: one readable, offline HTML page per conversation and one
JSON file of everything, streamed as it is written.

The archive is never whole in memory and no worker builds it ahead: zipfile writes each entry
into a sink that the response drains after every batch of messages (zipfile supports unseekable
streams, with data descriptors), and messages are read a batch at a time by id. What goes in is
what the member sees: deleted-for-both messages are left out, messages they removed from their
own view are marked so, and nothing says what the other member removed from theirs.
"""
from __future__ import annotations

import json
import time
import zipfile
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, request, stream_with_context
from markupsafe import escape
from sqlalchemy import or_, select

from .. import ratelimits
from ..extensions import db
from ..messaging import policy
from ..messaging.conversations import KEPT_COPY
from ..messaging.models import Conversation, ConversationMembership, Message
from ..messaging.ops.database import messaging_engine, schema_present
from ..messaging.reads import display_name, shares_read_receipts
from ..models import AuditEvent, User, utcnow

EXPORTED = "member.exported"  # the audit log's action: the admin page counts these, nothing more
BATCH = 500  # messages read, written and sent on at a time


class TooSoon(Exception):
    """The member downloaded their conversations too recently; retry_after seconds to wait."""

    def __init__(self, retry_after: int):
        minutes = max(1, -(-retry_after // 60))
        self.message = (f"You downloaded your conversations a short while ago. You can download them again in "
                        f"{minutes} minute{'' if minutes == 1 else 's'}.")
        super().__init__(self.message)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict:
        return ratelimits.retry_after_headers(self.retry_after)


def take_export_limit(member) -> None:
    """Count one export against the member's limit (WB_EXPORT_RATE_LIMIT), or raise TooSoon."""
    try:
        ratelimits.take("export", current_app.config["EXPORT_RATE_LIMIT"], f"user:{member.id}")
    except ratelimits.LimitReached as reached:
        raise TooSoon(reached.retry_after) from None


def zip_response(member):
    """The member's export as a streamed ZIP download (raises TooSoon over the limit). A HEAD asks
    only what a GET would answer: nothing is built, and the hour's download stays (it spent it: an
    API tester)."""
    if request.method == "HEAD":
        left, retry_after = ratelimits.room("export", current_app.config["EXPORT_RATE_LIMIT"], f"user:{member.id}")
        if left < 1:  # said as a GET would say it (a HEAD said 200 while the GET got 429: an API tester)
            raise TooSoon(retry_after)
        response = current_app.response_class(b"", mimetype="application/zip")
    else:
        take_export_limit(member)
        response = current_app.response_class(stream_with_context(start_export(member)), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="whiteballoon-conversations-{utcnow():%Y-%m-%d}.zip"'
    response.headers["Cache-Control"] = "no-store"
    return response


@dataclass
class ExportedConversation:
    id: int
    side: str  # "low" or "high": which hidden flag is this member's
    other_id: int
    other_username: str | None  # None for a former member
    other_name: str
    my_read: int | None  # how far this member has read
    hidden: bool  # hidden from this member's inbox
    muted: bool
    their_read: int | None  # how far the other member read, when read receipts are shared

    @property
    def file_name(self) -> str:
        return f"conversations/{self.id}-{self.other_username or 'former-member'}.html"


def conversations_of(member) -> list[ExportedConversation]:
    """The member's conversations that have a message, with the other member and both read markers."""
    if not schema_present():
        return []
    has_message = select(Message.id).where(Message.conversation_id == Conversation.id).exists()
    rows = db.session.execute(
        select(Conversation).where(or_(Conversation.user_low_id == member.id, Conversation.user_high_id == member.id),
                                   has_message).order_by(Conversation.id)
    ).scalars().all()
    others = {user.id: user for user in db.session.scalars(
        select(User).where(User.id.in_([c.other_id(member.id) for c in rows])))}
    CM = ConversationMembership
    metadata = {(row.conversation_id, row.user_id): row for row in db.session.scalars(
        select(CM).where(CM.conversation_id.in_([c.id for c in rows])))}
    found = []  # plain values: the stream outlives the session these rows came from
    for conversation in rows:
        other = others.get(conversation.other_id(member.id))
        theirs = metadata.get((conversation.id, conversation.other_id(member.id)))
        mine = metadata.get((conversation.id, member.id))
        shared = other is not None and theirs is not None and shares_read_receipts(member, other)
        found.append(ExportedConversation(
            id=conversation.id, side=conversation.side(member.id), other_id=conversation.other_id(member.id),
            other_username=None if policy.is_former(other) else other.username, other_name=display_name(other),
            my_read=mine.last_read_message_id if mine else None, hidden=bool(mine and mine.hidden),
            muted=bool(mine and mine.muted), their_read=theirs.seen_message_id if shared else None,
        ))
    db.session.commit()  # end the read: the stream goes on without holding a transaction
    return found


def message_batches(conversation: ExportedConversation):
    """The conversation's messages not deleted for this member, oldest first, a batch at a time (each batch
    its own short read): rows of id, sender_id, body, created_at, removed (from this member's view)."""
    removed = getattr(Message, f"hidden_for_{conversation.side}")
    last_id = 0
    while True:
        with messaging_engine().connect() as connection:
            rows = connection.execute(
                select(Message.id, Message.sender_id, Message.body, Message.created_at, removed.label("removed"))
                .where(Message.conversation_id == conversation.id, Message.id > last_id,
                       Message.deleted_at.is_(None) | (KEPT_COPY & (Message.sender_id == conversation.other_id)))
                .order_by(Message.id).limit(BATCH)
            ).all()
        if not rows:
            return
        yield rows
        last_id = rows[-1].id
        # Under `./wb run`'s gevent workers (which patch time.sleep) this is a turn for the worker's
        # other requests, held live channels included: writing a batch is all CPU, and SQLite's
        # read never waits on a socket, so without it one export would hold the worker to its end.
        time.sleep(0)


class _Sink:
    """Where zipfile writes: collects the bytes until the response takes them (no seek, no tell)."""

    def __init__(self):
        self.chunks: list[bytes] = []

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.chunks = b"".join(self.chunks), []
        return data


def start_export(member):
    """What the member's export will hold (read now, before the response starts) and an audit line
    (no text); returns the ZIP's bytes as a generator that writes them a piece at a time."""
    conversations = conversations_of(member)
    db.session.add(AuditEvent(actor_id=member.id, action=EXPORTED, subject=f"user:{member.id}"))
    db.session.commit()
    return (piece for piece in _zip_pieces(conversations, member.id, member.username, member.name) if piece)


def _zip_pieces(conversations, member_id: int, username: str, name: str):
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for conversation in conversations:
            with archive.open(conversation.file_name, "w", force_zip64=True) as entry:
                for piece in _html_pieces(conversation, member_id, name):
                    entry.write(piece.encode("utf-8"))
                    yield sink.take()
        with archive.open("conversations.json", "w", force_zip64=True) as entry:
            for piece in _json_pieces(conversations, member_id, username, name):
                entry.write(piece.encode("utf-8"))
                yield sink.take()
    yield sink.take()


# --- the JSON file -----------------------------------------------------------------------------


def _at(moment: datetime | None) -> str | None:
    return f"{moment.isoformat()}Z" if moment else None


def _json_pieces(conversations, member_id: int, username: str, name: str):
    dump = json.dumps
    yield ('{"format": "whiteballoon-conversations-1", "exported_at": ' + dump(_at(utcnow()))
           + ', "member": ' + dump({"id": member_id, "username": username, "display_name": name})
           + ', "notes": ' + dump("Messages deleted for both members are left out. removed_for_me marks messages you "
                                  "removed from your own view.")
           + ', "conversations": [')
    for index, conversation in enumerate(conversations):
        head = {
            "id": conversation.id,
            "other_member": {"id": conversation.other_id, "username": conversation.other_username,
                             "display_name": conversation.other_name},
            "my_last_read_message_id": conversation.my_read, "other_last_read_message_id": conversation.their_read,
            "hidden_by_me": conversation.hidden, "muted_by_me": conversation.muted,
        }
        yield ("," if index else "") + dump(head)[:-1] + ', "messages": ['
        first = True
        for rows in message_batches(conversation):
            parts = []
            for row in rows:
                parts.append(dump({
                    "id": row.id, "sender_id": row.sender_id,
                    "sender": "me" if row.sender_id == member_id else "other",
                    "created_at": _at(row.created_at), "body": row.body, "removed_for_me": bool(row.removed),
                }))
            yield ("" if first else ",") + ",".join(parts)
            first = False
        yield "]}"
    yield "]}\n"


# --- one HTML page per conversation ----------------------------------------------------------

STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1d2330;"
    "background:#f6f7f9}h1{font-size:1.3rem}ol{list-style:none;padding:0}li{margin:.6rem 0;display:flex;"
    "flex-direction:column}li.mine{align-items:flex-end}.bubble{max-width:80%;padding:.5rem .8rem;border-radius:10px;"
    "background:#fff;border:1px solid #dde2e8;white-space:pre-wrap;overflow-wrap:anywhere;overflow:hidden}li.mine .bubble"
    "{background:#e8f0fd}.meta{font-size:.8rem;color:#5f6b7a}.removed .bubble{border-style:dashed}"
)


def _html_pieces(conversation: ExportedConversation, member_id: int, my_name: str):
    other = escape(conversation.other_name)
    yield (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Conversation with {other} · WhiteBalloon</title><style>{STYLE}</style></head><body>\n"
        f'<h1>Conversation with <bdi>{other}</bdi></h1>\n'
        f'<p class="meta">Exported from WhiteBalloon on {utcnow():%d %B %Y} (times in UTC). Messages deleted for '
        "both of you are left out.</p>\n<ol>\n"
    )
    me = escape(my_name)
    for rows in message_batches(conversation):
        parts = []
        for row in rows:
            mine = row.sender_id == member_id
            classes = ("mine" if mine else "theirs") + (" removed" if row.removed else "")
            note = " · removed from your view" if row.removed else ""
            at = row.created_at.isoformat()  # one isoformat, sliced: strftime costs several times more
            parts.append(
                f'<li class="{classes}" id="message-{row.id}"><div class="bubble" dir="auto">{escape(row.body)}</div>'
                f'<span class="meta"><bdi>{me if mine else other}</bdi> · '
                f'<time datetime="{at}Z">{at[:10]} {at[11:16]}</time>{note}</span></li>\n'
            )
        yield "".join(parts)
    yield "</ol>\n</body></html>\n"


def export_count(since: datetime | None = None) -> int:
    """How many exports members have downloaded (since a moment): the admin page's figure, no names."""
    query = select(db.func.count()).select_from(AuditEvent).where(AuditEvent.action == EXPORTED)
    if since is not None:
        query = query.where(AuditEvent.created_at >= since)
    return db.session.scalar(query)
