"""a member whose chosen name another member already went by is shown with their @username

With the member directory off a display name is refused only when someone the member sees goes by
it (refusing any name told a practice's client who the other clients were). A client then took
another client's name, and a therapist's inbox listed both alike (an outside tester). The name
chosen second is marked, and shown to others with its @username.

Revision ID: c8d4e2f6a1b7
Revises: b3e7a9c2d4f6
Create Date: 2026-12-06 09:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c8d4e2f6a1b7'
down_revision = 'b3e7a9c2d4f6'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


# Plain ALTER TABLE, not a batch: on SQLite a batch that drops a column copies the users table
# into a new one, and dropping the old one deleted every row that refers to a member with
# ON DELETE CASCADE (conversation memberships among them), since foreign keys are enforced.
def upgrade_():
    op.add_column('users', sa.Column('name_shared', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade_():
    op.drop_column('users', 'name_shared')


def upgrade_messaging():
    pass


def downgrade_messaging():
    pass
