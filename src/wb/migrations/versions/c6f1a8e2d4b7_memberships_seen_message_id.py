"""conversation_memberships.seen_message_id: how far a member has read, as far as they shared it

"Seen" shows the other member this marker, not last_read_message_id: reads made while the member's
read receipts were off don't move it, so turning them back on doesn't tell what was read meanwhile.
Members with read receipts on start from where they have read.

Revision ID: c6f1a8e2d4b7
Revises: b9e3d5a7c2f4
Create Date: 2026-12-05 17:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c6f1a8e2d4b7'
down_revision = 'b9e3d5a7c2f4'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    with op.batch_alter_table('conversation_memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seen_message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                                      nullable=True))
    op.execute(
        "UPDATE conversation_memberships SET seen_message_id = last_read_message_id"
        " WHERE user_id IN (SELECT id FROM users WHERE read_receipts)"
    )


def downgrade_():
    with op.batch_alter_table('conversation_memberships', schema=None) as batch_op:
        batch_op.drop_column('seen_message_id')


def upgrade_messaging():
    pass


def downgrade_messaging():
    pass
