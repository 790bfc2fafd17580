"""Request hardening and response headers every page gets, and the htmx request helpers."""
from itertools import chain

from flask import abort, request
from werkzeug.routing import IntegerConverter

# The largest id a BIGINT (and SQLite INTEGER) column can hold. Larger numbers in a URL
# would overflow the database driver (a 500); they can't name a row, so they don't match (404).
MAX_DATABASE_ID = 2**63 - 1

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
    """`<int:...>` in every route: digits only, and never more than a database id can be."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_DATABASE_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app) -> None:
    """Bound `<int:>` URL parts to database ids, refuse NUL in URLs, set security headers."""
    # Registered before any blueprint, so every route's <int:...> uses it.
    app.url_map.converters["int"] = DatabaseIdConverter
    app.before_request(_refuse_nul_in_url)
    app.after_request(_security_headers)


def _refuse_nul_in_url():
    """PostgreSQL text can't hold NUL, so a query with one would be a 500: 404 in a path, 400 in a query.

    Form fields are checked by each form's own validation, which can say which field is wrong.
    """
    if any("\x00" in value for value in (request.view_args or {}).values() if isinstance(value, str)):
        abort(404)
    if any("\x00" in value for value in chain.from_iterable(request.args.listvalues())):
        abort(400, "That link contained a character we can't accept (a NUL byte).")


def page_arg(name: str = "page") -> int:
    """A 1-based page number from the query string; junk and out-of-range values mean page 1."""
    page = request.args.get(name, 1, type=int)
    return page if page is not None and 1 <= page <= MAX_DATABASE_ID // 1000 else 1


SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)


def _security_headers(response):
    """Every response's security headers, unless the view set its own; HTML also varies on
    HX-Request and is never stored. Written against the raw header list: Werkzeug's
    setdefault and Vary helpers cost three times more, on every request (measured)."""
    headers = response.headers
    present = {name.lower() for name in headers.keys()}
    for name, value in SECURITY_HEADERS:
        if name.lower() not in present:
            headers.add(name, value)
    if response.mimetype == "text/html":
        vary = headers.get("Vary")
        if not vary:
            headers.add("Vary", "HX-Request")
        elif "hx-request" not in (part.strip().lower() for part in vary.split(",")):
            headers["Vary"] = f"{vary}, HX-Request"
        if "cache-control" not in present:
            headers.add("Cache-Control", "no-store")
    return response


def is_htmx() -> bool:
    """A targeted htmx request (not a boosted full-page navigation)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"
