"""Admin area: feature flags and member approval."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.app_context_processor
def _words():
    """How the admin pages name flags and rules (their keys are for the database and the CLI)."""
    from ..flags import flag_words
    from ..messaging.rule_changes import subject_words

    return {"flag_words": flag_words, "rule_subject_words": subject_words}


from . import views  # noqa: E402,F401
