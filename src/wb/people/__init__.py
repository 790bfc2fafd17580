"""Member profiles, the directory, and each member's own settings, data and leaving."""
from flask import Blueprint

bp = Blueprint("people", __name__)

from . import views, data_views  # noqa: E402,F401


def init_app(app) -> None:
    """Register the people pages and the `./wb members` command group."""
    from .cli import members_cli

    app.register_blueprint(bp)
    app.cli.add_command(members_cli)
    app.context_processor(_helpers)
    from .leaving import is_erased_mark

    app.add_template_test(is_erased_mark, "erased_mark")


def _helpers():
    from flask_login import current_user

    from ..flags import may_invite
    from ..visibility import sees

    # A byline names and links its author where the viewer sees them (visibility.py); the nav
    # offers Invite to those who may (member_invites).
    return {"sees_author": lambda person: current_user.is_authenticated and sees(current_user, person),
            "may_invite": lambda: may_invite(current_user)}
