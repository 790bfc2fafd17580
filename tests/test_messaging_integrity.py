"""Privacy, the two-step send, reconcile, concurrency and query counts."""
import logging
import threading

import pytest
from flask import current_app
from sqlalchemy import String, Text, event, select
from sqlalchemy.exc import OperationalError

from wb.extensions import db, kept_after_commit
from wb.messaging import conversations, metadata, reconcile, writes
from wb.messaging.models import Conversation, ConversationMembership, LiveEvent
from wb.models import User
from messaging_helpers import membership_of, messages_in, open_conversation, poll_cursors, send, visible_text

SECRET = "the-spare-key-is-under-the-blue-flowerpot-7731"


def main_database_string_values():
    """Every string value in every main-database table."""
    engine = db.engines[None]
    values = []
    with engine.connect() as connection:
        for table in db.metadatas[None].sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, (String, Text))]
            if columns:
                for row in connection.execute(select(*columns)):
                    values.extend(str(v) for v in row if v is not None)
    return values


def test_message_text_never_reaches_the_main_database_or_the_logs(chat, caplog, capfd):
    alice_client, bob_client, cid = chat
    caplog.set_level(logging.DEBUG)
    send(alice_client, cid, SECRET)
    send(alice_client, cid, "x" * 5001 + SECRET)  # refused, still must not be logged
    send(bob_client, cid, f"re: {SECRET}")
    bob_client.post(f"/messages/{cid}/read")
    [first, _] = messages_in(cid)
    alice_client.post(f"/messages/{cid}/messages/{first.id}/delete")  # before Bob's report: after it, it's his to keep
    bob_client.post("/people/alice/report", data={"reason": "spam"})
    reconcile.reconcile()
    assert all(SECRET not in value for value in main_database_string_values())
    assert any(SECRET in m.body for m in messages_in(cid))  # it is in the messaging database
    assert SECRET not in caplog.text
    out, err = capfd.readouterr()
    assert SECRET not in out and SECRET not in err
    assert "message.sent" in caplog.text and "message.deleted" in caplog.text


def test_a_failing_database_error_does_not_leak_text_into_logs(chat, caplog, capfd, monkeypatch):
    """Even an unexpected error while storing shows a 500 page and logs no message text."""
    alice_client, _, cid = chat
    caplog.set_level(logging.DEBUG)
    engine = db.engines["messaging"]

    def explode(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO MESSAGES"):
            raise OperationalError(statement, parameters, Exception("disk on fire"))

    event.listen(engine, "before_cursor_execute", explode)
    try:
        response = send(alice_client, cid, SECRET)
    finally:
        event.remove(engine, "before_cursor_execute", explode)
    assert response.status_code == 500
    assert "Traceback" not in response.get_data(as_text=True)
    assert SECRET not in caplog.text
    _, err = capfd.readouterr()
    assert SECRET not in err
    assert messages_in(cid) == []


def test_metadata_failure_after_send_loses_nothing_and_reconcile_repairs_it(chat, bob, caplog):
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "before the failure")
    engine = db.engines[None]

    def fail_metadata(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE CONVERSATION_MEMBERSHIPS"):
            # the driver's own error, as a lost connection or a locked database raises it
            raise engine.dialect.loaded_dbapi.OperationalError("main database unavailable")

    event.listen(engine, "before_cursor_execute", fail_metadata)
    try:
        response = send(alice_client, cid, "sent while metadata fails")
    finally:
        event.remove(engine, "before_cursor_execute", fail_metadata)
    assert response.status_code == 200  # the member's message went through
    assert "metadata update failed" in caplog.text
    stored = messages_in(cid)
    assert [m.body for m in stored] == ["before the failure", "sent while metadata fails"]
    # the thread reads the messaging database, so both members see it at once
    assert "sent while metadata fails" in bob_client.get(f"/messages/{cid}").get_data(as_text=True)
    stale = membership_of(bob, cid)
    assert stale.unread_count == 1 and stale.last_message_id == stored[0].id
    # its live event did not go with the failed metadata: both members' tabs hear of it now
    told = db.session.scalars(select(LiveEvent.member_id).where(
        LiveEvent.kind == "message", LiveEvent.message_id == stored[1].id)).all()
    assert sorted(told) == sorted([bob.id, stale.other_user_id])
    changes = reconcile.reconcile(dry_run=True)
    assert any("unread_count 1 -> 2" in line for line in changes)
    assert membership_of(bob, cid).unread_count == 1  # dry run changed nothing
    reconcile.reconcile()
    repaired = membership_of(bob, cid)
    assert repaired.unread_count == 2 and repaired.last_message_id == stored[1].id
    assert reconcile.reconcile() == []  # idempotent


def test_reconcile_rebuilds_missing_memberships_and_removes_orphans(chat, alice, bob):
    alice_client, _, cid = chat
    send(alice_client, cid, "hello")
    db.session.execute(ConversationMembership.__table__.delete())
    db.session.add(ConversationMembership(user_id=alice.id, conversation_id=cid + 500, other_user_id=bob.id))
    db.session.commit()
    changes = reconcile.reconcile()
    assert any("added missing membership" in line for line in changes)
    assert any(f"conversation {cid + 500}" in line for line in changes)
    assert membership_of(bob, cid).unread_count == 1
    assert membership_of(alice, cid).unread_count == 0
    assert membership_of(alice, cid + 500) is None


def test_database_enforces_one_conversation_per_pair(app, alice, bob):
    from sqlalchemy.exc import IntegrityError

    low, high = sorted((alice.id, bob.id))
    db.session.add(Conversation(user_low_id=low, user_high_id=high))
    db.session.commit()
    db.session.add(Conversation(user_low_id=low, user_high_id=high))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    db.session.add(Conversation(user_low_id=high, user_high_id=low))  # wrong order
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_concurrent_creation_from_two_threads_makes_one_conversation(app, make_user, messaging_on):
    """Both requests race to create the pair's conversation; the database keeps one."""
    pairs = [(make_user(f"left{i}"), make_user(f"right{i}")) for i in range(5)]
    for left, right in pairs:
        barrier = threading.Barrier(2)
        results, errors = [], []

        def start(me_id, other_id):
            with app.app_context():
                try:
                    me, other = db.session.get(User, me_id), db.session.get(User, other_id)
                    barrier.wait(timeout=10)
                    conversation, _ = writes.open_conversation(me, other)
                    results.append(conversation.id)
                except Exception as error:  # reported below
                    errors.append(repr(error))
                finally:
                    db.session.remove()

        threads = [
            threading.Thread(target=start, args=(left.id, right.id)),
            threading.Thread(target=start, args=(right.id, left.id)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert errors == []
        assert len(results) == 2 and results[0] == results[1]
        low, high = sorted((left.id, right.id))
        rows = db.session.scalars(
            select(Conversation).where(Conversation.user_low_id == low, Conversation.user_high_id == high)
        ).all()
        assert len(rows) == 1
        memberships = db.session.scalars(
            select(ConversationMembership).where(ConversationMembership.conversation_id == rows[0].id)
        ).all()
        assert sorted(m.user_id for m in memberships) == sorted((left.id, right.id))


def _queries_for(client, count_queries, path, **kwargs):
    """The statements one request runs, less the flag cache's periodic refresh (not per-request work)."""
    with count_queries() as statements:
        response = client.get(path, **kwargs)
    assert response.status_code in (200, 204)
    return [s for s in statements if "feature_flags" not in s]


def _add_conversations(member, prefix, count, make_user):
    """Conversations with a message each, made directly (the daily limit is for members, not fixtures)."""
    from wb.messaging.models import Message

    for i in range(count):
        other = make_user(f"{prefix}{i}")
        conversation, _ = conversations.create_conversation(member.id, other.id)
        conversations.ensure_memberships(conversation)
        message = Message(conversation_id=conversation.id, sender_id=other.id, body=f"hello from {other.username}")
        db.session.add(message)
        with kept_after_commit():  # as writes.send_message: record_send finds the message as it was stored
            db.session.commit()
            metadata.record_send(conversation, message)


def test_inbox_runs_a_fixed_number_of_queries(app, alice, make_user, login, messaging_on, count_queries):
    client = login(alice)
    _add_conversations(alice, "few", 3, make_user)
    few = len(_queries_for(client, count_queries, "/messages"))
    _add_conversations(alice, "many", 12, make_user)
    many = len(_queries_for(client, count_queries, "/messages"))
    assert "hello from many11" in client.get("/messages").get_data(as_text=True)
    assert few == many
    # the member; the live channel's cursor; the page with names and the badge total (main
    # database); previews (messaging); whether a rule keeps the member from starting with anyone
    # (one small query)
    assert many == 5


def test_thread_runs_a_fixed_number_of_queries(chat, count_queries):
    alice_client, bob_client, cid = chat
    for i in range(3):
        send(alice_client, cid, f"short {i}")
    few = len(_queries_for(bob_client, count_queries, f"/messages/{cid}"))
    from wb.messaging.models import Message

    alice = User.by_username("alice")
    db.session.add_all([Message(conversation_id=cid, sender_id=alice.id, body=f"long {i}") for i in range(80)])
    db.session.commit()
    many = len(_queries_for(bob_client, count_queries, f"/messages/{cid}"))
    assert few == many
    # the member, the conversation, its messages; both members with their cursors and any block
    # between them (one query); the inbox list and its previews; the live channel's cursor;
    # whether a rule keeps the member from starting with anyone (one small query)
    assert many == 8
    older = len(_queries_for(bob_client, count_queries, f"/messages/{cid}?before=40", headers={"HX-Request": "true"}))
    assert older == 3  # an older page needs only the member, the conversation and the messages


def test_a_first_send_asks_the_rules_in_a_fixed_number_of_queries(chat, count_queries):
    """The first message of a conversation is a start: nine more queries than a reply (is the
    empty conversation the sender's own draft; does the messaging database hold a message yet; the
    rules and circle names; both members' circles; its start claimed and, once the day's count took
    it, marked counted (conversation_starts, before the message is stored); the other member's
    metadata row written, now that the conversation exists for them too: which rows exist, the insert)."""
    alice_client, bob_client, cid = chat
    with count_queries() as statements:
        response = alice_client.post(f"/messages/{cid}", data={"body": "first"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    statements = [s for s in statements if "feature_flags" not in s and "rate_limit_" not in s]
    assert len(statements) == 18, statements  # and the change events (one statement)
    assert any("FROM messaging_rules" in s for s in statements)
    assert len([s for s in statements if "conversation_starts" in s]) == 2, statements


def test_each_members_unread_count_follows_their_own_view(chat, alice, bob):
    """A send recounts both members, a remove the remover: each from their own side's "removed
    from view" column, whichever side of the conversation they are on."""
    alice_client, bob_client, cid = chat

    def counts():
        return membership_of(alice, cid).unread_count, membership_of(bob, cid).unread_count

    def remove(client, body):
        message = next(m for m in messages_in(cid) if m.body == body)
        assert client.post(f"/messages/{cid}/messages/{message.id}/remove").status_code in (200, 302)

    send(alice_client, cid, "a1")
    send(alice_client, cid, "a2")
    assert counts() == (0, 2)
    remove(bob_client, "a1")  # off Bob's count, and only his
    assert counts() == (0, 1)
    send(alice_client, cid, "a3")
    assert counts() == (0, 2)
    send(bob_client, cid, "b1")  # replying reads what came in
    assert counts() == (1, 0)
    remove(alice_client, "b1")
    assert counts() == (0, 0)
    send(bob_client, cid, "b2")
    assert counts() == (1, 0)  # b1 stays out of Alice's count
    assert db.session.get(ConversationMembership, membership_of(alice, cid).id).unread_since is not None
    assert membership_of(bob, cid).unread_since is None


def test_a_send_runs_a_fixed_number_of_queries(chat, count_queries):
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "the first message: what follows are replies")
    with count_queries() as statements:
        response = alice_client.post(f"/messages/{cid}", data={"body": "counted"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    statements = [s for s in statements if "feature_flags" not in s]
    limit = [s for s in statements if "rate_limit_" in s]
    statements = [s for s in statements if "rate_limit_" not in s]
    if current_app.config["RATELIMIT_STORAGE_URI"] == "database://":
        # the member's limit counted in its moving window: the key's row locked (an upsert), then
        # this send added if the sends of the last minute leave room (one statement; the first send
        # of a window also clears finished ones)
        assert [s.split()[0] for s in limit] == ["INSERT", "INSERT"], limit
        assert "count(*)" in limit[1] and "SELECT" in limit[1], limit
    else:
        assert limit == []  # counted in Redis
    # the member, the conversation; the recipient with any block between the two (one query);
    # the conversation held (sends commit in id order); the message; both members' cursors
    # (one update, holding their rows); their unread messages counted (one query) and written;
    # the change both members' tabs hear of (one statement; on PostgreSQL it takes the order lock
    # and sends the NOTIFY too)
    assert len(statements) == 9, statements
    assert any("INSERT INTO live_events" in s for s in statements)
    assert "blocks" in statements[2].lower() and "users" in statements[2].lower()


def test_a_poll_with_nothing_new_answers_204_in_a_fixed_number_of_queries(chat, count_queries):
    """Asked only when the live channel says the thread changed; with nothing after all: 204."""
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "hello")
    bob_client.post(f"/messages/{cid}/read")
    after, seen = poll_cursors(alice_client.get(f"/messages/{cid}").get_data(as_text=True))
    statements = _queries_for(alice_client, count_queries, f"/messages/{cid}/poll?after={after}&seen={seen}")
    # the member, the conversation, messages after the cursor, the other member's read marker
    assert len(statements) == 4, statements


def test_the_poll_refuses_who_may_not_poll(chat, alice, make_user, login):
    """Signed out, suspended, not a participant, unknown conversation: what any other messaging route gives."""
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "hello")
    after, seen = poll_cursors(alice_client.get(f"/messages/{cid}").get_data(as_text=True))
    path = f"/messages/{cid}/poll?after={after}&seen={seen}"
    assert alice_client.get(path).status_code == 204

    carol_client = login(make_user("carol"))
    assert carol_client.get(path).status_code == 404
    assert alice_client.get(f"/messages/{cid + 1000}/poll?after={after}&seen={seen}").status_code == 404
    assert alice_client.get(f"/messages/{cid}/poll?after=x&seen={seen}").status_code == 400

    alice.status = "suspended"
    db.session.commit()
    refused = alice_client.get(path)  # a suspended account counts as signed out, as on every page
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    alice.status = "active"
    db.session.commit()
    assert alice_client.get(path).status_code == 204

    alice_client.post("/logout")
    response = alice_client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_reconcile_pulls_back_a_read_marker_that_points_past_the_newest_message(chat, bob):
    """As after restoring an older backup: ids past the restored messages will be reused."""
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "one")
    bob_client.post(f"/messages/{cid}/read")
    newest = messages_in(cid)[-1].id
    row = membership_of(bob, cid)
    row.last_read_message_id = newest + 40
    db.session.commit()
    changes = reconcile.reconcile()
    assert any(f"last_read_message_id {newest + 40} -> {newest}" in line for line in changes)
    assert membership_of(bob, cid).last_read_message_id == newest
    send(alice_client, cid, "two")
    assert membership_of(bob, cid).unread_count == 1
    assert reconcile.reconcile() == []


def test_huge_cursors_and_page_numbers_are_refused_cleanly(chat):
    alice_client, _, cid = chat
    huge = "9" * 25
    assert alice_client.get(f"/messages?page={huge}").status_code == 200
    assert alice_client.get(f"/messages/{cid}?before={huge}").status_code == 400
    assert alice_client.get(f"/messages/{cid}/poll?after={huge}").status_code == 400
    assert alice_client.get(f"/messages/{huge}").status_code == 404


def test_the_badge_is_one_query_and_counts_what_the_inbox_shows(chat, bob, make_user, login, count_queries):
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "one")
    send(alice_client, cid, "two")
    carol = make_user("carol")
    carol_client = login(carol)
    carol_cid = open_conversation(carol_client, "bob")
    send(carol_client, carol_cid, "from carol")
    badge = bob_client.get("/messages/badge").get_data(as_text=True)
    assert 'aria-label="3 unread"' in badge and 'hx-trigger="wb:unread-changed from:body"' in badge
    # Asked again (the live channel said something changed) while it still shows the right
    # number: 304, nothing drawn, from its ETag; in a fixed number of queries.
    etag = bob_client.get("/messages/badge").headers["ETag"]
    with count_queries() as statements:
        idle = bob_client.get("/messages/badge", headers={"If-None-Match": etag})
    assert idle.status_code == 304 and idle.get_data() == b""
    statements = [s for s in statements if "feature_flags" not in s]
    assert len(statements) == 2, statements  # the member, the total
    assert bob_client.get("/messages/badge", headers={"If-None-Match": '"badge-0-2"'}).status_code == 200  # redrawn
    assert "3</strong> unread messages" in bob_client.get("/messages/badge?variant=dashboard").get_data(as_text=True)

    # A blocked member's unread messages leave the badge with their conversation.
    bob_client.post("/people/carol/block", data={"confirmed": "1"})
    assert 'aria-label="2 unread"' in bob_client.get("/messages/badge").get_data(as_text=True)
    bob_client.post(f"/messages/{cid}/read")
    assert visible_text(bob_client.get("/messages/badge")) == "Messages"


def test_the_quick_badge_still_refuses_who_may_not_see_it(chat, bob):
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "hello")
    assert bob_client.get("/messages/badge").status_code == 200
    bob.status = "pending"
    db.session.commit()
    assert bob_client.get("/messages/badge").status_code == 403
    bob.status = "suspended"
    db.session.commit()
    assert bob_client.get("/messages/badge").status_code == 302
    bob.status = "active"
    db.session.commit()
    bob_client.post("/logout")
    response = bob_client.get("/messages/badge")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def _connection_modes(client, method, path, **kwargs):
    """For each statement a request runs: its database's dialect, whether its connection was in
    autocommit (no transaction around it) and whether it writes (or locks rows). The live events'
    own statement, which PostgreSQL runs in autocommit right after a change commits
    (messaging/live.py), is left out."""
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        autocommit = conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
        if conn.dialect.name == "postgresql":  # the driver's own flag must agree
            assert conn.connection.dbapi_connection.autocommit is autocommit
        if "pg_advisory_xact_lock" in statement:
            assert autocommit, "the live events' statement runs in a transaction of its own"
            return
        words = statement.split()
        seen.append((conn.dialect.name, autocommit, words[0].upper() in ("INSERT", "UPDATE", "DELETE", "WITH")
                     or "FOR UPDATE" in statement))

    engines = [db.engines[None], db.engines["messaging"]]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.post(path, **kwargs) if method == "POST" else client.open(path, method=method, **kwargs)
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)
    assert response.status_code < 400, response.status_code
    return seen


def test_reads_skip_transactions_on_postgresql_and_writes_keep_them(chat):
    """GET and HEAD run in autocommit on PostgreSQL (no BEGIN/ROLLBACK round trips; the same
    answers under read committed); a POST keeps its transactions for its changes, and the reads
    that draw its answer once they are committed run in autocommit too, as do a send's checks
    before it writes (its view reads first); SQLite is left as it is."""
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "one")
    reads = (_connection_modes(bob_client, "GET", f"/messages/{cid}")
             + _connection_modes(bob_client, "HEAD", "/messages"))
    sending = _connection_modes(alice_client, "POST", f"/messages/{cid}", data={"body": "two"},
                                headers={"HX-Request": "true", "X-WB-List": "page=1"})
    assert reads and sending
    assert all(autocommit == (dialect == "postgresql") for dialect, autocommit, _writes in reads), reads
    changes = [index for index, (_dialect, _autocommit, writes) in enumerate(sending) if writes]
    assert changes and not any(sending[index][1] for index in changes), sending
    answer = sending[changes[-1] + 1:]  # the message drawn as a poll draws it, and the list along
    assert len(answer) >= 3 and not any(writes for _dialect, _autocommit, writes in answer), answer
    assert all(autocommit == (dialect == "postgresql") for dialect, autocommit, _writes in answer), answer
    before = sending[:changes[0]]  # the member, the conversation, the recipient and their blocks
    assert len(before) >= 3, before
    assert all(autocommit == (dialect == "postgresql") for dialect, autocommit, _writes in before), before
    # A POST that doesn't read first keeps its checks in the transaction of its changes.
    hiding = _connection_modes(alice_client, "POST", f"/messages/{cid}/hide", data={"confirmed": "1"})
    assert hiding and not any(autocommit for _dialect, autocommit, _writes in hiding), hiding
    # and the write is there for the next read
    assert "two" in bob_client.get(f"/messages/{cid}").get_data(as_text=True)
