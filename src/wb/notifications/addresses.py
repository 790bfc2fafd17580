"""A member's email address and preference: add, change, confirm, remove, unsubscribe. Nothing is sent here."""
from __future__ import annotations

from email.errors import HeaderParseError
from email.headerregistry import Address

from flask import current_app
from sqlalchemy import update

from .. import ratelimits
from ..extensions import db
from ..models import User, utcnow
from ..text import has_control_characters
from .models import FREQUENCIES, EmailSettings, Notice
from .tokens import LinkRefused, address_matches, read_confirm_token, read_unsubscribe_token

ADDRESS_MAX = 254  # RFC 5321's limit on a forward path


class AddressRefused(Exception):
    """What to tell the member about the address or choice they sent."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def settings_of(member) -> EmailSettings:
    """The member's stored settings, or unsaved defaults (no address, never)."""
    return db.session.get(EmailSettings, member.id) or _new_settings(member)


def _stored_settings(member) -> EmailSettings:
    row = db.session.get(EmailSettings, member.id)
    if row is None:
        row = _new_settings(member)
        db.session.add(row)
    return row


def _new_settings(member) -> EmailSettings:
    """A member's email choices before they make any: no emails, and naming who wrote as the community's
    switch says (name_writers unmade: EmailSettings.names_writers)."""
    return EmailSettings(user_id=member.id, frequency="never", name_writers=None)


def clean_address(raw) -> str:
    """The address to store, or AddressRefused saying what is wrong with it."""
    value = (raw or "").strip() if isinstance(raw, str) else ""
    if not value:
        raise AddressRefused("Enter an email address.")
    if len(value) > ADDRESS_MAX:
        raise AddressRefused(f"An email address can be at most {ADDRESS_MAX} characters.")
    if has_control_characters(value) or any(ch.isspace() for ch in value):
        raise AddressRefused("An email address has no spaces or control characters.")
    try:
        parsed = Address(addr_spec=value)
    except (HeaderParseError, ValueError, IndexError):
        parsed = None
    if parsed is None or not parsed.username or "." not in parsed.domain or parsed.addr_spec != value:
        raise AddressRefused("That doesn't look like an email address (name@example.org).")
    local, _, domain = value.rpartition("@")
    # An address at an IP ("x@[127.0.0.1]", "x@10.0.0.1") would have us connect to any machine,
    # the server's own neighbours included; real mailboxes are at a domain name (no TLD is a number).
    if domain.startswith("[") or domain.rstrip(".").rpartition(".")[2].isdigit():
        raise AddressRefused("Use an address at a domain name (name@example.org), not at an IP address.")
    return f"{local}@{domain.lower()}"


def set_address(member, raw) -> str:
    """Store a new address, unconfirmed, and queue its confirmation email; returns the address."""
    address = clean_address(raw)
    stored = db.session.get(EmailSettings, member.id)
    if stored is not None and stored.address == address and stored.confirmed:
        return address  # nothing changes: no new link needed
    try:  # counted before anything is written (ratelimits.take)
        ratelimits.take("email-address", current_app.config["EMAIL_CHANGE_RATE_LIMIT"], f"user:{member.id}")
    except ratelimits.LimitReached:
        db.session.rollback()
        raise AddressRefused("You've asked for several confirmation emails today. Try again tomorrow.", 429) from None
    row = _stored_settings(member)
    row.address, row.confirmed_at, row.updated_at = address, None, utcnow()
    _drop_pending_confirmations(member.id)
    db.session.add(Notice(user_id=member.id, kind="confirm", status="pending"))
    db.session.commit()
    return address


def remove_address(member) -> None:
    """Forget the address; nothing more is emailed."""
    row = db.session.get(EmailSettings, member.id)
    if row is not None:
        row.address, row.confirmed_at, row.updated_at = None, None, utcnow()
        _drop_pending_confirmations(member.id)
        db.session.commit()


def clean_frequency(value) -> str:
    """never, soon or daily, or AddressRefused asking for one of them."""
    if value not in FREQUENCIES:
        raise AddressRefused("Choose how often to hear about unread messages.")
    return value


def set_frequency(member, value, name_writers: bool = True) -> str:
    """never, soon or daily; and whether the emails name who wrote."""
    value = clean_frequency(value)
    row = _stored_settings(member)
    row.frequency, row.name_writers, row.updated_at = value, bool(name_writers), utcnow()
    db.session.commit()
    return value


def save_card(member, address: str | None, frequency: str | None, name_writers: bool = True) -> bool:
    """The Email card as sent: a new address (as set_address) and the choices (as set_frequency); None
    leaves either as it was. The address goes first, so one refused saves nothing. Returns whether the
    choices changed."""
    if address is not None:
        set_address(member, address)
    if frequency is None:
        return False
    before = settings_of(member)
    changed = (before.frequency, before.name_writers) != (frequency, bool(name_writers))
    set_frequency(member, frequency, name_writers)
    return changed


def confirm(token: str) -> EmailSettings:
    """Confirm the address a link names, if it is still the member's address; LinkRefused otherwise."""
    user_id, address_digest = read_confirm_token(token)
    row = db.session.get(EmailSettings, user_id)
    if row is None or not row.address or not address_matches(row.address, address_digest):
        raise LinkRefused("This link is for an email address that has since been changed. "
                          "Use the link in the newest email we sent.")
    if row.confirmed_at is None:
        row.confirmed_at = utcnow()
        _drop_pending_confirmations(user_id)
        db.session.commit()
    return row


def unsubscribing(token: str) -> EmailSettings:
    """The settings an unsubscribe link stops, or LinkRefused: it must name the member's current address."""
    user_id, address_digest = read_unsubscribe_token(token)
    row = db.session.get(EmailSettings, user_id)
    if row is None or not row.address or not address_matches(row.address, address_digest):
        raise LinkRefused("This unsubscribe link is for an email address this account no longer uses, so it "
                          "changes nothing. You can change your email settings in Settings after signing in.")
    return row


def unsubscribe(token: str) -> User | None:
    """Stop emails about unread messages for the member and address the signed link names."""
    row = unsubscribing(token)
    row.frequency, row.updated_at = "never", utcnow()
    db.session.commit()
    return db.session.get(User, row.user_id)


def _drop_pending_confirmations(user_id: int) -> None:
    """An older confirmation email would carry a link for an old address: don't send it."""
    db.session.execute(
        update(Notice).where(Notice.user_id == user_id, Notice.kind == "confirm", Notice.status == "pending")
        .values(status="dropped")
    )
