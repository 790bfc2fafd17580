"""Error pages for every status we send, as full pages or htmx partials."""
import logging
import traceback

from flask import current_app, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError

from .access import to_login
from .api import problems as api_problems
from .api.problems import is_api_request
from .database import MESSAGING, failed_in
from .extensions import db
from . import ratelimits
from .ratelimits import retry_after_headers
from .security import is_htmx

log = logging.getLogger("wb.errors")
BUSY_RETRY_SECONDS = 5  # Retry-After of a 503 when every database connection is taken


def no_connection(error: Exception) -> bool:
    """Every pooled connection stayed taken for the pool's timeout, or the database refused a new
    one (PostgreSQL's max_connections reached, "too many clients"; or it is down): SQLAlchemy
    wraps a refusal to connect as an OperationalError with no statement. Not a SQLite file that
    can't be opened (missing, damaged): no wait makes it answer, the admins must see to it."""
    return isinstance(error, PoolTimeout) or (isinstance(error, OperationalError) and error.statement is None
                                              and getattr(error.orig, "sqlite_errorname", None) not in SQLITE_FILE_FAULTS)


SQLITE_FILE_FAULTS = ("SQLITE_CANTOPEN", "SQLITE_CORRUPT", "SQLITE_NOTADB")


MESSAGES = {
    400: ("Bad request", "Something in that request wasn't right. Go back and try again."),
    403: ("Not allowed", "You don't have permission to do that."),
    404: ("Not found", "There's nothing here. It may have been moved or never existed."),
    405: ("Method not allowed", "That page can't be used that way."),
    413: ("Too large", "That was more than we accept in one go. Try something shorter."),
    429: ("Slow down", "You're doing that too often. Wait a moment and try again."),
    503: ("Busy", "We're busier than we can answer right now. Nothing was changed; try again in a few seconds."),
    500: ("Something went wrong", "We hit an error on our side. It has been logged; please try again."),
}


MESSAGES_UNAVAILABLE = ("Messages can't be shown right now: their database isn't answering as it should. Nothing "
                        "else is affected, and the admins can see why in Admin → Messaging.")


def init_app(app) -> None:
    """Register handlers for HTTP errors, CSRF failures and unexpected exceptions."""
    app.register_error_handler(CSRFError, csrf_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, _unexpected_error)


def render_error(code: int, detail: str | None = None, title: str | None = None, link=None):
    """The error page (or partial) for a status, with an optional specific explanation and a
    link (endpoint, label) to where it can be changed."""
    default_title, default_detail = MESSAGES.get(code, (f"Error {code}", "Something went wrong."))
    template = "errors/_error.html" if is_htmx() else "errors/error.html"
    body = render_template(template, code=code, title=title or default_title, detail=detail or default_detail, link=link)
    return body, code


def _roll_back() -> None:
    """Undo the failed request's unfinished work before drawing its page: after a database
    error the session refuses every query (the navigation's too) until rolled back."""
    try:
        db.session.rollback()
    except Exception:  # a dead connection can fail this too; the page must still render
        log.warning("rollback failed before an error page")


def http_error(error: HTTPException):
    if error.code is None or error.code < 400:
        return error
    _roll_back()
    try:
        return _error_response(error)
    except (PoolTimeout, OperationalError) as again:  # the page's navigation (or the API's flag check) needs one too
        if not no_connection(again):
            raise
        return _busy()


def _busy():
    """503 with Retry-After, drawn without the database (its connections are all taken): the page
    has no navigation, which would read the member and their badge."""
    headers = retry_after_headers(BUSY_RETRY_SECONDS)
    title, detail = MESSAGES[503]
    if is_api_request():
        return api_problems.problem_response(503, detail, headers=headers)
    # Rendered from the environment, not render_template: its context processors load the
    # signed-in member (Flask-Login's current_user), which needs a connection.
    template = current_app.jinja_env.get_template("errors/_error.html" if is_htmx() else "errors/busy.html")
    return template.render(code=503, title=title, detail=detail), 503, headers


def _error_response(error: HTTPException):
    if is_api_request():
        return api_problems.from_http_error(error)
    detail = error.description if _has_own_description(error) else None
    if error.code == 403 and current_user.is_authenticated and current_user.is_pending:
        # Not a "Not allowed" for a newcomer who is only waiting (a residents' building's tester), and
        # where to find whom to ask.
        response = render_error(403, detail, "Waiting for approval", ("circles.directory", "See who the admins are", "admins"))
    else:
        response = render_error(error.code, detail)
    if error.code == 405 and error.valid_methods:
        return response[0], 405, {"Allow": ", ".join(error.valid_methods)}
    if error.code == 429:
        return response[0], 429, retry_after_headers(getattr(error, "retry_after", None))
    return response


def _has_own_description(error: HTTPException) -> bool:
    """Werkzeug's stock descriptions are technical; show only ones we wrote."""
    return bool(error.description) and error.description != type(error).description


def note_csrf_refused(error: CSRFError) -> None:
    """What every refusal of a token does first: nothing of the request stays, and the log says so."""
    _roll_back()
    log.info("csrf rejected", extra={"path": request.path, "reason": error.description})


def csrf_error(error: CSRFError):
    note_csrf_refused(error)
    if is_api_request():
        return api_problems.csrf_failed()
    if is_htmx() and not current_user.is_authenticated:
        # A part of a page whose session is gone (the browser was closed meanwhile): sign in again.
        return to_login()
    return render_error(
        400,
        "Your form was missing its security token or it had expired. Reload the page and try again.",
        title="Form expired",
    )


def _unexpected_error(error: Exception):
    if isinstance(error, HTTPException):
        return http_error(error)
    if isinstance(error, ratelimits.CountsUnavailable):  # logged where it was found
        _roll_back()
        return _busy()
    if no_connection(error):
        # No database connection to be had: the server or the database is overloaded (or the
        # database is down), nothing is broken in the request. Its transaction never began; say
        # so, and when to try again (live.js and htmx back off; the API's clients read
        # Retry-After). A refusal's text is the database's, never a member's.
        log.warning("no database connection: %s", "pool exhausted" if isinstance(error, PoolTimeout) else "refused",
                    extra={"path": request.path, "method": request.method})
        _roll_back()
        return _busy()
    if failed_in(error, MESSAGING):
        # The messaging database fails (a damaged file, a lost server): the rest of the site works,
        # so say that, not "something went wrong" (an operator's tester: a 500 after every sign-in).
        log.error("messaging database error %s", type(error).__name__,
                  extra={"path": request.path, "method": request.method})
        _roll_back()
        if is_api_request():
            return api_problems.problem_response(503, MESSAGES_UNAVAILABLE)
        return render_error(503, MESSAGES_UNAVAILABLE, title="Messages unavailable")
    # The exception's own text may quote what a member wrote (a database error
    # can carry its statement's parameters), so log its type and where it
    # happened, never its message.
    frames = "".join(traceback.format_tb(error.__traceback__))
    log.error(
        "unhandled error %s\n%s",
        type(error).__name__,
        frames,
        extra={"path": request.path, "method": request.method},
    )
    _roll_back()
    if is_api_request():
        return api_problems.server_error()
    try:
        return render_error(500)
    except (PoolTimeout, OperationalError) as again:
        if not no_connection(again):
            raise
        return _busy()


__all__ = ["init_app", "render_error", "InternalServerError"]
