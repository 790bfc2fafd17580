"""email notifications: addresses and preferences, notices, notify runs, the unread clock

Revision ID: e3a91c5d7f20
Revises: e2a9c4b7d1f6
Create Date: 2026-11-29 17:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e3a91c5d7f20'
down_revision = 'e2a9c4b7d1f6'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    op.create_table(
        'email_settings',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=254), nullable=True),
        sa.Column('confirmed_at', sa.DateTime(), nullable=True),
        sa.Column('frequency', sa.String(length=8), server_default='never', nullable=False),
        sa.Column('last_digest_at', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_email_settings_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_email_settings')),
    )
    op.create_table(
        'notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('lease_until', sa.DateTime(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.String(length=64), nullable=True),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notices_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index('ix_notices_status_id', ['status', 'id'], unique=False)
        batch_op.create_index('ix_notices_sent_at', ['sent_at'], unique=False)
        batch_op.create_index('ix_notices_created_at', ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notices_user_id'), ['user_id'], unique=False)
    op.create_table(
        'notify_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('claimed', sa.Integer(), nullable=False),
        sa.Column('sent', sa.Integer(), nullable=False),
        sa.Column('failed', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_runs')),
    )
    with op.batch_alter_table('notify_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notify_runs_started_at'), ['started_at'], unique=False)
    with op.batch_alter_table('conversation_memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unread_since', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_memberships_unread_since', ['unread_since', 'user_id'], unique=False)


def downgrade_():
    with op.batch_alter_table('conversation_memberships', schema=None) as batch_op:
        batch_op.drop_index('ix_memberships_unread_since')
        batch_op.drop_column('unread_since')
    with op.batch_alter_table('notify_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notify_runs_started_at'))
    op.drop_table('notify_runs')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notices_user_id'))
        batch_op.drop_index('ix_notices_created_at')
        batch_op.drop_index('ix_notices_sent_at')
        batch_op.drop_index('ix_notices_status_id')
    op.drop_table('notices')
    op.drop_table('email_settings')


def upgrade_messaging():
    pass


def downgrade_messaging():
    pass
