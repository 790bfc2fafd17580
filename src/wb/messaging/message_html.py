"""A run of messages as HTML: the one place this app writes markup in Python, on purpose.

A thread page draws 50 messages; drawn by a Jinja loop they cost 0.8 ms more a page (a fifth of it: docs/performance.md).
"""
import re
from datetime import timedelta

from flask import url_for
from markupsafe import Markup, escape

from ..main import views as main_views
from ..main.views import EPOCH, timetag
from ..text import BLANK_LETTERS, DEFAULT_IGNORABLE
from .conversations import deleted_for

# Run on the escaped text, so a URL can't carry markup out of it: it stops at whitespace, at a
# quote or at < > (escaped as &lt; &gt; &#34; &#39;, hence the lookahead on "&lt;" and friends),
# and at a character that draws nothing or a blank (text.DEFAULT_IGNORABLE, text.BLANK_LETTERS): a link
# whose text hides part of where it goes ("pay.\u200b.com", a marketplace tester; a tag character,
# a variation selector: a re-check tester) ends there.
_DRAWS_NOTHING = DEFAULT_IGNORABLE.pattern[1:-1] + "".join(sorted(BLANK_LETTERS))
URL = re.compile(r"\bhttps?://(?:(?!&(?:lt|gt|#34|#39|quot);)[^\s<>\"'" + _DRAWS_NOTHING + "])+", re.IGNORECASE)
TRAILING = ".,;:!?*'\""
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
GROUP_SECONDS = 300  # a member's messages within 5 minutes of the first share its time label
# Whose a message is shows by its side and colour; a screen reader says it in words (the thread's
# heading names the other member).
WHOSE = {side: f'<span class="visually-hidden">{words}</span>' for side, words in
         (("mine", "Your message: "), ("theirs", "Their message: "))}


def _link(match) -> str:
    """One URL as a link, without the punctuation that ends the sentence around it."""
    url, rest = match.group(0), ""
    while url:
        if url[-1] in TRAILING:
            url, rest = url[:-1], url[-1] + rest
        elif url.endswith(")") and url.count(")") > url.count("("):
            url, rest = url[:-1], ")" + rest
        elif url.endswith("&amp;"):  # an escaped "&" ending the URL is punctuation too
            url, rest = url[:-5], "&amp;" + rest
        else:
            break
    url = _plain_host(url)
    if url is None:
        return match.group(0)
    return f'<a href="{url}" rel="nofollow noopener ugc" target="_blank">{url}</a>{rest}'


HOST = re.compile(r"([a-z]+://)([^/?#]*)(.*)", re.IGNORECASE | re.DOTALL)


def _plain_host(url: str) -> str | None:
    """The URL with its host as the browser will read it: lower case ("paypaI.com" showed as PayPal's
    own), and in its ASCII form when it holds other letters ("аpple.com" with a Cyrillic а reads
    xn--pple-43d.com). None, left as text, when it has no host or names someone before it:
    http://127.0.0.1:5302@evil.example/login goes to evil.example (a marketplace tester); nor one
    with an escaped character or a backslash in its host, which a browser can't open as written."""
    scheme, netloc, rest = HOST.fullmatch(url).groups()
    host, colon, port = netloc.rpartition(":") if netloc.count(":") == 1 else (netloc, "", "")
    if not host or any(char in netloc for char in "@&%\\") or (colon and not port.isdigit()):
        return None
    try:
        host = host.lower() if host.isascii() else host.encode("idna").decode("ascii").lower()
    except UnicodeError:  # not a name IDNA can write
        return None
    return f"{scheme.lower()}{host}{colon}{port}{rest}"


def linkify(text) -> Markup:
    """A member's text, escaped, with its http and https URLs as links and nothing else as markup."""
    escaped = escape(text)
    if "://" not in text:  # most messages have no URL: skip the search (a thread page draws 50)
        return escaped
    return Markup(URL.sub(_link, escaped))


def day_label(day, today) -> str:
    """'Today', 'Yesterday', 'Monday 23 November', or '23 November 2025' for another year."""
    if day == today:
        return "Today"
    if day == today - timedelta(days=1):
        return "Yesterday"
    if day.year == today.year:
        return f"{DAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]}"
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


EXCERPT_CHARS = 40


def _actions_label(side, shown, message, deleted: bool) -> Markup:
    """The ⋯ button's accessible name: whose message, when (shown: in the viewer's time zone),
    and how it starts, so that a screen reader's list of buttons tells one message's actions from
    the next one's."""
    whose = "your" if side == "mine" else "their"
    at = shown.isoformat()[11:16]
    if deleted:
        return Markup(f"Actions for {whose} deleted message of {at}")
    words = " ".join(message.body[:EXCERPT_CHARS * 2].split())  # a thread draws 50: don't split 5,000 characters
    if len(words) > EXCERPT_CHARS:
        words = words[:EXCERPT_CHARS].rstrip() + "…"
    return Markup(f"Actions for {whose} message of {at}: “") + escape(words) + Markup("”")


def message_items(messages, conversation, viewer_id, separators=True, oob=False) -> Markup:
    """Each message of a run as an <li>: a thread page, an older page, a poll, one message.

    The body is the only text from a member: it is escaped, its http(s) URLs become links, and
    dir="auto" keeps a direction control in it from reordering the page around it. A message
    carries only what it shows: its actions (delete, remove) load when its menu opens, from
    .../actions, which is also the page that link leads to without JavaScript.
    oob: each takes the place of the message with its id already shown (htmx out of band).
    The menu's actions are wired up in the same task that draws them (settle:0ms): a form shown
    but not yet wired would post without its question (hx-confirm) when pressed at once.
    """
    # Each run draws its own day separators and groups, so the page is right without
    # JavaScript; app.js drops the ones a run repeats when it lands beside another (data-day).
    base = f"{url_for('messaging.thread', conversation_id=conversation.id)}/messages/"
    today = main_views.local(EPOCH + timedelta(seconds=main_views.clock())).date()  # the viewer's day
    items = []
    swap = ' hx-swap-oob="true"' if oob else ""
    day = day_iso = group_side = group_start = None
    for message in messages:
        message_id = message.id
        created = message.created_at
        shown = main_views.local(created)
        side = "mine" if message.sender_id == viewer_id else "theirs"
        seconds = (created - EPOCH).total_seconds()
        if shown.date() != day:
            day = shown.date()
            day_iso, group_side = day.isoformat(), None
            if separators:
                items.append(f'<li class="day-separator"><span>{day_label(day, today)}</span></li>')
        if side == group_side and seconds - group_start <= GROUP_SECONDS:
            classes = f"{side} grouped"
        else:
            classes, group_side, group_start = side, side, seconds
        deleted = deleted_for(viewer_id, message)
        if deleted:
            classes, body = f"{classes} deleted", '<p class="body deleted-text">Message deleted</p>'
        else:
            body = f'<p class="body" dir="auto">{linkify(message.body)}</p>'
        actions = f"{base}{message_id}/actions"
        actions_label = _actions_label(side, shown, message, deleted)
        items.append(
            f'<li class="message {classes}" id="message-{message_id}"{swap} data-id="{message_id}"'
            f' data-day="{day_iso}" data-at="{int(seconds)}">\n'
            f'  <div class="bubble">{WHOSE[side]}{body}</div>\n'
            f'  <div class="message-meta">{timetag(created)}\n'
            f'    <details class="message-actions" hx-get="{actions}" hx-trigger="toggle once"'
            ' hx-target="find .message-actions-menu" hx-swap="outerHTML settle:0ms">\n'
            f'      <summary aria-label="{actions_label}">⋯</summary>\n'
            f'      <div class="message-actions-menu"><a href="{actions}">Delete or remove…</a></div>\n'
            "    </details>\n  </div>\n</li>"
        )
    return Markup("\n".join(items))
