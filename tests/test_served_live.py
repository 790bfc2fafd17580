"""The live channel across processes: real `wb run` servers (gevent workers) on this pass's databases.

Two servers on one database are two processes that share nothing but it (and Redis, in CI's
second pass): a tab waiting on one is woken by what a member does on the other, through the
process's one listener (the SQLite watcher, PostgreSQL NOTIFY, or Redis pub/sub).
"""
import io
import json
import os
import re
import signal
import socket
import threading
import urllib.request
import uuid
import zipfile
from pathlib import Path

import pytest
from served import Member, Server

from conftest import PASSWORD

pytestmark = pytest.mark.slow

LIVE_CURSOR = re.compile(r'data-live-cursor="(\d+)"')
CONVERSATION = re.compile(r"/messages/(\d+)")


@pytest.fixture
def community(app, make_user, admin, messaging_on):
    return make_user("alice"), make_user("bob")


@pytest.fixture
def settings():
    """What both servers share: the rate-limit storage (Redis in CI's second pass) and its key prefix."""
    shared = {"WB_LIVE_HOLD_SECONDS": "20", "WB_RATELIMIT_KEY_PREFIX": f"wbtest-{uuid.uuid4().hex[:12]}"}
    if os.environ.get("WB_TEST_RATELIMIT_STORAGE_URL"):
        shared["WB_RATELIMIT_STORAGE_URL"] = os.environ["WB_TEST_RATELIMIT_STORAGE_URL"]
    return shared


class Tab:
    """A member's open inbox tab: its live channel, asked as live.js asks it."""

    def __init__(self, server, username, path="/messages"):
        self.browser = Member(server.url)
        assert self.browser.sign_in(username, PASSWORD).status == 302
        self.cursor = int(LIVE_CURSOR.search(self.browser.get(path).text).group(1))
        self.answer = None
        self.thread = None

    def another(self, server) -> "Tab":
        """Another tab of the same browser, from the same cursor."""
        tab = Tab.__new__(Tab)
        tab.browser, tab.cursor, tab.answer, tab.thread = self.browser.on(server.url), self.cursor, None, None
        return tab

    def hold(self):
        """Ask in a thread of its own, as the page does, and return at once."""
        self.answer = None
        self.thread = threading.Thread(target=self._ask, daemon=True)
        self.thread.start()
        return self

    def _ask(self):
        try:
            self.answer = self.browser.get(f"/messages/live?since={self.cursor}")
        except OSError as error:  # the server went away under the held request
            self.answer = error

    def answered(self, timeout=15):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the held request was never answered"
        return self.answer

    def events(self):
        answer = self.answered()
        assert answer.status == 200, answer
        body = json.loads(answer.text)
        self.cursor = body["cursor"]
        return [(e["kind"], e["conversation"]) for e in body["events"]]


def wait_until_held(server, count=1):
    """Wait until the server's one worker holds `count` live requests (its /readyz says so)."""
    for _ in range(600):
        with urllib.request.urlopen(f"{server.url}/readyz", timeout=10) as response:
            if json.loads(response.read())["live"]["waiting"] >= count:
                return
        threading.Event().wait(0.025)
    raise AssertionError("the live requests were never held")


def open_conversation(browser, username) -> str:
    answer = browser.post(f"/messages/with/{username}")
    assert answer.status == 302, answer
    return CONVERSATION.search(answer.headers["Location"]).group(0)


def test_a_tab_on_one_server_is_woken_by_a_send_on_another(tmp_path, database_urls, community, settings):
    with Server(tmp_path, database_urls, workers=1, **settings) as first, \
         Server(tmp_path, database_urls, workers=1, **settings) as second:
        bob = Tab(first, "bob").hold()
        wait_until_held(first)
        alice = Member(second.url)
        alice.sign_in("alice", PASSWORD)
        path = open_conversation(alice, "bob")
        assert alice.post(path, {"body": "Over here!"}, htmx=True).status == 200
        assert bob.events() == [("message", int(path.rsplit("/", 1)[1]))]
        assert "Over here" not in bob.answer.text  # ids and kinds only


def test_two_servers_on_one_host_share_no_control_socket(tmp_path, database_urls, settings):
    """gunicorn 27 opens a control socket at one path per user (~/.gunicorn/gunicorn.ctl): two
    servers shared it, and stopping one removed the other's. wb run has no use for it."""
    home = tmp_path / "home"
    home.mkdir()
    with Server(tmp_path, database_urls, workers=1, HOME=str(home), **settings) as first:
        with Server(tmp_path, database_urls, workers=1, HOME=str(home), **settings) as second:
            assert Member(first.url).get("/healthz").status == Member(second.url).get("/healthz").status == 200
            assert list(home.iterdir()) == []
            assert "control" not in first.log().lower() + second.log().lower()


@pytest.mark.parametrize("ending", ["sign-out-everywhere", "account-closed", "suspension", "messaging-off"])
def test_a_held_request_ends_cleanly_when_the_member_may_no_longer_read(
        tmp_path, database_urls, community, settings, ending):
    with Server(tmp_path, database_urls, workers=1, **settings) as first, \
         Server(tmp_path, database_urls, workers=1, **settings) as second:
        bob = Tab(first, "bob").hold()
        wait_until_held(first)
        if ending == "sign-out-everywhere":
            other_browser = Member(second.url)
            other_browser.sign_in("bob", PASSWORD)
            assert other_browser.post("/settings/sign-out-everywhere").status == 302
        elif ending == "account-closed":
            other_browser = Member(second.url)
            other_browser.sign_in("bob", PASSWORD)
            assert other_browser.post("/settings/close", {"current_password": PASSWORD}).status == 302
        else:
            admin = Member(second.url)
            admin.sign_in("root", PASSWORD)
            path = "/admin/members/bob/suspend" if ending == "suspension" else "/admin/settings/direct_messaging"
            assert admin.post(path, {"enabled": "0", "confirmed": "1"}).status == 302
        if ending == "messaging-off":
            assert bob.answered().status == 404
        else:  # the ended session gets nothing more, and asking again meets the sign-in check
            assert bob.events() == []
            assert bob.hold().answered().status == 302  # to sign in, as any page


def test_a_server_restart_loses_nothing(tmp_path, database_urls, community, settings):
    with Server(tmp_path, database_urls, workers=1, **settings) as other:
        alice = Member(other.url)
        alice.sign_in("alice", PASSWORD)
        path = open_conversation(alice, "bob")
        first = Server(tmp_path, database_urls, workers=1, **settings).__enter__()
        try:
            bob = Tab(first, "bob").hold()
            wait_until_held(first)
            for pid in worker_pids(first) + [first.process.pid]:  # the hard way: no answer for the held request
                os.kill(pid, signal.SIGKILL)
            assert isinstance(bob.answered(), OSError)
            assert alice.post(path, {"body": "While you were away"}, htmx=True).status == 200
        finally:
            first.__exit__(None, None, None)
        with Server(tmp_path, database_urls, workers=1, **settings) as restarted:
            bob.browser.base = restarted.url  # the tab asks again, from its cursor
            assert ("message", int(path.rsplit("/", 1)[1])) in bob.hold().events()


def test_two_hundred_waiting_tabs_keep_the_database_pool_small(tmp_path, database_urls, community, settings):
    settings["WB_LIVE_MAX_HELD_PER_MEMBER"] = "1000"  # one member's 200 tabs, all held
    with Server(tmp_path, database_urls, workers=1, **settings) as server:
        bob = Tab(server, "bob")
        tabs = [bob.another(server).hold() for _ in range(200)]
        wait_until_held(server, 200)
        worker = worker_pids(server)[0]
        assert database_connections(worker, database_urls) <= 16  # SQLAlchemy's pool: 5, plus 10 overflow, plus the listener
        alice = Member(server.url)
        alice.sign_in("alice", PASSWORD)
        path = open_conversation(alice, "bob")
        assert alice.post(path, {"body": "Hello, all of you"}, htmx=True).status == 200
        conversation_id = int(path.rsplit("/", 1)[1])
        for tab in tabs:  # every tab woken by Alice's message, none by an error
            assert tab.events() == [("message", conversation_id)]


def test_a_worker_holds_more_tabs_than_gunicorns_default_and_still_answers(tmp_path, database_urls, community, settings):
    """gunicorn's gevent worker serves 1,000 connections at once unless told more: with every open
    tab holding one, the next connection (a send, a page) waited until a hold ran out, and the
    held tabs got nothing. `wb run` lets a worker hold WORKER_CONNECTIONS."""
    from wb.cli import allow_open_files

    tabs = 1050
    assert allow_open_files(tabs + 500) >= tabs + 500, "this test needs its own connections' files"
    settings["WB_LIVE_MAX_HELD_PER_MEMBER"] = str(tabs)  # one member's tabs, all held
    with Server(tmp_path, database_urls, workers=1, **settings) as server:
        bob = Tab(server, "bob")
        alice = Member(server.url)
        alice.sign_in("alice", PASSWORD)
        path = open_conversation(alice, "bob")
        cookie = "; ".join(f"{c.name}={c.value}" for c in bob.browser.jar)
        held = [held_ask(server, cookie, bob.cursor) for _ in range(tabs)]
        try:
            wait_until_held(server, tabs)
            assert alice.post(path, {"body": "To every tab"}, htmx=True).status == 200
            conversation_id = int(path.rsplit("/", 1)[1])
            for connection in held:  # each woken by the message, none answered empty at the end of its hold
                status, body = answer_of(connection)
                assert status == 200 and [(e["kind"], e["conversation"]) for e in body["events"]] == \
                    [("message", conversation_id)]
        finally:
            for connection in held:
                connection.close()


def held_ask(server, cookie, cursor):
    """A live ask on a connection of its own, left waiting for its answer (a tab's, without a thread)."""
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    connection.sendall((f"GET /messages/live?since={cursor} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                        f"Cookie: {cookie}\r\nAccept: application/json\r\nConnection: close\r\n\r\n").encode())
    return connection


def answer_of(connection) -> tuple[int, dict]:
    """The status and JSON body of a held_ask's answer (the server closes the connection after it)."""
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


def worker_pids(server) -> list[int]:
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
    assert children, "gunicorn started no worker"
    return [int(pid) for pid in children]


def database_connections(pid: int, database_urls) -> int:
    """Open connections of one process to the main database: SQLite files it holds open, or
    PostgreSQL sessions from it (the server counts them by client port)."""
    url = database_urls["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite"):
        database_file = os.path.realpath(url.split("///", 1)[1])
        fds = Path(f"/proc/{pid}/fd")
        return sum(1 for fd in fds.iterdir() if os.path.realpath(fd) == database_file)
    from sqlalchemy import create_engine, text

    from wb.config import normalize_database_url

    engine = create_engine(normalize_database_url(url))
    with engine.connect() as connection:
        ports = set(connection.scalars(text(
            "SELECT client_port FROM pg_stat_activity WHERE datname = current_database() AND client_port IS NOT NULL")))
    engine.dispose()
    return len(ports & set(local_ports(pid)))


def local_ports(pid: int) -> list[int]:
    """The local ports of a process's TCP sockets."""
    inodes = {os.readlink(fd.path)[8:-1] for fd in os.scandir(f"/proc/{pid}/fd")
              if os.readlink(fd.path).startswith("socket:[")}
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            parts = line.split()
            if parts[9] in inodes:
                ports.append(int(parts[1].rsplit(":", 1)[1], 16))
    return ports


def test_an_export_takes_turns_with_the_held_requests_of_its_worker(tmp_path, database_urls, community, settings):
    """One gevent worker streams Alice's long export while Bob's tab waits on it: a message for Bob
    (sent through another server) reaches his tab before the export ends, not after."""
    from sqlalchemy import insert

    from messaging_ops_helpers import converse
    from wb.extensions import db
    from wb.messaging.models import Message

    alice, bob = community
    conversation = converse(alice, bob, ["first"])
    for start in range(0, 60_000, 10_000):  # some 120 batches for the export: seconds of writing
        db.session.execute(insert(Message), [
            {"conversation_id": conversation.id, "sender_id": alice.id if n % 2 else bob.id,
             "body": f"Message {n} of a long conversation, to be exported"} for n in range(start, start + 10_000)])
        db.session.commit()
    finished = []  # what ended, in order
    with Server(tmp_path, database_urls, workers=1, **settings) as worker, \
         Server(tmp_path, database_urls, workers=1, **settings) as other:
        bob_tab = Tab(worker, "bob").hold()
        wait_until_held(worker)
        exporter, sender = Member(worker.url), Member(other.url)
        exporter.sign_in("alice", PASSWORD)
        sender.sign_in("alice", PASSWORD)
        streaming = threading.Event()
        archive = bytearray()

        def export():
            asked = urllib.request.Request(f"{worker.url}/settings/export", data=b"", method="POST",
                                           headers={"X-CSRFToken": exporter.csrf})
            with exporter.opener.open(asked, timeout=60) as response:
                assert response.status == 200
                archive.extend(response.read(1))
                streaming.set()
                archive.extend(response.read())
            finished.append("export")

        download = threading.Thread(target=export, daemon=True)
        download.start()
        assert streaming.wait(30), "the export never started"
        assert sender.post(f"/messages/{conversation.id}", {"body": "Still there?"}, htmx=True).status == 200
        assert bob_tab.events() == [("message", conversation.id)]
        finished.append("live")
        download.join(60)
        assert not download.is_alive(), "the export never ended"
    assert finished == ["live", "export"]
    exported = zipfile.ZipFile(io.BytesIO(bytes(archive)))
    assert f"conversations/{conversation.id}-bob.html" in exported.namelist()
    [with_bob] = json.loads(exported.read("conversations.json"))["conversations"]
    assert len(with_bob["messages"]) >= 60_001  # every message, none cut off by the turns taken
