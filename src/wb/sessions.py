"""Flask's signed-cookie sessions, remembering the cookies this process has already verified.

A browser sends the same session cookie with every request, and the badge, list and thread
polls send it every few seconds, so verifying and decoding it (two HMACs, zlib, tagged JSON)
again each time was a large part of their cost (docs/performance.md). A cookie's contents
can't change without its text changing, so what a given text decodes to under the app's keys
is kept. Everything else is Flask's own: the cookie format, keys, salt, expiry and saving.
"""
from __future__ import annotations

import time
from functools import lru_cache

from flask import current_app
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature

from .security import add_vary

# Cookie texts kept per process: more than the members one worker serves in a few minutes.
VERIFIED_COOKIES = 4096

# Only sessions holding nothing but these are kept, so one request's changes to its session
# can never reach the next request (flashed messages, for one, are a list changed in place).
_PLAIN = (str, int, float, bool, type(None))


class _Unkeepable(Exception):
    """The session holds a container: it is decoded afresh on every request instead."""


class RememberingSessionInterface(SecureCookieSessionInterface):
    """SecureCookieSessionInterface, keeping each verified cookie text's contents (LRU, per app)."""

    def __init__(self, size: int = VERIFIED_COOKIES):
        self._verified = lru_cache(maxsize=size)(self._verify)

    def _verify(self, keys: tuple, text: str) -> tuple[tuple, int]:
        """(items, when signed) of a cookie text under keys, which are part of the cache key
        so that a changed secret key never accepts what the old one signed; or BadSignature."""
        data, signed_at = self.get_signing_serializer(current_app).loads(text, return_timestamp=True)
        if not isinstance(data, dict) or not all(isinstance(value, _PLAIN) for value in data.values()):
            raise _Unkeepable
        return tuple(data.items()), int(signed_at.timestamp())

    def open_session(self, app, request):
        text = request.cookies.get(self.get_cookie_name(app))
        if not text or not app.secret_key:
            return super().open_session(app, request)
        try:
            items, signed_at = self._verified((*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key), text)
        except _Unkeepable:
            return super().open_session(app, request)
        except BadSignature:
            return self.session_class()
        age = int(time.time()) - signed_at
        if age < 0 or age > int(app.permanent_session_lifetime.total_seconds()):
            return self.session_class()  # expired: what Flask's own max_age check decides
        return self.session_class(items)

    def save_session(self, app, session, response):
        if session.accessed:
            add_vary(response.headers, "Cookie")  # what Flask's save_session adds, added for less
            session.accessed = False
        super().save_session(app, session, response)
