"""Sign in, sign out, register with an invite."""
from flask import Blueprint, session
from flask_login import user_logged_in, user_logged_out

bp = Blueprint("auth", __name__)

from . import views  # noqa: E402,F401  (routes attach to bp)

# Our own session field: User.get_id() ("id:generation") of whoever signed this browser in,
# for the requests that answer before loading the member (the badge and thread polls).
SESSION_MEMBER = "member"


def session_member() -> tuple[int, int] | None:
    """(id, session generation) of who signed this browser in, unchecked: the caller's query
    checks the generation is still theirs. None when nobody did."""
    from ..models import User

    return User.parse_session_id(session.get(SESSION_MEMBER))


def _remember_member(_app, user, **_):
    session[SESSION_MEMBER] = user.get_id()


def _forget_member(_app, user, **_):
    session.pop(SESSION_MEMBER, None)


def _load_user(session_id: str):
    from ..models import User

    parsed = User.parse_session_id(session_id)
    return User.signed_in(*parsed) if parsed else None


def _configure_login_manager():
    from ..extensions import login_manager

    login_manager.user_loader(_load_user)
    login_manager.session_protection = "basic"
    user_logged_in.connect(_remember_member)
    user_logged_out.connect(_forget_member)


_configure_login_manager()
