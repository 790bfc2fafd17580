"""drafts muted before this release: listed for both members

Muting a draft (an empty conversation, its opener's alone) gave the other member a metadata row
too, so the draft showed in their inbox and API, with when it was opened, its address answered
them, and with the member directory off the opener became visible to them (a re-check tester).
Muting now makes the opener's row alone. The rows already made can't be told apart from the
opener's (the opener may have unmuted since), so, as the migration that brought drafts did, both
rows of every empty conversation listed for both go (wb.messaging.ops.empty_listings): nothing is
lost, and whoever presses "Message" again gets it back as their own draft. Downgrade leaves the
rows as they are: the removed ones held nothing.

Revision ID: c3a7e9b1d5f2
Revises: 666955dfd1c4
Create Date: 2026-12-07 02:20:00

"""
from alembic import op
from flask import current_app

from wb.messaging.ops.empty_listings import remove_listings_of_both


# revision identifiers, used by Alembic.
revision = 'c3a7e9b1d5f2'
down_revision = '666955dfd1c4'
branch_labels = None
depends_on = None


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    remove_listings_of_both(op.get_bind(), current_app.extensions['migrate'].db.engines['messaging'])


def downgrade_():
    pass


def upgrade_messaging():
    pass


def downgrade_messaging():
    pass
