"""each community has an id of its own, in the main database and in the messaging database

A restore compared only the member ids a backup's conversations named, and those start at 1 in
every community: another community's backup was accepted (an outside tester). Both databases now
carry the community's id (a random one, drawn and written by messaging/ops/identity.py the first
time it is needed), and a restore refuses a backup that carries another.

Revision ID: d2f7a4c9e1b5
Revises: c8d4e2f6a1b7
Create Date: 2026-12-06 15:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd2f7a4c9e1b5'
down_revision = 'c8d4e2f6a1b7'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def _create_community_table():
    # On PostgreSQL a restore (pg_restore --clean) of a dump from before this revision drops only
    # the tables the dump holds: this one stays, and the upgrade after the restore finds it.
    if sa.inspect(op.get_bind()).has_table('community'):
        return
    op.create_table(
        'community',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('community_id', sa.String(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_community_one_row')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_community')),
    )


def upgrade_():
    _create_community_table()


def downgrade_():
    op.drop_table('community')


def upgrade_messaging():
    _create_community_table()


def downgrade_messaging():
    op.drop_table('community')
