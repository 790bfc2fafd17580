"""JSON API v1: blueprint, schemas (the spec is generated from them), token auth, problem+json errors."""


def init_app(app) -> None:
    """Register the API (its token-authenticated requests are exempt from CSRFProtect: auth.py
    checks the CSRF header itself for session-authenticated writes), the docs page and the tokens page."""
    from ..extensions import csrf
    from . import docs, models, settings, views  # noqa: F401  (models: the tables Alembic knows)

    csrf.exempt(views.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(docs.bp)
    app.register_blueprint(settings.bp)
