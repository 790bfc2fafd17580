"""Operating messaging: `./wb messaging ...` commands, the admin health page, flag telemetry.

File-level operations (SQLite backups, restore swaps) run on a fresh SQLite instance of
their own, on every CI pass: they are about SQLite files, whatever the suite's databases
are. Everything else runs on the suite's databases (SQLite or PostgreSQL).
"""
import hashlib
import json
import os
import re
import sqlite3
import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

from wb import create_app
from wb.config import TestConfig
from wb.database import upgrade
from wb.extensions import db
from wb.flags import ensure_flags, set_flag
from wb.messaging import cli as messaging_cli
from wb.messaging import operations, writes
from wb.messaging.models import Conversation, ConversationMembership, Message, Report
from wb.models import HelpRequest, User, utcnow

SECRET_BODY = "Meet me by the old oak at seven, bring the spare keys please"
PG_ONLY = pytest.mark.skipif(
    not (os.environ.get("WB_TEST_MESSAGING_DATABASE_URL") or "").startswith("postgres"),
    reason="needs WB_TEST_MESSAGING_DATABASE_URL=postgresql://... (CI's second pass)",
)


# --- helpers and a SQLite instance of our own ---------------------------------------------


def invoke(app, *args, **kwargs):
    """Run `./wb messaging ARGS` through the app's CLI runner."""
    return app.test_cli_runner().invoke(args=["messaging", *args], **kwargs)


def assert_one_line_error(result, *fragments):
    """A refused operation: non-zero exit, one `Error:` line, never a traceback."""
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def sha256_of(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def member(username, **fields):
    user = User(username=username, display_name=username.capitalize(), **fields)
    user.set_password("correct horse battery")
    db.session.add(user)
    db.session.commit()
    return user


def converse(sender, recipient, bodies):
    """sender writes each body to recipient; returns the conversation."""
    conversation, _created = writes.open_conversation(sender, recipient)
    for body in bodies:
        writes.send_message(sender, conversation, body)
    return conversation


def message_rows():
    db.session.expire_all()
    return [tuple(row) for row in db.session.execute(
        select(Message.id, Message.conversation_id, Message.sender_id, Message.body).order_by(Message.id)
    )]


@pytest.fixture
def sqlite_app(tmp_path):
    """A fresh app on SQLite files in tmp_path, migrated, messaging on, inside an app context."""
    config = {key: value for key, value in vars(TestConfig).items() if key.isupper()}
    config.update(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'wb.sqlite3'}",
        MESSAGING_DATABASE_URI=f"sqlite:///{tmp_path / 'messaging.sqlite3'}",
        INSTANCE_PATH=str(tmp_path / "instance"),
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_KEY_PREFIX=f"wbops-{uuid.uuid4().hex[:12]}",
        MESSAGE_RATE_LIMIT="100000 per minute",
        NEW_CONVERSATION_RATE_LIMIT="100000 per day",
    )
    app = create_app(config)
    with app.app_context():
        upgrade()
        ensure_flags()
        set_flag("direct_messaging", True)
        yield app
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def pair(sqlite_app):
    return member("ann"), member("ben")


def messaging_file(app):
    """The SQLite file behind the app's messaging database (inside its app context)."""
    assert app.config["MESSAGING_DATABASE_URI"].startswith("sqlite:")
    return operations.sqlite_path()


# --- backup -------------------------------------------------------------------------------


def test_backup_while_another_thread_sends_is_a_consistent_snapshot(sqlite_app, pair, monkeypatch):
    ann, ben = pair
    conversation = converse(ann, ben, [f"seed {i} " + "x" * 1500 for i in range(150)])
    ann_id, conversation_id = ann.id, conversation.id
    sent = {"count": 0}
    stop = threading.Event()
    errors = []

    def keep_sending():
        with sqlite_app.app_context():
            sender = db.session.get(User, ann_id)
            thread = db.session.get(Conversation, conversation_id)
            try:
                while not stop.is_set():
                    writes.send_message(sender, thread, f"live {sent['count']} " + "y" * 800)
                    sent["count"] += 1
            except Exception as error:  # surfaced by the assertion below
                errors.append(error)
            finally:
                db.session.remove()

    steps = []

    def slow_progress(done, total):
        # Let the writer commit between copy steps, so the snapshot really is taken under writes.
        before = sent["count"]
        deadline = time.monotonic() + 2
        while sent["count"] == before and time.monotonic() < deadline:
            time.sleep(0.001)
        steps.append((done, total, sent["count"]))

    monkeypatch.setattr(operations, "PAGES_PER_STEP", 4)
    monkeypatch.setattr(messaging_cli, "_progress_printer", lambda: slow_progress)
    writer = threading.Thread(target=keep_sending)
    writer.start()
    try:
        while sent["count"] < 5:
            time.sleep(0.005)
        result = invoke(sqlite_app, "backup")
    finally:
        stop.set()
        writer.join(30)
    assert not errors, errors
    assert result.exit_code == 0, result.output
    assert len(steps) > 10 and steps[-1][2] > steps[0][2], "the writer must have sent during the copy"

    backups = list(operations.backup_folder().glob("messaging-*.sqlite3"))
    assert len(backups) == 1, backups
    copy = backups[0]
    assert re.fullmatch(r"messaging-\d{8}T\d{6}Z\.sqlite3", copy.name)
    assert (copy.parent / (copy.name + ".sha256")).read_text() == f"{sha256_of(copy)}  {copy.name}\n"
    snapshot = sqlite3.connect(copy)
    try:
        assert snapshot.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert snapshot.execute("PRAGMA foreign_key_check").fetchall() == []
        count, newest = snapshot.execute("SELECT count(*), max(id) FROM messages").fetchone()
        bodies = [row[0] for row in snapshot.execute("SELECT body FROM messages ORDER BY id")]
    finally:
        snapshot.close()
    # One writer appends in order: a consistent snapshot is exactly a prefix of the messages.
    assert count == newest
    assert 150 < count < len(message_rows())
    assert [body for _id, _c, _s, body in message_rows()[:count]] == bodies


def test_backup_shows_progress_for_large_databases(sqlite_app, pair, monkeypatch):
    converse(*pair, [f"note {i} " + "z" * 2000 for i in range(40)])
    monkeypatch.setattr(operations, "PAGES_PER_STEP", 2)
    monkeypatch.setattr(messaging_cli, "PROGRESS_THRESHOLD_BYTES", 0)
    result = invoke(sqlite_app, "backup")
    assert result.exit_code == 0, result.output
    assert "copied 0%" in result.output or "copied 10%" in result.output
    assert "copied 100%" in result.output
    assert "integrity ok" in result.output


def test_backup_keep_removes_the_oldest_beyond_n(sqlite_app, pair):
    folder = operations.backup_folder()
    folder.mkdir(parents=True)
    for stamp in ("20200101T000000Z", "20210101T000000Z", "20220101T000000Z"):
        (folder / f"messaging-{stamp}.sqlite3").write_bytes(b"old")
        (folder / f"messaging-{stamp}.sqlite3.sha256").write_text("x")
    (folder / "unrelated.txt").write_text("stays")
    result = invoke(sqlite_app, "backup", "--keep", "2")
    assert result.exit_code == 0, result.output
    left = sorted(path.name for path in folder.iterdir())
    assert "messaging-20220101T000000Z.sqlite3" in left
    assert "messaging-20200101T000000Z.sqlite3" not in left
    assert "messaging-20210101T000000Z.sqlite3.sha256" not in left
    assert "unrelated.txt" in left
    assert len([name for name in left if name.endswith(".sqlite3")]) == 2
    assert "Removed old backup" in result.output


def test_backup_to_an_out_folder_and_a_named_file(sqlite_app, pair, tmp_path):
    converse(*pair, ["hello there"])
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    assert invoke(sqlite_app, "backup", "--out", str(folder)).exit_code == 0
    assert len(list(folder.glob("messaging-*.sqlite3"))) == 1
    new_folder = tmp_path / "new-folder"
    assert invoke(sqlite_app, "backup", "--out", f"{new_folder}/").exit_code == 0
    assert len(list(new_folder.glob("messaging-*.sqlite3"))) == 1
    named = tmp_path / "nightly" / "copy.sqlite3"
    result = invoke(sqlite_app, "backup", "--out", str(named))
    assert result.exit_code == 0, result.output
    assert named.is_file() and (named.parent / "copy.sqlite3.sha256").is_file()
    assert operations.last_backup().path == named.resolve()


def test_backup_to_an_unwritable_path_is_one_line_and_writes_nothing(sqlite_app, pair, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = invoke(sqlite_app, "backup", "--out", str(blocker / "backup.sqlite3"))
    assert_one_line_error(result, "Can't write a backup")
    assert blocker.read_text() == "not a folder"


def test_backup_never_overwrites_an_existing_file(sqlite_app, pair, tmp_path):
    existing = tmp_path / "keep-me.sqlite3"
    existing.write_bytes(b"precious")
    result = invoke(sqlite_app, "backup", "--out", str(existing))
    assert_one_line_error(result, "already exists")
    assert existing.read_bytes() == b"precious"
    assert not list(tmp_path.glob(".messaging-backup-*"))


def test_a_missing_messaging_database_is_a_one_line_error(sqlite_app, pair):
    path = messaging_file(sqlite_app)
    db.session.remove()
    db.engines["messaging"].dispose()
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    for command in (["backup"], ["stats"], ["verify"], ["reconcile"], ["purge", "--deleted-older-than", "1"]):
        assert_one_line_error(invoke(sqlite_app, *command), "doesn't exist")
    assert not path.exists(), "no command may create an empty database in its place"
    assert not operations.backup_folder().exists() or not list(operations.backup_folder().iterdir())


# --- restore ------------------------------------------------------------------------------


def take_backup(app):
    result = invoke(app, "backup")
    assert result.exit_code == 0, result.output
    return operations.last_backup().path


def test_restore_round_trip_gives_back_every_message(sqlite_app, pair):
    ann, ben = pair
    ann_id, ben_id = ann.id, ben.id  # restore ends the session these objects belong to
    cat = member("cat")
    converse(ann, ben, [f"ann to ben {i}" for i in range(30)])
    converse(cat, ann, [f"cat to ann {i}" for i in range(12)])
    original = message_rows()
    backup_path = take_backup(sqlite_app)

    # Life goes on after the backup: more messages, a deletion, a wiped table.
    converse(member("dan"), ann, ["after the backup"])  # a conversation the backup doesn't know
    db.session.execute(text("DELETE FROM messages WHERE id <= 5"), bind_arguments={"bind": db.engines["messaging"]})
    db.session.commit()
    target = messaging_file(sqlite_app)
    assert message_rows() != original

    result = invoke(sqlite_app, "restore", str(backup_path), "--yes")
    assert result.exit_code == 0, result.output
    assert message_rows() == original
    kept = list(target.parent.glob("messaging.sqlite3.replaced-*"))
    assert len(kept) == 1 and f"Previous database kept as {kept[0]}" in result.output
    replaced = sqlite3.connect(kept[0])
    assert replaced.execute("SELECT count(*) FROM messages WHERE body = 'after the backup'").fetchone() == (1,)
    replaced.close()
    # Metadata follows the restored messages: unread counts agree, verify is clean.
    db.session.expire_all()
    ann_row = db.session.scalar(select(ConversationMembership).where(
        ConversationMembership.user_id == ann_id, ConversationMembership.other_user_id == ben_id))
    assert ann_row.unread_count == 0
    assert db.session.scalar(select(func.sum(ConversationMembership.unread_count))) == 30 + 12
    assert db.session.scalar(select(func.count(ConversationMembership.id))) == 4  # dan's conversation is gone
    assert invoke(sqlite_app, "verify").exit_code == 0


def test_restore_asks_for_confirmation_and_no_keeps_everything(sqlite_app, pair):
    converse(*pair, ["first"])
    backup_path = take_backup(sqlite_app)
    converse(*pair, ["second"])
    before = message_rows()
    result = invoke(sqlite_app, "restore", str(backup_path), input="n\n")
    assert result.exit_code != 0
    assert "Replace the messaging database" in result.output
    assert message_rows() == before
    assert not list(messaging_file(sqlite_app).parent.glob("*.replaced-*"))


def corrupt_pages(path):
    data = bytearray(path.read_bytes())
    for offset in range(4096 + 16, len(data), 4096):
        data[offset : offset + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    path.with_name(path.name + ".sha256").write_text(f"{sha256_of(path)}  {path.name}\n")


def not_sqlite(path):
    path.write_text("this is a text file, not a database\n" * 50)
    path.with_name(path.name + ".sha256").write_text(f"{sha256_of(path)}  {path.name}\n")


def other_sqlite(path):
    path.unlink()
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE notes (body TEXT)")
    other.commit()
    other.close()
    path.with_name(path.name + ".sha256").write_text(f"{sha256_of(path)}  {path.name}\n")


def wrong_checksum(path):
    path.with_name(path.name + ".sha256").write_text(f"{'0' * 64}  {path.name}\n")


def no_checksum(path):
    path.with_name(path.name + ".sha256").unlink()


@pytest.mark.parametrize("spoil, words", [
    (corrupt_pages, "damaged"),
    (not_sqlite, "isn't a SQLite database"),
    (other_sqlite, "not a messaging backup"),
    (wrong_checksum, "Checksum mismatch"),
    (no_checksum, "checksum file"),
])
def test_restore_refuses_a_bad_file_and_changes_nothing(sqlite_app, pair, spoil, words):
    converse(*pair, [f"message {i} " + "q" * 500 for i in range(60)])
    backup_path = take_backup(sqlite_app)
    spoil(backup_path)
    target = messaging_file(sqlite_app)
    before_rows, before_sum = message_rows(), sha256_of(target)
    result = invoke(sqlite_app, "restore", str(backup_path), "--yes")
    assert_one_line_error(result, words)
    assert message_rows() == before_rows and sha256_of(target) == before_sum
    assert not list(target.parent.glob("*.replaced-*"))


def test_restore_of_a_missing_file_is_one_line(sqlite_app, tmp_path):
    assert_one_line_error(invoke(sqlite_app, "restore", str(tmp_path / "nope.sqlite3"), "--yes"), "doesn't exist")


# --- stats and the admin page: the same figures ------------------------------------------


@pytest.fixture
def some_messages(app, alice, bob, messaging_on):
    conversation = converse(alice, bob, [SECRET_BODY, "second message, quite ordinary", "third one"])
    first = db.session.scalar(select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id))
    writes.delete_message(alice, conversation, first.id)
    return conversation


def test_stats_json_reports_the_figures(app, some_messages):
    result = invoke(app, "stats", "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["engine"] == db.engines["messaging"].dialect.name
    assert figures["reachable"] is True and figures["enabled"] is True
    assert (figures["conversations"], figures["messages"], figures["deleted_messages"]) == (1, 3, 1)
    assert figures["members_with_unread"] == 1
    assert figures["schema_revision"]
    assert figures["size_bytes"] > 0 and figures["probe_latency_ms"] >= 0
    assert SECRET_BODY not in result.output


def test_stats_is_readable_by_default(app, some_messages):
    result = invoke(app, "stats")
    assert result.exit_code == 0, result.output
    assert re.search(r"messages\s+3 \(1 deleted", result.output)
    assert re.search(r"conversations\s+1", result.output)
    assert "schema revision" in result.output and "last backup" in result.output


def test_admin_page_shows_the_same_figures_and_never_content(app, admin, login, some_messages):
    page = login(admin).get("/admin/messaging")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    figures = json.loads(invoke(app, "stats", "--json").output)
    for name in ("conversations", "messages", "deleted_messages", "members_with_unread"):
        assert f'data-figure="{name}">{figures[name]:,}<' in html, name
    assert f'data-figure="engine">{figures["engine"]}<' in html
    assert figures["schema_revision"] in html
    assert SECRET_BODY not in html and "second message" not in html
    # No list of who talks to whom.
    for name in ("Alice", "alice", "Bob", "bob"):
        assert name not in html
    assert 'action="/admin/settings/direct_messaging"' in html
    assert 'name="next" value="/admin/messaging"' in html
    assert '>Messaging</a>' in html


def test_admin_page_is_for_admins_only(app, alice, login, client):
    assert login(alice).get("/admin/messaging").status_code == 403
    anonymous = client.get("/admin/messaging")
    assert anonymous.status_code == 302 and "/login" in anonymous.location


def test_toggle_from_the_messaging_page_returns_there_and_shows_the_latest_change(app, admin, login, messaging_on):
    admin_client = login(admin)
    response = admin_client.post("/admin/settings/direct_messaging", data={"enabled": "0", "next": "/admin/messaging"})
    assert response.status_code == 302 and response.location == "/admin/messaging"
    html = admin_client.get("/admin/messaging").get_data(as_text=True)
    assert "Currently <strong>off</strong>" in html
    assert re.search(r"Last changed on → off by\s+<bdi>Rita Root</bdi>", html)
    settings = admin_client.get("/admin/settings").get_data(as_text=True)
    assert re.search(r"Last changed on → off by\s+<bdi>Rita Root</bdi>", settings)
    partial = admin_client.htmx("POST", "/admin/settings/direct_messaging",
                                data={"enabled": "1", "next": "/admin/messaging"}).get_data(as_text=True)
    assert re.search(r"Last changed off → on by\s+<bdi>Rita Root</bdi>", partial)
    assert 'name="next" value="/admin/messaging"' in partial


def test_backup_age_warns_past_the_cadence(sqlite_app, pair):
    admin = member("boss", role="admin")
    client = sqlite_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    client.post("/login", data={"username": "boss", "password": "correct horse battery"},
                headers={"X-CSRFToken": token})
    assert admin.is_admin
    assert "No backup has been taken yet" in client.get("/admin/messaging").get_data(as_text=True)
    take_backup(sqlite_app)
    fresh = client.get("/admin/messaging").get_data(as_text=True)
    assert "cadence" not in fresh.split('id="messaging-storage"')[1].split("</section>")[0]
    sqlite_app.config["MESSAGING_BACKUP_CADENCE_HOURS"] = 0.0001
    time.sleep(0.5)
    assert "older than the 0.0001-hour cadence" in client.get("/admin/messaging").get_data(as_text=True)
    assert "WARNING: older than" in invoke(sqlite_app, "stats").output


# --- verify and reconcile --------------------------------------------------------------------


def test_verify_passes_on_a_clean_instance(app, some_messages):
    result = invoke(app, "verify")
    assert result.exit_code == 0, result.output
    assert "Verify passed" in result.output


def test_verify_fails_when_message_text_is_copied_into_a_help_request(app, alice, some_messages):
    db.session.add(HelpRequest(author_id=alice.id, title="Groceries", body=SECRET_BODY))
    db.session.commit()
    result = invoke(app, "verify")
    assert result.exit_code == 1, result.output
    assert "help_requests.body" in result.output and "Verify FAILED" in result.output
    assert SECRET_BODY not in result.output


def test_verify_fails_when_a_report_note_holds_message_text(app, alice, bob, some_messages):
    db.session.add(Report(reporter_id=bob.id, reported_id=alice.id, reason="other", note="second message, quite ordinary"))
    db.session.commit()
    result = invoke(app, "verify")
    assert result.exit_code == 1
    assert "reports.note" in result.output
    assert "second message" not in result.output


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


# --- purge ------------------------------------------------------------------------------------


def test_purge_wipes_only_text_deleted_longer_ago_than_the_cutoff(app, alice, bob, messaging_on):
    conversation = converse(alice, bob, ["old deleted one", "recently deleted one", "never deleted", "old deleted two"])
    old, recent, kept, old_two = db.session.scalars(
        select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id)).all()
    now = utcnow()
    old.deleted_at = now - timedelta(days=40)
    old_two.deleted_at = now - timedelta(days=31)
    recent.deleted_at = now - timedelta(days=5)
    kept.created_at = now - timedelta(days=400)
    db.session.commit()
    ids = {m.id: name for m, name in ((old, "old"), (recent, "recent"), (kept, "kept"), (old_two, "old_two"))}

    def bodies():
        return {ids[i]: body for i, _c, _s, body in message_rows()}

    dry = invoke(app, "purge", "--deleted-older-than", "30")
    assert dry.exit_code == 0 and "Dry run: 2 message(s)" in dry.output
    assert bodies()["old"] == "old deleted one"

    wet = invoke(app, "purge", "--deleted-older-than", "30", "--yes")
    assert wet.exit_code == 0 and "Wiped the text of 2 message(s)" in wet.output
    assert bodies() == {"old": "", "old_two": "", "recent": "recently deleted one", "kept": "never deleted"}
    assert "Dry run: 0 message(s)" in invoke(app, "purge", "--deleted-older-than", "30").output
    figures = json.loads(invoke(app, "stats", "--json").output)
    assert (figures["deleted_messages"], figures["wiped_messages"]) == (3, 2)


def test_purge_needs_a_number_of_days(app):
    result = invoke(app, "purge")
    assert result.exit_code != 0 and "--deleted-older-than" in result.output


def test_purge_on_sqlite_leaves_no_trace_of_the_text_in_the_file(sqlite_app, pair):
    converse(*pair, [SECRET_BODY])
    db.session.execute(update(Message).values(deleted_at=utcnow() - timedelta(days=90)))
    db.session.commit()
    assert invoke(sqlite_app, "purge", "--deleted-older-than", "30", "--yes").exit_code == 0
    path = messaging_file(sqlite_app)
    on_disk = path.read_bytes() + (path.with_name(path.name + "-wal").read_bytes()
                                   if path.with_name(path.name + "-wal").exists() else b"")
    assert SECRET_BODY.encode() not in on_disk


# --- init, and an unreachable PostgreSQL ----------------------------------------------------


def test_init_is_idempotent_and_says_where(sqlite_app):
    first = invoke(sqlite_app, "init")
    again = invoke(sqlite_app, "init")
    assert first.exit_code == 0 and again.exit_code == 0
    assert "up to date: sqlite at" in again.output and str(messaging_file(sqlite_app)) in again.output


@pytest.fixture
def unreachable_app(tmp_path):
    config = {key: value for key, value in vars(TestConfig).items() if key.isupper()}
    config.update(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'wb.sqlite3'}",
        # Port 1: nothing listens there, so the connection is refused at once.
        MESSAGING_DATABASE_URI="postgresql://wb:sekrit-password@127.0.0.1:1/wb_messaging",
        INSTANCE_PATH=str(tmp_path / "instance"),
        RATELIMIT_STORAGE_URI="memory://",
    )
    app = create_app(config)
    with app.app_context():
        upgrade(["main"])
        ensure_flags()
        yield app
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.mark.parametrize("command", [
    ["init"], ["stats"], ["stats", "--json"], ["backup"], ["verify"], ["reconcile"],
    ["purge", "--deleted-older-than", "30", "--yes"],
])
def test_an_unreachable_postgresql_is_a_one_line_error(unreachable_app, command):
    result = invoke(unreachable_app, *command)
    assert_one_line_error(result, "Can't reach the messaging database", "***")
    assert "sekrit-password" not in result.output


def test_admin_page_says_when_storage_is_unreachable(unreachable_app):
    member("boss", role="admin")
    client = unreachable_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    client.post("/login", data={"username": "boss", "password": "correct horse battery"}, headers={"X-CSRFToken": token})
    html = client.get("/admin/messaging").get_data(as_text=True)
    assert "Not reachable" in html and "sekrit-password" not in html


# --- PostgreSQL backups ---------------------------------------------------------------------


def test_pg_dump_missing_says_what_to_install(monkeypatch, tmp_path, app):
    monkeypatch.setattr(operations.shutil, "which", lambda name: None)
    with pytest.raises(operations.OperationFailed, match="postgresql-client"):
        operations._dump_postgres(tmp_path / "x.dump")


@PG_ONLY
def test_postgresql_backup_without_pg_dump_is_one_line(app, app_config, monkeypatch):
    monkeypatch.setattr(operations.shutil, "which", lambda name: None)
    assert_one_line_error(invoke(app, "backup"), "pg_dump isn't installed", "postgresql-client")


@pytest.fixture
def own_instance(app_config, tmp_path):
    app_config["INSTANCE_PATH"] = str(tmp_path / "instance")


@PG_ONLY
def test_postgresql_backup_and_restore_round_trip(own_instance, app, some_messages):
    assert operations.shutil.which("pg_dump"), "CI must install postgresql-client (pg_dump) for this pass"
    original = message_rows()
    result = invoke(app, "backup")
    assert result.exit_code == 0, result.output
    dump = operations.last_backup().path
    assert dump.suffix == ".dump" and dump.read_bytes().startswith(b"PGDMP")
    assert (dump.parent / (dump.name + ".sha256")).read_text().split()[0] == sha256_of(dump)

    db.session.execute(text("DELETE FROM messages"), bind_arguments={"bind": db.engines["messaging"]})
    db.session.commit()
    assert message_rows() == []
    restored = invoke(app, "restore", str(dump), "--yes")
    assert restored.exit_code == 0, restored.output
    assert message_rows() == original
    assert "Previous database kept as" in restored.output
    assert invoke(app, "verify").exit_code == 0


@PG_ONLY
def test_postgresql_restore_refuses_a_sqlite_file(own_instance, app, tmp_path):
    fake = tmp_path / "messaging.sqlite3"
    sqlite3.connect(fake).close()
    fake.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    fake.with_name(fake.name + ".sha256").write_text(f"{sha256_of(fake)}  {fake.name}\n")
    assert_one_line_error(invoke(app, "restore", str(fake), "--yes"), "pg_dump custom-format")
