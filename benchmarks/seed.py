"""Seed a fresh instance with a messaging community at benchmark scale.

Everything goes through the app's own tables (the models' metadata, created by
the app's Alembic migrations), so the app's real queries run against it:
users and conversation_memberships in the main database, conversations and
messages in the messaging database. Rows are written with SQLAlchemy Core
executemany in large batches, with explicit ids so the per-member metadata
(last message, unread count, last read, last activity) can be computed while
generating instead of read back.
"""
from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, text

BATCH = 20_000
PASSWORD = "bench-password"
# The app hashes with scrypt; thousands of seeded members share one cheap hash
# (the method is stored in the hash, so logging in checks it cheaply too).
PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"


@dataclass(frozen=True)
class Scale:
    members: int
    conversations: int
    messages: int
    hubs: int  # members in hundreds of conversations
    hub_conversations: tuple[int, int]
    long_threads: int  # conversations thousands of messages long
    long_thread_messages: tuple[int, int]


SCALES = {
    "small": Scale(1_000, 10_000, 100_000, hubs=10, hub_conversations=(100, 300),
                   long_threads=10, long_thread_messages=(2_000, 3_000)),
    "large": Scale(10_000, 100_000, 1_000_000, hubs=50, hub_conversations=(200, 600),
                   long_threads=50, long_thread_messages=(2_000, 8_000)),
}


@dataclass
class SeedResult:
    """What the load phase needs to know about the seeded community."""

    scale: str
    members: int
    conversations: int
    messages: int
    hub_ids: list[int]
    long_thread_ids: list[int]
    seconds: float = 0.0
    rows: dict = field(default_factory=dict)


class Progress:
    """A one-line progress bar on stderr (rewritten in place when it is a terminal)."""

    def __init__(self, label: str, total: int):
        self.label, self.total, self.done = label, total, 0
        self.started = time.perf_counter()
        self.tty = sys.stderr.isatty()
        self._last_print = 0.0
        self._draw(force=True)

    def advance(self, n: int) -> None:
        self.done += n
        self._draw(force=self.done >= self.total)

    def _draw(self, force=False) -> None:
        now = time.perf_counter()
        if not force and now - self._last_print < (0.2 if self.tty else 5.0):
            return
        self._last_print = now
        share = self.done / self.total if self.total else 1.0
        bar = "#" * int(share * 30)
        line = f"  {self.label:<24} [{bar:<30}] {self.done:>10,}/{self.total:,} {share:6.1%} {now - self.started:6.1f}s"
        if self.tty:
            sys.stderr.write("\r" + line + ("\n" if self.done >= self.total else ""))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()


def _insert(connection, table, rows, progress: Progress) -> None:
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        connection.execute(table.insert(), chunk)
        progress.advance(len(chunk))


def _conversation_pairs(scale: Scale, rng: random.Random) -> list[tuple[int, int]]:
    """Unique (low, high) member pairs: hubs with hundreds, everyone else a skewed few."""
    pairs: set[tuple[int, int]] = set()
    members = scale.members
    hubs = list(range(1, scale.hubs + 1))

    def add(a, b):
        if a != b:
            pairs.add((a, b) if a < b else (b, a))

    for hub in hubs:
        want = rng.randint(*scale.hub_conversations)
        while want > 0:
            before = len(pairs)
            add(hub, rng.randint(1, members))
            want -= len(pairs) - before
    # The rest: both ends drawn with a mild skew (some members far busier than others).
    while len(pairs) < scale.conversations:
        a = int(members * rng.random() ** 1.6) + 1
        b = rng.randint(1, members)
        add(min(a, members), b)
    ordered = list(pairs)
    rng.shuffle(ordered)
    return ordered[: scale.conversations]


def _message_counts(scale: Scale, conversations: int, rng: random.Random) -> tuple[list[int], list[int]]:
    """Messages per conversation (every one at least one) and which conversations are long threads."""
    long_ids = rng.sample(range(conversations), scale.long_threads)
    counts = [1] * conversations
    for index in long_ids:
        counts[index] = rng.randint(*scale.long_thread_messages)
    remaining = scale.messages - sum(counts)
    if remaining < 0:
        raise ValueError("long threads alone exceed the message total")
    # Spread the rest with a heavy-ish tail: a few busy conversations, most short.
    weights = [rng.paretovariate(1.5) for _ in range(conversations)]
    for index in long_ids:
        weights[index] = 0.0
    total_weight = sum(weights)
    extra = [int(remaining * w / total_weight) for w in weights]
    # Hand the rounding remainder out one by one to random short conversations.
    leftover = remaining - sum(extra)
    while leftover > 0:
        index = rng.randrange(conversations)
        if weights[index]:
            extra[index] += 1
            leftover -= 1
    return [c + e for c, e in zip(counts, extra)], long_ids


WORDS = (
    "thanks could you pick up the groceries tomorrow morning i can drop off soup later this week "
    "my car is free on saturday if anyone needs a ride to the clinic we have spare blankets and a "
    "heater happy to help with the move let me know what time works best see you at the community "
    "garden bring gloves the pharmacy closes at six i will text when i am outside great news she is "
    "feeling much better"
).split()


def _bodies(rng: random.Random, n: int) -> list[str]:
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 40))).capitalize() + "." for _ in range(n)]


def seed(app, scale_name: str, rng_seed: int = 6) -> SeedResult:
    """Fill the app's (freshly migrated, empty) databases at the given scale."""
    from werkzeug.security import generate_password_hash

    from wb.extensions import db
    from wb.messaging.models import Conversation, ConversationMembership, Message
    from wb.models import User

    scale = SCALES[scale_name]
    rng = random.Random(rng_seed)
    started = time.perf_counter()
    end = datetime(2025, 11, 1, 12, 0, 0)
    begin = end - timedelta(days=365)

    with app.app_context():
        main_engine = db.engines[None]
        messaging_engine = db.engines["messaging"]
        password_hash = generate_password_hash(PASSWORD, method=PASSWORD_HASH_METHOD)

        # --- members -------------------------------------------------------------
        users = [
            {
                "id": i, "username": f"member{i:05d}", "display_name": f"Member {i}", "bio": "",
                "password_hash": password_hash, "role": "member", "status": "active",
                "invited_by_id": None, "created_at": begin - timedelta(days=30), "deleted_at": None,
            }
            for i in range(1, scale.members + 1)
        ]
        with main_engine.begin() as connection:
            _insert(connection, User.__table__, users, Progress("members", len(users)))
        del users

        # --- conversations ---------------------------------------------------------
        pairs = _conversation_pairs(scale, rng)
        counts, long_indexes = _message_counts(scale, len(pairs), rng)

        # One global timeline: message ids rise with time, conversations interleave.
        owner = [index for index, count in enumerate(counts) for _ in range(count)]
        rng.shuffle(owner)
        step = (end - begin) / len(owner)

        first_at: list[datetime | None] = [None] * len(pairs)
        conversation_rows = []  # filled after messages so created_at precedes the first message
        body_pool = _bodies(rng, 5_000)
        message_rows = []
        # Per conversation, the message ids in order with their senders (for metadata).
        per_conversation: list[list[tuple[int, int, bool]]] = [[] for _ in pairs]
        for position, index in enumerate(owner):
            message_id = position + 1
            low, high = pairs[index]
            sender = low if rng.random() < 0.5 else high
            created_at = begin + step * position
            deleted = rng.random() < 0.005
            if first_at[index] is None:
                first_at[index] = created_at
            message_rows.append(
                {
                    "id": message_id, "conversation_id": index + 1, "sender_id": sender,
                    "body": body_pool[message_id % len(body_pool)], "created_at": created_at,
                    "deleted_at": created_at + timedelta(minutes=5) if deleted else None,
                    "hidden_for_low": False, "hidden_for_high": False,
                }
            )
            per_conversation[index].append((message_id, sender, deleted))
        del owner

        for index, (low, high) in enumerate(pairs):
            conversation_rows.append(
                {"id": index + 1, "user_low_id": low, "user_high_id": high,
                 "created_at": first_at[index] - timedelta(minutes=1)}
            )
        with messaging_engine.begin() as connection:
            _insert(connection, Conversation.__table__, conversation_rows, Progress("conversations", len(conversation_rows)))
        with messaging_engine.begin() as connection:
            _insert(connection, Message.__table__, message_rows, Progress("messages", len(message_rows)))
        last_created = [message_rows[thread[-1][0] - 1]["created_at"] for thread in per_conversation]
        del message_rows

        # --- per-member metadata in the main database -------------------------------
        memberships = []
        for index, (low, high) in enumerate(pairs):
            thread = per_conversation[index]
            last_id, last_sender, _ = thread[-1]
            for member, other in ((low, high), (high, low)):
                last_read = _last_read(thread, member, last_sender, rng)
                unread = sum(1 for mid, sender, deleted in thread if mid > (last_read or 0) and sender != member and not deleted)
                memberships.append(
                    {
                        "user_id": member, "conversation_id": index + 1, "other_user_id": other,
                        "last_activity_at": last_created[index], "last_message_id": last_id,
                        "unread_count": unread, "last_read_message_id": last_read, "hidden": False,
                    }
                )
        with main_engine.begin() as connection:
            _insert(connection, ConversationMembership.__table__, memberships, Progress("memberships", len(memberships)))

        _after_bulk_load(main_engine, messaging_engine)
        with messaging_engine.connect() as connection:
            stored = connection.execute(select(func.count()).select_from(Message.__table__)).scalar()

    return SeedResult(
        scale=scale_name,
        members=scale.members,
        conversations=len(pairs),
        messages=stored,
        hub_ids=list(range(1, scale.hubs + 1)),
        long_thread_ids=[index + 1 for index in long_indexes],
        seconds=round(time.perf_counter() - started, 1),
        rows={"memberships": len(memberships)},
    )


def _last_read(thread, member, last_sender, rng) -> int | None:
    """Where this member stopped reading: everything if they wrote last, otherwise usually everything."""
    last_id = thread[-1][0]
    if last_sender == member or rng.random() < 0.7:
        return last_id
    back = rng.randint(1, min(5, len(thread)))
    if back >= len(thread):
        return None
    return thread[-1 - back][0]


def _after_bulk_load(main_engine, messaging_engine) -> None:
    """PostgreSQL: move the id sequences past the explicit ids and analyze (as autovacuum would)."""
    for engine, tables in (
        (main_engine, ("users", "conversation_memberships")),
        (messaging_engine, ("conversations", "messages")),
    ):
        if engine.dialect.name != "postgresql":
            continue
        with engine.begin() as connection:
            for table in tables:
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                    )
                )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
