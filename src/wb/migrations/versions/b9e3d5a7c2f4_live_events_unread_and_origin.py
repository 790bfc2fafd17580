"""live_events: whether a change may move the member's unread count, and the tab that made it

A tab skips the live events its own request made (its answer already refreshed what changed),
and fetches the badge only for events that may change the member's unread count.

Revision ID: b9e3d5a7c2f4
Revises: a4d8c2e6f1b3
Create Date: 2026-12-03 22:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b9e3d5a7c2f4'
down_revision = 'a4d8c2e6f1b3'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    with op.batch_alter_table('live_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unread', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('origin', sa.String(length=32), nullable=True))


def downgrade_():
    with op.batch_alter_table('live_events', schema=None) as batch_op:
        batch_op.drop_column('origin')
        batch_op.drop_column('unread')


def upgrade_messaging():
    pass


def downgrade_messaging():
    pass
