"""Empty conversations listed for both members: a migration's cleanup (an empty conversation is
its opener's draft, listed for nobody else).

Who opened an empty conversation listed for both can't be known from what is stored (see the
migrations that call this), so neither listing is kept: it holds nothing, so nothing is lost; the
pair's conversation row stays (one per pair), and whoever presses "Message" again gets it back as
their own draft. Empty means no message row in the messaging database (message rows are never
deleted; a deleted or purged message keeps its row), checked there because the metadata may lag a send.
"""
from __future__ import annotations

import sqlalchemy as sa

CHUNK = 500  # ids per IN list: well under SQLite's bound-parameter limit

memberships = sa.table(
    'conversation_memberships',
    sa.column('conversation_id', sa.Integer()),
    sa.column('last_message_id', sa.BigInteger()),
)
messages = sa.table('messages', sa.column('conversation_id', sa.Integer()))


def remove_listings_of_both(main, messaging_engine) -> int:
    """Delete both metadata rows of every conversation that has two and no message (main: a
    connection to the main database). Returns how many conversations lost their rows."""
    candidates = sorted(main.scalars(
        sa.select(memberships.c.conversation_id)
        .group_by(memberships.c.conversation_id)
        .having(sa.func.count() == 2, sa.func.max(memberships.c.last_message_id).is_(None))
    ))
    if not candidates:
        return 0
    empty = sorted(set(candidates) - _with_messages(messaging_engine, candidates))
    for start in range(0, len(empty), CHUNK):
        main.execute(memberships.delete().where(memberships.c.conversation_id.in_(empty[start:start + CHUNK])))
    return len(empty)


def _with_messages(engine, conversation_ids) -> set:
    """Which of these conversations have a message, asked of the messaging database; none when it
    has no messages table."""
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table('messages'):
            return set()
        found = set()
        for start in range(0, len(conversation_ids), CHUNK):
            chunk = conversation_ids[start:start + CHUNK]
            found |= set(connection.scalars(
                sa.select(messages.c.conversation_id).distinct().where(messages.c.conversation_id.in_(chunk))))
        return found
