"""`./wb messaging verify` and `reconcile`: text only in the messaging database, metadata in agreement."""
from sqlalchemy import select, update

from messaging_ops_helpers import SECRET_BODY, converse, invoke
from wb.extensions import db
from wb.messaging.models import ConversationMembership, Message, Report
from wb.models import HelpRequest


def test_verify_passes_on_a_clean_instance(app, some_messages):
    result = invoke(app, "verify")
    assert result.exit_code == 0, result.output
    assert "Verify passed" in result.output


def test_verify_notes_message_text_a_member_copied_into_a_help_request_and_passes(app, alice, some_messages):
    """A member's own writing may quote a message: noted with its row, not a failure an operator can't
    clear (an outside tester's verify stayed failed over a comment no admin can remove)."""
    item = HelpRequest(author_id=alice.id, title="Groceries", body=SECRET_BODY)
    db.session.add(item)
    db.session.commit()
    result = invoke(app, "verify")
    assert result.exit_code == 0, result.output
    assert "note: text of message" in result.output and f"help_requests.body row {item.id}" in result.output
    assert "Verify passed" in result.output
    assert SECRET_BODY not in result.output


def test_verify_notes_a_report_note_that_quotes_a_message(app, alice, bob, some_messages):
    report = Report(reporter_id=bob.id, reported_id=alice.id, reason="other", note="second message, quite ordinary")
    db.session.add(report)
    db.session.commit()
    result = invoke(app, "verify")
    assert result.exit_code == 0
    assert f"reports.note row {report.id}" in result.output
    assert "second message" not in result.output


def test_verify_fails_when_message_text_is_where_only_the_app_writes(app, alice, some_messages):
    from wb.notifications.models import Notice

    db.session.add(Notice(user_id=alice.id, kind="soon", summary=SECRET_BODY))  # an email's summary
    db.session.commit()
    result = invoke(app, "verify")
    assert result.exit_code == 1, result.output
    assert "appears in the main database: notices.summary" in result.output and "Verify FAILED" in result.output
    assert SECRET_BODY not in result.output


def test_verify_finds_message_text_inside_a_longer_value(app, alice, bob, some_messages, monkeypatch):
    """Only a whole value equal to a message was found: "copied: <the message>" in an audit value
    passed (an outside operator tester). Found now wherever it sits in a value, in any pass."""
    from wb.messaging.ops import verify
    from wb.models import AuditEvent
    from wb.notifications.models import Notice

    monkeypatch.setattr(verify, "TEXTS_PER_PASS", 1)  # one message per pass: every pass is looked in
    copied = AuditEvent(actor_id=alice.id, action="test", subject="x", old_value="y", new_value=f"copied: {SECRET_BODY} (end)")
    db.session.add(copied)
    item = HelpRequest(author_id=bob.id, title="Sofa", body=f"Moving a sofa: {SECRET_BODY}")
    db.session.add(item)
    db.session.commit()
    result = invoke(app, "verify")
    assert result.exit_code == 1, result.output
    # the row too: an operator needs it to mend it (a tester)
    assert f"appears in the main database: audit_events.new_value row {copied.id}" in result.output
    assert f"help_requests.body row {item.id}" in result.output
    assert SECRET_BODY not in result.output

    db.session.execute(update(AuditEvent).where(AuditEvent.action == "test").values(new_value="y"))
    # not its text: the same first 31 characters, then others (a cut copy is 32 or more: below)
    db.session.add(Notice(user_id=alice.id, kind="soon", summary=SECRET_BODY[:31] + "? and then something else"))
    db.session.commit()
    assert invoke(app, "verify").exit_code == 0


def test_verify_finds_a_copy_cut_short_in_another_case_or_stored_as_bytes(app, alice, some_messages):
    """An operator tester's copies that passed: the first 32 characters in a 32-character column,
    the text in capitals, the text cast to a blob."""
    from sqlalchemy import text as sql

    from wb.notifications.models import Notice

    for summary in (SECRET_BODY[:32], SECRET_BODY.upper(), f"Preview: {SECRET_BODY[:40]}…"):
        notice = Notice(user_id=alice.id, kind="soon", summary=summary)
        db.session.add(notice)
        db.session.commit()
        result = invoke(app, "verify")
        assert result.exit_code == 1 and f"notices.summary row {notice.id}" in result.output, summary
        assert SECRET_BODY[:20] not in result.output
        db.session.delete(notice)
        db.session.commit()
    if db.engine.dialect.name == "sqlite":  # a blob in a text column: SQLite keeps what it is given
        notice = Notice(user_id=alice.id, kind="soon", summary="x")
        db.session.add(notice)
        db.session.commit()
        db.session.execute(sql("UPDATE notices SET summary = CAST(:body AS BLOB) WHERE id = :id"),
                           {"body": SECRET_BODY, "id": notice.id})
        db.session.commit()
        result = invoke(app, "verify")
        assert result.exit_code == 1 and f"notices.summary row {notice.id}" in result.output


def test_verify_catches_a_skewed_unread_count_and_reconcile_fixes_it(app, bob, some_messages):
    db.session.execute(update(ConversationMembership).where(ConversationMembership.user_id == bob.id)
                       .values(unread_count=7))
    db.session.commit()
    result = invoke(app, "verify")
    assert result.exit_code == 1
    assert "unread_count 7 -> 2" in result.output

    dry = invoke(app, "reconcile", "--dry-run")
    assert "would fix" in dry.output
    db.session.expire_all()
    assert db.session.scalar(select(ConversationMembership.unread_count).where(ConversationMembership.user_id == bob.id)) == 7
    fixed = invoke(app, "reconcile")
    assert fixed.exit_code == 0 and "fixed:" in fixed.output and "unread_count 7 -> 2" in fixed.output
    db.session.expire_all()
    assert db.session.scalar(select(ConversationMembership.unread_count).where(ConversationMembership.user_id == bob.id)) == 2
    assert invoke(app, "verify").exit_code == 0
    assert "0 change(s) made" in invoke(app, "reconcile").output


def test_verify_catches_orphans_and_missing_memberships(app, alice, bob, some_messages):
    db.session.add(ConversationMembership(user_id=alice.id, other_user_id=bob.id, conversation_id=987654))
    db.session.execute(ConversationMembership.__table__.delete().where(
        ConversationMembership.user_id == bob.id, ConversationMembership.conversation_id == some_messages.id))
    db.session.commit()
    result = invoke(app, "verify")
    assert result.exit_code == 1
    assert "987654" in result.output and "missing membership" in result.output


def test_verify_fails_without_the_one_per_pair_constraint(sqlite_app, pair):
    engine = db.engines["messaging"]
    db.session.remove()
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE messages")
        connection.exec_driver_sql("DROP TABLE conversations")
        connection.exec_driver_sql(
            "CREATE TABLE conversations (id INTEGER PRIMARY KEY, user_low_id INTEGER NOT NULL, "
            "user_high_id INTEGER NOT NULL, created_at DATETIME NOT NULL)"
        )
    Message.__table__.create(engine)
    result = invoke(sqlite_app, "verify")
    assert result.exit_code == 1
    assert "UNIQUE(user_low_id, user_high_id)" in result.output


def test_verify_ignores_short_common_phrases(app, alice, bob, messaging_on):
    converse(alice, bob, ["open"])  # same as every help request's status: not a leak
    db.session.add(HelpRequest(author_id=alice.id, title="Ladder", body="Need a ladder"))
    db.session.commit()
    assert invoke(app, "verify").exit_code == 0


def test_verify_reads_every_page_and_says_when_the_file_is_damaged(sqlite_app, pair):
    """A page written over where the app rarely reads: verify, stats, the admin page and /readyz all
    said healthy, and only a backup failed (an operator tester). verify runs SQLite's quick_check."""
    from messaging_ops_helpers import damage_pages

    converse(*pair, [f"message {number} " + "z" * 300 for number in range(40)])
    clean = invoke(sqlite_app, "verify")
    assert clean.exit_code == 0 and "quick_check read every page and found no damage" in clean.output, clean.output
    assert damage_pages("ix_messages_deleted_at", keep_header=True)  # read by no check of verify's

    result = invoke(sqlite_app, "verify")
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "Verify FAILED: 1 problem(s)" in result.output
    [problem] = [line for line in result.output.splitlines() if line.startswith("  - ")]
    assert "is damaged (quick_check: On tree page" in problem and "restore a backup" in problem
