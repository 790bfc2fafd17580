"""Engines for both databases: SQLite pragmas, readiness checks, schema upgrades."""
import functools
import logging
import sqlite3
import time
from collections import namedtuple
from typing import Any, NamedTuple

from blinker import Namespace
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.engine import Engine

from .extensions import db, engine_for_request

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


# The driver-level reads of read_alone(), for whoever instruments them (the tests count
# statements with it): SQLAlchemy's engine events don't see them.
driver_read = Namespace().signal("driver-read")


def read_alone(statement, values, model) -> list:
    """All rows of a prebuilt read of plain values, on a pooled connection of its own.

    For the idle checks (badge, list, thread poll), answered from this one read before the
    request uses its session: they are most of what the server is asked, and SQLAlchemy's
    per-execution work cost more than the read itself (docs/performance.md). So SQLAlchemy
    compiles the statement once per dialect and lays out its values and types its columns with
    its own processors; only the execution goes to the driver's cursor, on the Connection's
    DB-API connection (so a PostgreSQL read request keeps its autocommit). Rows are named
    tuples, as SQLAlchemy's are.
    """
    engine = engine_for_request(db.engines[getattr(model, "__bind_key__", None)])
    form = _driver_form(statement, engine.dialect)
    parameters = form.compiled.construct_params(values, escape_names=form.positions is None)
    for name, process in form.bind_processors:
        parameters[name] = process(parameters[name])
    if form.positions is not None:
        parameters = tuple(parameters[name] for name in form.positions)
    with engine.connect() as connection:
        cursor = connection.connection.cursor()
        try:
            cursor.execute(form.sql, parameters)
            rows = cursor.fetchall()
        except engine.dialect.loaded_dbapi.Error as error:
            raise DBAPIError.instance(form.sql, parameters, error, engine.dialect.loaded_dbapi.Error) from error
        finally:
            cursor.close()
    if driver_read.receivers:
        driver_read.send(engine, statement=form.sql)
    processors = form.result_processors
    return [form.row(*(process(value) if process else value for process, value in zip(processors, row))) for row in rows]


class _DriverForm(NamedTuple):
    compiled: Any
    sql: str
    positions: tuple | None  # bind names in order, for a positional paramstyle (SQLite's ?)
    bind_processors: tuple  # (name, processor) for binds whose values the driver can't take as they are
    row: type
    result_processors: tuple  # per column; None where the driver's value is already the right type


@functools.lru_cache(maxsize=64)
def _driver_form(statement, dialect) -> _DriverForm:
    """statement compiled for dialect once, with what each execution needs from SQLAlchemy."""
    compiled = statement.compile(dialect=dialect)
    if compiled.post_compile_params:
        raise ValueError("read_alone() takes statements of plain values (no IN lists or literal_execute)")
    expanded = compiled.construct_expanded_state(dict.fromkeys(compiled.binds), escape_names=not compiled.positional)
    columns = statement.selected_columns
    return _DriverForm(
        compiled=compiled,
        sql=expanded.statement,
        positions=tuple(expanded.positiontup) if compiled.positional else None,
        bind_processors=tuple(expanded.processors.items()),
        row=namedtuple("Row", columns.keys()),
        result_processors=tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns),
    )


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
