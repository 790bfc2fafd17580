"""Engines for both databases: SQLite pragmas, readiness checks, schema upgrades."""
import logging
import sqlite3
import time

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from .extensions import db

log = logging.getLogger("wb.database")

BINDS = (None, "messaging")  # None is the main database


def init_database(app) -> None:
    """Bind Flask-SQLAlchemy to the app."""
    db.init_app(app)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """WAL, foreign keys and a busy timeout on every SQLite connection."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def engine_for(bind=None):
    """The engine of the main database (None) or a bind."""
    return db.engines[bind]


def read_rows(statement, values, model):
    """Plain rows from a prebuilt read of columns, on the session's own connection to model's database.

    The hot reads (every thread page, inbox and poll) select columns, never objects, so the
    ORM's per-statement work (compile state, result adaptation) buys them nothing: skipping
    it makes each read markedly cheaper (docs/performance.md). What the session
    holds unflushed is flushed first, as the session's own execute would.
    """
    db.session.flush()
    return db.session.connection(bind_arguments={"mapper": model}).execute(statement, values)


def check_database(bind=None) -> dict:
    """Ping one database; returns ok, engine name and latency, never raises."""
    engine = engine_for(bind)
    started = time.perf_counter()
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # any driver error means "not ready"
        log.warning("database check failed", extra={"bind": bind or "main", "error": type(error).__name__})
        return {"ok": False, "engine": engine.dialect.name, "error": type(error).__name__}
    return {
        "ok": True,
        "engine": engine.dialect.name,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
    }


def upgrade(bind_names=None) -> None:
    """Run Alembic migrations for the given databases ('main', 'messaging'), default both."""
    from flask_migrate import upgrade as alembic_upgrade

    x_arg = [f"binds={','.join(bind_names)}"] if bind_names else None
    alembic_upgrade(x_arg=x_arg)


def redact_url(url) -> str:
    """A database URL safe to print: the password replaced by ***."""
    from sqlalchemy.engine import make_url

    return make_url(str(url)).render_as_string(hide_password=True)
