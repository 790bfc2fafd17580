"""Circles: named groups of members (a street, "Volunteers"), which the messaging rules can name."""


def init_app(app) -> None:
    """Register the circles pages (members' list, admin) and the `./wb circles` command group."""
    from .cli import circles_cli
    from .views import bp

    app.register_blueprint(bp)
    app.cli.add_command(circles_cli)
