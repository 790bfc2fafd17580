"""Sign in, sign out, register with an invite."""
from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import reset_views, views  # noqa: E402,F401  (routes attach to bp)

def _load_user(session_id: str):
    from ..models import User

    parsed = User.parse_session_id(session_id)
    return User.signed_in(*parsed) if parsed else None


def _configure_login_manager():
    from ..extensions import login_manager

    login_manager.user_loader(_load_user)
    login_manager.session_protection = "basic"


_configure_login_manager()
