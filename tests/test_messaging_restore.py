"""`./wb messaging restore`: only a checked backup replaces the database, the old one is kept, metadata follows.

SQLite restores run on a fresh SQLite instance of their own (sqlite_app), on every CI pass;
the PostgreSQL round trip runs on CI's second pass.
"""
import json
from contextlib import closing
import time
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from messaging_ops_helpers import (PG_ONLY, assert_one_line_error, converse, invoke, member, message_rows,
                                   messaging_file, sha256_of, take_backup)
from wb import create_app
from wb.cli import initialize
from wb.config import TestConfig
from wb.flags import set_flag
from wb.messaging.conversations import CONVERSATION_IDS
from wb.messaging.ops import identity
from wb.extensions import db
from wb.messaging import writes
from wb.messaging.models import Conversation, ConversationMembership, Message
from wb.messaging.ops import postgres
from wb.messaging.ops.backup import last_backup
from wb.models import Community, User
from wb.people import leaving


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

    time.sleep(1.1)  # backups are named by the second: the copy of what is replaced is newer
    result = invoke(sqlite_app, "restore", str(backup_path), "--yes")
    assert result.exit_code == 0, result.output
    assert message_rows() == original
    # The replaced data is kept in the backups folder, nothing beside the file, under a name of its own
    # that the backups' rotation leaves alone, as the restore says.
    kept_path = Path(re.search(r"Previous database kept as (\S+)", result.output).group(1))
    assert kept_path.parent == backup_path.parent and kept_path.name.startswith("pre-restore-")
    assert f"Previous database kept as {kept_path} (`backup --keep` never removes it: delete it once you no longer " \
           "need it)." in result.output
    # The last backup of what is there now is the one restored, not that copy (it read as a fresh
    # backup and hid an overdue one: an operator tester); stats say so.
    assert last_backup().path.resolve() == backup_path.resolve()
    stats = json.loads(invoke(sqlite_app, "stats", "--json").output)
    assert stats["last_backup"] == str(backup_path.resolve())
    # Restored again: neither restore's copy is the last backup (the first one's showed: a re-check tester).
    time.sleep(1.1)  # copies are named by the second
    again = invoke(sqlite_app, "restore", str(backup_path), "--yes")
    assert again.exit_code == 0, again.output
    assert last_backup().path.resolve() == backup_path.resolve()
    assert not list(target.parent.glob("*.replaced-*"))
    replaced = sqlite3.connect(kept_path)
    assert replaced.execute("SELECT count(*) FROM messages WHERE body = 'after the backup'").fetchone() == (1,)
    replaced.close()
    # The next rotation deleted that copy without a word, and with it the only copy of the messages sent
    # after the backup (an operator tester): backups rotate, restores' copies stay until deleted.
    rotated = invoke(sqlite_app, "backup", "--keep", "1")
    assert rotated.exit_code == 0 and f"Removed old backup: {backup_path}" in rotated.output
    assert kept_path.exists() and kept_path.with_name(kept_path.name + ".sha256").exists()
    assert not backup_path.exists() and str(kept_path) not in rotated.output
    # Metadata follows the restored messages: unread counts agree, verify is clean.
    db.session.expire_all()
    ann_row = db.session.scalar(select(ConversationMembership).where(
        ConversationMembership.user_id == ann_id, ConversationMembership.other_user_id == ben_id))
    assert ann_row.unread_count == 0
    assert db.session.scalar(select(func.sum(ConversationMembership.unread_count))) == 30 + 12
    assert db.session.scalar(select(func.count(ConversationMembership.id))) == 4  # dan's conversation is gone
    verified = invoke(sqlite_app, "verify")
    assert verified.exit_code == 0, verified.output  # the copies are noted, no problem
    assert f"note: {kept_path} is the copy a restore kept of the database it replaced" in verified.output
    # Tabs open across the restore hear of it once the server is back, and draw their page again
    # (static/js/live.js): they showed "after the backup" beside what came later (an outside tester).
    from wb.messaging import live
    from wb.messaging.models import LiveEvent

    told = db.session.scalars(select(LiveEvent).where(LiveEvent.kind == "restored").order_by(LiveEvent.id)).all()
    assert len(told) == 2  # one a restore
    assert told[-1].member_id == live.EVERYONE and told[-1].id == live.newest_id()


def test_restore_asks_for_confirmation_and_no_keeps_everything(sqlite_app, pair):
    converse(*pair, ["first"])
    backup_path = take_backup(sqlite_app)
    converse(*pair, ["second"])
    before = message_rows()
    result = invoke(sqlite_app, "restore", str(backup_path), input="n\n")
    assert result.exit_code == 1
    # "Aborted!" on the question's line (an operator tester): a line of its own that says what happened
    assert "Replace the messaging database" in result.output and "[y/N]: \n" in result.output
    # what it would replace, beside what the backup holds
    assert "(1 conversation, 1 message)" in result.output
    assert "The current messaging database holds 1 conversation, 2 messages.\n" in result.output
    assert result.stderr == "Nothing restored.\n" and "Aborted" not in result.output
    assert message_rows() == before
    assert not list(messaging_file(sqlite_app).parent.glob("*.replaced-*"))


def test_an_erasure_says_the_copies_restores_kept_still_hold_the_text(sqlite_app, pair):
    """They are never rotated away, so "until `--keep` rotates them away" isn't true of them."""
    converse(*pair, ["before the backup"])
    backup_path = take_backup(sqlite_app)
    assert not any("pre-restore" in caveat for caveat in leaving.erasure_caveats())

    assert invoke(sqlite_app, "restore", str(backup_path), "--yes").exit_code == 0

    assert ("So do the copies restores kept of the database they replaced (`pre-restore-*` in the backups folder), "
            "until the operator deletes them.") in leaving.erasure_caveats()


def corrupt_pages(path):
    data = bytearray(path.read_bytes())
    for offset in range(4096 + 16, len(data), 4096):
        data[offset : offset + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    path.with_name(path.name + ".sha256").write_text(f"{sha256_of(path)}  {path.name}\n")


def not_sqlite(path):
    path.write_text("this is a text file, not a database\n" * 50)
    path.with_name(path.name + ".sha256").write_text(f"{sha256_of(path)}  {path.name}\n")


def pg_dump_file(path):
    path.write_bytes(b"PGDMP\x01\x0e\x00" + b"\x00" * 500)
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
    (pg_dump_file, "is a backup of a PostgreSQL messaging database, and this instance's is SQLite"),
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


HOLDER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1])
connection.execute("SELECT count(*) FROM messages").fetchone()  # then idle, no transaction: as a pooled connection
print("open", flush=True)
sys.stdin.readline()
"""


def test_restore_refuses_while_another_process_has_the_database_open(sqlite_app, pair):
    """A server's workers keep the file open: swapping it under them, what they wrote next would go to
    the replaced file's log and be lost. Refused, nothing replaced; once they stop, it goes."""
    converse(*pair, ["before the backup"])
    backup_path = take_backup(sqlite_app)
    converse(*pair, ["after the backup"])
    target = messaging_file(sqlite_app)
    before_rows, before_sum = message_rows(), sha256_of(target)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(target)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "open\n"
        result = invoke(sqlite_app, "restore", str(backup_path), "--yes")
        assert_one_line_error(result, "is open in another process", f"pid {holder.pid}", "stop the app")
        assert message_rows() == before_rows and sha256_of(target) == before_sum
        assert not list(target.parent.glob("*.replaced-*"))
    finally:
        holder.communicate("\n", timeout=10)
    result = invoke(sqlite_app, "restore", str(backup_path), "--yes")
    assert result.exit_code == 0, result.output
    assert [row[3] for row in message_rows()] == ["before the backup"]


def test_restore_refuses_before_asking_while_another_process_has_the_database_open(sqlite_app, pair):
    """It asked "Replace…? [y/N]" first and refused only after the operator said yes."""
    converse(*pair, ["before the backup"])
    backup_path = take_backup(sqlite_app)
    target = messaging_file(sqlite_app)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(target)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "open\n"
        result = invoke(sqlite_app, "restore", str(backup_path), input="y\n")
        assert_one_line_error(result, "is open in another process", f"pid {holder.pid}")
        assert "Replace the messaging database" not in result.output
    finally:
        holder.communicate("\n", timeout=10)


def test_restore_refuses_another_communitys_backup(sqlite_app, pair):
    """Its conversations name members this community doesn't have: it could never be reconciled here."""
    converse(*pair, ["ours"])
    backup_path = take_backup(sqlite_app)
    other = sqlite3.connect(backup_path)
    other.execute("UPDATE conversations SET user_high_id = 424242")
    other.commit()
    other.close()
    backup_path.with_name(backup_path.name + ".sha256").write_text(f"{sha256_of(backup_path)}  {backup_path.name}\n")
    target = messaging_file(sqlite_app)
    before_sum = sha256_of(target)
    result = invoke(sqlite_app, "restore", str(backup_path), "--yes")
    assert_one_line_error(result, "1 member(s) this community doesn't have", "refusing to restore it")
    assert sha256_of(target) == before_sum and [row[3] for row in message_rows()] == ["ours"]


def another_communitys_backup(folder):
    """A backup of another instance, whose members have our members' ids (ids start at 1 everywhere)."""
    config = {key: value for key, value in vars(TestConfig).items() if key.isupper()}
    config.update(SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'wb.sqlite3'}",
                  MESSAGING_DATABASE_URI=f"sqlite:///{folder / 'messaging.sqlite3'}",
                  INSTANCE_PATH=str(folder / "instance"), RATELIMIT_STORAGE_URI="memory://")
    other = create_app(config)
    with other.app_context():
        initialize()
        set_flag("direct_messaging", True)
        converse(member("ann"), member("ben"), ["theirs"])
        path = take_backup(other)
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    return path


def test_restore_refuses_a_backup_of_another_community_whose_member_ids_match_ours(sqlite_app, pair, tmp_path):
    """Another instance's backup named members 1 and 2, as ours do: it was accepted, and its messages
    put under our members' names (an outside tester). The community's id tells them apart."""
    ann_id = pair[0].id
    converse(*pair, ["ours"])
    theirs = another_communitys_backup(tmp_path / "other")
    target = messaging_file(sqlite_app)
    before_sum = sha256_of(target)
    our_id = identity.community_id()
    their_id = sqlite3.connect(theirs).execute("SELECT community_id FROM community").fetchone()[0]
    assert their_id != our_id and sqlite3.connect(theirs).execute(
        "SELECT min(user_low_id) FROM conversations").fetchone() == (ann_id,)

    result = invoke(sqlite_app, "restore", str(theirs), input="y\n")

    assert_one_line_error(result, "is another community's backup", their_id, our_id, "refusing to restore it")
    assert "Replace the messaging database" not in result.output  # refused before asking
    assert sha256_of(target) == before_sum and [row[3] for row in message_rows()] == ["ours"]


def test_a_backup_from_before_communities_had_ids_is_checked_by_its_members_and_then_carries_ours(sqlite_app, pair):
    from flask_migrate import downgrade, upgrade

    converse(*pair, ["ours, from before ids"])
    db.session.remove()
    downgrade(revision=BEFORE_COMMUNITY_IDS, x_arg=["binds=messaging"])  # as an earlier version wrote the file
    backup_path = take_backup(sqlite_app)
    upgrade(x_arg=["binds=messaging"])
    with closing(sqlite3.connect(backup_path)) as older:
        assert "community" not in {row[0] for row in older.execute("SELECT name FROM sqlite_master")}

    result = invoke(sqlite_app, "restore", str(backup_path), "--yes")

    assert result.exit_code == 0, result.output
    assert [row[3] for row in message_rows()] == ["ours, from before ids"]
    assert identity.carried_community_id() == identity.community_id()
    assert invoke(sqlite_app, "verify").exit_code == 0


def test_restore_refuses_a_backup_whose_message_names_a_sender_outside_its_conversation(sqlite_app, pair):
    """Restored, Ann's own message read as Ben's, and verify passed (an outside tester)."""
    cat = member("cat")
    converse(*pair, ["ann writes", "and again"])
    backup_path = take_backup(sqlite_app)
    edited = sqlite3.connect(backup_path)
    [wrong_id] = edited.execute("UPDATE messages SET sender_id = ? WHERE body = 'and again' RETURNING id", (cat.id,))
    edited.commit()
    edited.close()
    rewrite_checksum(backup_path)
    target = messaging_file(sqlite_app)
    before_sum = sha256_of(target)

    result = invoke(sqlite_app, "restore", str(backup_path), "--yes")

    assert_one_line_error(result, "1 message(s) whose sender isn't one of their conversation's two members",
                          f"message ids {wrong_id[0]})", "refusing to restore it")
    assert sha256_of(target) == before_sum


def test_verify_reports_a_message_whose_sender_is_not_in_its_conversation(sqlite_app, pair):
    cat = member("cat")
    conversation = converse(*pair, ["ann writes"])
    db.session.execute(text("UPDATE messages SET sender_id = :cat"), {"cat": cat.id},
                       bind_arguments={"bind": db.engines["messaging"]})
    db.session.commit()
    [message_id] = [row[0] for row in message_rows()]

    result = invoke(sqlite_app, "verify")

    assert result.exit_code == 1, result.output
    assert (f"message {message_id} in conversation {conversation.id} names member {cat.id} as its sender, who isn't "
            "one of the conversation's two members") in result.output


def test_verify_reports_a_messaging_database_of_another_community(sqlite_app, pair):
    converse(*pair, ["ours"])
    theirs = identity.carried_community_id()
    db.session.execute(update(Community).values(community_id="0" * 32))
    db.session.commit()

    result = invoke(sqlite_app, "verify")

    assert result.exit_code == 1, result.output
    assert f"the messaging database is another community's: it carries community id {theirs}" in result.output


# The revision before the messaging database carried its community's id (the community table).
BEFORE_COMMUNITY_IDS = "c8d4e2f6a1b7"


def rewrite_checksum(path):
    path.with_name(path.name + ".sha256").write_text(f"{sha256_of(path)}  {path.name}\n")


def test_restore_keeps_erased_text_erased(sqlite_app, pair):
    """A backup taken before a member was erased still holds their text: the restore wipes it again."""
    ann, ben = pair
    converse(ann, ben, ["ann's words", "more of ann's words"])
    converse(ben, ann, ["ben's own words"])
    backup_path = take_backup(sqlite_app)
    leaving.erase_member(db.session.get(User, ann.id))
    assert sorted(row[3] for row in message_rows()) == ["", "", "ben's own words"]

    result = invoke(sqlite_app, "restore", str(backup_path), "--yes")
    assert result.exit_code == 0, result.output
    assert "Wiped again the text of 2 message(s) of members erased since the backup." in result.output
    assert sorted(row[3] for row in message_rows()) == ["", "", "ben's own words"]
    assert invoke(sqlite_app, "verify").exit_code == 0


def test_restore_of_a_missing_file_is_one_line(sqlite_app, tmp_path):
    assert_one_line_error(invoke(sqlite_app, "restore", str(tmp_path / "nope.sqlite3"), "--yes"), "doesn't exist")
    # an empty path was "Error: . doesn't exist or isn't a file." (an operator tester)
    for empty in ("", "  "):
        assert_one_line_error(invoke(sqlite_app, "restore", empty, "--yes"), "The backup's path is empty")


# --- PostgreSQL -----------------------------------------------------------------------


@pytest.fixture
def own_instance(app_config, tmp_path):
    app_config["INSTANCE_PATH"] = str(tmp_path / "instance")


@PG_ONLY
def test_postgresql_backup_and_restore_round_trip(own_instance, app, some_messages):
    assert postgres.shutil.which("pg_dump"), "CI must install postgresql-client (pg_dump) for this pass"
    original = message_rows()
    result = invoke(app, "backup")
    assert result.exit_code == 0, result.output
    dump = last_backup().path
    assert dump.suffix == ".dump" and dump.read_bytes().startswith(b"PGDMP")
    assert (dump.parent / (dump.name + ".sha256")).read_text().split()[0] == sha256_of(dump)

    db.session.execute(text("DELETE FROM messages"), bind_arguments={"bind": db.engines["messaging"]})
    db.session.commit()
    assert message_rows() == []
    restored = invoke(app, "restore", str(dump), "--yes")
    assert restored.exit_code == 0, restored.output
    assert message_rows() == original
    assert "Previous database kept as" in restored.output
    # what the dump is, where a SQLite backup shows its counts (an operator tester saw nothing)
    database = db.engines["messaging"].url.database
    assert re.search(rf"\(a pg_dump of database {database}, taken \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d", restored.output)
    assert invoke(app, "verify").exit_code == 0


@PG_ONLY
def test_postgresql_restore_refuses_a_sqlite_file(own_instance, app, tmp_path):
    fake = tmp_path / "messaging.sqlite3"
    sqlite3.connect(fake).close()
    fake.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    fake.with_name(fake.name + ".sha256").write_text(f"{sha256_of(fake)}  {fake.name}\n")
    assert_one_line_error(invoke(app, "restore", str(fake), "--yes"),
                          "is a backup of a SQLite messaging database, and this instance's is PostgreSQL")


@PG_ONLY
def test_postgresql_restore_refuses_a_dump_of_another_database(own_instance, app, some_messages, tmp_path):
    url = db.engines["messaging"].url
    other_name = f"{url.database}_other"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {other_name}"], check=True)
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {other_name}"], check=True)
    try:
        other = url.set(drivername="postgresql", database=other_name).render_as_string(hide_password=False)
        subprocess.run(["psql", other, "-qc", "CREATE TABLE foo (x int); CREATE TABLE messages (y int)"], check=True)
        dump = tmp_path / "other.dump"
        subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", f"--dbname={other}"], check=True)
    finally:
        subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {other_name}"], check=True)
    dump.with_name(dump.name + ".sha256").write_text(f"{sha256_of(dump)}  {dump.name}\n")
    before = message_rows()
    assert_one_line_error(invoke(app, "restore", str(dump), "--yes"), "not a messaging backup (no conversations table)")
    assert message_rows() == before


@PG_ONLY
def test_postgresql_restore_refuses_while_another_session_is_connected(own_instance, app, some_messages):
    import psycopg

    result = invoke(app, "backup")
    assert result.exit_code == 0, result.output
    dump = last_backup().path
    before = message_rows()
    url = db.engines["messaging"].url.set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False)):  # as a worker's pooled connection
        refused = invoke(app, "restore", str(dump), input="y\n")
        assert_one_line_error(refused, "1 other session(s) are connected", "stop the app")
        assert "Replace the messaging database" not in refused.output  # refused before asking
    assert message_rows() == before
    assert invoke(app, "restore", str(dump), "--yes").exit_code == 0


@PG_ONLY
def test_postgresql_restore_waits_out_a_session_that_is_closing(own_instance, app, some_messages):
    """A connection just closed stays listed until its server process has exited: a full CI run's
    restore was refused by its own pool, disposed a moment before the count."""
    import threading

    import psycopg

    assert invoke(app, "backup").exit_code == 0
    dump = last_backup().path
    url = db.engines["messaging"].url.set(drivername="postgresql")
    closing = psycopg.connect(url.render_as_string(hide_password=False))
    threading.Timer(0.3, closing.close).start()  # gone while the restore still looks
    restored = invoke(app, "restore", str(dump), "--yes")
    assert restored.exit_code == 0, restored.output


def test_verify_finds_a_copy_an_earlier_versions_restore_left_beside_the_database(sqlite_app, pair):
    """Restores before this version kept the replaced file beside the database, outside every rotation."""
    converse(*pair, ["kept beside, outside every rotation"])
    target = messaging_file(sqlite_app)
    left = target.with_name(f"{target.name}.replaced-20261201T000000Z")
    left.write_bytes(target.read_bytes())
    result = invoke(sqlite_app, "verify")
    assert result.exit_code == 1 and f"{left} is a copy of the messaging database" in result.output
    left.unlink()
    assert invoke(sqlite_app, "verify").exit_code == 0


def newest_message_id():
    db.session.expire_all()
    return db.session.scalar(select(func.max(Message.id)))


@pytest.mark.parametrize("lost", ["written since", "the whole file"])
def test_after_a_restore_no_message_id_is_handed_out_again(sqlite_app, pair, lost):
    """An API client that saw the lost messages polls `?after=<the newest it saw>`: the next message
    must come after it, or the client skips it for good."""
    ann, ben = pair
    ann_id, conversation_id = ann.id, converse(ann, ben, ["one", "two", "three"]).id  # restore ends the session
    backup_path = take_backup(sqlite_app)
    converse(ann, ben, [f"lost {i}" for i in range(5)])
    seen = newest_message_id()
    if lost == "the whole file":  # the disk died: only the main database's metadata still knows the ids
        db.session.remove()
        db.engines["messaging"].dispose()
        messaging_file(sqlite_app).unlink()
    result = invoke(sqlite_app, "restore", str(backup_path), "--yes")
    assert result.exit_code == 0, result.output
    assert newest_message_id() < seen

    message = writes.send_message(db.session.get(User, ann_id), db.session.get(Conversation, conversation_id), "after")
    assert message.message.id > seen
    assert [row[3] for row in message_rows() if row[0] > seen] == ["after"]
    assert invoke(sqlite_app, "verify").exit_code == 0


def test_a_backup_from_before_autoincrement_is_upgraded_and_keeps_every_message(sqlite_app, pair):
    from flask_migrate import downgrade, upgrade

    ann, ben = pair
    ann_id = ann.id
    converse(ann, ben, [f"old {i}" for i in range(4)])
    db.session.remove()
    downgrade(revision="d8f3b6a1c5e2", x_arg=["binds=messaging"])  # as an earlier version wrote the file
    table_sql = "SELECT sql FROM sqlite_master WHERE name = 'messages'"
    file = messaging_file(sqlite_app)
    assert "AUTOINCREMENT" not in sqlite3.connect(file).execute(table_sql).fetchone()[0]
    old_backup = take_backup(sqlite_app)
    upgrade(x_arg=["binds=messaging"])
    assert "AUTOINCREMENT" in sqlite3.connect(file).execute(table_sql).fetchone()[0]
    original = message_rows()
    converse(ann, ben, ["lost"])
    seen = newest_message_id()

    result = invoke(sqlite_app, "restore", str(old_backup), "--yes")
    assert result.exit_code == 0, result.output
    assert message_rows() == original
    assert "AUTOINCREMENT" in sqlite3.connect(file).execute(table_sql).fetchone()[0]
    conversation = db.session.scalar(select(Conversation))
    assert writes.send_message(db.session.get(User, ann_id), conversation, "after").message.id > seen
    assert invoke(sqlite_app, "verify").exit_code == 0


@PG_ONLY
def test_postgresql_restore_hands_out_no_message_or_conversation_id_again(own_instance, app, some_messages, alice, bob):
    result = invoke(app, "backup")
    assert result.exit_code == 0, result.output
    dump = last_backup().path
    carol = member("carol_pg_ids")
    carol_id, alice_id = carol.id, alice.id
    converse(alice, bob, ["lost 1", "lost 2"])
    lost = converse(carol, alice, ["lost with its conversation"]).id
    seen = newest_message_id()

    restored = invoke(app, "restore", str(dump), "--yes")
    assert restored.exit_code == 0, restored.output
    assert newest_message_id() < seen
    conversation = converse(db.session.get(User, carol_id), db.session.get(User, alice_id), ["a new start"])
    # conversation ids are drawn at random (conversations.CONVERSATION_IDS), not from the sequence
    assert conversation.id != lost and conversation.id >= CONVERSATION_IDS[0]
    assert newest_message_id() > seen


@PG_ONLY
def test_postgresql_restore_of_a_dump_that_crashes_pg_restore_says_the_file_is_damaged(own_instance, app, monkeypatch,
                                                                                        tmp_path):
    """A damaged dump made pg_restore crash, and the restore said only "exit status -11"."""
    crashing = tmp_path / "pg_restore"
    crashing.write_text("#!/bin/sh\nkill -SEGV $$\n")
    crashing.chmod(0o755)
    monkeypatch.setattr(postgres, "_pg_command", lambda name: str(crashing))
    dump = tmp_path / "messaging.dump"
    dump.write_bytes(b"PGDMP" + b"\x00" * 64)
    dump.with_name(dump.name + ".sha256").write_text(f"{sha256_of(dump)}  {dump.name}\n")
    assert_one_line_error(invoke(app, "restore", str(dump), "--yes"), "pg_restore crashed (signal 11)",
                          "damaged")


@PG_ONLY
def test_postgresql_restore_refuses_another_communitys_dump(own_instance, app, some_messages):
    assert invoke(app, "backup").exit_code == 0
    dump = last_backup().path
    theirs = identity.carried_community_id()
    db.session.execute(update(Community).values(community_id="0" * 32))  # as if the dump came from elsewhere
    db.session.commit()
    before = message_rows()

    result = invoke(app, "restore", str(dump), input="y\n")

    assert_one_line_error(result, "is another community's backup", theirs, "0" * 32)
    assert "Replace the messaging database" not in result.output
    assert message_rows() == before


@PG_ONLY
def test_postgresql_restore_refuses_a_dump_whose_message_names_a_sender_outside_its_conversation(
        own_instance, app, some_messages):
    carol = member("carol_pg_sender")
    [wrong_id] = db.session.execute(text("UPDATE messages SET sender_id = :carol WHERE id = (SELECT min(id) FROM messages) "
                                         "RETURNING id"), {"carol": carol.id},
                                    bind_arguments={"bind": db.engines["messaging"]}).scalars()
    db.session.commit()
    assert "names member" in invoke(app, "verify").output
    assert invoke(app, "backup").exit_code == 0

    result = invoke(app, "restore", str(last_backup().path), "--yes")

    assert_one_line_error(result, "1 message(s) whose sender isn't one of their conversation's two members",
                          f"message ids {wrong_id})")


@PG_ONLY
def test_postgresql_restore_of_a_dump_from_before_communities_had_ids(own_instance, app, some_messages):
    """pg_restore --clean drops only the tables a dump holds: the community table stays, and the
    upgrade after the restore finds it there."""
    from flask_migrate import downgrade

    original = message_rows()
    db.session.remove()
    downgrade(revision=BEFORE_COMMUNITY_IDS, x_arg=["binds=messaging"])  # as an earlier version's database
    assert invoke(app, "backup").exit_code == 0
    dump = last_backup().path
    assert invoke(app, "init").exit_code == 0  # this version's schema, carrying the community's id

    result = invoke(app, "restore", str(dump), "--yes")

    assert result.exit_code == 0, result.output
    assert message_rows() == original
    assert identity.carried_community_id() == identity.community_id()
    assert invoke(app, "verify").exit_code == 0


@pytest.mark.parametrize("damage, words", [("table", "is damaged"), ("index", "The copy of the current messaging "
                                                                         "database failed its integrity check")])
def test_restore_replaces_a_damaged_database_keeping_a_copy_of_it_named_damaged(sqlite_app, pair, damage, words):
    """A restore refused exactly when it was needed: its copy of the damaged current database failed
    its integrity check, and "nothing was kept" (an operator tester). The copy is kept, named so."""
    from messaging_ops_helpers import damage_pages, messages_btrees
    from wb.messaging.ops.backup import PRE_RESTORE, list_backups

    converse(*pair, ["in the backup"])
    backup_path = take_backup(sqlite_app)
    converse(*pair, [f"after the backup {number} " + "y" * 300 for number in range(40)])
    # the whole table (SQLite can't copy it page by page), or one index (the copy fails its check)
    assert damage_pages(*(messages_btrees() if damage == "table" else ["ix_messages_conversation_id_id"]),
                        keep_header=damage == "index")
    # a backup of it says the database itself is damaged, and what to do
    assert_one_line_error(invoke(sqlite_app, "backup"), words, "damaged", "restore a backup")

    result = invoke(sqlite_app, "restore", str(backup_path), "--yes")
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    [said] = [line for line in result.output.splitlines() if "damaged" in line]
    assert "The current messaging database is damaged" in said and "-damaged.sqlite3" in said, said
    [kept] = list_backups(prefix=PRE_RESTORE)
    assert kept.path.name.startswith("pre-restore-") and kept.path.name.endswith("-damaged.sqlite3")
    assert kept.checksum_path.read_text().split()[0] == sha256_of(kept.path)
    assert [row[3] for row in message_rows()] == ["in the backup"]
    assert invoke(sqlite_app, "verify").exit_code == 0


@pytest.mark.parametrize("damage", ["header", "garbage"])
def test_restore_replaces_a_database_sqlite_cannot_open_keeping_its_bytes_named_damaged(sqlite_app, pair, damage):
    """Page 1 overwritten, or no database at all: the restore refused ("Can't checkpoint ...: file is
    not a database") exactly when it was needed (an operator re-check tester)."""
    from wb.messaging.ops.backup import PRE_RESTORE, list_backups

    converse(*pair, ["in the backup"])
    backup_path = take_backup(sqlite_app)
    converse(*pair, ["after the backup"])
    target = messaging_file(sqlite_app)
    db.session.remove()
    db.engines["messaging"].dispose()
    with closing(sqlite3.connect(target)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(target, "r+b") as handle:
        if damage == "header":
            handle.write(b"\xa5" * 4096)
        else:
            handle.truncate(0)
            handle.write(b"not a database at all " * 500)
    unreadable = target.read_bytes()

    result = invoke(sqlite_app, "restore", str(backup_path), "--yes")

    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    [said] = [line for line in result.output.splitlines() if "damaged" in line]
    assert "The current messaging database is damaged" in said and "-damaged.sqlite3" in said, said
    [kept] = list_backups(prefix=PRE_RESTORE)
    assert kept.path.name.endswith("-damaged.sqlite3") and kept.path.read_bytes() == unreadable
    assert kept.checksum_path.read_text().split()[0] == sha256_of(kept.path)
    assert [row[3] for row in message_rows()] == ["in the backup"]
    assert invoke(sqlite_app, "verify").exit_code == 0


@pytest.mark.parametrize("empty", ["no bytes", "no tables"])
def test_restore_replaces_an_empty_database_saying_no_copy_was_needed(sqlite_app, pair, empty):
    """An empty file was refused as having "no messaging tables; restore a backup ... or run init",
    the very command being run (an operator re-check tester)."""
    from wb.messaging.ops.backup import PRE_RESTORE, list_backups

    converse(*pair, ["in the backup"])
    backup_path = take_backup(sqlite_app)
    target = messaging_file(sqlite_app)
    db.session.remove()
    db.engines["messaging"].dispose()
    for suffix in ("", "-wal", "-shm"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    if empty == "no bytes":
        target.write_bytes(b"")
    else:
        with closing(sqlite3.connect(target)) as connection:
            connection.execute("PRAGMA user_version = 1")  # a valid SQLite file, with no tables

    result = invoke(sqlite_app, "restore", str(backup_path), "--yes")

    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    [said] = [line for line in result.output.splitlines() if "is empty" in line]
    assert said == "The current messaging database is empty (no tables): no copy of it was needed.", said
    assert list_backups(prefix=PRE_RESTORE) == []
    assert [row[3] for row in message_rows()] == ["in the backup"]
    assert invoke(sqlite_app, "verify").exit_code == 0


def test_restore_over_a_missing_file_keeps_its_leftover_wal_and_says_how_to_read_it(sqlite_app, pair, tmp_path):
    """The messaging file deleted, its WAL left beside its path: restore deleted the WAL without a word,
    and with it the last messages, which it held (an operator tester). It is kept in backups/."""
    import hashlib
    import os
    import shutil

    converse(*pair, ["in the backup"])
    backup_path = take_backup(sqlite_app)
    converse(*pair, ["sent after the backup, only in the WAL"])
    target = messaging_file(sqlite_app)
    wal = target.with_name(target.name + "-wal")
    os.unlink(target)  # the operator's `rm`, while the app held it open
    db.session.remove()
    db.engines["messaging"].dispose()  # the app stops: SQLite leaves the WAL of an unlinked file
    assert wal.stat().st_size > 0
    wal_sha256 = hashlib.sha256(wal.read_bytes()).hexdigest()

    result = invoke(sqlite_app, "restore", str(backup_path), "--yes")

    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    kept = sorted((Path(sqlite_app.instance_path) / "backups").glob("pre-restore-*.sqlite3-wal"))
    assert len(kept) == 1 and hashlib.sha256(kept[0].read_bytes()).hexdigest() == wal_sha256
    assert kept[0].with_name(kept[0].name[:-len("-wal")] + "-shm").exists()
    warning = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warning) == 1 and str(kept[0]) in warning[0] and "may hold the last messages" in warning[0]
    assert [row[3] for row in message_rows()] == ["in the backup"]
    # What the warning says to do: the backup's copy with the kept WAL beside it reads the lost message.
    copy = tmp_path / "look.sqlite3"
    shutil.copyfile(backup_path, copy)
    shutil.copyfile(kept[0], tmp_path / "look.sqlite3-wal")
    with closing(sqlite3.connect(copy)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        bodies = [row[0] for row in connection.execute("SELECT body FROM messages ORDER BY id")]
    assert bodies == ["in the backup", "sent after the backup, only in the WAL"]
    notes = [line for line in invoke(sqlite_app, "verify").output.splitlines() if line.startswith("note:")]
    assert any(str(kept[0]) in line and "delete it once you no longer need it" in line for line in notes), notes
