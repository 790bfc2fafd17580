"""Signed links in emails: confirm an address (expires), unsubscribe (for one address). One salt per purpose."""
from __future__ import annotations

import hashlib
import hmac

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

CONFIRM_SALT = "wb.notifications.confirm-address"
UNSUBSCRIBE_SALT = "wb.notifications.unsubscribe"
MESSAGE_ID_SALT = "wb.notifications.message-id"


class LinkRefused(Exception):
    """A signed link that can't be used, with what to tell the visitor."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def confirm_token(user_id: int, address: str) -> str:
    """A link token that confirms exactly this address for exactly this member. It names the address
    by its digest: a token is readable (signed, not encrypted), and links end up in access logs."""
    return URLSafeTimedSerializer(current_app.secret_key, salt=CONFIRM_SALT).dumps([user_id, _address_digest(address)])


def read_confirm_token(token: str) -> tuple[int, str]:
    """(user_id, address digest) from a confirmation token, or LinkRefused when tampered with or too old.
    (Links sent before carried the address itself: its digest is given for them.)"""
    max_age = int(current_app.config["EMAIL_CONFIRM_MAX_AGE_HOURS"] * 3600)
    try:
        user_id, address = URLSafeTimedSerializer(current_app.secret_key, salt=CONFIRM_SALT).loads(
            token, max_age=max_age)
    except SignatureExpired:
        raise LinkRefused("This confirmation link has expired. Enter your address again in Settings "
                          "and we'll send a new one.") from None
    except (BadSignature, ValueError, TypeError):
        raise LinkRefused("This confirmation link isn't valid. Copy the whole link from the email, "
                          "or ask for a new one in Settings.") from None
    address = str(address)
    return int(user_id), (_address_digest(address) if "@" in address else address)


def message_id_part(notice_id: int) -> str:
    """A notice's Message-ID before the @: the same for every send of it (a receiving server can tell a
    resend), and random to anyone without the secret key. "wb-notice-5-..." counted every notice the
    community sent (an outside tester compared headers)."""
    key = current_app.secret_key
    key = key.encode("utf-8") if isinstance(key, str) else key
    return hmac.new(key, f"{MESSAGE_ID_SALT}:{notice_id}".encode(), hashlib.sha256).hexdigest()[:32]


def _address_digest(address: str) -> str:
    """What a link says of an address: enough to tell it from another, nothing to read it by."""
    return hashlib.sha256(address.lower().encode("utf-8")).hexdigest()[:32]


def address_matches(address: str, digest: str) -> bool:
    """Whether a link token's address digest is that of `address`."""
    return hmac.compare_digest(_address_digest(address), digest)


def unsubscribe_token(user_id: int, address: str) -> str:
    """A link token that unsubscribes this member while this is their address: a new address needs a new link."""
    return URLSafeSerializer(current_app.secret_key, salt=UNSUBSCRIBE_SALT).dumps([user_id, _address_digest(address)])


def read_unsubscribe_token(token: str) -> tuple[int, str]:
    """(user_id, address digest) from an unsubscribe token, or LinkRefused."""
    invalid = "This unsubscribe link isn't valid. You can change your email settings in Settings after signing in."
    try:
        payload = URLSafeSerializer(current_app.secret_key, salt=UNSUBSCRIBE_SALT).loads(token)
    except BadSignature:
        raise LinkRefused(invalid) from None
    # Links from before they named an address carried only the member's id: they no longer work.
    if not (isinstance(payload, list) and len(payload) == 2 and isinstance(payload[0], int)
            and isinstance(payload[1], str)):
        raise LinkRefused(invalid)
    return payload[0], payload[1]
