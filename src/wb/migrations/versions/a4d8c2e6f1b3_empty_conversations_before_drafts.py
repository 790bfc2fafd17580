"""empty conversations opened before drafts: nobody keeps a listing of them

Before drafts, pressing "Message" gave both members a metadata row at once, so an
empty conversation sat in the other member's inbox (list, badge, API, search,
notifications). Now an empty conversation is its opener's draft: only the opener
has a row until the first message.

Who opened one of those old empty conversations can't be known from what is
stored: both rows were inserted in the same request, always the lower user id
first, with the same last_activity_at (the conversation's created_at); the
conversation row has no opener column; the "conversation.created" audit line
went to the log, not to a database. Keeping the first row would keep it for the
member with the lower id, the other member half of the time: the very bug.
So the safe choice is neither: both rows of an empty conversation go. It holds
nothing, so nothing is lost; the pair's conversation row stays (one per pair),
and whichever member presses "Message" again gets it back as their own draft.

Empty means no message row in the messaging database (message rows are never
deleted; a deleted or purged message keeps its row), checked there because the
metadata may lag a send. A pair who both pressed "Message" after the drafts
change also has two rows of an empty conversation; that state looks the same
and gets the same treatment (each loses an empty listing, nothing else).
Downgrade leaves the rows as they are: the removed ones held nothing.

Revision ID: a4d8c2e6f1b3
Revises: f7b2d9e4c1a8
Create Date: 2026-12-03 21:50:00

"""
from alembic import op
from flask import current_app

from wb.messaging.ops.empty_listings import remove_listings_of_both


# revision identifiers, used by Alembic.
revision = 'a4d8c2e6f1b3'
down_revision = 'f7b2d9e4c1a8'
branch_labels = None
depends_on = None

def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def upgrade_():
    # Both members hold a row and no message exists: both rows go (wb.messaging.ops.empty_listings).
    remove_listings_of_both(op.get_bind(), current_app.extensions['migrate'].db.engines['messaging'])


def downgrade_():
    pass


def upgrade_messaging():
    pass


def downgrade_messaging():
    pass
