"""circles, circle members, messaging rules, and each member's "who can start a conversation with me"

Revision ID: c4e8a1f7d932
Revises: b7d4f0e2a315
Create Date: 2026-11-29 17:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e8a1f7d932'
down_revision = 'b7d4f0e2a315'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    op.create_table(
        'circles',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('name_key', sa.String(length=60), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_circles')),
        sa.UniqueConstraint('name_key', name=op.f('uq_circles_name_key')),
    )
    op.create_table(
        'circle_members',
        sa.Column('circle_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('added_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['circle_id'], ['circles.id'], name=op.f('fk_circle_members_circle_id_circles'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_circle_members_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('circle_id', 'user_id', name=op.f('pk_circle_members')),
    )
    with op.batch_alter_table('circle_members', schema=None) as batch_op:
        batch_op.create_index('ix_circle_members_user_id', ['user_id'], unique=False)
    op.create_table(
        'messaging_rules',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('value', sa.String(length=1000), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_messaging_rules_updated_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_messaging_rules')),
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_from', sa.String(length=16), server_default='rules', nullable=False))


def downgrade_():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('message_from')
    op.drop_table('messaging_rules')
    with op.batch_alter_table('circle_members', schema=None) as batch_op:
        batch_op.drop_index('ix_circle_members_user_id')
    op.drop_table('circle_members')
    op.drop_table('circles')


def upgrade_messaging():
    pass


def downgrade_messaging():
    pass
