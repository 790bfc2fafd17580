"""Help requests and their comments."""
from flask import Blueprint

bp = Blueprint("requests", __name__)
FLAG = "help_requests"  # off: no requests board (flags.py)


def requests_on() -> bool:
    """Whether pages show requests (the menu's Requests, the home page's latest, a profile's)."""
    from ..flags import is_enabled

    return is_enabled(FLAG)


@bp.before_request
def _switched_on():
    """Every requests page answers 404, saying why, while help requests are switched off."""
    from flask import abort

    if not requests_on():
        abort(404, "Help requests aren't used in this community.")


@bp.app_context_processor
def _helpers():
    return {"requests_on": requests_on}

from . import views  # noqa: E402,F401
