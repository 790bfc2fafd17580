"""Dashboard, liveness and readiness."""
import logging
import time
from datetime import datetime

from markupsafe import Markup
from flask import current_app, jsonify, render_template
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import selectinload

from .. import ratelimits
from ..database import check_database
from ..errors import no_connection
from ..extensions import db, limiter
from ..models import HelpRequest
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
    )
    from ..messaging.inbox import dashboard_summary

    try:
        inbox = dashboard_summary(current_user)
    except (OperationalError, PoolTimeout) as error:
        if not no_connection(error):
            raise
        # The messaging database is down or busy: the rest of the home page still works.
        db.session.rollback()
        log.warning("home page drawn without messages: no messaging database connection",
                    extra={"error": type(error).__name__})
        return render_template("main/dashboard.html", recent_requests=recent_requests, inbox=None,
                               messages_unavailable=True)
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
    checks = {"main": check_database(None, schema=True), "messaging": check_database("messaging")}
    limits = ratelimits.storage_check()  # Redis, when the limits count there: every sign-in needs it
    ready = all(check["ok"] for check in checks.values()) and (limits is None or limits["ok"])
    hub = current_app.extensions["wb.live"]  # this worker's held live channels, and who wakes them
    live = {"waiting": hub.holding_count(), "listener": hub.backend}
    extra = {"rate_limits": limits} if limits is not None else {}
    return (jsonify(status="ready" if ready else "unavailable", databases=checks, **extra, live=live),
            200 if ready else 503)


EPOCH = datetime(1970, 1, 1)
clock = time.time  # seconds since EPOCH (tests set it)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


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
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"  # strftime costs five times more


@bp.app_template_filter("timetag")
def timetag(moment) -> Markup:
    """A <time> element: relative text, the exact UTC time on hover."""
    # Plain concatenation: Markup.format builds a formatter per call, and a thread page
    # draws 80 of these. Nothing needs escaping: timeago's words and the rest are digits.
    # One isoformat, sliced for the title: strftime costs five times more.
    exact = moment.isoformat()
    return Markup(f'<time datetime="{exact}Z" title="{exact[:10]} {exact[11:16]} UTC">{timeago(moment)}</time>')
