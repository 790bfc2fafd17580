"""A database server's connections are checked before use: one the server ended is replaced, never
shown to a member as an error, and one used a moment ago costs no extra round trip."""
import socket
import time

import psycopg
import pytest
from sqlalchemy import select

from messaging_helpers import send, visible_text
from wb import database
from wb.extensions import db


def _on_postgresql():
    if db.engines[None].dialect.name != "postgresql":
        pytest.skip("SQLite has no server to end a connection (CI's PostgreSQL pass runs this)")


def _end_every_connection_to_the_test_databases():
    """What a PostgreSQL restart or an operator's pg_terminate_backend does to the app's pool, once
    the backends have gone (pg_terminate_backend only signals them; a restart takes its time too)."""
    others = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    ended = 0
    for engine in db.engines.values():
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(url, autocommit=True) as admin:
            pids = [pid for (pid,) in admin.execute(others)]
            admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::integer[]) AS pid", [pids])
            ended += len(pids)
            for _ in range(100):
                if not admin.execute(others + " AND pid = ANY(%s)", [pids]).fetchall():
                    break
                time.sleep(0.05)
            else:
                pytest.fail(f"backends {pids} still there 5 s after pg_terminate_backend")
    return ended


def test_connections_the_server_ended_are_replaced_without_an_error(chat):
    _on_postgresql()
    alice_client, bob_client, cid = chat
    assert send(alice_client, cid, "before the restart").status_code == 200
    assert "before the restart" in visible_text(bob_client.get(f"/messages/{cid}"))
    db.session.remove()  # the test's own session gives its connections back to the pool too

    assert _end_every_connection_to_the_test_databases() >= 2  # the pool held some on both databases

    page = bob_client.get(f"/messages/{cid}")  # a read (autocommit) and a write, each on pooled connections
    assert page.status_code == 200 and "before the restart" in visible_text(page)
    assert send(alice_client, cid, "after the restart").status_code == 200
    assert "after the restart" in visible_text(bob_client.get(f"/messages/{cid}"))


def test_a_connection_used_a_moment_ago_goes_out_without_a_ping_and_an_idle_one_is_pinged(app, monkeypatch):
    _on_postgresql()
    engine = db.engines["messaging"]
    pings = []
    ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda connection: pings.append(1) or ping(connection))
    engine.dispose()
    for _ in range(3):
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1
    assert pings == []  # new, then used a moment ago: its socket was checked instead
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT 1").scalar() == 1
    assert pings == [1]


def test_a_socket_with_something_to_read_is_not_taken_for_quiet():
    here, there = socket.socketpair()
    try:
        assert database._nothing_to_read(here.fileno())
        there.sendall(b"E")  # what a server writes before it ends a connection
        assert not database._nothing_to_read(here.fileno())
        assert here.recv(1) == b"E"  # only peeked at, and the socket is still the caller's
        assert database._nothing_to_read(here.fileno())
        there.close()  # a server gone: the end of the stream
        assert not database._nothing_to_read(here.fileno())
        assert here.recv(1) == b""
    finally:
        here.close()
        there.close()


@pytest.fixture
def one_connection_each(monkeypatch, app_config):
    """A pool of one connection per database, and the limits counted in the main database (the
    default; CI's PostgreSQL pass counts them in Redis, which needs no connection of the pool)."""
    monkeypatch.setenv("WB_TEST_RATELIMIT_STORAGE_URL", "database://")
    app_config.update(DATABASE_POOL_SIZE=1, DATABASE_POOL_OVERFLOW=0)


def test_a_send_and_a_new_conversation_hold_one_connection_at_a_time(one_connection_each, app, alice, bob,
                                                                      messaging_on):
    """The limits' count takes a connection of its own: a request that still held the one it read
    with would wait for a second from a pool with none left (under load: every request holding
    one, each waiting for another), and the member would see "Busy" after the pool's timeout."""
    _on_postgresql()
    from messaging_helpers import open_conversation
    from wb import ratelimits

    assert ratelimits.counts_in_database() and db.engines[None].pool.size() == 1
    names = alice.username, bob.username
    db.session.remove()  # the test's own session holds none
    alice_client, bob_client = app.test_client(), app.test_client()
    alice_client.login(names[0])  # the sign-in limit
    bob_client.login(names[1])
    cid = open_conversation(alice_client, "bob")  # the new-conversation limit
    answer = send(alice_client, cid, "one connection is enough")  # the message limit
    assert answer.status_code == 200, answer.status_code
    assert "one connection is enough" in visible_text(bob_client.get(f"/messages/{cid}"))
    with app.test_request_context():  # what is left, read while the session holds its connection
        db.session.execute(select(1))
        assert ratelimits.remaining("send", "20 per minute", "user:somebody") == 20
