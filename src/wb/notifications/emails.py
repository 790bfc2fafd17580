"""The emails themselves: who wrote and how many, links, never message text. Plain text only."""
from __future__ import annotations

import json
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from datetime import timezone
from urllib.parse import urlsplit

from flask import current_app

from ..text import one_line
from .models import FREQUENCIES
from .tokens import confirm_token, message_id_part, unsubscribe_token


@dataclass
class Writer:
    """One line of a notice: a member's name, how many unread messages they sent, and where."""
    name: str
    count: int
    conversation_id: int


def link(endpoint: str, **values) -> str:
    """An absolute link under WB_BASE_URL (no request is needed: the URL map builds it)."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http")
    return adapter.build(endpoint, values, force_external=True)


def _envelope(notice, address: str, subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = address
    message["Subject"] = subject
    message["Date"] = format_datetime(notice.created_at.replace(tzinfo=timezone.utc))
    host = urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"
    message["Message-ID"] = f"<{message_id_part(notice.id)}@{host}>"
    message["Auto-Submitted"] = "auto-generated"
    return message


def unread_email(notice, recipient, address: str, writers: list[Writer], frequency: str,
                 name_writers: bool = True, chosen: bool = True) -> EmailMessage:
    """The notice of unread messages: names (unless the member, or the community till they chose, said
    not) and counts, a link to each conversation, one-click unsubscribe."""
    total = sum(writer.count for writer in writers)
    subject = ("Your daily WhiteBalloon digest: " if notice.kind == "daily" else "") + (
        f"{total} unread message{'s' if total != 1 else ''} on WhiteBalloon")
    message = _envelope(notice, address, subject)
    unsubscribe = link("notifications.unsubscribe", token=unsubscribe_token(recipient.id, address))
    message["List-Unsubscribe"] = f"<{unsubscribe}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # Names are one line now, but one stored before could still start a line of its own here.
    lines = [f"Hello {one_line(recipient.own_name)},", "", ("You have an unread message on WhiteBalloon:" if total == 1 else "You have unread messages on WhiteBalloon:"), ""]
    # Each conversation that is due has its own link: one click opens it, not the inbox.
    for writer in writers:
        count = f"{writer.count} new message{'s' if writer.count != 1 else ''}"
        lines += [f"  - {one_line(writer.name)}: {count}" if name_writers else f"  - A conversation: {count}",
                  f"    Read and reply: {link('messaging.thread', conversation_id=writer.conversation_id)}"]
    lines += [
        "", f"All your conversations: {link('messaging.inbox')}", "",
        "Emails never hold the text of messages: it stays on WhiteBalloon."
        + ("" if name_writers else " You chose emails that don't name who wrote." if chosen
           else " This community's emails don't name who wrote; your email settings can change that."), "", "-- ",
        f'You get this email because you chose "{FREQUENCIES[frequency]}" for unread messages.',
        f"Stop these emails: {unsubscribe}",
        f"Change how often: {link('notifications.email_settings')}",
    ]
    message.set_content("\n".join(lines) + "\n")
    return message


def confirmation_email(notice, recipient, address: str) -> EmailMessage:
    """The link that confirms an address before anything else is sent to it."""
    message = _envelope(notice, address, "Confirm your email address for WhiteBalloon")
    hours = current_app.config["EMAIL_CONFIRM_MAX_AGE_HOURS"]
    lines = [
        f"Hello {one_line(recipient.own_name)},", "",
        "Someone (we hope you) added this address to a WhiteBalloon account. To confirm it, open:", "",
        f"  {link('notifications.confirm', token=confirm_token(recipient.id, address))}", "",
        f"The link works for {hours:g} hours. Until it is confirmed we send nothing else here.",
        "If this wasn't you, ignore this email and the address stays unconfirmed.",
    ]
    message.set_content("\n".join(lines) + "\n")
    return message


def reset_link_email(notice, recipient, address: str, maker: str) -> EmailMessage:
    """A password reset link was made for the member's account: whoever opens it can sign in as them.
    The link itself is never in it (only the admin shows it, once); if they didn't ask, changing their
    password stops it."""
    message = _envelope(notice, address, "A password reset link was made for your WhiteBalloon account")
    lines = [
        f"Hello {one_line(recipient.own_name)},", "",
        f"{one_line(maker)} made a password reset link for your WhiteBalloon account. Whoever opens it",
        "can choose a new password and sign in as you. It works once, for 24 hours.", "",
        "If you asked for it, there is nothing more to do.", "",
        "If you didn't, change your password now: the link then stops working.",
        f"  {link('people.settings')}#password",
        "And tell another admin of your community.", "",
        "This email holds no link that signs you in, and never the text of messages.",
    ]
    message.set_content("\n".join(lines) + "\n")
    return message


def password_set_email(notice, recipient, address: str, maker: str) -> EmailMessage:
    """A reset link set the member's password: if it wasn't them, whoever holds their account now
    was signed in as them (and any API token was revoked with it)."""
    message = _envelope(notice, address, "Your WhiteBalloon password was changed with a reset link")
    revoked = json.loads(notice.summary or "{}").get("tokens") or 0
    lines = [
        f"Hello {one_line(recipient.own_name)},", "",
        f"Your WhiteBalloon password was just changed with a password reset link. {one_line(maker)} made the link.",
        "Every device that was signed in to your account was signed out (the browser that used the link is signed in)"
        + (f", and your {revoked} API token{'s' if revoked != 1 else ''} stopped working." if revoked else "."), "",
        "If you did this, there is nothing more to do.", "",
        "If you didn't, someone else chose your password and is signed in as you: ask another admin of your",
        "community (or whoever runs its server) for a new link at once, and tell them what happened.", "",
        "This email holds no link that signs you in, and never the text of messages.",
    ]
    message.set_content("\n".join(lines) + "\n")
    return message


def admin_removed_email(notice, recipient, address: str, by: str) -> EmailMessage:
    """An admin's role was removed: a new admin could demote the others without a word to them (a
    re-check tester)."""
    message = _envelope(notice, address, "You are no longer an admin of your WhiteBalloon community")
    lines = [
        f"Hello {one_line(recipient.own_name)},", "",
        f"{one_line(by)} removed your admin role. Your account is otherwise as it was.", "",
        "If you didn't expect this, tell another admin of your community, or whoever runs its server:",
        "they can make you an admin again.", "",
        "This email never holds the text of messages.",
    ]
    message.set_content("\n".join(lines) + "\n")
    return message
