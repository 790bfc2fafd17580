"""Dashboard, liveness and readiness."""
import functools
import logging
import re
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup
from flask import current_app, g, has_request_context, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import DatabaseError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import selectinload

from .. import ratelimits
from ..database import check_database, failed_in
from ..errors import no_connection
from ..extensions import db, limiter
from ..models import HelpRequest
from ..requests import requests_on
from . import bp

log = logging.getLogger(__name__)


@bp.route("/")
def dashboard():
    if not current_user.is_authenticated:  # a visitor sees what the community is and how to sign in, nothing members wrote
        return render_template("main/dashboard.html", recent_requests=[], inbox=None)
    recent_requests = list(
        db.session.scalars(
            select(HelpRequest).options(selectinload(HelpRequest.author)).order_by(HelpRequest.id.desc()).limit(5)
        )
    ) if requests_on() else []
    from ..messaging.inbox import dashboard_summary

    try:
        inbox = dashboard_summary(current_user)
    except (DatabaseError, PoolTimeout) as error:
        if not (no_connection(error) or failed_in(error)):
            raise
        # The messaging database is down, busy or damaged: the rest of the home page still works.
        db.session.rollback()
        log.warning("home page drawn without messages: the messaging database failed",
                    extra={"error": type(error).__name__})
        return render_template("main/dashboard.html", recent_requests=recent_requests, inbox=None,
                               messages_unavailable="down" if no_connection(error) else "failing")
    if inbox is None:
        return render_template("main/dashboard.html", recent_requests=recent_requests, inbox=inbox)
    # The nav badge shows the total the summary read, and comes along with the line's answers.
    from ..messaging import rules

    # No conversation yet: what starting one takes, when the rules let them start with nobody.
    cant_start = None if inbox["conversations"] else rules.starting_refusal(current_user)
    return render_template("main/dashboard.html", recent_requests=recent_requests, inbox=inbox,
                           nav_unread=inbox["unread_total"], badge_follows=True, cant_start=cant_start)


@bp.route("/healthz")
@limiter.exempt
def healthz():
    return jsonify(status="ok")


@bp.route("/readyz")
@limiter.exempt
def readyz():
    main = check_database(None, schema=True)
    # Messaging switched on needs its tables too: an empty file in a lost one's place answered, and
    # this said ready while every inbox showed "No messages yet" (an operator tester).
    checks = {"main": main, "messaging": check_database("messaging", schema=main["ok"] and _messaging_on())}
    limits = ratelimits.storage_check()  # Redis, when the limits count there: every sign-in needs it
    ready = all(check["ok"] for check in checks.values()) and (limits is None or limits["ok"])
    hub = current_app.extensions["wb.live"]  # this worker's held live channels, and who wakes them
    live = {"waiting": hub.holding_count(), "listener": hub.backend}
    extra = {"rate_limits": limits} if limits is not None else {}
    return (jsonify(status="ready" if ready else "unavailable", databases=checks, **extra, live=live),
            200 if ready else 503)


def _messaging_on() -> bool:
    from .. import flags
    from ..messaging.policy import FLAG

    return flags.is_enabled(FLAG)


EPOCH = datetime(1970, 1, 1)
clock = time.time  # seconds since EPOCH (tests set it)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


TZ_COOKIE = "wb_tz"  # the browser's time zone ("America/Los_Angeles"), set by app.js
ZONE_KEY = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+){0,2}")


@functools.lru_cache(maxsize=256)
def _zone(key: str):
    """A time zone by its IANA name, or UTC for anything else (the cookie is the browser's to send)."""
    if not key or len(key) > 64 or not ZONE_KEY.fullmatch(key):
        return timezone.utc
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return timezone.utc


def viewer_zone():
    """The time zone the viewer's browser is in (UTC without one): times on pages are theirs."""
    if not has_request_context():
        return timezone.utc
    zone = g.get("wb_zone")
    if zone is None:
        zone = g.wb_zone = _zone(request.cookies.get(TZ_COOKIE, ""))
    return zone


def local(moment: datetime) -> datetime:
    """A stored moment (naive UTC) in the viewer's time zone."""
    zone = viewer_zone()
    return moment if zone is timezone.utc else moment.replace(tzinfo=timezone.utc).astimezone(zone).replace(tzinfo=None)


def zone_name(moment: datetime) -> str:
    """The viewer's zone's short name at that (naive UTC) moment: "UTC", "PST", "CET"."""
    zone = viewer_zone()
    return "UTC" if zone is timezone.utc else moment.replace(tzinfo=timezone.utc).astimezone(zone).tzname()


@bp.app_template_filter("timeago")
def timeago(moment) -> str:
    """'just now', '5 min ago', '3 h ago', 'yesterday', or a date."""
    # Seconds since a naive UTC moment, from the clock directly: building a naive "now"
    # (utcnow) costs three times more, and a thread page asks this 80 times.
    seconds = clock() - (moment - EPOCH).total_seconds()
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        return f"{round(seconds / 60) or 1} min ago"
    if seconds < 86400:
        return f"{round(seconds / 3600)} h ago"
    if seconds < 2 * 86400:
        return "yesterday"
    if seconds < 7 * 86400:
        return f"{int(seconds // 86400)} days ago"
    return date_words(moment)


@bp.app_template_filter("datewords")
def date_words(moment) -> str:
    """'6 Mar 2027': a stored moment's day in the viewer's time zone, as lists write older dates."""
    moment = local(moment)
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"  # strftime costs five times more


@bp.app_template_filter("timetag")
def timetag(moment) -> Markup:
    """A <time> element: relative text, the exact time on hover, in the viewer's time zone."""
    # Plain concatenation: Markup.format builds a formatter per call, and a thread page
    # draws 80 of these. Nothing needs escaping: timeago's words, digits and a zone's short name.
    # One isoformat, sliced for the title: strftime costs five times more.
    exact, shown = moment.isoformat(), local(moment).isoformat()
    return Markup(f'<time datetime="{exact}Z" title="{shown[:10]} {shown[11:16]} {zone_name(moment)}">'
                  f'{timeago(moment)}</time>')
