"""reports: one open report per reporter, member and reason

Reporting a member again for the same reason while the first report is open adds the note to it
(wb.messaging.safety.report), but it was checked, then inserted: twelve requests at once filed two
open reports, each counting against the reporter's day (an outside tester). A partial unique index
on the open ones makes the database refuse the second; the request then adds its note to the first.

Open reports that already have a twin are made one first: the oldest (when it was first reported)
keeps its id and takes the others' notes after its own, in the order they were filed (a note that
is one of its notes already, whole, is not written twice; what would pass a note's 1,000
characters is cut, ending "…"), and the others go. Downgrade drops the index; the merged reports
stay one.

Revision ID: 69eb2cbb98d7
Revises: b749e0964e12
Create Date: 2026-12-08 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '69eb2cbb98d7'
down_revision = 'b749e0964e12'
branch_labels = None
depends_on = None

NOTE_MAX = 1000  # wb.messaging.models.REPORT_NOTE_MAX, as it was when this was written
OPEN = sa.text("status = 'open'")


def upgrade(engine_name):
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name):
    globals()["downgrade_%s" % engine_name]()


def _merge_open_twins():
    reports = sa.table('reports', sa.column('id'), sa.column('reporter_id'), sa.column('reported_id'),
                       sa.column('reason'), sa.column('note'), sa.column('status'))
    bind = op.get_bind()
    groups = {}
    for row in bind.execute(sa.select(reports.c.id, reports.c.reporter_id, reports.c.reported_id, reports.c.reason,
                                      reports.c.note).where(reports.c.status == 'open').order_by(reports.c.id)):
        groups.setdefault((row.reporter_id, row.reported_id, row.reason), []).append(row)
    for first, *twins in (rows for rows in groups.values() if len(rows) > 1):
        note = first.note or ''
        for twin in twins:
            if twin.note and f'\n\n{twin.note}\n\n' not in f'\n\n{note}\n\n':  # whole notes, not within one
                note = f'{note}\n\n{twin.note}' if note else twin.note
        if len(note) > NOTE_MAX:
            note = note[:NOTE_MAX - 1] + '…'
        bind.execute(reports.update().where(reports.c.id == first.id).values(note=note))
        bind.execute(reports.delete().where(reports.c.id.in_([twin.id for twin in twins])))


def upgrade_():
    _merge_open_twins()
    op.create_index('uq_reports_open', 'reports', ['reporter_id', 'reported_id', 'reason'], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade_():
    op.drop_index('uq_reports_open', table_name='reports')


def upgrade_messaging():
    pass


def downgrade_messaging():
    pass
