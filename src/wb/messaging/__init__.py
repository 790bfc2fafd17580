"""Private 1:1 messaging: its blueprint, template helpers and CLI groups (messaging, reports)."""


def init_app(app) -> None:
    """Register the messaging blueprints (member and admin), template helpers, flag hook and CLI."""
    from .. import flags
    from . import admin, cli, live, views
    from .reports_cli import reports_cli
    from .message_html import message_items

    live.init_app(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(views.safety_bp)
    app.context_processor(views.template_helpers)
    app.before_request(views.note_live_cursor)
    app.jinja_env.globals["message_items"] = message_items
    app.cli.add_command(cli.messaging_cli)
    app.cli.add_command(reports_cli)
    flags.flag_changing.connect(views.before_flag_changes, weak=False)
    flags.flag_changed.connect(views.on_flag_changed, weak=False)
