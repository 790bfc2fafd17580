"""Who may do what: decorators every blueprint uses, so no view re-implements a check."""
import unicodedata
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, make_response, redirect, request, url_for
from flask_login import current_user

from .security import is_htmx

PENDING_EXPLANATION = (
    "Your account is waiting for an admin to approve it. Until then you can read, but not post or message."
)


def to_login():
    """The sign-in page, coming back here after; for a part of a page, the whole page goes."""
    if is_htmx():
        # A part of a page whose session has ended (signed out elsewhere, a suspension): a redirect
        # would be followed and the sign-in page drawn inside that part. The whole page goes to sign
        # in instead (htmx follows HX-Redirect), and comes back to itself afterwards.
        page = urlsplit(request.headers.get("HX-Current-URL", ""))
        response = make_response("Signed out: sign in again.", 401)
        response.headers["HX-Redirect"] = url_for("auth.login", next=safe_next(
            page.path + (f"?{page.query}" if page.query else ""), url_for("main.dashboard")), ended=why_ended() or 1)
        return response
    here = request.full_path if request.query_string else request.path
    if request.method != "GET":
        # A form's post (a comment sent as the session ended elsewhere): back to the page the form was
        # on, whose address answers a GET, not to the post's (it answered 405 after signing in: a
        # re-check tester); app.js keeps what the form held for it.
        page = urlsplit(request.referrer or "")
        here = (page.path + (f"?{page.query}" if page.query else "")) if page.netloc == request.host else ""
    return redirect(url_for("auth.login", next=safe_next(here, url_for("main.dashboard")), ended=why_ended()))


ENDED_KEY = "wb_ended"  # the session's word for why it ended here (closing the account in another tab)


def why_ended() -> str | None:
    """Why the member this browser was signed in as no longer is, for the sign-in page to say:
    "closed" (closed or erased) or "suspended" (it told them to sign in again, which they never can:
    outside testers), "elsewhere" when the session was ended from elsewhere (signed out everywhere,
    a new password); None when the browser brought no sign-in at all (signed out in another tab,
    a cookie cleared or expired: the page that asked says only that it is signed out)."""
    from flask import session

    from .extensions import db
    from .models import User

    signed_in = User.parse_session_id(session.get("_user_id"))
    account = db.session.get(User, signed_in[0]) if signed_in else None
    if account is None:  # signed out here: by closing the account in another tab of this browser?
        return session.get(ENDED_KEY)
    if account.deleted_at is not None:
        return "closed"
    if account.status == "suspended":
        return "suspended"
    return None if User.holds_session(account, signed_in[1]) else "elsewhere"


def login_required(view):
    """Signed-in visitors only; everyone else goes to the login page."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return to_login()
        return view(*args, **kwargs)

    return wrapped


def active_required(view):
    """Fully authenticated members only (signed in and active); pending members get 403 and why."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return to_login()
        if not current_user.is_active_member:
            abort(403, PENDING_EXPLANATION if current_user.is_pending else "Your account can't do that.")
        return view(*args, **kwargs)

    return wrapped


def admin_required(view):
    """Admins only: anonymous visitors go to login, members get 403."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return to_login()
        if not (current_user.is_admin and current_user.is_active_member):
            abort(403, "This page is for admins.")
        return view(*args, **kwargs)

    return wrapped


def get_leads_to(where):
    """For an address only a form posts to (Suspend, a setting's switch): opened by hand, from history
    or a copied link, it answered "Method not allowed" (an admin tester). A GET (or HEAD, which CSRF
    doesn't guard, so never the action) goes to where(**the address's values) instead: the page with
    that form. Its route takes GET too, and admin_required goes first."""

    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if request.method != "POST":
                return redirect(where(**kwargs))
            return view(*args, **kwargs)

        return wrapped

    return decorate


def safe_next(target: str | None, default: str) -> str:
    """target if it is a path on this site, else default: where sign-in and a setting switch may lead."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    # Browsers drop tabs and line breaks from a URL ("/\t/evil" becomes "//evil") and a line
    # break can't go in a Location header at all, so any control or space character is refused.
    if any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in target):
        return default
    parts = urlsplit(target)
    return default if parts.scheme or parts.netloc else target
