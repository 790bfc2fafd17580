"""messages.kept_for_recipient: a message its sender deleted while the other member keeps their copy

A sender's "Delete for both" of a message to a member who blocked or reported them deletes it for
the sender only (conversations.KEPT_COPY). Such a row was told apart by its data alone: its text
kept and deleted_at stamped with created_at, the moment it was sent, which no other delete wrote.
It is now a column of its own, and deleted_at says when the sender deleted it.

Existing rows marked the old way are marked in the column (deleted_at stays as it was: when the
delete happened is not known). A restore of an older backup runs this too (ops/database.ensure_schema).
A plain ALTER TABLE on both databases: SQLite adds (and, from 3.35, drops) a column in place, so
the table keeps its AUTOINCREMENT and highest id handed out (e6c2a8f4b1d3) without a rebuild.
Downgrading stamps kept copies the old way again before dropping the column, so the code before
this revision still keeps them for their keepers (their deletion time is lost).

Revision ID: f2c8a6d4e1b9
Revises: c5d1e8a3f7b9
Create Date: 2026-12-07 16:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f2c8a6d4e1b9'
down_revision = 'c5d1e8a3f7b9'
branch_labels = None
depends_on = None

messages = sa.table(
    'messages',
    sa.column('body', sa.Text()),
    sa.column('created_at', sa.DateTime()),
    sa.column('deleted_at', sa.DateTime()),
    sa.column('kept_for_recipient', sa.Boolean()),
)


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    pass


def downgrade_():
    pass


def upgrade_messaging():
    op.add_column('messages', sa.Column('kept_for_recipient', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(messages.update()
               .where(messages.c.deleted_at == messages.c.created_at, messages.c.body != '')
               .values(kept_for_recipient=True))


def downgrade_messaging():
    op.execute(messages.update()
               .where(messages.c.kept_for_recipient.is_(True), messages.c.body != '')
               .values(deleted_at=messages.c.created_at))
    op.drop_column('messages', 'kept_for_recipient')
