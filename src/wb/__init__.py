"""WhiteBalloon: an invite-only mutual-aid community with private messaging."""
from flask import Flask

from .config import default_instance_path, load_config


def create_app(config=None, create_instance: bool = True) -> Flask:
    """Application factory: config, extensions, blueprints, error handlers, CLI. The instance folder
    is made when missing unless create_instance is false (`./wb` commands that only operate one)."""
    instance_path = None
    if isinstance(config, dict) and config.get("INSTANCE_PATH"):
        instance_path = config["INSTANCE_PATH"]
    app = Flask(__name__, instance_path=instance_path or default_instance_path(), instance_relative_config=True)
    load_config(app, config, create_instance)
    if app.config["PROXIES"]:
        # Werkzeug's own: the visitor's address and scheme as the proxies in front say (and no more
        # of them than there are proxies, so a visitor can't name an address of their choosing).
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    _register_extensions(app)
    _register_blueprints(app)
    _register_error_handlers(app)
    _register_cli(app)
    return app


APP_WIDE_LIMITS = ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META")


def _register_extensions(app: Flask) -> None:
    from . import logging_setup, ratelimits, security
    from .database import init_database
    from .extensions import csrf, db, limiter, login_manager, migrate

    logging_setup.init_app(app)
    init_database(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    login_manager.init_app(app)
    csrf.init_app(app)
    ratelimits.init_app(app)
    if any(app.config.get(key) for key in APP_WIDE_LIMITS):
        # Flask-Limiter checks every request for limits an operator sets app-wide; the app's
        # own limits (sign-in, messages, new conversations) are taken where they apply.
        limiter.init_app(app)
    security.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from .admin import bp as admin_bp
    from .circles import init_app as init_circles
    from .api import init_app as init_api
    from .auth import bp as auth_bp
    from .main import bp as main_bp
    from .messaging import init_app as init_messaging
    from .notifications import init_app as init_notifications
    from .people import init_app as init_people
    from .requests import bp as requests_bp

    for blueprint in (main_bp, auth_bp, requests_bp, admin_bp):
        app.register_blueprint(blueprint)
    init_people(app)
    init_messaging(app)
    init_circles(app)
    init_api(app)
    init_notifications(app)


def _register_error_handlers(app: Flask) -> None:
    from .errors import init_app

    init_app(app)


def _register_cli(app: Flask) -> None:
    from .cli import register_commands

    register_commands(app)


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent / "migrations"
