"""`./wb messaging backup`: a consistent, verified copy with its checksum, even while members write.

SQLite backups run on a fresh SQLite instance of their own (sqlite_app), on every CI pass:
they are about SQLite files, whatever the suite's databases are.
"""
import re
import sqlite3
import threading
import time

import pytest

from messaging_ops_helpers import PG_ONLY, assert_one_line_error, converse, invoke, message_rows, sha256_of
from wb.extensions import db
from wb.messaging import cli as messaging_cli
from wb.messaging import writes
from wb.messaging.models import Conversation
from wb.messaging.ops import backup, postgres
from wb.messaging.ops.database import OperationFailed
from wb.models import User


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

    monkeypatch.setattr(backup, "PAGES_PER_STEP", 4)
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

    backups = list(backup.backup_folder().glob("messaging-*.sqlite3"))
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
    monkeypatch.setattr(backup, "PAGES_PER_STEP", 2)
    monkeypatch.setattr(messaging_cli, "PROGRESS_THRESHOLD_BYTES", 0)
    result = invoke(sqlite_app, "backup")
    assert result.exit_code == 0, result.output
    assert "copied 0%" in result.output or "copied 10%" in result.output
    assert "copied 100%" in result.output
    assert "integrity ok" in result.output


def test_backup_keep_removes_the_oldest_beyond_n(sqlite_app, pair):
    folder = backup.backup_folder()
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
    into_existing = invoke(sqlite_app, "backup", "--out", str(folder))
    assert into_existing.exit_code == 0 and "Created the folder" not in into_existing.output
    assert len(list(folder.glob("messaging-*.sqlite3"))) == 1
    new_folder = tmp_path / "new-folder"
    made = invoke(sqlite_app, "backup", "--out", f"{new_folder}/")
    assert made.exit_code == 0 and f"Created the folder {new_folder}" in made.output  # not silently (a typo)
    assert len(list(new_folder.glob("messaging-*.sqlite3"))) == 1
    named = tmp_path / "nightly" / "copy.sqlite3"
    result = invoke(sqlite_app, "backup", "--out", str(named))
    assert result.exit_code == 0, result.output
    assert named.is_file() and (named.parent / "copy.sqlite3.sha256").is_file()
    assert backup.last_backup().path == named.resolve()


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


# --- PostgreSQL backups ---------------------------------------------------------------


def test_pg_dump_missing_says_what_to_install(monkeypatch, tmp_path, app):
    monkeypatch.setattr(postgres.shutil, "which", lambda name: None)
    with pytest.raises(OperationFailed, match="postgresql-client"):
        postgres.dump(tmp_path / "x.dump")


@PG_ONLY
def test_postgresql_backup_without_pg_dump_is_one_line(app, app_config, monkeypatch):
    monkeypatch.setattr(postgres.shutil, "which", lambda name: None)
    assert_one_line_error(invoke(app, "backup"), "pg_dump isn't installed", "postgresql-client")


def test_the_last_backup_is_of_this_database_not_of_the_one_before(sqlite_app, pair):
    """After the instance was pointed at another messaging database, stats showed the old database's
    backup as this one's (an operator tester): the record names the database it was taken of."""
    import json

    converse(*pair, ["hello there"])
    assert invoke(sqlite_app, "backup").exit_code == 0
    assert backup.last_backup() is not None
    record = backup.Path(sqlite_app.instance_path) / backup.LAST_BACKUP_RECORD
    data = json.loads(record.read_text())
    assert data["database"] == str(backup.sqlite_path())
    data["database"] = "/srv/old/messaging.sqlite3"  # as if taken of the database used before
    record.write_text(json.dumps(data))
    assert backup.last_backup() is None
    stats = invoke(sqlite_app, "stats", "--json")
    assert json.loads(stats.output)["last_backup"] is None
    assert invoke(sqlite_app, "backup").exit_code == 0  # this database's first: known again
    assert backup.last_backup() is not None
