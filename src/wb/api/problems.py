"""Errors as application/problem+json (RFC 9457): every error under /api/ answers this way."""
from __future__ import annotations

from http import HTTPStatus

from flask import current_app, json, request
from werkzeug.exceptions import HTTPException

from ..ratelimits import retry_after_headers

MEDIA_TYPE = "application/problem+json"
API_PREFIX = "/api/"
MESSAGING_OFF = "messaging_off"  # the reason of every 404 a signed-in client gets while messaging is off


class ApiProblem(HTTPException):
    """An API error with its status, what to tell the client, invalid fields and extra headers."""

    reason: str | None = None  # a problem's `reason`, for a script to tell it from others of its status

    def __init__(self, status: int, detail: str, errors: list | None = None, headers: dict | None = None):
        super().__init__(detail)
        self.code = status
        self.detail = detail
        self.errors = errors
        self.extra_headers = headers or {}


class SwitchedOff(ApiProblem):
    """The 404 a signed-in client gets while messaging is off: it says why, as the inbox tells a
    member (a client developer read a bare 404 as a wrong URL), and its reason says it to a script (a
    syncing script would take it for a conversation gone: an API tester)."""

    reason = MESSAGING_OFF

    def __init__(self):
        super().__init__(404, "The community's admins have switched messaging off for now; every API route answers "
                              "404 until they switch it on again. Conversations are kept.")


def is_api_request() -> bool:
    """Whether the request is for the JSON API (and so gets problem+json errors, never HTML)."""
    return request.path.startswith(API_PREFIX)


CSRF_REFUSED = ("A request signed in with the browser session needs a valid X-CSRFToken header on writes and "
                "the export (the page's csrf_token); this one was missing or no longer valid.")
# Where RFC 9110 renamed a status and Python 3.11's table (not the spec's) has the old name.
RFC_9110_PHRASES = {413: "Content Too Large", 422: "Unprocessable Content"}


def problem_response(status: int, detail: str | None = None, errors: list | None = None, headers: dict | None = None,
                     reason: str | None = None):
    """A problem+json response: type, title (the status phrase), status, detail, errors for a 422 (or a 400
    about one field), and a reason where one status means two things (schemas.Problem)."""
    try:
        phrase = RFC_9110_PHRASES.get(status) or HTTPStatus(status).phrase
    except ValueError:  # a status Python doesn't name
        phrase = "Error"
    body = {"type": "about:blank", "title": phrase, "status": status, "detail": detail or phrase}
    if errors is not None:
        body["errors"] = errors
    if reason is not None:
        body["reason"] = reason
    response = current_app.response_class(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_http_error(error: HTTPException):
    """The problem for any HTTP error raised while answering an API request."""
    from ..messaging.policy import messaging_enabled

    if not isinstance(error, SwitchedOff) and not _messaging_on(messaging_enabled):
        return problem_response(404, "There is nothing here.")
    if isinstance(error, ApiProblem):
        return problem_response(error.code, error.detail, error.errors, error.extra_headers, error.reason)
    status = error.code or 500
    headers = {}
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="WhiteBalloon API"'
    if status == 429:
        headers.update(retry_after_headers(getattr(error, "retry_after", None)))
    detail = error.description if error.description != type(error).description else None
    if status == 413 and detail is None and request.max_content_length:  # as a body sent in chunks is told
        detail = f"The request body is larger than {request.max_content_length // 1024} KiB."
    return problem_response(status, detail, headers=headers)


def _messaging_on(messaging_enabled) -> bool:
    """The admin switch; a broken flag read answers as if messaging were on (the error shows)."""
    try:
        return messaging_enabled()
    except Exception:  # the error being drawn may be the database itself failing
        return True


def server_error():
    """A 500 without a stack trace (errors.py has logged what happened, without text)."""
    return problem_response(500, "We hit an error on our side. It has been logged; please try again.")


def csrf_failed():
    """A session-authenticated write without a valid X-CSRFToken header."""
    return problem_response(403, CSRF_REFUSED)
