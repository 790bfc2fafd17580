"""Rate limits: sign-in attempts, messages and new conversations, counted where every worker sees them.

Every limit is a moving window ("20 per minute" means 20 in any 60 seconds, not 20 per
clock or per first-send minute): `limits`' MovingWindowRateLimiter, which keeps the time of
each action and refuses one when the limit's count fall in the period before it.

The counts live in a `limits` storage chosen by URI (`WB_RATELIMIT_STORAGE_URL`). `memory://`
is each process's own, so with several workers every member would get several times their
limit. The default, `database://`, counts in the main database the app already has, SQLite or
PostgreSQL, one transaction per hit (a Storage subclass registering its scheme is `limits`'
documented extension point); `redis://` is the other shared choice.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import math
import time

from flask import current_app
from limits import parse
from limits.errors import ConfigurationError, StorageError
from limits.storage import MovingWindowSupport, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import Float, Index, String, bindparam, case, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from .config import ConfigError
from .extensions import db, kept_after_commit

log = logging.getLogger(__name__)

SCHEME = "database"  # WB_RATELIMIT_STORAGE_URL=database:// (the default, config.py)
# Storages whose counts live in one process only.
PRIVATE_SCHEMES = {"memory", "async+memory"}
REDIS_SCHEMES = {"redis", "rediss", "valkey", "valkeys"}


class RateLimitCounter(db.Model):
    """One fixed window of one limit for one member or address (Flask-Limiter's app-wide limits);
    for a moving window, the row every hit of its key locks first."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    hits: Mapped[int] = mapped_column()
    expires_at: Mapped[float] = mapped_column(Float, index=True)  # seconds since the epoch


class RateLimitEntry(db.Model):
    """One action counted in a moving window: when it was taken and when it stops counting."""

    __tablename__ = "rate_limit_entries"
    __table_args__ = (Index("ix_rate_limit_entries_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255))
    at: Mapped[float] = mapped_column(Float)  # seconds since the epoch
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class CountsUnavailable(Exception):
    """The storage the limits count in (Redis) can't be reached: nothing limited is done, and the
    member is told to try again shortly (errors.py, a 503), as when the database is busy."""


class LimitReached(Exception):
    """An action over its limit: which limit, and in how many seconds it may be tried again."""

    def __init__(self, limit, retry_after: int):
        super().__init__(str(limit))
        self.limit = limit
        self.retry_after = retry_after


def retry_after_headers(seconds) -> dict:
    """The headers of a refusal that may be tried again in `seconds`: every 429 (pages, htmx, API) uses this."""
    return {"Retry-After": str(seconds)} if seconds else {}


def init_app(app) -> None:
    """The app's counter: a moving window per limit and key, in the configured storage."""
    uri = app.config["RATELIMIT_STORAGE_URI"]
    options = {}
    if uri.split("://", 1)[0].split("+", 1)[0] in REDIS_SCHEMES:
        # limits' Redis keys all start "LIMITS:" and its reset() clears every one of them: under the
        # community's own prefix, resetting one community (the test suite does) leaves others' counts.
        options["key_prefix"] = f"LIMITS:{app.config['RATELIMIT_KEY_PREFIX']}"
    if uri.split("://", 1)[0] != SCHEME:
        # Redis down or unreachable: limits raises its StorageError (CountsUnavailable below), not
        # the driver's own errors. The database's errors stay its own (errors.py answers "busy").
        options["wrap_exceptions"] = True
    try:
        storage = storage_from_string(uri, **options)
    except (ConfigurationError, ValueError) as error:  # an unknown scheme, a driver not installed
        raise ConfigError(f"WB_RATELIMIT_STORAGE_URL can't be used: {error}") from None
    app.extensions["wb.ratelimits"] = MovingWindowRateLimiter(storage)


def take(name: str, limit: str, key: str) -> None:
    """Count one action of key's against limit ("20 per minute"), or raise LimitReached.
    Call it before the request writes anything (see _one_connection_at_a_time)."""
    _ask(name, limit, key, count=True)


def check(name: str, limit: str, key: str) -> None:
    """Raise LimitReached when key has no room left under limit, counting nothing: for a limit on
    failures only (sign-ins), asked before the action and, once it is known to have failed, take()n.
    The failure's take() is what refuses exactly: of failures at the same moment, those past the
    limit are refused (atomically, in every storage) and answer as refused, not as failed."""
    _ask(name, limit, key, count=False)


def _ask(name: str, limit: str, key: str, count: bool) -> None:
    _one_connection_at_a_time()
    item = parse(limit)
    counter = current_app.extensions["wb.ratelimits"]
    identifiers = (current_app.config["RATELIMIT_KEY_PREFIX"], name, key)
    with _counting():
        if (counter.hit if count else counter.test)(item, *identifiers):
            return
        # The window's oldest action plus the period: when the first place frees up.
        reset_at = counter.get_window_stats(item, *identifiers).reset_time
    raise LimitReached(item, max(1, math.ceil(reset_at - time.time())))


@contextlib.contextmanager
def _counting():
    """Where a count is taken or read: an unreachable storage becomes CountsUnavailable, logged
    with the storage's kind (the address may hold a password) and the driver's error type."""
    try:
        yield
    except StorageError as error:
        log.warning("rate limit storage unreachable", extra={
            "storage": current_app.config["RATELIMIT_STORAGE_URI"].split("://", 1)[0],
            "error": type(error.storage_error).__name__})
        raise CountsUnavailable() from None


def storage_check() -> dict | None:
    """For /readyz: whether the limits' storage answers (None when it is the main database,
    which /readyz checks anyway)."""
    if counts_in_database():
        return None
    storage = current_app.extensions["wb.ratelimits"].storage
    try:
        ok = bool(storage.check())
    except Exception:  # any driver error means "not ready"
        ok = False
    return {"ok": ok, "storage": current_app.config["RATELIMIT_STORAGE_URI"].split("://", 1)[0]}


def wait_words(seconds: int) -> str:
    """How long until a refused action may be tried again, in words ("45 seconds", "3 minutes",
    "about 24 hours": a day's limit, not "1433 minutes")."""
    if seconds < 120:
        return "1 second" if seconds == 1 else f"{seconds} seconds"  # "1 seconds" (a therapy practice's tester)
    if seconds < 2 * 3600:
        return f"{math.ceil(seconds / 60)} minutes"
    return f"about {round(seconds / 3600)} hours"


def remaining(name: str, limit: str, key: str) -> int:
    """How many more actions key may take under limit right now (counts nothing)."""
    return room(name, limit, key)[0]


def room(name: str, limit: str, key: str) -> tuple[int, int]:
    """(how many more actions key may take under limit right now, seconds until one more frees up
    when none may): counts nothing."""
    _one_connection_at_a_time()
    counter = current_app.extensions["wb.ratelimits"]
    with _counting():
        stats = counter.get_window_stats(parse(limit), current_app.config["RATELIMIT_KEY_PREFIX"], name, key)
    return stats.remaining, max(1, math.ceil(stats.reset_time - time.time()))


def reset() -> None:
    """Forget every count (the test suite starts each test afresh)."""
    current_app.extensions["wb.ratelimits"].storage.reset()


def counts_in_database() -> bool:
    """Whether this app counts in its main database (database://, the default)."""
    return current_app.config["RATELIMIT_STORAGE_URI"].split("://", 1)[0] == SCHEME


def _one_connection_at_a_time() -> None:
    """Counted in the database, a count takes a connection of its own from the pool: the session's
    reads so far are finished first (its objects kept) and its connections given back, so a
    request never waits for a second connection while it holds one. Under load, requests that each
    held one and waited for another would wait for each other until the pool timed out ("Busy")."""
    if counts_in_database():
        with kept_after_commit():
            db.session.commit()


def shared_between_processes(storage_uri: str) -> bool:
    """Whether every worker started with this storage would see the same counts."""
    return storage_uri.split("://", 1)[0] not in PRIVATE_SCHEMES


class DatabaseStorage(Storage, MovingWindowSupport):
    """Counts in the main database (the app's own engine), for the moving-window strategy (ours)
    and the fixed-window one (Flask-Limiter's default, for app-wide limits an operator sets)."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.clock = time.time  # what "now" is; tests move it instead of waiting for a minute

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Count `amount` actions now if fewer than `limit` fall in the last `expiry` seconds, atomically."""
        if amount > limit:
            return False
        now = self.clock()
        entry = {"key": key, "at": now, "expires": now + expiry}
        with db.engine.begin() as connection:
            # First a write to the key's counter row: on PostgreSQL it locks that row until commit, on
            # SQLite it takes the database's write lock, so concurrent hits of one key count in turn
            # and each sees the entries the one before it committed (the next statement reads afresh).
            fresh = connection.execute(_lock_statement(connection.dialect.name), {**entry, "now": now}).scalar_one()
            # The action counts when fewer than limit - amount + 1 fall in the window: counted and
            # written in one statement (one round trip on PostgreSQL).
            if connection.execute(_entry_if_room_statement(), {**entry, "since": now - expiry,
                                                               "most": limit - amount}).first() is None:
                return False
            if amount > 1:
                connection.execute(_entry_statement(), [entry] * (amount - 1))
            if fresh:  # a window starting afresh: the moment to clear everybody's finished entries
                connection.execute(_expired_entries_statement(), {"now": now})
                connection.execute(_expired_statement(), {"now": now})
        return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(the oldest counted action's time, or now when none; how many count) for the last `expiry` seconds."""
        now = self.clock()
        with db.engine.connect() as connection:
            oldest, taken = connection.execute(_window_entries_statement(), {"key": key, "since": now - expiry}).one()
        return (oldest if taken else now), taken

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Count a hit in the key's window, starting a new window when the last one is over."""
        now = self.clock()
        with db.engine.begin() as connection:
            hits = connection.execute(
                _increment_statement(connection.dialect.name),
                {"key": key, "amount": amount, "now": now, "expires": now + expiry},
            ).scalar_one()
            if hits == amount:  # a new window: the moment to clear everybody's finished ones
                connection.execute(_expired_statement(), {"now": now})
        return hits

    def get(self, key: str) -> int:
        with db.engine.connect() as connection:
            row = connection.execute(_window_statement(), {"key": key, "now": self.clock()}).first()
        return row.hits if row else 0

    def get_expiry(self, key: str) -> float:
        now = self.clock()
        with db.engine.connect() as connection:
            row = connection.execute(_window_statement(), {"key": key, "now": now}).first()
        return row.expires_at if row else now

    def check(self) -> bool:
        try:
            with db.engine.connect() as connection:
                connection.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with db.engine.begin() as connection:
            connection.execute(delete(RateLimitEntry))
            return connection.execute(delete(RateLimitCounter)).rowcount

    def clear(self, key: str) -> None:
        with db.engine.begin() as connection:
            connection.execute(delete(RateLimitEntry).where(RateLimitEntry.key == key))
            connection.execute(delete(RateLimitCounter).where(RateLimitCounter.key == key))


UPSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


@functools.cache
def _increment_statement(dialect: str):
    """INSERT ... ON CONFLICT DO UPDATE ... RETURNING: one atomic statement on SQLite and PostgreSQL."""
    if dialect not in UPSERTS:
        raise NotImplementedError(f"database:// rate limits need SQLite or PostgreSQL, not {dialect}")
    table = RateLimitCounter.__table__
    insert = UPSERTS[dialect](table).values(key=bindparam("key"), hits=bindparam("amount"), expires_at=bindparam("expires"))
    over = table.c.expires_at <= bindparam("now")
    return insert.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "hits": case((over, insert.excluded.hits), else_=table.c.hits + insert.excluded.hits),
            "expires_at": case((over, insert.excluded.expires_at), else_=table.c.expires_at),
        },
    ).returning(table.c.hits)


@functools.cache
def _window_statement():
    table = RateLimitCounter.__table__
    return select(table.c.hits, table.c.expires_at).where(
        table.c.key == bindparam("key"), table.c.expires_at > bindparam("now")
    )


def _unlocked_expired(column, expires_at):
    """The expired rows' `column` values, skipping rows another hit holds locked (PostgreSQL; SQLite
    has one writer at a time): two cleanups deleting in different orders would deadlock each other."""
    return select(column).where(expires_at <= bindparam("now")).with_for_update(skip_locked=True)


@functools.cache
def _expired_statement():
    table = RateLimitCounter.__table__
    return delete(table).where(table.c.key.in_(_unlocked_expired(table.c.key, table.c.expires_at)))


@functools.cache
def _lock_statement(dialect: str):
    """Upsert the key's counter row: the lock of acquire_entry. Its expires_at is the last hit's
    end; its hits (the fixed window's count, unused by the moving one) becomes 1 while the last
    hit still counts and 0 when it has ended (or there was none): returned, 1 for "a window goes on"."""
    if dialect not in UPSERTS:
        raise NotImplementedError(f"database:// rate limits need SQLite or PostgreSQL, not {dialect}")
    table = RateLimitCounter.__table__
    upsert = UPSERTS[dialect](table).values(key=bindparam("key"), hits=0, expires_at=bindparam("expires"))
    return upsert.on_conflict_do_update(index_elements=[table.c.key], set_={
        "hits": case((table.c.expires_at > bindparam("now"), 1), else_=0),
        "expires_at": upsert.excluded.expires_at,
    }).returning(table.c.hits == 0)


@functools.cache
def _entry_if_room_statement():
    """One entry (key, at, expires), inserted only while at most `most` of the key's fall after
    since: its id, or no row when there was no room."""
    table = RateLimitEntry.__table__
    taken = select(func.count()).select_from(table).where(table.c.key == bindparam("key"), table.c.at > bindparam("since"))
    room = select(bindparam("key", type_=table.c.key.type), bindparam("at", type_=table.c.at.type),
                  bindparam("expires", type_=table.c.expires_at.type)).where(taken.scalar_subquery() <= bindparam("most"))
    return insert(table).from_select(["key", "at", "expires_at"], room).returning(table.c.id)


@functools.cache
def _window_entries_statement():
    table = RateLimitEntry.__table__
    return select(func.min(table.c.at), func.count()).where(table.c.key == bindparam("key"), table.c.at > bindparam("since"))


@functools.cache
def _entry_statement():
    table = RateLimitEntry.__table__
    return insert(table).values(key=bindparam("key"), at=bindparam("at"), expires_at=bindparam("expires"))


@functools.cache
def _expired_entries_statement():
    table = RateLimitEntry.__table__
    return delete(table).where(table.c.id.in_(_unlocked_expired(table.c.id, table.c.expires_at)))
