"""live_events.seq: each member's events numbered 1, 2, 3..., which is what a tab's cursor counts

A tab's cursor was a live_events id, counted over the whole community: how far it jumped between
two of a member's own changes told how many events everyone else caused meanwhile (sends, reads,
mutes), enough to tell a block from a pause. Each member's events (and everyone's, member 0) are
now numbered in id order, and a cursor counts only those (messaging/live.py, cursor_for).

Existing events are numbered in id order. The unique index on (member_id, seq) serves every read
the member index served (each member's newest, their events after a cursor), so it replaces it.
SQLite can't make a column NOT NULL in place: the table is rebuilt (batch mode copies every row),
AUTOINCREMENT kept, and the highest id ever handed out (sqlite_sequence) put back, so no id is
handed out twice. On PostgreSQL, live_events_newest_seq reads a member's newest seq with a fresh
snapshot (a VOLATILE function): the statement that records events takes the order lock while it
runs, after its own snapshot was taken, so a max() of its own would miss the events committed by
the writer it waited for and number the same seq again.

Revision ID: c5d1e8a3f7b9
Revises: a4c7e2f9d1b6
Create Date: 2026-12-08 18:00:00

"""
from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c5d1e8a3f7b9'
down_revision = 'a4c7e2f9d1b6'
branch_labels = None
depends_on = None

NUMBER_EVENTS = (
    "UPDATE live_events SET seq = numbered.seq FROM"
    " (SELECT id, row_number() OVER (PARTITION BY member_id ORDER BY id) AS seq FROM live_events) AS numbered"
    " WHERE numbered.id = live_events.id"
)
NEWEST_SEQ_FUNCTION = (
    "CREATE FUNCTION live_events_newest_seq(member integer) RETURNS bigint LANGUAGE sql VOLATILE"
    " AS $$ SELECT coalesce(max(seq), 0) FROM live_events WHERE member_id = member $$"
)


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    op.add_column('live_events', sa.Column('seq', sa.BigInteger(), nullable=True))
    op.execute(NUMBER_EVENTS)
    with _altering_live_events() as batch_op:
        batch_op.alter_column('seq', existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_index('ix_live_events_member')
        batch_op.create_index('uq_live_events_member_seq', ['member_id', 'seq'], unique=True)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(NEWEST_SEQ_FUNCTION)


def downgrade_():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP FUNCTION live_events_newest_seq(integer)")
    with _altering_live_events() as batch_op:
        batch_op.drop_index('uq_live_events_member_seq')
        batch_op.create_index('ix_live_events_member', ['member_id', 'id'], unique=False)
        batch_op.drop_column('seq')


@contextmanager
def _altering_live_events():
    """batch_alter_table for live_events; on SQLite (a rebuild) keeping AUTOINCREMENT and the
    highest id handed out, which copying the rows would lower to the highest id kept."""
    sqlite = op.get_bind().dialect.name == 'sqlite'
    highest = _highest_id_handed_out() if sqlite else 0
    with op.batch_alter_table('live_events', table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        yield batch_op
    if sqlite:
        highest = max(highest, _highest_id_handed_out())
        op.execute("DELETE FROM sqlite_sequence WHERE name = 'live_events'")
        op.get_bind().execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('live_events', :seq)"),
                              {"seq": highest})


def _highest_id_handed_out():
    bind = op.get_bind()
    return bind.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'live_events'")).scalar() or 0


def upgrade_messaging():
    pass


def downgrade_messaging():
    pass
