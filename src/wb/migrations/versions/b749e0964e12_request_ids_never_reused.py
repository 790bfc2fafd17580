"""request ids are never handed out twice, on SQLite too

A request's address (/requests/<id>) is pasted in messages and bookmarked. SQLite, without
AUTOINCREMENT, gives a new row the highest id in the table plus one, so removing the newest request
handed its id to the next one, and the old link opened another member's request (an outside
tester). PostgreSQL takes ids from a sequence and never did. With AUTOINCREMENT SQLite keeps the
highest id it ever gave in sqlite_sequence: copying the rows into the rebuilt table sets it to the
highest id there now. A request removed before this migration, when it held the highest id, left
no trace to learn that id from: the next request after the upgrade gets it once more.

SQLite can't change a table's kind in place: the table is rebuilt (batch mode copies every row,
its indexes and its foreign key). Comments reference help_requests ON DELETE CASCADE, and with
foreign keys on (wb.database) dropping the old table deletes its rows first, every comment with
them; the pragma can't be turned off inside the migration's transaction. So the comments are kept
aside in a temporary table and put back, ids and all. Nothing else references help_requests.
Other databases have nothing to do.

Revision ID: b749e0964e12
Revises: c3a7e9b1d5f2
Create Date: 2026-12-07 04:10:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b749e0964e12'
down_revision = 'c3a7e9b1d5f2'
branch_labels = None
depends_on = None

COMMENT_COLUMNS = 'id, request_id, author_id, body, created_at'


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def _rebuild_help_requests(autoincrement):
    if op.get_bind().dialect.name != 'sqlite':
        return
    # Columns without a type store every value exactly as it was.
    op.execute(f'CREATE TEMP TABLE wb_comments_kept ({COMMENT_COLUMNS})')
    op.execute(f'INSERT INTO wb_comments_kept SELECT {COMMENT_COLUMNS} FROM comments')
    with op.batch_alter_table('help_requests', recreate='always',
                              table_kwargs={'sqlite_autoincrement': autoincrement}):
        pass
    # Only those the drop took: with foreign keys off (another connection's settings) it takes none.
    op.execute(f'INSERT INTO comments ({COMMENT_COLUMNS}) SELECT {COMMENT_COLUMNS} FROM wb_comments_kept '
               'WHERE id NOT IN (SELECT id FROM comments)')
    op.execute('DROP TABLE wb_comments_kept')


def upgrade_():
    _rebuild_help_requests(True)


def downgrade_():
    _rebuild_help_requests(False)


def upgrade_messaging():
    pass


def downgrade_messaging():
    pass
