"""A run of messages as HTML: the one place this app writes markup in Python, on purpose.

A thread page draws 50 messages; drawn by a Jinja loop they cost 0.8 ms more a page (a fifth of it: docs/performance.md).
"""
from flask import url_for
from markupsafe import Markup, escape

from ..main.views import timetag


def message_items(messages, conversation, viewer_id) -> Markup:
    """Each message of a run as an <li>: a thread page, an older page, a poll, one message.

    The body is the only text from a member: it is escaped, and dir="auto" keeps a direction
    control in it from reordering the page around it. A message carries only what it shows:
    its actions (delete, remove) load when its menu opens, from .../actions, which is also
    the page that link leads to without JavaScript.
    """
    base = f"{url_for('messaging.thread', conversation_id=conversation.id)}/messages/"
    items = []
    for message in messages:
        message_id = message.id
        side = "mine" if message.sender_id == viewer_id else "theirs"
        if message.deleted_at:
            side, body = f"{side} deleted", '<p class="body deleted-text">Message deleted</p>'
        else:
            body = f'<p class="body" dir="auto">{escape(message.body)}</p>'
        actions = f"{base}{message_id}/actions"
        items.append(
            f'<li class="message {side}" id="message-{message_id}" data-id="{message_id}">\n'
            f'  <div class="bubble">{body}</div>\n'
            f'  <div class="message-meta">{timetag(message.created_at)}\n'
            f'    <details class="message-actions" hx-get="{actions}" hx-trigger="toggle once"'
            ' hx-target="find .message-actions-menu" hx-swap="outerHTML">\n'
            '      <summary aria-label="Actions for this message">⋯</summary>\n'
            f'      <div class="message-actions-menu"><a href="{actions}">Delete or remove…</a></div>\n'
            "    </details>\n  </div>\n</li>"
        )
    return Markup("\n".join(items))
