"""Member profiles, the directory, and each member's own settings, data and leaving."""
from flask import Blueprint

bp = Blueprint("people", __name__)

from . import views, data_views  # noqa: E402,F401


def init_app(app) -> None:
    """Register the people pages and the `./wb members` command group."""
    from .cli import members_cli

    app.register_blueprint(bp)
    app.cli.add_command(members_cli)
