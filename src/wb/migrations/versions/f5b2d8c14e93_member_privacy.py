"""members' privacy choices: read receipts (users.read_receipts), muted conversations (memberships.muted)

Revision ID: f5b2d8c14e93
Revises: f5b2d8e4c1a9
Create Date: 2026-12-03 18:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f5b2d8c14e93'
down_revision = 'f5b2d8e4c1a9'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('read_receipts', sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table('conversation_memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('muted', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade_():
    with op.batch_alter_table('conversation_memberships', schema=None) as batch_op:
        batch_op.drop_column('muted')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('read_receipts')


def upgrade_messaging():
    pass


def downgrade_messaging():
    pass
