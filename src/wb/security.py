"""Request hardening and response headers every page gets, and the htmx request helpers."""
import re
from itertools import chain

from flask import abort, request
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter, ValidationError

# The largest id each kind of column holds: a BIGINT (message ids, and every SQLite INTEGER),
# and an INTEGER on PostgreSQL (every other id). A larger number in a URL would make the
# driver fail (a 500); it can't name a row, so it doesn't match (404).
MAX_DATABASE_ID = 2**63 - 1
MAX_ROW_ID = 2**31 - 1
MAX_PAGE = MAX_DATABASE_ID // 1000
ASCII_DIGITS = re.compile(r"[0-9]+")

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` in every route: ASCII digits only, and never more than an INTEGER id can be.

    `<int(malformed=0):...>` takes any segment, and reads one that is no id (letters, "-1", "1e3",
    "١٠١٥", past the largest) as that number, which no row has: the API answers it as it answers an
    id it doesn't know, where a route that didn't match said only "Not Found" (an API tester)."""

    regex = r"[0-9]+"  # Werkzeug's \d+ also matches "٣" or "１", which int() reads as 3 or 1
    largest = MAX_ROW_ID

    def __init__(self, map, *args, malformed: int | None = None, **kwargs):
        kwargs.setdefault("max", self.largest)
        super().__init__(map, *args, **kwargs)
        self.malformed = malformed
        if malformed is not None:
            self.regex = r"[^/]+"  # any one segment, as <string:...>

    def to_python(self, value: str) -> int:
        number = whole_number(value, self.max)
        if self.malformed is not None and (number is None or (self.min is not None and number < self.min)):
            return self.malformed
        if number is None:
            # ASCII digits (the regex) past the largest id: no row has it, whatever the method. Not
            # "no match", which would make a path that has a GET and a POST route answer a POST with
            # 405 (GET allowed) and a GET with 404.
            raise NotFound()
        if self.min is not None and number < self.min:
            raise ValidationError()
        return number


class MessageIdConverter(DatabaseIdConverter):
    """`<bigint:...>`: a message's id, the one id stored as a BIGINT."""

    largest = MAX_DATABASE_ID


def init_app(app) -> None:
    """Bound `<int:>` URL parts to database ids, refuse NUL in URLs, set security headers."""
    # Registered before any blueprint, so every route's <int:...> uses it.
    app.url_map.converters["int"] = DatabaseIdConverter
    app.url_map.converters["bigint"] = MessageIdConverter
    app.before_request(_refuse_nul_in_url)
    app.after_request(_security_headers)


def _refuse_nul_in_url():
    """PostgreSQL text can't hold NUL, so a query with one would be a 500: 404 in a path, 400 in a query.

    Form fields are checked by each form's own validation, which can say which field is wrong.
    """
    if any("\x00" in value for value in (request.view_args or {}).values() if isinstance(value, str)):
        abort(404)
    query = request.query_string  # a NUL in the arguments is written %00 (or sent raw): most requests have neither
    if (b"%00" in query or b"\x00" in query) and any(
        "\x00" in value for value in chain.from_iterable(request.args.listvalues())
    ):
        abort(400, "That link contained a character we can't accept (a NUL byte).")


def whole_number(value, maximum: int = MAX_DATABASE_ID) -> int | None:
    """value as an int if it is ASCII digits and at most maximum, else None: every number a member sends.

    Not str.isdigit() or int() alone: they take "²", "٣", "1_000" or " 1", and int() fails on
    some of what isdigit() passes (a 500) and on more than 4,300 digits.
    """
    if not isinstance(value, str) or not ASCII_DIGITS.fullmatch(value):
        return None
    if len(value.lstrip("0")) > len(str(maximum)):
        return None
    number = int(value)
    return number if number <= maximum else None


def number_arg(name: str, meaning: str = "a whole number") -> int | None:
    """An optional whole-number query argument: None when absent or empty, a 400 saying so when malformed."""
    value = request.args.get(name)
    if value in (None, ""):
        return None
    number = whole_number(value)
    if number is None:
        abort(400, f"'{name}' must be {meaning}.")
    return number


def page_arg(name: str = "page") -> int:
    """A 1-based page number from the query string; junk and out-of-range values mean page 1."""
    return whole_number(request.args.get(name), maximum=MAX_PAGE) or 1


SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)


def _security_headers(response):
    """Every response's security headers, unless the view set its own; HTML also varies on
    HX-Request and is never stored (a partial that sends an ETag is revalidated instead, and kept
    by the member's browser alone)."""
    headers = response.headers
    for name, value in SECURITY_HEADERS:
        headers.setdefault(name, value)
    if response.mimetype == "text/html":
        response.vary.add("HX-Request")
        if "Cache-Control" not in headers:
            # private: a revalidated partial (the list, with previews) is this member's alone; no
            # shared cache between them and us may keep it.
            headers["Cache-Control"] = "no-cache, private" if "ETag" in headers else "no-store"
    if response.status_code == 204:
        headers.pop("Content-Type", None)  # no content, so no type of it (Werkzeug gives every response one)
    return response


def is_htmx() -> bool:
    """A targeted htmx request (not a boosted full-page navigation, nor a history restore,
    which htmx answers by swapping in the whole page)."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )
