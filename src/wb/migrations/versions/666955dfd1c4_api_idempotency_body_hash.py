"""api_idempotency_keys: body_hash, so a key reused for other text is refused after its message was deleted

Keys claimed before have none (NULL) and are compared with the message's text as before; they are
gone within a day.

Revision ID: 666955dfd1c4
Revises: b5e1c7a3d9f2
Create Date: 2026-12-08 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '666955dfd1c4'
down_revision = 'b5e1c7a3d9f2'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    with op.batch_alter_table('api_idempotency_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_hash', sa.String(length=64), nullable=True))


def downgrade_():
    with op.batch_alter_table('api_idempotency_keys', schema=None) as batch_op:
        batch_op.drop_column('body_hash')


def upgrade_messaging():
    pass


def downgrade_messaging():
    pass
