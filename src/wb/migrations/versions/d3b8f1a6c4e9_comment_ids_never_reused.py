"""comment ids are never handed out twice, on SQLite too

A comment's link is /requests/<id>#comment-<comment id>, and removing one goes to
/requests/<id>/comments/<comment id>/remove. SQLite, without AUTOINCREMENT, gives a new row the
highest id in the table plus one, so removing the newest comment handed its id to the next one:
the old link, and a confirmation page still open for the removed comment, then pointed at the new
comment, another member's maybe (an outside tester). PostgreSQL takes ids from a sequence and never
did. With AUTOINCREMENT SQLite keeps the highest id it ever gave in sqlite_sequence: copying the
rows into the rebuilt table sets it to the highest id there now. A comment removed before this
migration, when it held the highest id, left no trace to learn that id from: the next comment after
the upgrade gets it once more.

SQLite can't change a table's kind in place: the table is rebuilt (batch mode copies every row,
its index and its foreign keys). Nothing references comments, so dropping the old table cascades
to nothing. Other databases have nothing to do.

Revision ID: d3b8f1a6c4e9
Revises: 69eb2cbb98d7
Create Date: 2026-12-08 15:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd3b8f1a6c4e9'
down_revision = '69eb2cbb98d7'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def _rebuild_comments(autoincrement):
    if op.get_bind().dialect.name != 'sqlite':
        return
    with op.batch_alter_table('comments', recreate='always',
                              table_kwargs={'sqlite_autoincrement': autoincrement}):
        pass


def upgrade_():
    _rebuild_comments(True)


def downgrade_():
    _rebuild_comments(False)


def upgrade_messaging():
    pass


def downgrade_messaging():
    pass
