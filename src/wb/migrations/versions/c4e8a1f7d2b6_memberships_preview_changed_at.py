"""memberships: preview_changed_at, for the inbox list's version

Revision ID: c4e8a1f7d2b6
Revises: c4e8a1f7d932
Create Date: 2026-11-29 17:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e8a1f7d2b6'
down_revision = 'c4e8a1f7d932'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    with op.batch_alter_table('conversation_memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('preview_changed_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_memberships_preview_changed', ['user_id', 'hidden', 'preview_changed_at'], unique=False)


def downgrade_():
    with op.batch_alter_table('conversation_memberships', schema=None) as batch_op:
        batch_op.drop_index('ix_memberships_preview_changed')
        batch_op.drop_column('preview_changed_at')


def upgrade_messaging():
    pass


def downgrade_messaging():
    pass
