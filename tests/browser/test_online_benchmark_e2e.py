"""The online benchmark's tab (benchmarks/online.py) asks what the real page asks.

The benchmark's figures per online member are only as true as its tabs: each mirrors by hand
what static/js/live.js and app.js make a page ask. Here one member's inbox is open in Chromium
and another's in the benchmark's Tab, on one server; the same things happen to both (a message
in the open thread, one in another conversation, a delete for both, picking a conversation and
sending in it), and after each both must have made the same requests. A change to the page's
requests that the benchmark doesn't follow fails here.
"""
import re
import sys
import threading
import time
import uuid
from collections import Counter

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips these tests (or fails them when WB_REQUIRE_BROWSER=1)
    expect = None

from .conftest import PASSWORD, PROJECT_ROOT, THREAD_WAIT_MS
from .test_messaging_e2e import send

pytestmark = pytest.mark.browser

SETTLE_SECONDS = 1.5  # nothing more asked for this long after what the step shows: the step is over
KINDS = (
    ("GET", re.compile(r"/messages/live\?"), "live ask"),
    ("GET", re.compile(r"/messages/\d+/poll\?"), "thread poll"),
    ("POST", re.compile(r"/messages/\d+/read$"), "read"),
    ("GET", re.compile(r"/messages/list\?"), "list"),
    ("GET", re.compile(r"/messages/badge$"), "badge"),
    ("GET", re.compile(r"/messages/\d+$"), "thread page or pane"),
    ("POST", re.compile(r"/messages/\d+\?"), "send"),
)


def kind(method, path):
    for wanted, pattern, name in KINDS:
        if method == wanted and pattern.search(path):
            return name
    return f"{method} {path}"


@pytest.fixture
def online():
    """benchmarks/online.py, imported as the benchmark runs it."""
    sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))
    try:
        import online
        yield online
    finally:
        sys.path.remove(str(PROJECT_ROOT / "benchmarks"))


class Recorder:
    """The requests of one page (Chromium's) or one benchmark tab, as kinds, step by step."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen = []

    def add(self, method, path):
        if path.startswith(("/static/", "/favicon")):
            return
        with self.lock:
            self.seen.append((time.monotonic(), kind(method, path)))

    def since(self, start):
        with self.lock:
            return Counter(name for at, name in self.seen if at >= start)

    def last_at(self):
        with self.lock:
            return self.seen[-1][0] if self.seen else 0.0


def settle(page, *recorders):
    """Wait until neither has asked anything for SETTLE_SECONDS (a held live ask is asked, not
    answered). The page's waits let Playwright hand over the page's requests meanwhile."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if time.monotonic() - max(r.last_at() for r in recorders) >= SETTLE_SECONDS:
            return
        page.wait_for_timeout(100)
    raise AssertionError("the requests never settled")


def say(server, author, recipient, body):
    """author writes to recipient (straight to the databases, as another member's server would)."""
    from wb.messaging import writes
    from wb.models import User

    with server.app.app_context():
        sender = User.by_username(author)
        conversation, _created = writes.open_conversation(sender, User.by_username(recipient))
        return conversation.id, writes.send_message(sender, conversation, body).message.id


def delete_for_both(server, author, conversation_id, message_id):
    from wb.extensions import db
    from wb.messaging import writes
    from wb.messaging.models import Conversation
    from wb.models import User

    with server.app.app_context():
        writes.delete_message(User.by_username(author), db.session.get(Conversation, conversation_id), message_id)


def newest_message(server, conversation_id):
    from wb.extensions import db
    from wb.messaging.models import Message

    with server.app.app_context():
        return db.session.scalar(db.select(db.func.max(Message.id)).where(Message.conversation_id == conversation_id))


def user_id(server, username):
    from wb.models import User

    with server.app.app_context():
        return User.by_username(username).id


def test_the_benchmarks_tab_asks_what_the_page_asks(browsing, start_server, online, monkeypatch):
    import load

    # Holds of 100-120 s: neither live request runs out during the test, which would add an ask
    # to one side's step and not the other's (their holds end at random moments).
    server = start_server(LIVE_HOLD_SECONDS=120)
    server.set_messaging(True)
    bob, carol = server.create_member("bob"), server.create_member("carol")
    page_member, tab_member = server.create_member("alice"), server.create_member("alex")
    conversations = {}
    for member in (page_member, tab_member):
        conversations[member, bob], _ = say(server, member, bob, "Hello Bob")  # nothing unread in the open thread
        conversations[member, carol], _ = say(server, carol, member, "Hello from Carol")

    # Chromium's page: the inbox with Bob's conversation open, every request recorded.
    page_requests = Recorder()
    page = browsing.sign_in(page_member, server=server)
    page.on("request", lambda request: page_requests.add(request.method, re.sub(r"^https?://[^/]+", "", request.url)))
    # The benchmark's tab for the other member: every request it makes recorded.
    tab_requests = Recorder()
    asked = online.request

    def recorded(session, method, path, *args, **kwargs):
        tab_requests.add(method, path)
        return asked(session, method, path, *args, **kwargs)

    monkeypatch.setattr(online, "request", recorded)
    session = load.sign_in(server.url, user_id(server, tab_member), tab_member, PASSWORD)
    tally, stop = online.Tally(), threading.Event()

    def steps():
        start = time.monotonic()
        page.goto(f"/messages/{conversations[page_member, bob]}")
        tab = online.Tab(server.url, session, conversations[tab_member, bob], tally, stop)
        tab.start()
        yield "the inbox opened", start

        def both_show(author, text, where):
            """author writes to both; the page shows it in where, the tab holds it (as the benchmark counts delivery)."""
            token = f"bench-{uuid.uuid4().hex[:12]}"  # what the tab looks for (online.TOKEN)
            with tally.lock:
                tally.recipients[token] = session.user_id
            for member in (page_member, tab_member):
                say(server, author, member, f"{text} {token}")
            expect(page.locator(where)).to_contain_text(token, timeout=THREAD_WAIT_MS)
            deadline = time.monotonic() + THREAD_WAIT_MS / 1000
            while time.monotonic() < deadline and token not in tally.delivered:
                time.sleep(0.05)
            assert token in tally.delivered, f"the benchmark's tab never showed {token}"
            return token

        start = time.monotonic()
        both_show(bob, "In the open thread", "#thread-messages")
        yield "a message in the open thread", start

        start = time.monotonic()
        both_show(carol, "In another conversation", "#conversation-list")
        yield "a message in another conversation", start

        start = time.monotonic()
        token = both_show(bob, "Oops, wrong person", "#thread-messages")
        yield "another message in the open thread", start

        start = time.monotonic()
        for member in (page_member, tab_member):
            delete_for_both(server, bob, conversations[member, bob], newest_message(server, conversations[member, bob]))
        expect(page.locator("#thread-messages")).not_to_contain_text(token, timeout=THREAD_WAIT_MS)
        yield "a message deleted for both in the open thread", start

        start = time.monotonic()
        # Carol's conversation has her message unread: the pane posts its read. A member reads
        # before typing; the benchmark's tab too (a send while the read is on its way would
        # make the page ask for its list once more, as app.js does for crossing answers).
        with page.expect_response(lambda response: response.url.endswith("/read")):
            page.locator("#conversation-list a", has_text="Carol").click()
        expect(page.locator("#thread h2 a")).to_have_text("Carol")
        send(page, "Hello Carol")
        expect(page.locator("#thread-messages")).to_contain_text("Hello Carol")
        token = f"bench-{'c' * 12}"
        tab.send(conversations[tab_member, carol], token)
        assert token in tally.answered, tally.errors
        yield "another conversation picked, and a message sent there", start

    try:
        for step, start in steps():
            settle(page, page_requests, tab_requests)
            assert tab_requests.since(start) == page_requests.since(start), (
                f"after {step}: the benchmark's tab asked {dict(tab_requests.since(start))}, "
                f"the page {dict(page_requests.since(start))}")
    finally:
        stop.set()
    assert not tally.errors, tally.errors
