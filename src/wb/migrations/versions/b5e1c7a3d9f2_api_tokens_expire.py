"""api_tokens: expires_at, so a personal access token can stop working on a day its owner chose

Tokens made before keep working: NULL means never expires.

Revision ID: b5e1c7a3d9f2
Revises: a7c3e5f9b2d1
Create Date: 2026-12-07 16:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b5e1c7a3d9f2'
down_revision = 'a7c3e5f9b2d1'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))


def downgrade_():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')


def upgrade_messaging():
    pass


def downgrade_messaging():
    pass
