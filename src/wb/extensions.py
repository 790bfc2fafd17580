"""Every Flask extension, created unbound; create_app() binds them."""
import weakref
from contextlib import contextmanager

from flask import current_app, g, has_request_context, request
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
    (only_reads_from_here), except the checks of a view marked reads_first, which read in
    autocommit until it writes (writes_from_here); SQLite keeps its own transactions, whose
    driver opens none for reads anyway.
    """

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        engine = super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        return engine if bind is not None else engine_for_request(engine)


def engine_for_request(engine):
    """The engine a request reads with: on PostgreSQL, a read request's runs in autocommit, and so
    do a reads_first view's checks and the rest of a request that has made its changes."""
    if (
        isinstance(engine, Engine) and engine.dialect.name == "postgresql"
        and has_request_context() and _reading_now()
    ):
        return _reading_engine(engine)
    return engine


_ONLY_READS = "wb_only_reads"  # g: True once a request only reads, False once it writes
_READS_FIRST = "wb_reads_first"  # a view function's mark (reads_first)


def _reading_now() -> bool:
    if request.method in READ_METHODS:
        return True
    reading = g.get(_ONLY_READS)
    if reading is None:  # nothing said yet: a reads_first view's checks read
        return _reads_first_view()
    return reading


def _reads_first_view() -> bool:
    return getattr(current_app.view_functions.get(request.endpoint), _READS_FIRST, False)


def reads_first(view):
    """Marks a POST view that only reads until it calls writes_from_here(): on PostgreSQL the
    request's reads until then (the member's session, the flags, the view's checks) run in
    autocommit, as a GET's do, sparing a BEGIN and a COMMIT round trip per database; its writes
    keep their transactions. Under read committed a transaction around those reads changed
    nothing they see, and a send's checks were committed before its rate limit anyway."""
    setattr(view, _READS_FIRST, True)
    return view


def writes_from_here() -> None:
    """A reads_first view is about to write: the reads' connections go back (an autocommit one
    has no transaction to end: no round trip) and its next transactions are real ones. Does
    nothing in any other request, whose transactions already are."""
    if has_request_context() and request.method not in READ_METHODS and g.get(_ONLY_READS) is None \
            and _reads_first_view():
        with kept_after_commit():
            db.session.commit()
        setattr(g, _ONLY_READS, False)


def only_reads_from_here() -> None:
    """The rest of this request only reads (an action's answer, drawn after its changes were
    committed): its next transactions run in autocommit on PostgreSQL, as a GET's do."""
    setattr(g, _ONLY_READS, True)


@contextmanager
def kept_after_commit():
    """Commits inside keep the session's loaded objects as they are instead of expiring them
    (reloading them would cost a query each)."""
    session = db.session()
    previous, session.expire_on_commit = session.expire_on_commit, False
    try:
        yield
    finally:
        session.expire_on_commit = previous  # inside another (a count inside a send's): still kept after


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
