"""an admin's invite may add newcomers to a circle

A street's newcomer, under "reach: members who share a circle", could write to nobody but the
admins until an admin found Admin → Circles and typed their username there, and nothing told
the admin anyone had joined (an outside tester). An invite now names the circle its newcomers
join (or none); deleting the circle leaves the invite without one.

Revision ID: b3e7a9c2d4f6
Revises: e6c2a8f4b1d3
Create Date: 2026-12-06 06:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b3e7a9c2d4f6'
down_revision = 'e6c2a8f4b1d3'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('circle_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_invites_circle_id_circles', 'circles', ['circle_id'], ['id'], ondelete='SET NULL')


def downgrade_():
    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.drop_constraint('fk_invites_circle_id_circles', type_='foreignkey')
        batch_op.drop_column('circle_id')


def upgrade_messaging():
    pass


def downgrade_messaging():
    pass
