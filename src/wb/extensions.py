"""Every Flask extension, created unbound; create_app() binds them."""
import weakref

from flask import g, has_request_context, request
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.engine import Engine

# Stable constraint names, so Alembic can alter them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

READ_METHODS = ("GET", "HEAD")


class RequestSession(Session):
    """Reads on PostgreSQL without a transaction around them.

    GET and HEAD requests only read. On PostgreSQL each of them would otherwise pay two
    extra round trips per database, BEGIN before its first query and ROLLBACK when the
    connection goes back to the pool, for nothing: under PostgreSQL's default isolation
    (read committed) every statement sees what was committed when it began, inside a
    transaction or not. So a read request's connections run in autocommit: same answers,
    more polls per second (docs/performance.md). Requests
    that change things (POST) keep their transactions until they have made their changes
    (only_reads_from_here), and SQLite keeps its own, whose driver opens none for reads anyway.
    """

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        engine = super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        return engine if bind is not None else engine_for_request(engine)


def engine_for_request(engine):
    """The engine a request reads with: on PostgreSQL, a read request's runs in autocommit, and so
    does the rest of a request that has made its changes."""
    if (
        isinstance(engine, Engine) and engine.dialect.name == "postgresql"
        and has_request_context() and (request.method in READ_METHODS or g.get(_ONLY_READS))
    ):
        return _reading_engine(engine)
    return engine


_ONLY_READS = "wb_only_reads"


def only_reads_from_here() -> None:
    """The rest of this request only reads (an action's answer, drawn after its changes were
    committed): its next transactions run in autocommit on PostgreSQL, as a GET's do."""
    g.setdefault(_ONLY_READS, True)


_READING_ENGINES: "weakref.WeakKeyDictionary[Engine, Engine]" = weakref.WeakKeyDictionary()


def _reading_engine(engine: Engine) -> Engine:
    """The same engine (and pool) with autocommit connections, made once per engine."""
    reading = _READING_ENGINES.get(engine)
    if reading is None:
        reading = _READING_ENGINES[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return reading


db = SQLAlchemy(
    metadata=MetaData(naming_convention=NAMING_CONVENTION), session_options={"class_": RequestSession}
)
migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()


def _rate_limit_key():
    """Signed-in members are limited by id, everyone else by address."""
    from flask import request
    from flask_login import current_user

    if current_user and current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"addr:{request.remote_addr}"


limiter = Limiter(key_func=_rate_limit_key)
