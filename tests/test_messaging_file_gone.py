"""The messaging SQLite file deleted under a running app: its pooled connections still held the gone
file, so every send "worked" (the box cleared, the other member saw it live) into a file no one would
read again, and only /readyz knew (an operator tester). Sends and reads are refused as a damaged
file's are, the log says why, and nothing claims success."""
import logging
import os
import sqlite3
from contextlib import closing

import pytest
from sqlalchemy import select

from api_helpers import ApiClient, token_for
from conftest import WBClient
from messaging_helpers import membership_of, open_conversation, send
from messaging_ops_helpers import messaging_file
from wb.extensions import db

GONE_TEXT = "sent after the file was deleted, never to be stored"


@pytest.fixture
def running(sqlite_app, pair):
    """Ann and Ben signed in, their conversation with one message, its connections open in the pool."""
    sqlite_app.test_client_class = WBClient
    ann, ben = sqlite_app.test_client(), sqlite_app.test_client()
    ann.login("ann", "correct horse battery")
    ben.login("ben", "correct horse battery")
    conversation_id = open_conversation(ann, "ben")
    assert send(ann, conversation_id, "the first message, stored").status_code == 200
    assert ben.get(f"/messages/{conversation_id}").status_code == 200
    return ann, ben, conversation_id


def held_count(connection, conversation_id):
    counted = connection.execute("SELECT count(*) FROM messages WHERE conversation_id = ?", (conversation_id,))
    return counted.fetchone()[0]


def test_a_send_into_a_deleted_file_is_refused_and_logged(sqlite_app, pair, running, caplog):
    ann, ben, conversation_id = running
    path = messaging_file(sqlite_app)
    ann_member, ben_member = pair
    api = ApiClient(sqlite_app.test_client(), token_for(ann_member))
    before = membership_of(ben_member, conversation_id)
    unread_before, last_before = before.unread_count, before.last_message_id
    # Our own view of the file as the server's connections hold it: deleted, with its WAL beside it.
    with closing(sqlite3.connect(path)) as held:
        assert held_count(held, conversation_id) == 1
        os.unlink(path)  # the operator's `rm instance/messaging.sqlite3`
        caplog.set_level(logging.WARNING)

        web = send(ann, conversation_id, GONE_TEXT)
        api_send = api.post(f"/api/v1/conversations/{conversation_id}/messages", json={"body": GONE_TEXT},
                            headers={"Idempotency-Key": "gone-1"})
        thread = ben.get(f"/messages/{conversation_id}")

        # What members see: not sent, as a damaged file is answered (the page keeps the text in the box).
        assert web.status_code == 503 and "Messages unavailable" in web.get_data(as_text=True)
        assert api_send.status_code == 503 and api_send.mimetype == "application/problem+json"
        assert "Nothing else is affected" in api_send.get_json()["detail"]
        assert thread.status_code == 503 and GONE_TEXT not in thread.get_data(as_text=True)
        # What the files hold: nothing more went into the gone file (nor its WAL).
        assert held_count(held, conversation_id) == 1
    assert not path.exists(), "the app never makes an empty file in its place"
    # Nothing claims success in the inbox metadata either.
    after = membership_of(ben_member, conversation_id)
    assert (after.unread_count, after.last_message_id) == (unread_before, last_before)
    # The log says what is wrong and where, never the text.
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert any("messaging database file" in line and str(path) in line and "gone" in line
               for line in warnings), warnings
    assert GONE_TEXT not in caplog.text
    ready = ann.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["databases"]["messaging"]["error"] == "FileMissing"


def test_a_file_put_back_is_used_again_and_a_replaced_one_is_opened_afresh(sqlite_app, running, tmp_path):
    """Moved away and back (the same file), sends go on; a different file in its place (a restored
    copy) is opened anew, never written through the old file's connections."""
    ann, _ben, conversation_id = running
    path = messaging_file(sqlite_app)
    moved = tmp_path / "moved.sqlite3"
    path.rename(moved)
    assert send(ann, conversation_id, GONE_TEXT).status_code == 503
    moved.rename(path)
    assert send(ann, conversation_id, "after it came back").status_code == 200

    with closing(sqlite3.connect(path)) as source, closing(sqlite3.connect(moved)) as copy:
        source.backup(copy)
    os.unlink(path)
    moved.rename(path)  # a new file (another inode) holding the same messages
    assert send(ann, conversation_id, "into the copy").status_code == 200
    db.session.remove()
    with closing(sqlite3.connect(path)) as connection:
        bodies = [row[0] for row in connection.execute(
            "SELECT body FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,))]
    assert bodies == ["the first message, stored", "after it came back", "into the copy"]


@pytest.mark.slow
def test_a_served_app_refuses_sends_once_its_file_is_deleted(sqlite_app, pair, tmp_path):
    """The operator's case as it happened: `wb run` with several workers, each holding the file open."""
    from served import Member, Server

    urls = {key: sqlite_app.config[key] for key in ("SQLALCHEMY_DATABASE_URI", "MESSAGING_DATABASE_URI")}
    urls["INSTANCE_PATH"] = str(tmp_path / "instance")
    path = messaging_file(sqlite_app)
    db.session.remove()
    with Server(tmp_path, urls, workers=2, WB_MESSAGE_RATE_LIMIT="100000 per minute") as server:
        ann = Member(server.url)
        assert ann.sign_in("ann", "correct horse battery").status == 302
        thread = ann.post("/messages/with/ben").headers["Location"]
        conversation_id = int(thread.rsplit("/", 1)[1])
        for number in range(8):  # every worker opens the file
            assert ann.post(thread, {"body": f"stored {number}"}, htmx=True).status == 200
        with closing(sqlite3.connect(path)) as held:
            assert held_count(held, conversation_id) == 8
            os.unlink(path)
            answers = [ann.post(thread, {"body": f"{GONE_TEXT} {number}"}, htmx=True) for number in range(8)]
            assert [answer.status for answer in answers] == [503] * 8
            assert all("Messages unavailable" in answer.text for answer in answers)
            assert held_count(held, conversation_id) == 8
        assert ann.get("/readyz").status == 503
        log = server.log()
    assert "is gone or replaced since it was opened" in log and str(path) in log
    assert GONE_TEXT not in log
