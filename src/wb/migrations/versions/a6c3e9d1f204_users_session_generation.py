"""users: session generation, so signing out ends every copy of a session cookie

Revision ID: a6c3e9d1f204
Revises: 3b1f0c2d9a7e
Create Date: 2026-11-28 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a6c3e9d1f204'
down_revision = '3b1f0c2d9a7e'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))


def downgrade_():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_generation')


def upgrade_messaging():
    pass


def downgrade_messaging():
    pass
