"""memberships: index for the unread badge

Revision ID: 3b1f0c2d9a7e
Revises: 6194763d0d99
Create Date: 2026-11-21 15:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '3b1f0c2d9a7e'
down_revision = '6194763d0d99'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    with op.batch_alter_table('conversation_memberships', schema=None) as batch_op:
        batch_op.create_index('ix_memberships_unread', ['user_id', 'hidden', 'unread_count', 'other_user_id'], unique=False)


def downgrade_():
    with op.batch_alter_table('conversation_memberships', schema=None) as batch_op:
        batch_op.drop_index('ix_memberships_unread')


def upgrade_messaging():
    pass


def downgrade_messaging():
    pass
