"""a member's email naming choice may be unmade: it then follows the community's switch

Revision ID: b7e3d1f9a2c4
Revises: f2c8a6d4e1b9
Create Date: 2026-12-07 19:55:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e3d1f9a2c4'
down_revision = 'f2c8a6d4e1b9'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    # Every stored setting keeps what it says (named, or not); only rows made from now on may be unmade (NULL).
    with op.batch_alter_table('email_settings', schema=None) as batch_op:
        batch_op.alter_column('name_writers', existing_type=sa.Boolean(), nullable=True, server_default=None)


def downgrade_():
    # An unmade choice read as the switch's default (named), as before.
    op.execute("UPDATE email_settings SET name_writers = true WHERE name_writers IS NULL")
    with op.batch_alter_table('email_settings', schema=None) as batch_op:
        batch_op.alter_column('name_writers', existing_type=sa.Boolean(), nullable=False, server_default=sa.true())


def upgrade_messaging():
    pass


def downgrade_messaging():
    pass
