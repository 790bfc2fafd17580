"""Personal access tokens: issue (shown once, with the lifetime chosen), authenticate a Bearer header, list, revoke."""
from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select, update

from ..extensions import db
from ..main.views import date_words
from ..models import User, utcnow
from ..text import TextRefused, clean_line
from .models import AccessToken

# A recognisable prefix lets secret scanners and members tell a WhiteBalloon token at a glance.
PREFIX = "wbpat_"
NAME_MAX = 80
TOKENS_PER_MEMBER = 20
# last_used_at is written at most this often per token: a poll every few seconds must not
# turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# How long a new token works, by the value the form's "Expires" choice posts; None: until revoked.
LIFETIMES = {"30": timedelta(days=30), "90": timedelta(days=90), "365": timedelta(days=365), "never": None}
DEFAULT_LIFETIME = "90"
LIFETIME_REFUSED = "Choose when the token expires: in 30 days, 90 days, 1 year, or never."


class TokenRefused(ValueError):
    """A token that can't be created, with what to tell the member (and the form's field it is about)."""

    def __init__(self, message: str, field: str = "form"):
        super().__init__(message)
        self.field = field


def hash_token(token: str) -> str:
    """The stored form of a token: a token has 256 random bits, so a plain SHA-256 is enough."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def clean_name(raw) -> str:
    """A token's name as stored, or TokenRefused: required, one line of text, at most NAME_MAX characters."""
    try:
        return clean_line(raw, NAME_MAX, "Token names", required="Give the token a name, such as the app that will use it.")
    except TextRefused as refused:
        raise TokenRefused(refused.message) from None


def clean_lifetime(raw) -> timedelta | None:
    """How long a token chosen as `raw` (a key of LIFETIMES) works, None for never, or TokenRefused."""
    if not isinstance(raw, str) or raw not in LIFETIMES:
        raise TokenRefused(LIFETIME_REFUSED)
    return LIFETIMES[raw]


def issue(member, raw_name, lifetime: str = DEFAULT_LIFETIME) -> tuple[AccessToken, str]:
    """A new named token for member, working for `lifetime` (a key of LIFETIMES); returns (row, the
    token itself, to show once)."""
    name, works_for = clean_name(raw_name), clean_lifetime(lifetime)
    now = utcnow()
    held = active_tokens(member)
    if sum(not row.expired(now) for row in held) >= TOKENS_PER_MEMBER:
        raise TokenRefused(f"You can have at most {TOKENS_PER_MEMBER} tokens; revoke one you no longer use first.")
    # Two alike in the list can't be told apart, nor the right one revoked (a marketplace's tester).
    if any(row.name.casefold() == name.casefold() for row in held):
        raise TokenRefused(f"You already have a token called \u201c{name}\u201d. Give this one another name, so that "
                           "you can tell them apart.", field="name")
    token = PREFIX + secrets.token_urlsafe(32)
    row = AccessToken(user_id=member.id, name=name, token_hash=hash_token(token), created_at=now,
                      expires_at=None if works_for is None else now + works_for)
    db.session.add(row)
    db.session.commit()
    return row, token


def active_tokens(member) -> list[AccessToken]:
    """The member's tokens not revoked (an expired one too: the list says so), newest first."""
    return list(db.session.scalars(
        select(AccessToken)
        .where(AccessToken.user_id == member.id, AccessToken.revoked_at.is_(None))
        .order_by(AccessToken.id.desc())
    ))


def revoke(member, token_id: int) -> AccessToken | None:
    """Revoke one of member's tokens (idempotent); None when they have no such token."""
    row = db.session.get(AccessToken, token_id)
    if row is None or row.user_id != member.id:
        return None
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.commit()
    return row


def revoke_all(member) -> int:
    """Revoke every token member still has, in the caller's transaction; how many were revoked."""
    return db.session.execute(
        update(AccessToken).where(AccessToken.user_id == member.id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    ).rowcount


@dataclass
class Bearer:
    """Who a Bearer token names, when it still works."""
    member: User
    token_id: int


@functools.cache
def _lookup_statement():
    return (
        select(AccessToken.id, AccessToken.revoked_at, AccessToken.expires_at, AccessToken.last_used_at, User)
        .join(User, User.id == AccessToken.user_id)
        .where(AccessToken.token_hash == bindparam("token_hash"))
    )


UNKNOWN = "That token doesn't work: it is unknown or was revoked."
SUSPENDED = "That token's account is suspended: its tokens work again if an admin reinstates it."


def expired_words(expires_at) -> str:
    """Why an expired token is refused, with the day it stopped and what to do instead."""
    return f"This token expired on {date_words(expires_at)}. Make a new one in Settings → API tokens."


def authenticate(token: str) -> Bearer | str:
    """The member a token signs in, in one query; else why not: unknown, revoked or its owner gone
    (UNKNOWN), past its expiry (expired_words), or its owner suspended (SUSPENDED, as signing in
    says). A pending member is signed in, and refused by the API's checks."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return UNKNOWN
    row = db.session.execute(_lookup_statement(), {"token_hash": hash_token(token)}).first()
    if row is None or row.revoked_at is not None or row.User.deleted_at is not None:
        return UNKNOWN
    if row.expires_at is not None and row.expires_at <= utcnow():
        return expired_words(row.expires_at)
    member = row.User
    if member.status == "suspended":
        return SUSPENDED
    _note_use(row.id, row.last_used_at)
    return Bearer(member=member, token_id=row.id)


def _note_use(token_id: int, last_used_at) -> None:
    now = utcnow()
    if last_used_at is not None and now - last_used_at < LAST_USED_RESOLUTION:
        return
    db.session.execute(
        update(AccessToken).where(AccessToken.id == token_id).values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
