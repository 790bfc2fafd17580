"""Engines for both databases: SQLite pragmas, readiness checks, schema upgrades."""
import logging
import os
import socket
import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import String, event, func, literal, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.exc import DisconnectionError

from .extensions import db
from .text import FOLD_FROM, FOLD_TO, search_folded

log = logging.getLogger("wb.database")

BINDS = (None, "messaging")  # None is the main database
# A database server's connection idle in the pool longer than this is pinged before use: a
# connection dropped on the way without a word (a firewall's idle timeout) shows nothing on its socket.
PING_AFTER_IDLE_SECONDS = 30
_IDLE_SINCE = "wb_idle_since"


def init_database(app) -> None:
    """Bind Flask-SQLAlchemy to the app; check database servers' connections before use; name the
    messaging database in its errors."""
    db.init_app(app)
    with app.app_context():
        for bind, engine in db.engines.items():
            if engine.dialect.name != "sqlite":
                check_before_use(engine)
            if bind == MESSAGING:
                _name_in_errors(engine, MESSAGING)
                if engine.dialect.name == "sqlite":
                    _open_existing_file_only(engine)
                    _drop_connections_to_a_gone_file(engine)


MESSAGING = "messaging"


def _name_in_errors(engine: Engine, name: str) -> None:
    """Mark every error of the engine's (a damaged file, a lost server) with the database's name,
    so the error pages can say which part of the site is unavailable (failed_in); note a SQLite file
    found damaged, for /readyz.

    The listener takes the engine from the error's context, not from here: SQLAlchemy keeps it with the
    dialect, which the ORM's mappers keep in their caches of statements for good, and an engine it held
    was never freed (a process making apps one after another, as the test suite does, kept each one's
    engines and their compiled statements: half a gigabyte, and a quarter of the suite's time in the
    garbage collector going through them)."""
    @event.listens_for(engine, "handle_error")
    def name_it(context):
        if context.sqlalchemy_exception is not None:
            context.sqlalchemy_exception.wb_database = name
        reason = str(getattr(context.original_exception, "sqlite_errorname", ""))
        database = context.engine.url.database if context.engine is not None else None
        if reason.startswith(SQLITE_DAMAGE) and database:
            _note_damage(database, reason)


# SQLite's words for a file whose pages are wrong, or that isn't a database at all.
SQLITE_DAMAGE = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
# This process's finding of damage in a SQLite file: path -> the (device, inode) it was found in. A
# damaged page is found only where a request reads it, and /readyz said ready over it while pages
# answered "Messages unavailable" (an operator tester); reading every page per probe costs too much.
_damage_found: dict[str, tuple[tuple, str]] = {}  # path -> ((device, inode), SQLite's reason)


def _note_damage(path: str, reason: str) -> None:
    identity = _file_identity(path)
    if identity is not None and _damage_found.get(path, (None,))[0] != identity:
        _damage_found[path] = identity, reason
        log.warning("messaging database file %s is damaged (%s): /readyz says not ready until a backup is "
                    "restored (./wb messaging restore PATH)", path, reason)


def damage_known(path: str) -> str | None:
    """SQLite's reason when this process found the file at path damaged (that same file: a restored
    one is another), else None."""
    identity, reason = _damage_found.get(path, (None, None))
    return reason if identity is not None and identity == _file_identity(path) else None


def _open_existing_file_only(engine: Engine) -> None:
    """Open the SQLite file read-write only (SQLite's URI mode=rw), never creating it: a missing
    messaging file came back as a new empty one on the next request, and the app said ready with no
    messages at all (an operator tester). upgrade() creates it (`./wb init`, `messaging init`, the
    switch); a restore puts the backup's file in its place."""
    @event.listens_for(engine, "do_connect")
    def existing_only(_dialect, _record, cargs, cparams):
        path = cargs[0] if cargs else None
        if path and path != ":memory:" and not cparams.get("uri"):
            cargs[0] = f"file:{quote(path)}?mode=rw"
            cparams["uri"] = True


_OPENED_FILE = "wb_opened_file"


def _file_identity(path: str):
    """(device, inode) of the file at path, or None when nothing is there."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _drop_connections_to_a_gone_file(engine: Engine) -> None:
    """Hand out a pooled connection only while its file is still the one at the path: one deleted
    (or moved, or replaced) under a running app was still held open by the pool, and every send
    "worked" into a file no one would read again (an operator tester). Such a connection is dropped
    and a new one opened, which a missing file refuses (mode=rw): pages and the API then answer
    503 "Messages unavailable", as for a damaged file. A stat() per checkout, about a microsecond."""
    path = engine.url.database
    if not path or path == ":memory:":
        return

    @event.listens_for(engine, "connect")
    def note_file(_dbapi_connection, record):
        record.info[_OPENED_FILE] = _file_identity(path)

    @event.listens_for(engine, "checkout")
    def check_file(_dbapi_connection, record, _proxy):
        opened = record.info.get(_OPENED_FILE)
        if opened is None or _file_identity(path) == opened:
            return
        # Closing it leaves the WAL beside the path (SQLite keeps a WAL whose database was unlinked):
        # it may hold the last messages, which a restore keeps in backups/.
        log.warning("messaging database file %s is gone or replaced since it was opened (deleted or moved "
                    "while the app runs): messages are refused until it is back; restore a backup "
                    "(./wb messaging restore PATH)", path)
        raise DisconnectionError("the messaging database file is gone or replaced")


def failed_in(error: BaseException, name: str = MESSAGING) -> bool:
    """Whether the error came from that database (marked by _name_in_errors)."""
    return getattr(error, "wb_database", None) == name


def check_before_use(engine: Engine) -> None:
    """Hand out only connections the server still holds, the way pool_pre_ping does, without
    its round trip for a connection used a moment ago (a send takes seven from the pool).

    A server that ends a connection (a restart, pg_terminate_backend, an idle timeout) writes to
    it or closes it, so its socket has something to read while it sits in the pool; a connection
    whose socket is silent and that was in use within PING_AFTER_IDLE_SECONDS is handed out as
    is. Any other is pinged, and one that fails the ping is replaced (DisconnectionError)."""
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def note_idle(dbapi_connection, record):
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def check(dbapi_connection, record, _proxy):
        idle_since = record.info.pop(_IDLE_SINCE, None)
        try:
            if (idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS
                    and _nothing_to_read(dbapi_connection.fileno())):
                return
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:  # the driver knows it lost the connection, or the ping failed
            raise DisconnectionError("the database server ended this connection") from error


def _nothing_to_read(fileno: int) -> bool:
    """True when the socket has nothing waiting: no data, no end of stream, no error."""
    sock = socket.socket(fileno=fileno)  # the driver's own socket, borrowed: detached, never closed
    try:
        sock.settimeout(0.0)
        sock.recv(1, socket.MSG_PEEK)
        return False
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.detach()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """WAL, foreign keys and a busy timeout on every SQLite connection; its files kept private, and
    what is deleted or overwritten in them overwritten with zeros (secure_delete): an erased
    member's profile, a closed account's address, a wiped message would otherwise stay readable in
    the file's free space."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA secure_delete=ON")
        # folded()'s SQL on SQLite, which has no translate(): the same function as in Python.
        dbapi_connection.create_function("wb_folded", 1, search_folded, deterministic=True)
        files = [row[2] for row in cursor.execute("PRAGMA database_list") if row[1] == "main" and row[2]]
        cursor.close()
        for path in files:
            _owner_only(path)


class folded(FunctionElement):
    """A text column as a name search compares it (text.search_folded: lower case, accents left out),
    in each database's SQL: translate(lower(...)) on PostgreSQL, the same Python function on SQLite."""

    type = String()
    inherit_cache = True
    name = "wb_folded"


@compiles(folded, "sqlite")
def _folded_on_sqlite(element, compiler, **kw):
    return "wb_folded(%s)" % compiler.process(element.clauses, **kw)


@compiles(folded, "postgresql")
def _folded_on_postgresql(element, compiler, **kw):
    (column,) = element.clauses
    return compiler.process(func.translate(func.lower(column), literal(FOLD_FROM), literal(FOLD_TO)), **kw)


def _owner_only(path: str) -> None:
    """The database file and its WAL readable by its owner alone: they hold message text, email
    addresses and password hashes, and SQLite creates them as the umask allows (often world-readable).
    SQLite gives the WAL and shared-memory files it creates later the database file's own mode."""
    for name in (path, f"{path}-wal", f"{path}-shm"):
        try:
            mode = os.stat(name).st_mode & 0o777
            if mode & 0o077:
                os.chmod(name, mode & 0o700)
        except OSError:  # not there (yet), or someone else's file: left as it is
            pass


def truncate_wal(engine: Engine) -> bool:
    """SQLite: copy the WAL into the database file and empty it, so the old page images it holds (an
    erased profile, wiped text) go; False when a reader held it back. Nothing to do on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return True
    with engine.connect() as connection:
        busy = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    return not busy


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


def connection_for_one_read(model):
    """The session's connection to model's database for a single read that needs no transaction
    around it, taken while the session holds none there: on PostgreSQL in autocommit, sparing a
    BEGIN and a COMMIT round trip (one statement sees the same rows under read committed either
    way); elsewhere the usual one. SQLAlchemy warns if a connection is already held."""
    session = db.session()
    engine = session.get_bind(mapper=model)
    options = {"isolation_level": "AUTOCOMMIT"} if engine.dialect.name == "postgresql" else None
    return session.connection(bind_arguments={"mapper": model}, execution_options=options)


def check_database(bind=None, schema: bool = False) -> dict:
    """Ping one database (with schema: and that its migrations have run, `./wb init`); returns ok,
    engine name and latency, never raises."""
    engine = engine_for(bind)
    started = time.perf_counter()
    database = engine.url.database if bind == MESSAGING and engine.dialect.name == "sqlite" else None
    if database and database != ":memory:" and not Path(database).exists():
        # Deleted or moved while the app runs: pooled connections still write into the gone file,
        # whose messages a restart loses, and this said ready (a re-check tester). (A main database's
        # file that isn't there is one never initialised: NoSchema, below.)
        return {"ok": False, "engine": engine.dialect.name, "error": "FileMissing"}
    if database and damage_known(database):
        return {"ok": False, "engine": engine.dialect.name, "error": "Damaged"}
    try:
        with engine.connect() as connection:
            if schema:  # no table (never initialised) or no row: the app's pages would all fail
                migrated = connection.execute(text("SELECT count(*) FROM alembic_version")).scalar()
                connection.rollback()
            else:
                connection.execute(text("SELECT 1"))
                migrated = True
    except Exception as error:  # any driver error means "not ready"
        log.warning("database check failed", extra={"bind": bind or "main", "error": type(error).__name__})
        return {"ok": False, "engine": engine.dialect.name,
                "error": "NoSchema" if schema and is_missing_table(error) else type(error).__name__}
    if not migrated:
        return {"ok": False, "engine": engine.dialect.name, "error": "NoSchema"}
    return {
        "ok": True,
        "engine": engine.dialect.name,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
    }


def is_missing_table(error: Exception) -> bool:
    """The driver said a table doesn't exist (SQLite: "no such table", PostgreSQL: undefined_table)."""
    original = getattr(error, "orig", None)
    return "no such table" in str(original) or getattr(original, "sqlstate", None) == "42P01"


def upgrade(bind_names=None) -> None:
    """Run Alembic migrations for the given databases ('main', 'messaging'), default both."""
    from flask_migrate import upgrade as alembic_upgrade

    if not bind_names or MESSAGING in bind_names:
        create_sqlite_file(engine_for(MESSAGING))
    x_arg = [f"binds={','.join(bind_names)}"] if bind_names else None
    alembic_upgrade(x_arg=x_arg)


def create_sqlite_file(engine: Engine) -> None:
    """The empty file a new SQLite database starts as (the app's own connections never create it:
    _open_existing_file_only), readable by its owner alone; its folder must be there already."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return
    path = Path(database)
    if path.parent.is_dir() and not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def redact_url(url) -> str:
    """A database URL safe to print: the password replaced by ***."""
    from sqlalchemy.engine import make_url

    return make_url(str(url)).render_as_string(hide_password=True)
