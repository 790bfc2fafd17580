"""Small helpers the messaging tests share."""
import re

from sqlalchemy import func, select

from wb.extensions import db
from wb.messaging.models import Conversation, ConversationMembership, Message

POLL_PATH = re.compile(r'hx-get="/messages/\d+/poll\?after=(\d+)&amp;seen=(\d+)"')


def open_conversation(client, username) -> int:
    """Press "Message" for that member; returns the conversation id it redirects to."""
    response = client.post(f"/messages/with/{username}")
    assert response.status_code == 302, response.get_data(as_text=True)
    match = re.fullmatch(r"/messages/(\d+)", response.location)
    assert match, response.location
    return int(match.group(1))


def send(client, conversation_id, body, htmx=True):
    """Send through the compose form, as htmx does unless htmx=False."""
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(f"/messages/{conversation_id}", data={"body": body}, headers=headers)


def messages_in(conversation_id) -> list[Message]:
    db.session.expire_all()
    return list(db.session.scalars(select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)))


def membership_of(user, conversation_id) -> ConversationMembership:
    db.session.expire_all()
    return db.session.scalar(
        select(ConversationMembership).where(
            ConversationMembership.user_id == user.id, ConversationMembership.conversation_id == conversation_id
        )
    )


def conversation_count() -> int:
    return db.session.scalar(select(func.count(Conversation.id)))


def poll_cursors(html) -> tuple[int, int]:
    """The (after, seen) cursors of the poller on a page."""
    match = POLL_PATH.search(html)
    assert match, "no poller on the page"
    return int(match.group(1)), int(match.group(2))


def visible_text(response) -> str:
    """What a reader sees: templates (words a script may show later) dropped, tags stripped, entities
    decoded, whitespace folded."""
    import html

    raw = response.get_data(as_text=True) if hasattr(response, "get_data") else response
    raw = re.sub(r"<template\b.*?</template>", " ", raw, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", raw)).split())
