"""Admin area: feature flags and member approval."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.app_context_processor
def _words():
    """How the admin pages name flags and rules (their keys are for the database and the CLI), and
    Admin → Reports' groups (report_groups: its view, messaging's, gives the reports and members)."""
    from ..flags import flag_words
    from ..messaging.report_groups import report_groups
    from ..messaging.rule_changes import subject_words

    return {"flag_words": flag_words, "rule_subject_words": subject_words, "pending_member_count": _pending_member_count,
            "report_groups": report_groups}


def _pending_member_count() -> int:
    """Members waiting for an admin's approval: counted beside Admin with the open reports (they were
    seen only by opening Admin → Members: a building's tester)."""
    from sqlalchemy import func, select

    from ..extensions import db
    from ..models import User

    return db.session.scalar(select(func.count(User.id)).where(User.status == "pending", User.deleted_at.is_(None)))


from . import views  # noqa: E402,F401
