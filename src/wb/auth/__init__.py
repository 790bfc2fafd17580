"""Sign in, sign out, register with an invite."""
from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import views  # noqa: E402,F401  (routes attach to bp)


def _load_user(user_id: str):
    from ..models import User
    from ..security import whole_number

    member_id = whole_number(user_id)
    return None if member_id is None else User.signed_in(member_id)


def _configure_login_manager():
    from ..extensions import login_manager

    login_manager.user_loader(_load_user)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to see that page."
    login_manager.session_protection = "basic"


_configure_login_manager()
