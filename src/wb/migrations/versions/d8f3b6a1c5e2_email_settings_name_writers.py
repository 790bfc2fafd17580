"""each member's choice whether notification emails name who wrote

Revision ID: d8f3b6a1c5e2
Revises: c6f1a8e2d4b7
Create Date: 2026-12-05 19:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd8f3b6a1c5e2'
down_revision = 'c6f1a8e2d4b7'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    # Existing members keep the emails they had: named.
    with op.batch_alter_table('email_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_writers', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade_():
    with op.batch_alter_table('email_settings', schema=None) as batch_op:
        batch_op.drop_column('name_writers')


def upgrade_messaging():
    pass


def downgrade_messaging():
    pass
