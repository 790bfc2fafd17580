"""live_events: what changed for whom, the tabs' live channel reads it by cursor

Revision ID: f7b2d9e4c1a8
Revises: f5b2d8e4a917
Create Date: 2026-12-03 18:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f7b2d9e4c1a8'
down_revision = 'f5b2d8e4a917'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    big = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
    op.create_table(
        'live_events',
        sa.Column('id', big, nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=True),
        sa.Column('message_id', big, nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_live_events')),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table('live_events', schema=None) as batch_op:
        batch_op.create_index('ix_live_events_member', ['member_id', 'id'], unique=False)
        batch_op.create_index('ix_live_events_created', ['created_at'], unique=False)


def downgrade_():
    op.drop_table('live_events')


def upgrade_messaging():
    pass


def downgrade_messaging():
    pass
