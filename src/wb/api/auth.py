"""Who is asking the API: a Bearer token, or the browser session (with the CSRF header on writes)."""
from __future__ import annotations

from flask import g, request
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from ..access import PENDING_EXPLANATION
from . import tokens
from .problems import CSRF_REFUSED, ApiProblem

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="WhiteBalloon API"'}
# A token was sent and refused (unknown, revoked, expired, its owner suspended): RFC 6750 3.1 says so
# in the challenge, which a request with no credentials doesn't carry.
INVALID_TOKEN = {"WWW-Authenticate": 'Bearer realm="WhiteBalloon API", error="invalid_token"'}


def sign_in() -> None:
    """Sets g.api_member and g.api_auth ("token" or "session"), or raises a 401/403 problem.

    A token request carries its own proof, so it needs no CSRF token; a session request
    is a browser's, and its writes must prove they come from our own pages."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiProblem(401, "Send your token as 'Authorization: Bearer <token>'.", headers=CHALLENGE)
        bearer = tokens.authenticate(token.strip())
        if not isinstance(bearer, tokens.Bearer):
            raise ApiProblem(401, bearer, headers=INVALID_TOKEN)
        g.api_member, g.api_auth = bearer.member, "token"
        return
    if not current_user.is_authenticated:
        raise ApiProblem(401, "Sign in: send a personal access token as 'Authorization: Bearer <token>'.", headers=CHALLENGE)
    if request.method not in SAFE_METHODS:
        _require_csrf_header()
    g.api_member, g.api_auth = current_user._get_current_object(), "session"


def _require_csrf_header() -> None:
    try:
        validate_csrf(request.headers.get("X-CSRFToken"))
    except ValidationError:
        raise ApiProblem(403, CSRF_REFUSED) from None


def require_own_page() -> None:
    """A read that spends something (the export's hour) proves, as a write does, that a session
    request comes from our own pages: any site could send the browser there (a top-level GET carries
    a SameSite=Lax cookie) and spend the member's download (an API tester). Tokens need no proof."""
    if g.api_auth == "session":
        _require_csrf_header()


def require_active() -> None:
    """Only active members use the messaging API (pending members read /me to learn why)."""
    member = g.api_member
    if not member.is_active_member:
        raise ApiProblem(403, PENDING_EXPLANATION if member.is_pending else "Your account can't do that.")


def member():
    """The member this API request acts for."""
    return g.api_member
