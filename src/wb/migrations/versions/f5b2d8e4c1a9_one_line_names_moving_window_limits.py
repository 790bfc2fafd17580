"""names on one line; rate_limit_entries: moving-window rate limits

Display names and token names stored before names had to be one line are folded: each line
break, control character or direction control becomes a space (an emptied display name falls
back to the username, as an empty one always has). Circle names were always folded on one line.

Revision ID: f5b2d8e4c1a9
Revises: e3a91c5d7f20
Create Date: 2026-12-03 18:30:00

"""
from alembic import op
import sqlalchemy as sa

from wb.text import one_line


# revision identifiers, used by Alembic.
revision = 'f5b2d8e4c1a9'
down_revision = 'e3a91c5d7f20'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    op.create_table(
        'rate_limit_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('at', sa.Float(), nullable=False),
        sa.Column('expires_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rate_limit_entries')),
    )
    with op.batch_alter_table('rate_limit_entries', schema=None) as batch_op:
        batch_op.create_index('ix_rate_limit_entries_key_at', ['key', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_rate_limit_entries_expires_at'), ['expires_at'], unique=False)
    _fold('users', 'display_name', fallback='username')
    _fold('api_tokens', 'name')


def _fold(table_name, column, fallback=None):
    """Every stored value of table.column on one line (one_line), row by row: few rows change."""
    connection = op.get_bind()
    table = sa.table(table_name, sa.column('id'), sa.column(column), *([sa.column(fallback)] if fallback else []))
    for row in connection.execute(sa.select(table)).mappings():
        folded = one_line(row[column])
        if folded != (row[column] or ""):
            value = folded or (row[fallback] if fallback else "-")
            connection.execute(sa.update(table).where(table.c.id == row['id']).values({column: value}))


def downgrade_():
    with op.batch_alter_table('rate_limit_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_limit_entries_expires_at'))
        batch_op.drop_index('ix_rate_limit_entries_key_at')
    op.drop_table('rate_limit_entries')


def upgrade_messaging():
    pass


def downgrade_messaging():
    pass
