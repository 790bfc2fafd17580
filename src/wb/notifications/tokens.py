"""Signed links in emails: confirm an address (expires), unsubscribe (doesn't). One salt per purpose."""
from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

CONFIRM_SALT = "wb.notifications.confirm-address"
UNSUBSCRIBE_SALT = "wb.notifications.unsubscribe"


class LinkRefused(Exception):
    """A signed link that can't be used, with what to tell the visitor."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def confirm_token(user_id: int, address: str) -> str:
    """A link token that confirms exactly this address for exactly this member."""
    return URLSafeTimedSerializer(current_app.secret_key, salt=CONFIRM_SALT).dumps([user_id, address])


def read_confirm_token(token: str) -> tuple[int, str]:
    """(user_id, address) from a confirmation token, or LinkRefused when tampered with or too old."""
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
    return int(user_id), str(address)


def unsubscribe_token(user_id: int) -> str:
    return URLSafeSerializer(current_app.secret_key, salt=UNSUBSCRIBE_SALT).dumps(user_id)


def read_unsubscribe_token(token: str) -> int:
    """The member an unsubscribe token names, or LinkRefused."""
    try:
        user_id = URLSafeSerializer(current_app.secret_key, salt=UNSUBSCRIBE_SALT).loads(token)
    except BadSignature:
        raise LinkRefused("This unsubscribe link isn't valid. You can change your email settings "
                          "in Settings after signing in.") from None
    if not isinstance(user_id, int):
        raise LinkRefused("This unsubscribe link isn't valid.")
    return user_id
