"""The admin's view of messaging: switch, storage health, counts. Never content, never who talks to whom."""
from flask import Blueprint, render_template, url_for

from datetime import timedelta

from .. import flags
from ..access import admin_required
from ..models import utcnow
from ..notifications.notify import notification_health
from ..people import export as member_export
from .ops.health import describe_age, describe_size, messaging_health
from .policy import FLAG

bp = Blueprint("messaging_admin", __name__, url_prefix="/admin")


@bp.route("/messaging")
@admin_required
def health():
    """The same figures as `./wb messaging stats --json`, from the same function."""
    row = flags.flag_row(FLAG)
    return render_template(
        "admin/messaging.html",
        row=row,
        figures=messaging_health(),
        history=flags.flag_history(FLAG),
        next_url=url_for("messaging_admin.health"),
        describe_size=describe_size,
        describe_age=describe_age,
        notifications=notification_health(),
        exports=member_export.export_count(),
        exports_month=member_export.export_count(since=utcnow() - timedelta(days=30)),
    )
