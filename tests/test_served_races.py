"""Conversation metadata never goes backwards, whatever order workers run members' requests in.

Both members send, read, poll, delete and remove at once, round after round, through a
three-worker `wb run` on this pass's databases (SQLite, or PostgreSQL in CI's second pass).
Afterwards every message has reached both open threads by polling, `verify` is clean and
reconcile finds nothing to change: every unread count and cursor is what it would compute.
"""
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from served import POLLER, Member, Server

from conftest import PASSWORD
from wb.extensions import db
from wb.messaging import reconcile
from wb.messaging.models import Conversation, Message
from wb.messaging.ops.verify import verify

pytestmark = pytest.mark.slow

ROUNDS = 200
ITEM = re.compile(r'<li class="message (mine|theirs)[^"]*" id="message-(\d+)"')


class OpenThread:
    """A member with the thread open in a browser tab: sends, reads, polls as the page does."""

    def __init__(self, server, username, conversation_path):
        self.browser = Member(server.url)
        assert self.browser.sign_in(username, PASSWORD).status == 302
        self.path = conversation_path
        page = self.browser.get(conversation_path).text
        self.after, self.seen = map(int, POLLER.search(page).groups())
        self.shown = {int(i): side for side, i in ITEM.findall(page)}

    def send(self, text):
        return self.browser.post(self.path, {"body": text}, htmx=True).status

    def read(self):
        return self.browser.post(f"{self.path}/read", htmx=True).status

    def poll(self):
        """One poll; True when it brought something."""
        answer = self.browser.get(f"{self.path}/poll?after={self.after}&seen={self.seen}", htmx=True)
        assert answer.status in (200, 204), answer
        if answer.status == 204:
            return False
        self.after, self.seen = map(int, POLLER.search(answer.text).groups())
        self.shown.update({int(i): side for side, i in ITEM.findall(answer.text)})
        return True

    def delete_one_of_mine(self):
        mine = sorted(i for i, side in self.shown.items() if side == "mine")
        if mine:
            return self.browser.post(f"{self.path}/messages/{mine[len(mine) // 2]}/delete", htmx=True).status

    def remove_one_of_theirs(self):
        theirs = sorted(i for i, side in self.shown.items() if side == "theirs")
        if theirs:
            return self.browser.post(f"{self.path}/messages/{theirs[len(theirs) // 2]}/remove", htmx=True).status

    def settle(self):
        """Poll until nothing more comes (the page would, every few seconds)."""
        for _ in range(50):
            if not self.poll():
                return
        raise AssertionError("the poll never settled")


@pytest.fixture
def pair(app, make_user, messaging_on):
    return make_user("alice"), make_user("bob")


def test_sends_reads_polls_and_deletes_from_both_sides_leave_metadata_exact(tmp_path, database_urls, pair):
    alice, bob = pair
    with Server(tmp_path, database_urls, workers=3, WB_MESSAGE_RATE_LIMIT="100000 per minute") as server:
        opener = Member(server.url)
        opener.sign_in("alice", PASSWORD)
        path = opener.post("/messages/with/bob").headers["Location"]
        # Bob opens it too: until its first message an opened conversation is its opener's draft.
        other = Member(server.url)
        other.sign_in("bob", PASSWORD)
        assert other.post("/messages/with/alice").headers["Location"] == path
        a, b = OpenThread(server, "alice", path), OpenThread(server, "bob", path)
        conversation = db.session.get(Conversation, int(path.rsplit("/", 1)[1]))
        disagreements, missed = [], []
        with ThreadPoolExecutor(max_workers=8) as pool:
            for round_ in range(ROUNDS):
                calls = [lambda: a.send(f"a{round_}"), lambda: b.send(f"b{round_}"), a.read, b.read, a.poll, b.poll]
                if round_ % 10 == 5:
                    calls += [a.delete_one_of_mine, b.remove_one_of_theirs]
                for future in [pool.submit(call) for call in calls]:
                    future.result()
                # Everything of this round has been answered: the metadata must agree now, and
                # each open thread's next polls must bring it up to the newest message.
                disagreements += [f"round {round_}: {change}" for change in settled_metadata(conversation)]
                newest = db.session.scalar(select(func.max(Message.id)).where(Message.conversation_id == conversation.id))
                for thread in (a, b):
                    thread.settle()
                    if thread.after != newest:
                        missed.append(f"round {round_}: a thread polled up to {thread.after}, newest is {newest}")
                db.session.rollback()
        log = server.log()
    assert " 500 " not in log, log[-3000:]
    assert disagreements == []
    assert missed == []

    db.session.expire_all()
    messages = list(db.session.scalars(select_messages(conversation.id)))
    assert len(messages) == 2 * ROUNDS
    side_of = {alice.id: conversation.side(alice.id), bob.id: conversation.side(bob.id)}
    for member, thread in ((alice, a), (bob, b)):
        visible = {m.id for m in messages if not getattr(m, f"hidden_for_{side_of[member.id]}")}
        # every message still in this member's view reached their open thread by polling
        assert visible <= set(thread.shown), sorted(visible - set(thread.shown))[:10]
    assert reconcile.reconcile(dry_run=True) == []  # every count and cursor is what reconcile computes
    assert verify().ok


def settled_metadata(conversation):
    """What reconcile would change for this conversation now (nothing, when metadata is right)."""
    db.session.expire_all()
    return reconcile.reconcile_conversation(conversation, dry_run=True)


def select_messages(conversation_id):
    return select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)


def test_opening_one_conversation_several_times_at_once_opens_one_and_counts_nothing(tmp_path, database_urls, pair):
    """A double click or a client's retry sends the same start twice at once, to different workers:
    one conversation, whichever worker answers first; and none of the day's five starts until its
    first message."""
    import json

    with Server(tmp_path, database_urls, workers=3) as server:
        alice = Member(server.url)
        assert alice.sign_in("alice", PASSWORD).status == 302
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(lambda _: alice.post("/messages/with/bob"), range(6)))
        assert {answer.status for answer in answers} == {302}
        assert len({answer.headers["Location"] for answer in answers}) == 1
        me = json.loads(alice.get("/api/v1/me").text)
        log = server.log()
    assert me["limits"]["new_conversations_remaining"] == 5, me
    assert db.session.scalar(select(func.count()).select_from(Conversation)) == 1
    assert " 500 " not in log, log[-3000:]


def test_a_form_double_clicked_without_javascript_stores_its_message_once(tmp_path, database_urls, pair):
    """Send clicked twice on a page without JavaScript: the browser posts the form twice at once,
    and the posts land on different workers. One message, whichever stores it; the other answer
    sends the member to the thread too, or says it may still be on its way, with the text kept."""
    with Server(tmp_path, database_urls, workers=3, WB_MESSAGE_RATE_LIMIT="100000 per minute") as server:
        alice = Member(server.url)
        alice.sign_in("alice", PASSWORD)
        path = alice.post("/messages/with/bob").headers["Location"]
        conversation_id = int(path.rsplit("/", 1)[1])
        answers = []
        with ThreadPoolExecutor(max_workers=2) as pool:
            for round_ in range(20):
                key = SEND_KEY.search(alice.get(path).text).group(1)
                form = {"body": f"Double click {round_}", "send_key": key}
                answers += [f.result() for f in [pool.submit(alice.post, path, form) for _ in range(2)]]
        log = server.log()
    assert " 500 " not in log, log[-3000:]
    for answer in answers:
        assert answer.status == 302 and answer.headers["Location"] == path \
            or answer.status == 409 and "may still be on its way" in answer.text, answer
    db.session.expire_all()
    bodies = [m.body for m in db.session.scalars(select_messages(conversation_id))]
    assert bodies == [f"Double click {n}" for n in range(20)]


SEND_KEY = re.compile(r'<input type="hidden" name="send_key" value="([^"]+)">')
