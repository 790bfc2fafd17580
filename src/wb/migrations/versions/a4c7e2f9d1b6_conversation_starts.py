"""conversation_starts: a conversation's start is counted once, before its first message is stored

Its first message was stored, then the day's count of new conversations taken, and the message
deleted again when the count refused it. A second message sent at that moment found the first one
stored, went on as a reply, and stayed when the first was deleted: a conversation started with no
count, and five a day became eight (a re-check tester). The start is now claimed in this table,
one row a conversation, and counted before anything is stored.

Revision ID: a4c7e2f9d1b6
Revises: d3b8f1a6c4e9
Create Date: 2026-12-07 11:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a4c7e2f9d1b6'
down_revision = 'd3b8f1a6c4e9'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    op.create_table(
        'conversation_starts',
        sa.Column('conversation_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('counted', sa.Boolean(), nullable=False),
        sa.Column('claimed_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('conversation_id', name=op.f('pk_conversation_starts')),
    )


def downgrade_():
    op.drop_table('conversation_starts')


def upgrade_messaging():
    pass


def downgrade_messaging():
    pass
