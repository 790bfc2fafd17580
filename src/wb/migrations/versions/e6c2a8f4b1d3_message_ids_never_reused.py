"""message ids are never handed out twice, on SQLite too

A message's id is an API client's cursor (`?after=<id>`) and a thread's live cursor. PostgreSQL
takes ids from a sequence, which never goes back. SQLite, without AUTOINCREMENT, gives a new row
the highest id in the table plus one: after a restore from a backup, the messages written since
that backup are gone and their ids were handed out again, so a client that had seen them skipped
the new ones. With AUTOINCREMENT SQLite keeps the highest id it ever gave in sqlite_sequence, and
a restore sets that past what the instance had handed out (ops/restore.py).

SQLite can't change a table's kind in place: the table is rebuilt (batch mode copies every row,
its indexes and its foreign key). Nothing references messages, so dropping the old table cascades
to nothing. Conversations stay as they are: rebuilding them would, with foreign keys on, cascade
the old table's drop to every message. Other databases have nothing to do.

Revision ID: e6c2a8f4b1d3
Revises: d8f3b6a1c5e2
Create Date: 2026-12-06 03:20:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e6c2a8f4b1d3'
down_revision = 'd8f3b6a1c5e2'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    pass


def downgrade_():
    pass


def _rebuild_messages(autoincrement):
    if op.get_bind().dialect.name != 'sqlite':
        return
    with op.batch_alter_table('messages', recreate='always',
                              table_kwargs={'sqlite_autoincrement': autoincrement}):
        pass


def upgrade_messaging():
    _rebuild_messages(True)


def downgrade_messaging():
    _rebuild_messages(False)
