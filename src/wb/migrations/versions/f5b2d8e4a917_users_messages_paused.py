"""each member's own "Pause messages" setting

Revision ID: f5b2d8e4a917
Revises: f5b2d8c14e93
Create Date: 2026-12-03 18:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f5b2d8e4a917'
down_revision = 'f5b2d8c14e93'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('messages_paused', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade_():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('messages_paused')


def upgrade_messaging():
    pass


def downgrade_messaging():
    pass
