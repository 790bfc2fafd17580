"""Telling members about unread messages by email. Requests only record; `./wb messaging notify` sends."""


def init_app(app) -> None:
    """Models, the settings and link routes, the settings partial's helper, and the notify command."""
    from ..messaging.cli import messaging_cli
    from . import models  # noqa: F401  (the tables belong to the main database's metadata)
    from .addresses import settings_of
    from .cli import notify_command
    from .models import FREQUENCIES
    from .views import bp

    app.register_blueprint(bp)
    app.jinja_env.globals.update(email_settings_of=settings_of, email_frequencies=FREQUENCIES)
    if "notify" not in messaging_cli.commands:
        messaging_cli.add_command(notify_command)
