"""Rate limits: sign-in attempts, messages and new conversations, counted where every worker sees them.

The counts live in a `limits` storage chosen by URI (`WB_RATELIMIT_STORAGE_URL`). `memory://`
is each process's own, so with several workers every member would get several times their
limit. The default, `database://`, counts in the main database the app already has, SQLite or
PostgreSQL, with one atomic upsert per hit (a Storage subclass registering its scheme is
`limits`' documented extension point); `redis://` is the other shared choice.
"""
from __future__ import annotations

import functools
import math
import time

from flask import current_app
from limits import parse
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import Float, String, bindparam, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db

SCHEME = "database"  # WB_RATELIMIT_STORAGE_URL=database:// (the default, config.py)
# Storages whose counts live in one process only.
PRIVATE_SCHEMES = {"memory", "async+memory"}


class RateLimitCounter(db.Model):
    """One fixed window of one limit for one member or address."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    hits: Mapped[int] = mapped_column()
    expires_at: Mapped[float] = mapped_column(Float, index=True)  # seconds since the epoch


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
    """The app's counter: a fixed window per limit and key, in the configured storage."""
    app.extensions["wb.ratelimits"] = FixedWindowRateLimiter(storage_from_string(app.config["RATELIMIT_STORAGE_URI"]))


def take(name: str, limit: str, key: str) -> None:
    """Count one action of key's against limit ("20 per minute"), or raise LimitReached."""
    item = parse(limit)
    counter = current_app.extensions["wb.ratelimits"]
    identifiers = (current_app.config["RATELIMIT_KEY_PREFIX"], name, key)
    if counter.hit(item, *identifiers):
        return
    reset_at = counter.get_window_stats(item, *identifiers).reset_time
    raise LimitReached(item, max(1, math.ceil(reset_at - time.time())))


def remaining(name: str, limit: str, key: str) -> int:
    """How many more actions key may take under limit in the current window (counts nothing)."""
    counter = current_app.extensions["wb.ratelimits"]
    return counter.get_window_stats(parse(limit), current_app.config["RATELIMIT_KEY_PREFIX"], name, key).remaining


def reset() -> None:
    """Forget every count (the test suite starts each test afresh)."""
    current_app.extensions["wb.ratelimits"].storage.reset()


def shared_between_processes(storage_uri: str) -> bool:
    """Whether every worker started with this storage would see the same counts."""
    return storage_uri.split("://", 1)[0] not in PRIVATE_SCHEMES


class DatabaseStorage(Storage):
    """Counts in the main database (the app's own engine), for the fixed-window strategy."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Count a hit in the key's window, starting a new window when the last one is over."""
        now = time.time()
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
            row = connection.execute(_window_statement(), {"key": key, "now": time.time()}).first()
        return row.hits if row else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
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
            return connection.execute(delete(RateLimitCounter)).rowcount

    def clear(self, key: str) -> None:
        with db.engine.begin() as connection:
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


@functools.cache
def _expired_statement():
    return delete(RateLimitCounter.__table__).where(RateLimitCounter.expires_at <= bindparam("now"))
