"""The tab's live channel: what changed for a member since a cursor, and waking the requests that wait for it.

Every write that changes what a member's pages show (a message, a delete or remove, "Seen", their
list, their account) records a LiveEvent in the main database: ids and kinds only, never text. On
SQLite it goes in the same transaction as the change; on PostgreSQL in a statement of its own
right after the change commits (see _RECORD_IN_ORDER). Each member's events are numbered 1, 2,
3... (seq), and so are everyone's; a tab's cursor counts those two alone (cursor_for), so it tells
nothing of what other members do. A tab asks `GET /messages/live?since=<cursor>`; with nothing
newer, the request waits (holding no database connection) until this process's Hub wakes it, or
the hold time passes.

After a commit, the writing process wakes its own waiters, and the others hear of it through one
listener per process: Redis pub/sub when the rate limits are in Redis, PostgreSQL LISTEN/NOTIFY
when the main database is PostgreSQL, and on SQLite a watcher that asks the database's change
counter (WATCH_INTERVAL) for all its waiters together, and reads the newest events after a
commit. Several servers on one Redis or PostgreSQL wake each other. Messages carry member ids
only, and with the acting member's the id of the tab that acted (never woken for its own change).
"""
from __future__ import annotations

import functools
import logging
import os
import random
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from flask import abort, current_app, g, has_app_context, has_request_context, request
from flask_login import current_user
from sqlalchemy import and_, bindparam, create_engine, delete, event, func, insert, or_, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from ..database import read_rows
from ..extensions import RequestSession, db
from ..models import User, utcnow
from .models import LiveEvent

log = logging.getLogger("wb.messaging.live")

EVERYONE = 0  # member_id of an event for every member (messaging switched off, the rules changed)
CHANNEL = "wb_live"  # PostgreSQL's NOTIFY channel; Redis's is namespaced by the key prefix
WATCH_INTERVAL = 0.05  # the SQLite watcher's read of the newest id: 20 a second per process
NEWEST_ID_SQL = "SELECT max(id) FROM live_events"
MOST_EVENTS = 200  # more news than this since a cursor: the tab refreshes everything instead
# A tab's cursor is the member's own events counted (their newest seq) times EVERYONE_STEP, plus
# everyone's events counted. Both counts only grow (prune keeps each one's newest event), so a
# cursor only grows, as live.js and app.js compare them; and another member's news moves neither
# (a cursor counting every event let any member watch how much everyone wrote and read, and tell
# a block from a pause). 2**20 events for everyone (rule changes, messaging switched on or off,
# restores) is far beyond any community's; past it everyone's part stays at its last value (the
# cursor never goes back nor overflows into the member's part: later changes for everyone then reach
# pages as they are drawn, not live). A cursor stays below 2**53, a number JavaScript holds exactly.
EVERYONE_STEP = 2 ** 20
GAP = "gap"  # a member's newest forgotten event (prune): news older than it is gone
# A held request waits between this share of LIVE_HOLD_SECONDS and all of it, at random (25-30 s):
# tabs that asked together (after a restart) then come back spread out, more with each hold,
# instead of all at once every hold (2,000 tabs in 3 s, every 25 s, in one measured run). An idle
# tab asks 60 / 27.5 = 2.2 times a minute (2.4 with holds of 20-30 s).
SHORTEST_HOLD = 5 / 6
LISTENER_IDLE_SECONDS = 30  # a process nobody waited in for this long stops listening until someone does
# The kinds of change that move a member's inbox list (its rows, order, previews or counts): the
# live answer says so per event (`list`), and brings the list along for a tab that shows one.
LIST_KINDS = frozenset({"message", "deleted", "removed", "read", "hidden", "blocked", "listed", "rules", "muted",
                        "left"})  # left: the other member closed their account (or was erased)
TAB_HEADER = "X-WB-Tab"  # the tab a request comes from (static/js/live.js)
TAB_ID = re.compile(r"[0-9a-f]{16}")
_PENDING, _WRITTEN, _IN_ORDER = "wb_live_pending", "wb_live_written", "wb_live_in_order"
# Held on PostgreSQL by the statement that writes a change's events, until it commits, so event
# ids commit in order and a cursor never passes an id that commits later.
_ORDER_LOCK = 0x77626C76


def record(member_ids, kind: str, conversation_id: int | None = None, message_id: int | None = None,
           unread_unchanged=()) -> None:
    """Something changed for these members: written with the session's next commit, which then wakes their tabs.

    unread_unchanged: members whose unread count this change leaves as it was (their tabs skip the badge).
    The acting member's rows carry the tab that asked (X-WB-Tab), which skips them.
    """
    pending = db.session.info.setdefault(_PENDING, [])
    actor, tab = _acting_member_and_tab()
    for member_id in dict.fromkeys(member_ids):
        if member_id is not None:
            pending.append({"member_id": member_id, "kind": kind, "conversation_id": conversation_id,
                            "message_id": message_id, "unread": member_id not in unread_unchanged,
                            "origin": tab if member_id == actor else None, "created_at": utcnow()})


def acting_tab() -> str | None:
    """The tab id this request came with (X-WB-Tab, made once per tab by live.js), or None when
    missing or not one: it is only compared, never trusted for anything else."""
    tab = request.headers.get(TAB_HEADER, "")
    return tab if TAB_ID.fullmatch(tab) else None


def _acting_member_and_tab() -> tuple[int | None, str | None]:
    if not has_request_context() or not current_user.is_authenticated:
        return None, None
    return current_user.id, acting_tab()


def record_for_everyone(kind: str) -> None:
    """Something changed for every member (caller commits)."""
    record([EVERYONE], kind)


# PostgreSQL: the order lock, the events and the NOTIFY (delivered at commit, to every server
# listening on this database) in one statement, run in a transaction of its own (autocommit) right
# after the change it tells of commits: the lock is held only while the statement runs, never
# across a round trip (under gevent a worker's other requests run between round trips, and every
# write in the community waits for this lock). The lock's CTE is volatile, so PostgreSQL runs it
# once, before the join yields the first row, and so before any row takes its id from the sequence
# or any member's newest seq is read. Each event is numbered after its member's newest: read by
# live_events_newest_seq (the migration's), whose own fresh snapshot sees the events of the writer
# this one waited for (the statement's snapshot, taken before it had the lock, doesn't), once a
# member and before anything is inserted (the sort takes every row first); then in batch order.
_RECORD_IN_ORDER = text(
    "WITH order_lock AS (SELECT pg_advisory_xact_lock(:lock)),"
    " batch AS (SELECT e.*, row_number() OVER (PARTITION BY e.member_id ORDER BY e.n) AS nth"
    " FROM order_lock CROSS JOIN unnest("
    "CAST(:member_ids AS integer[]), CAST(:kinds AS varchar[]), CAST(:conversation_ids AS integer[]),"
    " CAST(:message_ids AS bigint[]), CAST(:unreads AS boolean[]), CAST(:origins AS varchar[]),"
    " CAST(:created AS timestamp[])) WITH ORDINALITY"
    " AS e (member_id, kind, conversation_id, message_id, unread, origin, created_at, n)),"
    " newest AS MATERIALIZED (SELECT member_id, live_events_newest_seq(member_id) AS seq"
    " FROM (SELECT DISTINCT member_id FROM batch) AS members),"
    " recorded AS (INSERT INTO live_events"
    " (member_id, seq, kind, conversation_id, message_id, unread, origin, created_at)"
    " SELECT b.member_id, newest.seq + b.nth, b.kind, b.conversation_id, b.message_id, b.unread, b.origin,"
    " b.created_at FROM batch AS b JOIN newest USING (member_id) ORDER BY b.n RETURNING id)"
    " SELECT pg_notify(:channel, :payload) FROM (SELECT count(*) FROM recorded) AS done"
)
_COLUMNS = {"member_ids": "member_id", "kinds": "kind", "conversation_ids": "conversation_id",
            "message_ids": "message_id", "unreads": "unread", "origins": "origin", "created": "created_at"}


@event.listens_for(RequestSession, "before_commit")
def _write_pending(session) -> None:
    rows = session.info.pop(_PENDING, None)
    if not rows:
        return
    connection = session.connection(bind_arguments={"mapper": LiveEvent})
    if random.random() < current_app.config["LIVE_PRUNE_CHANCE"]:  # now and then, older events go
        prune(connection)
    wakes = _wakes_of(rows)
    if connection.dialect.name == "postgresql":
        session.info[_IN_ORDER] = (connection.engine, rows, wakes)  # written once this commits
    else:  # SQLite writes one transaction at a time: ids and seqs commit in order, with the change itself
        connection.execute(_numbered_insert(), rows)
        session.info[_WRITTEN] = wakes


@functools.cache
def _numbered_insert():
    """SQLite: one event, numbered after its member's newest in the same statement (run for each
    event in turn, so a change's events for one member follow each other)."""
    table = LiveEvent.__table__
    values = [bindparam(name, type_=table.c[name].type) for name in _COLUMNS.values()]
    next_seq = func.coalesce(func.max(table.c.seq), 0) + 1
    numbered = select(*values, next_seq).where(table.c.member_id == values[0])
    return insert(table).from_select([*_COLUMNS.values(), "seq"], numbered)


@event.listens_for(RequestSession, "after_commit")
def _wake_after_commit(session) -> None:
    _wake(session.info.pop(_WRITTEN, None))


@event.listens_for(RequestSession, "after_transaction_end")
def _record_after_commit(session, transaction) -> None:
    """PostgreSQL: a committed change's events, once the session has given its connection back
    (so recording them takes no second one from the pool)."""
    if transaction.parent is None and _IN_ORDER in session.info:
        engine, rows, wakes = session.info.pop(_IN_ORDER)
        if _record_in_order(engine, rows, wakes):
            _wake(wakes)


def _record_in_order(engine, rows, wakes) -> bool:
    """One autocommitted statement: the order lock, the events and their NOTIFY. False when it
    failed: the change itself stands, and tabs see it with the next change or on reload."""
    columns = {name: [row[column] for row in rows] for name, column in _COLUMNS.items()}
    try:
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.execute(_RECORD_IN_ORDER, {"lock": _ORDER_LOCK, "channel": CHANNEL,
                                                  "payload": _payload(wakes), **columns})
    except SQLAlchemyError as error:
        log.warning("live events not recorded", extra={"events": len(rows), "error": type(error).__name__})
        return False
    return True


def _wake(wakes) -> None:
    """Wake this process's waiters for these members, and (Redis) tell the other processes."""
    if wakes and has_app_context():
        hub = current_app.extensions.get("wb.live")
        if hub is not None:
            hub.wake(wakes)
            hub.publish(wakes)


@event.listens_for(RequestSession, "after_rollback")
def _forget_pending(session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_WRITTEN, None)
    session.info.pop(_IN_ORDER, None)


def prune(connection=None) -> None:
    """Forget events older than LIVE_KEEP_MINUTES. Of each member's forgotten events the newest
    stays, as a GAP: a tab whose cursor is older than it missed news that is gone, and refreshes
    everything (changes_since). A cursor counts the member's events and everyone's (their newest
    seq, cursor_for), and the gaps keep each one's newest: no cursor ever goes back."""
    cutoff = utcnow() - timedelta(minutes=current_app.config["LIVE_KEEP_MINUTES"])
    run = (connection or db.session).execute
    old = LiveEvent.created_at < cutoff
    newest_old = select(func.max(LiveEvent.id)).where(old).group_by(LiveEvent.member_id)
    run(delete(LiveEvent).where(old, LiveEvent.id.not_in(newest_old)))
    run(update(LiveEvent).where(old, LiveEvent.kind != GAP)
        .values(kind=GAP, conversation_id=None, message_id=None, origin=None))


# --- what changed since a cursor -------------------------------------------------------------


@dataclass
class Changes:
    cursor: int  # the member's and everyone's events counted now (cursor_for): the tab's next since
    events: list  # rows (id, kind, conversation_id, message_id, unread, origin) for this member, oldest first
    refresh: bool  # the cursor is older than what is kept (or from another database): refresh everything
    held: bool = True  # False: answered at once, not held (the tab asks again after LIVE_RETRY_SECONDS)
    newest: int = 0  # the newest event of all, read with them: what the SQLite watcher wakes from (Hub.saw), never sent

    @property
    def empty(self) -> bool:
        return not self.events and not self.refresh

    def moves_list_for(self, tab: str | None) -> bool:
        """Whether the tab's list changed: a refresh, or an event of a LIST_KINDS kind that its own
        requests didn't make (their answers brought the list)."""
        return self.refresh or any(event.kind in LIST_KINDS and (tab is None or event.origin != tab)
                                   for event in self.events)

    def list_rows_for(self, tab: str | None) -> set[int] | None:
        """The conversations whose list rows changed for the tab (as moves_list_for counts them);
        None when the whole list may have: a refresh, or a change that names no conversation."""
        moved = [event.conversation_id for event in self.events
                 if event.kind in LIST_KINDS and (tab is None or event.origin != tab)]
        return None if self.refresh or None in moved else set(moved)

    def nothing_for(self, tab: str | None) -> bool:
        """Nothing the tab would act on: no events, or only those its own requests made."""
        return not self.refresh and all(tab is not None and event.origin == tab for event in self.events)


def newest_id() -> int:
    """The newest event of all: what the SQLite watcher wakes waiters from. Never shown to a member."""
    return db.session.scalar(_newest_id_statement()) or 0


@functools.cache
def _newest_id_statement():
    return select(func.max(LiveEvent.id))


def newest_for(member_id: int) -> int:
    """The cursor a page starts its live channel from, and the one each answer brings: the member's
    own events and everyone's, counted (cursor_for). It moves only with the member's own news:
    counted over the whole community, it let any member watch how much everyone wrote and read, and
    see a member with read receipts off read a message (one event, two with them on: a marketplace's
    tester)."""
    return cursor_for(*_newest(member_id)[1:])


def cursor_for(member_seq: int, everyone_seq: int) -> int:
    """The cursor of a page that has heard of the member's events up to member_seq and everyone's up
    to everyone_seq (at most EVERYONE_STEP - 1, as _newest reads it)."""
    return member_seq * EVERYONE_STEP + everyone_seq


def _newest(member_id: int) -> tuple[int, int, int]:
    """The newest event's id of all (never shown to a member), the member's newest seq and everyone's
    (at most EVERYONE_STEP - 1: see EVERYONE_STEP)."""
    # Plain rows on the session's connection (database.read_rows), as the other hot reads: every
    # ask runs this, and again after each wake.
    newest, member_seq, everyone_seq = read_rows(_member_newest_statement(), {"member_id": member_id}, LiveEvent).one()
    return newest, member_seq, min(everyone_seq, EVERYONE_STEP - 1)


@functools.cache
def _member_newest_statement():
    """The newest event's id of all, and the newest seq of the member and of everyone, each its own
    subquery: a lone max() is one step down an index (the primary key, or member_id and seq)."""
    def newest(column, *where):
        return func.coalesce(select(func.max(column)).where(*where).scalar_subquery(), 0)

    return select(newest(LiveEvent.id), newest(LiveEvent.seq, LiveEvent.member_id == bindparam("member_id")),
                  newest(LiveEvent.seq, LiveEvent.member_id == EVERYONE))


@functools.cache
def _events_statement():
    """A member's events and everyone's between two seqs each, in id order, built once (values
    bound): every held ask that finds news runs it."""
    def between(member, since, newest):
        return and_(LiveEvent.member_id == member, LiveEvent.seq > bindparam(since), LiveEvent.seq <= bindparam(newest))

    return (
        select(LiveEvent.id, LiveEvent.kind, LiveEvent.conversation_id, LiveEvent.message_id,
               LiveEvent.unread, LiveEvent.origin)
        .where(or_(between(bindparam("member_id"), "member_since", "member_newest"),
                   between(EVERYONE, "everyone_since", "everyone_newest")))
        .order_by(LiveEvent.id)
        .limit(MOST_EVENTS + 1)
    )


def changes_since(member_id: int, since: int | None) -> Changes:
    """What changed for a member after the cursor since (None: only the cursor to start from)."""
    newest, member_seq, everyone_seq = _newest(member_id)
    cursor = cursor_for(member_seq, everyone_seq)
    if since is None:
        return Changes(cursor, [], False, newest=newest)
    member_since, everyone_since = divmod(since, EVERYONE_STEP)
    # A cursor past the member's count or everyone's comes from another database, or from before
    # cursors counted seqs (an event id): refresh, always safe. Cursor 0: nothing was ever recorded
    # for the member when the page was drawn; everything kept for them is news to it.
    if member_since > member_seq or everyone_since > everyone_seq:
        return Changes(cursor, [], True, newest=newest)
    if since == cursor:  # nothing recorded since for the member: no events to read
        return Changes(cursor, [], False, newest=newest)
    rows = read_rows(_events_statement(), {
        "member_id": member_id, "member_since": member_since, "member_newest": member_seq,
        "everyone_since": everyone_since, "everyone_newest": everyone_seq}, LiveEvent).all()
    if len(rows) > MOST_EVENTS or any(row.kind == GAP for row in rows):  # too much news, or some forgotten
        return Changes(cursor, [], True, newest=newest)
    return Changes(cursor, rows, False, newest=newest)


def wait_for_changes(member, since: int | None, hold_it: bool = True) -> Changes:
    """changes_since, waiting up to LIVE_HOLD_SECONDS (at least SHORTEST_HOLD of it) for some when there are none yet;
    hold_it False: at once (a tab whose browser's leading tab holds the ask for it: static/js/live.js).

    While it waits it holds no database connection or transaction. A session ended (answered with
    nothing, so the page asks again through the sign-in check), a member no longer active (403) or
    messaging switched off (404) ends the wait at once, as any write for them wakes it.
    """
    hold = current_app.config["LIVE_HOLD_SECONDS"]
    if hold <= 0 or since is None:
        return changes_since(member.id, since)
    if not hold_it:
        changes = changes_since(member.id, since)
        changes.held = False
        return changes
    member_id, generation, tab = member.id, member.session_generation, acting_tab()
    hub = current_app.extensions["wb.live"]
    if hub.held_for(member_id) >= current_app.config["LIVE_MAX_HELD_PER_MEMBER"]:
        # Past a member's share of this process's held requests, an ask is answered at once, as
        # where a server can't hold them, and the tab asks again after a while: one account held 50
        # at once, each a connection kept open for as long as it liked (an attacker).
        changes = changes_since(member_id, since)
        changes.held = False
        return changes
    deadline = time.monotonic() + hold_time(hold)
    with hub.waiting(member_id, tab) as waiter:
        changes = changes_since(member_id, since)
        # A wake can find nothing new for this tab: another process's listener or watcher hears of
        # a change this request already read, a change meant for others woke everyone, or a
        # change the tab made itself came with another (its own alone don't wake it: its request's
        # answer already refreshed what it changed, and live.js would skip it). Answering then
        # would cost the tab an ask for nothing, so the request waits on; its next answer carries
        # those events too, and the cursor past them.
        while changes.nothing_for(tab) and time.monotonic() < deadline:
            hub.saw(changes.newest)
            db.session.close()  # its connection goes back to the pool for the wait
            if not waiter.wait(deadline - time.monotonic()):
                # The hold ran out and nothing woke it: no change for this member was written
                # (ending a session, a suspension and switching messaging off all wake it too), so
                # what was read stands, and the request reads nothing more. A change this process
                # hears of only after the deadline waits for the page's next ask, from this cursor.
                break
            waiter.clear()  # a wake from here on is read below or ends the next wait at once
            changes = changes_since(member_id, since)
            if not _still_allowed(member_id, generation):
                # The session this request came with has ended (signed out everywhere, a new
                # password, a suspension): nothing more for it. The page asks again with the cookie
                # it holds now and meets the usual sign-in check: refused if signed out, going on
                # where a browser was kept signed in (a 401 here would be logged as an error there).
                return Changes(since, [], False, newest=changes.newest)
    return changes


def wait_while_switched_off(member) -> bool:
    """While messaging is off, a tab's ask waits (holding no database connection) until something is
    recorded for the member or for everyone, such as messaging switched on again, or the hold runs
    out. True when messaging is on by then: the ask goes on as usual, and its answer has the page
    drawn again (it used to ask every LIVE_RETRY_SECONDS, so "on" took up to ten seconds to arrive)."""
    from . import policy

    hold = current_app.config["LIVE_HOLD_SECONDS"]
    if hold > 0:
        member_id, generation, hub = member.id, member.session_generation, current_app.extensions["wb.live"]
        deadline = time.monotonic() + hold_time(hold)
        with hub.waiting(member_id) as waiter:
            # A wake may be for something else (another member's change heard by the watcher): it
            # waits on, unless messaging is back or the session has ended (the next ask meets the sign-in).
            while User.signed_in(member_id, generation) is not None:
                hub.saw(newest_id())
                g.pop("wb_flags", None)
                if policy.messaging_enabled():  # switched on since the caller looked
                    return True
                db.session.close()
                if not waiter.wait(deadline - time.monotonic()):
                    break
                waiter.clear()
    g.pop("wb_flags", None)
    return policy.messaging_enabled()


CURSOR_HEADER = "X-WB-Cursor"


def switched_off_answer():
    """The live channel's 404 while messaging is off, with when to ask again: at once where the
    server holds requests (the next ask waits for the switch), else after LIVE_RETRY_SECONDS; and the
    member's newest change (X-WB-Cursor), which the tab asks from next, so that its next ask waits."""
    holds = current_app.config["LIVE_HOLD_SECONDS"] > 0
    retry = 0 if holds else current_app.config["LIVE_RETRY_SECONDS"]
    return current_app.response_class("", status=404, headers={
        "Retry-After": str(retry), "Cache-Control": "no-store", CURSOR_HEADER: str(newest_for(current_user.id))})


def missed_switch_off(member_id: int, since: int | None) -> bool:
    """An ask from a page that hasn't heard of what changed since its cursor (the switch among it), or
    whose cursor isn't one of this member's now (another database's): answered at once, with the
    cursor to wait from, not held until messaging is back. A tab whose ask came between two held ones
    as messaging was switched off kept its thread for the hold's 25-30 s (CI caught it under load)."""
    return since is not None and since != newest_for(member_id)


def hold_time(longest: float) -> float:
    """How long one request waits for news when nothing comes: from SHORTEST_HOLD of the longest to all of it."""
    return random.uniform(longest * SHORTEST_HOLD, longest)


def may_listen(account) -> bool:
    """Who holds a live channel: active members, and members waiting for approval, whose page hears
    the approval (it said "Waiting for approval" until reloaded: a residents' building's tester)."""
    return account.is_active_member or account.is_pending and account.deleted_at is None


def _still_allowed(member_id: int, generation: int) -> bool:
    """False when the waiting request's session has ended; aborts when messaging is off (404) or
    the member may no longer act (403)."""
    from . import policy

    g.pop("wb_flags", None)  # a flag switched during the wait counts
    if not policy.messaging_enabled():
        abort(switched_off_answer())
    account = User.signed_in(member_id, generation)
    if account is None:
        return False
    if not may_listen(account):
        abort(403)
    return True


# --- waking waiters: the per-process hub and its listener ------------------------------------


def _wakes_of(rows) -> dict[int, str | None]:
    """Whom a change's events wake: each member, with the tab that needn't wake when every one of
    the member's events is that tab's own (its request's answer showed the change), else None.
    An account change wakes every tab, the acting one too: it may have ended their sessions."""
    wakes = {}
    for row in rows:
        member_id, origin = row["member_id"], (None if row["kind"] == "account" else row["origin"])
        wakes[member_id] = origin if wakes.get(member_id, origin) == origin else None
    return wakes


def _payload(wakes: dict) -> str:
    """"12,34,12:<tab>": the member ids, then the tab that acted for a member whose change it is.
    A server from before tabs were named reads the ids alone and wakes every tab of theirs (a
    rolling deploy loses no wake)."""
    members = sorted(wakes)
    return ",".join([str(member_id) for member_id in members]
                    + [f"{member_id}:{wakes[member_id]}" for member_id in members if wakes[member_id]])


def _wakes_from(payload) -> dict[int, str | None]:
    if isinstance(payload, bytes):
        payload = payload.decode()
    wakes = {}
    for part in str(payload).split(","):
        member, named, tab = part.strip().partition(":")
        if member.isdigit():
            if not named:
                wakes.setdefault(int(member), None)
            elif TAB_ID.fullmatch(tab):
                wakes[int(member)] = tab
    return wakes


class Waiter(threading.Event):
    """One held request (gevent makes the Event cooperative)."""

    def __init__(self, member_id: int, tab: str | None = None):
        super().__init__()
        self.member_id, self.tab = member_id, tab
        self.holding = False  # waiting now, its database connection released

    def wait(self, timeout=None) -> bool:
        self.holding = True
        try:
            return super().wait(timeout)
        finally:
            self.holding = False


class Hub:
    """This process's waiting requests, by member, and the one listener that wakes them."""

    def __init__(self, app):
        self.backend = backend_for(app.config)
        self._engine_url = app.config["SQLALCHEMY_DATABASE_URI"]
        self._redis_url = app.config["RATELIMIT_STORAGE_URI"]
        self._channel = f"{app.config['RATELIMIT_KEY_PREFIX']}:live"
        self._app = app
        self._waiters: dict[int, set[Waiter]] = {}
        self._lock = threading.Lock()
        self._listener_pid = None
        self._ready = threading.Event()
        self._seen = None  # the SQLite watcher: the newest event id it has woken waiters for
        self._redis = None
        self._last_waiter_at = time.monotonic()

    @contextmanager
    def waiting(self, member_id: int, tab: str | None = None):
        """A Waiter for member_id's tab, registered before the caller reads what changed (so nothing after slips by)."""
        waiter = Waiter(member_id, tab)
        with self._lock:
            self._waiters.setdefault(member_id, set()).add(waiter)
        self._start_listener()
        try:
            yield waiter
        finally:
            with self._lock:
                self._last_waiter_at = time.monotonic()
                waiters = self._waiters.get(member_id)
                if waiters is not None:
                    waiters.discard(waiter)
                    if not waiters:
                        del self._waiters[member_id]

    def held_for(self, member_id: int) -> int:
        """How many of member_id's requests this process holds now."""
        with self._lock:
            return len(self._waiters.get(member_id, ()))

    def holding_count(self) -> int:
        """How many requests wait now with their database connection released."""
        with self._lock:
            return sum(waiter.holding for waiters in self._waiters.values() for waiter in waiters)

    def _stop_if_idle(self) -> bool:
        """True (and the listener stops) when nobody has waited here for LISTENER_IDLE_SECONDS."""
        with self._lock:
            if self._waiters or time.monotonic() - self._last_waiter_at < LISTENER_IDLE_SECONDS:
                return False
            self._listener_pid = None
            self._ready.clear()
            return True

    def saw(self, cursor: int) -> None:
        """A waiter read everything up to cursor: the SQLite watcher wakes it for anything newer."""
        with self._lock:
            if self._seen is None or cursor < self._seen:
                self._seen = cursor

    def wake(self, wakes) -> None:
        """Wake these members' waiters (EVERYONE: all of them): member ids, or {member id: the tab
        whose own change this is, which stays waiting (None: every tab wakes)}."""
        if not isinstance(wakes, dict):
            wakes = dict.fromkeys(wakes)
        with self._lock:
            if EVERYONE in wakes:
                waiters = [w for group in self._waiters.values() for w in group]
            else:
                waiters = [w for member_id, tab in wakes.items() for w in self._waiters.get(member_id, ())
                           if tab is None or w.tab != tab]
        for waiter in waiters:
            waiter.set()

    def wake_all(self) -> None:
        self.wake([EVERYONE])

    def publish(self, wakes) -> None:
        """Tell the other processes (PostgreSQL's NOTIFY went with the commit; SQLite's watcher reads)."""
        if self.backend != "redis":
            return
        try:
            self._redis_client().publish(self._channel, _payload(wakes))
        except Exception as error:  # the other servers' tabs hear of it on their next ask
            log.warning("live publish failed", extra={"error": type(error).__name__})

    def _redis_client(self):
        if self._redis is None:
            import redis

            self._redis = redis.Redis.from_url(self._redis_url)
        return self._redis

    def _start_listener(self) -> None:
        """Start this process's listener with its first waiter (after a fork, again); wait until it hears."""
        with self._lock:
            start = self._listener_pid != os.getpid()
            if start:
                self._listener_pid = os.getpid()
                self._ready.clear()
                self._redis = None
                listen = {"redis": self._listen_redis, "postgresql": self._listen_postgres}.get(self.backend, self._watch)
                threading.Thread(target=self._keep_listening, args=(listen,), name="wb-live", daemon=True).start()
        if not self._ready.wait(5):
            log.warning("live listener not ready after 5 s", extra={"backend": self.backend})

    def _keep_listening(self, listen) -> None:
        """Run listen (which returns once idle); after a dropped connection, listen again."""
        while True:
            try:
                listen()
                return
            except Exception as error:  # waiters ask again meanwhile, from their cursors
                log.warning("live listener stopped; restarting", extra={"backend": self.backend,
                                                                         "error": type(error).__name__})
            self._ready.clear()
            self.wake_all()
            if self._stop_if_idle():
                return
            time.sleep(1)

    def _listen_redis(self) -> None:
        pubsub = self._redis_client().pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(self._channel)
            self._ready.set()
            while not self._stop_if_idle():
                message = pubsub.get_message(timeout=1.0)
                if message is not None:
                    self.wake(_wakes_from(message["data"]))
        finally:
            pubsub.close()

    def _listen_postgres(self) -> None:
        import psycopg
        from sqlalchemy.engine import make_url

        url = make_url(self._engine_url).set(drivername="postgresql")
        with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            self._ready.set()
            while not self._stop_if_idle():
                for notice in connection.notifies(timeout=1.0):
                    self.wake(_wakes_from(notice.payload))

    def _watch(self) -> None:
        """SQLite: WATCH_INTERVAL apart while anyone waits, read the newest event id when anything was
        committed since the last read (or a waiter saw less); wake whom the new events concern."""
        with self._app.app_context():
            url = db.engines[None].url
        members_between = select(LiveEvent.member_id, LiveEvent.origin, LiveEvent.kind).where(
            LiveEvent.id > bindparam("seen"), LiveEvent.id <= bindparam("newest")).distinct()
        # One connection for the watcher's life, and the newest id read as plain SQL: it runs
        # 20 times a second in every process, so neither a pool checkout nor a compile per read.
        # The connection is its own, outside the requests' pool: asks that wait for the watcher to
        # start hold pooled connections meanwhile, and a burst of them (every tab asking again
        # after a restart) could take the whole pool and keep it from ever starting.
        engine = create_engine(url, poolclass=NullPool)
        with engine.connect() as connection:
            # SQLite's own change counter (PRAGMA data_version: moves when another connection, in
            # any process, commits), asked on the driver's connection: most of the 20 a second find
            # nothing committed, and skipping the reads for them halved an idle server's own CPU.
            driver = connection.connection.driver_connection
            self._ready.set()
            read = None  # (data_version, seen) at the last read
            while not self._stop_if_idle():
                time.sleep(WATCH_INTERVAL)
                with self._lock:
                    if not self._waiters:
                        self._seen = None
                        continue
                    seen = self._seen
                if seen is None:
                    continue
                version = driver.execute("PRAGMA data_version").fetchone()[0]
                if read == (version, seen):
                    continue
                read = (version, seen)
                newest = connection.exec_driver_sql(NEWEST_ID_SQL).scalar() or 0
                rows = connection.execute(members_between, {"seen": seen, "newest": newest}).mappings().all() \
                    if newest > seen else []
                connection.rollback()  # no read transaction held between reads
                if newest <= seen:
                    continue
                with self._lock:  # a waiter that saw less meanwhile keeps the lower mark: read again next time
                    if self._seen == seen:
                        self._seen = newest
                self.wake(_wakes_of(rows))


def backend_for(config) -> str:
    """Which listener wakes this process's waiters: redis, postgresql or sqlite (the watcher)."""
    if str(config.get("RATELIMIT_STORAGE_URI", "")).startswith(("redis://", "rediss://")):
        return "redis"
    if str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("postgresql"):
        return "postgresql"
    return "sqlite"


def init_app(app) -> None:
    """This process's hub (its listener starts with the first waiting request)."""
    app.extensions["wb.live"] = Hub(app)
