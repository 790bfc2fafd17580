"""One open report per reporter, member and reason, and every note added to it kept, whatever another
request did in between (tests/test_served_reports.py fires them at once at a real server; these put
the other request's write exactly in the gap, on this pass's database)."""
import pytest
from sqlalchemy import func, select, update

from wb import ratelimits
from wb.extensions import db
from wb.messaging import safety
from wb.messaging.models import Report
from wb.messaging.policy import Refusal


@pytest.fixture
def pair(app, alice, bob, messaging_on):
    """Bob, who reports, and Alice."""
    return bob, alice


def written_elsewhere(statement):
    """What another request (another worker's connection) commits meanwhile."""
    with db.engine.begin() as connection:
        connection.execute(statement)


def open_reports():
    db.session.expire_all()
    return list(db.session.scalars(select(Report).where(Report.status == "open").order_by(Report.created_at, Report.id)))


def reports_left(member):
    return ratelimits.remaining("report", "10 per day", f"user:{member.id}")


def test_a_report_filed_by_another_request_after_the_check_takes_this_ones_note(pair, monkeypatch):
    reporter, reported = pair
    checks = []

    def filed_meanwhile(*args):
        checks.append(args)
        if len(checks) == 1:  # the first check finds none; then another request files the same report
            written_elsewhere(Report.__table__.insert().values(
                reporter_id=reporter.id, reported_id=reported.id, reason="spam", note="first", status="open",
                created_at=func.now()))
            return None
        return open_report(*args)

    open_report = safety._open_report
    monkeypatch.setattr(safety, "_open_report", filed_meanwhile)
    row, new = safety.report(reporter, reported, "spam", "second")
    assert new is False  # the API's 200, the form's "your note is added"
    [report] = open_reports()
    assert row.id == report.id and report.note == "first\n\nsecond"
    assert reports_left(reporter) == 10  # the request that lost counted nothing


def test_a_note_added_by_another_request_after_the_read_is_kept(pair):
    reporter, reported = pair
    row, _ = safety.report(reporter, reported, "spam", "first")
    assert row.note == "first"  # this session holds the report as it was read
    written_elsewhere(update(Report).where(Report.id == row.id).values(note="first\n\nsecond"))
    safety.report(reporter, reported, "spam", "third")
    [report] = open_reports()
    assert report.note == "first\n\nsecond\n\nthird"


def test_a_note_that_fits_only_the_stale_note_is_refused_with_the_notes_length_now(pair):
    """Checked against the note as read, it was written over the longer one (SQLite), or was a 500
    (PostgreSQL's VARCHAR(1000))."""
    reporter, reported = pair
    row, _ = safety.report(reporter, reported, "spam", "a" * 800)
    written_elsewhere(update(Report).where(Report.id == row.id).values(note="a" * 800 + "\n\n" + "b" * 150))
    with pytest.raises(Refusal) as refused:
        safety.report(reporter, reported, "spam", "c" * 100)
    assert refused.value.status == 422
    assert ("holds 952 characters of notes, and a report's notes hold 1,000 at most; an admin will read them. "
            "Shorten this note to at most 46 characters to add it.") in refused.value.message
    [report] = open_reports()
    assert report.note == "a" * 800 + "\n\n" + "b" * 150


def test_a_report_resolved_after_the_check_is_followed_by_a_new_one(pair, admin):
    reporter, reported = pair
    row, _ = safety.report(reporter, reported, "spam", "first")
    written_elsewhere(update(Report).where(Report.id == row.id).values(status="resolved"))
    again, new = safety.report(reporter, reported, "spam", "second")
    assert new is True and again.id != row.id
    [report] = open_reports()
    assert report.note == "second"
    assert db.session.get(Report, row.id).note == "first"  # the resolved one is as it was resolved


def test_the_database_refuses_a_second_open_report_for_the_same_reason(pair):
    from sqlalchemy.exc import IntegrityError

    reporter, reported = pair
    safety.report(reporter, reported, "spam", "first")
    db.session.add(Report(reporter_id=reporter.id, reported_id=reported.id, reason="spam"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # another reason, or once the first is resolved, is a report of its own
    safety.report(reporter, reported, "scam", "")
    db.session.execute(update(Report).where(Report.reason == "spam").values(status="resolved"))
    db.session.add(Report(reporter_id=reporter.id, reported_id=reported.id, reason="spam"))
    db.session.commit()
    assert len(open_reports()) == 2


def test_reopening_while_the_same_report_was_filed_meanwhile_is_refused(pair, admin, monkeypatch):
    reporter, reported = pair
    row, _ = safety.report(reporter, reported, "spam", "first")
    safety.resolve_report(admin, row.id)
    safety.report(reporter, reported, "spam", "second")
    monkeypatch.setattr(safety, "_open_report", lambda *args: None)  # the check ran before it was filed
    with pytest.raises(Refusal) as refused:
        safety.reopen_report(admin, row.id)
    assert refused.value.status == 409
    assert [report.note for report in open_reports()] == ["second"]


def test_the_migration_makes_open_twins_one_keeping_every_note(app, alice, bob, make_user):
    """Reports filed twice before the index: the first filed keeps the others' notes, once each."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text as sql

    carol = make_user("carol")
    ids = bob.id, alice.id, carol.id
    db.session.remove()
    downgrade(revision="b749e0964e12")
    db.engine.dispose()

    def filed(reporter, reported, reason, note, status="open"):
        db.session.execute(sql("INSERT INTO reports (reporter_id, reported_id, reason, note, status, created_at) "
                               "VALUES (:a, :b, :reason, :note, :status, CURRENT_TIMESTAMP)"),
                           {"a": reporter, "b": reported, "reason": reason, "note": note, "status": status})

    bob_id, alice_id, carol_id = ids
    filed(bob_id, alice_id, "spam", "one")
    filed(bob_id, alice_id, "spam", "two")
    filed(bob_id, alice_id, "spam", "one")  # the same note twice: once
    filed(bob_id, alice_id, "spam", "tw")  # found inside "two", but a note of its own
    filed(bob_id, alice_id, "spam", "old", status="resolved")
    filed(bob_id, alice_id, "scam", "other reason")
    filed(carol_id, alice_id, "spam", "x" * 900)
    filed(carol_id, alice_id, "spam", "y" * 200)
    db.session.commit()
    first = db.session.scalar(sql("SELECT min(id) FROM reports"))
    db.session.remove()

    upgrade()
    db.engine.dispose()

    rows = db.session.execute(sql("SELECT id, reporter_id, reason, note, status FROM reports ORDER BY id")).all()
    assert [(r.reporter_id, r.reason, r.note, r.status) for r in rows] == [
        (bob_id, "spam", "one\n\ntwo\n\ntw", "open"),
        (bob_id, "spam", "old", "resolved"),
        (bob_id, "scam", "other reason", "open"),
        (carol_id, "spam", "x" * 900 + "\n\n" + "y" * 97 + "…", "open"),
    ]
    assert rows[0].id == first


# --- "already there" is the same note, whole ------------------------------------------------------

def test_a_note_found_inside_another_is_not_there_already_so_a_full_report_refuses_it(pair):
    """Notes filled to exactly 1,000 characters with 88 "y", then 87 "y": it was answered as added
    (found inside the 88) and written nowhere; the report has no room for it (a re-check tester)."""
    reporter, reported = pair
    safety.report(reporter, reported, "spam", "x" * 910)
    assert safety.report(reporter, reported, "spam", "y" * 88)[1] is False  # the API's 200
    [report] = open_reports()
    assert len(report.note) == 1000

    with pytest.raises(Refusal) as refused:
        safety.report(reporter, reported, "spam", "y" * 87)
    assert refused.value.status == 422 and "It has no room for more" in refused.value.message
    assert safety.report(reporter, reported, "spam", "y" * 88)[1] is False  # the same note again: there
    assert safety.report(reporter, reported, "spam", "x" * 910)[1] is False
    [report] = open_reports()
    assert report.note == "x" * 910 + "\n\n" + "y" * 88


def test_a_note_found_inside_another_is_added_when_it_fits(pair):
    """A shorter note inside an earlier one, or across two of them, is a note of its own."""
    reporter, reported = pair
    safety.report(reporter, reported, "harassment", "He did it again last night. He shouted at my door.")
    for note in ("He did it again last night.", "door.\n\nHe did it"):
        row, new = safety.report(reporter, reported, "harassment", note)
        assert new is False
    [report] = open_reports()
    assert report.note == ("He did it again last night. He shouted at my door.\n\nHe did it again last night."
                           "\n\ndoor.\n\nHe did it")


@pytest.mark.parametrize("again", ["first", "second", "third"])
def test_the_same_note_sent_again_is_added_once_wherever_it_is_among_them(pair, again):
    """A request sent again, its answer lost: first, between others or last, its note is there."""
    reporter, reported = pair
    for note in ("first", "second", "third", again):
        safety.report(reporter, reported, "spam", note)
    [report] = open_reports()
    assert report.note == "first\n\nsecond\n\nthird"


def test_the_same_note_added_by_another_request_after_the_read_is_kept_once(pair, monkeypatch):
    """The whole-note check is in the UPDATE, on the notes as they are then: the same note written
    in the gap (the request's first try) is there; a longer one holding it is not."""
    reporter, reported = pair
    row, _ = safety.report(reporter, reported, "spam", "first note")
    written_elsewhere(update(Report).where(Report.id == row.id).values(note="first note\n\nthe retry"))
    assert safety.report(reporter, reported, "spam", "the retry")[1] is False
    written_elsewhere(update(Report).where(Report.id == row.id).values(note="first note\n\nthe retry, again"))
    assert safety.report(reporter, reported, "spam", "the retry")[1] is False
    [report] = open_reports()
    assert report.note == "first note\n\nthe retry, again\n\nthe retry"
