"""Every limit is exact across the worker processes of `wb run`, and across servers sharing storage.

These start the production server (gunicorn, several workers) as operators do, with no
limiter storage configured: the default must be shared. Requests are fired concurrently,
so they land on different workers.
"""
import math
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from served import Member, Server

from conftest import PASSWORD
from wb.extensions import db
from wb.messaging.models import Conversation, Message

pytestmark = pytest.mark.slow


def in_parallel(calls, workers=12):
    """Run the zero-argument calls at once; their answers, in order."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [future.result() for future in [pool.submit(call) for call in calls]]


def shared_storage_settings() -> dict:
    """The limiter storage this pass tests against: the default, or CI's Redis in its second pass
    (under a prefix of this test's own, as two communities sharing one Redis would)."""
    url = os.environ.get("WB_TEST_RATELIMIT_STORAGE_URL")
    return {"WB_RATELIMIT_STORAGE_URL": url, "WB_RATELIMIT_KEY_PREFIX": f"wbserved-{uuid.uuid4().hex[:12]}"} if url else {}


@pytest.fixture
def community(app, make_user, messaging_on):
    """Alice, Bob and eight more members, messaging on, committed for the servers to see."""
    people = [make_user(name) for name in ("alice", "bob", *(f"member{i}" for i in range(8)))]
    db.session.commit()
    return people


def signed_in(server, username):
    member = Member(server.url)
    assert member.sign_in(username, PASSWORD).status == 302
    return member


def test_25_sends_through_three_workers_accept_exactly_20(tmp_path, database_urls, community):
    with Server(tmp_path, database_urls, workers=3) as server:  # nothing configured: the default storage
        alice = signed_in(server, "alice")
        opened = alice.post("/messages/with/bob")
        assert opened.status == 302
        path = opened.headers["Location"]
        answers = in_parallel([lambda i=i: alice.post(path, {"body": f"quick {i}"}, htmx=True) for i in range(25)])
    statuses = sorted(answer.status for answer in answers)
    assert statuses == [200] * 20 + [429] * 5, (statuses, server.log()[-2000:])
    for refused in (answer for answer in answers if answer.status == 429):
        assert int(refused.headers["Retry-After"]) > 0
        assert "sending messages very quickly" in refused.text
    db.session.expire_all()
    assert db.session.query(Message).count() == 20  # the database agrees: nothing half-saved


def test_eight_new_conversations_through_three_workers_allow_exactly_5(tmp_path, database_urls, community):
    """Opening counts nothing; a conversation counts from its first message: eight first messages at
    once, in eight drafts, through three workers, start exactly five."""
    with Server(tmp_path, database_urls, workers=3) as server:
        alice = signed_in(server, "alice")
        opened = in_parallel([lambda i=i: alice.post(f"/messages/with/member{i}") for i in range(8)])
        assert sorted(answer.status for answer in opened) == [302] * 8
        drafts = [answer.headers["Location"] for answer in opened]
        answers = in_parallel([lambda path=path: alice.post(path, {"body": "Is it still for sale?"}, htmx=True)
                               for path in drafts])
    statuses = sorted(answer.status for answer in answers)
    assert statuses == [200] * 5 + [429] * 3, statuses
    assert all(int(a.headers["Retry-After"]) > 0 for a in answers if a.status == 429)
    db.session.expire_all()
    assert db.session.query(Conversation).count() == 8  # the three drafts wait, unstarted
    assert db.session.query(Message).count() == 5


def test_twelve_first_messages_at_once_in_one_draft_start_one_conversation(tmp_path, database_urls, community):
    """A double tap or a client's retries send a draft's first message several times at once: all are
    sent, and the conversation counts once (an API tester's twelve at once had spent all five)."""
    import json

    with Server(tmp_path, database_urls, workers=3) as server:
        alice = signed_in(server, "alice")
        draft = alice.post("/messages/with/member0").headers["Location"]
        answers = in_parallel([lambda i=i: alice.post(draft, {"body": f"Is it still for sale? ({i})"}, htmx=True)
                               for i in range(12)])
        me = json.loads(alice.get("/api/v1/me").text)
    assert sorted(answer.status for answer in answers) == [200] * 12
    assert me["limits"]["new_conversations_remaining"] == 4, me
    assert me["limits"]["messages_remaining"] == 20 - 12
    db.session.expire_all()
    assert db.session.query(Message).count() == 12


def test_fifteen_wrong_passwords_through_three_workers_get_exactly_10_answers(tmp_path, database_urls, community):
    with Server(tmp_path, database_urls, workers=3) as server:
        guesser = Member(server.url)
        guesser.fetch_csrf()
        answers = in_parallel(
            [lambda i=i: guesser.post("/login", {"username": "alice", "password": f"guess {i}"}) for i in range(15)]
        )
        # the address is locked out even for the right password until the minute is over
        late = guesser.post("/login", {"username": "alice", "password": PASSWORD})
    statuses = sorted(answer.status for answer in answers)
    assert statuses == [400] * 10 + [429] * 5, statuses
    assert all(int(a.headers["Retry-After"]) > 0 for a in answers if a.status == 429)
    assert late.status == 429


def test_wb_run_refuses_a_limiter_storage_its_workers_would_not_share(tmp_path, database_urls):
    server = Server(tmp_path, database_urls, workers=3, WB_RATELIMIT_STORAGE_URL="memory://")
    assert server.process.wait(timeout=60) != 0
    server._log.close()
    assert "each of the 3 workers would keep to itself" in server.log()


def test_two_servers_on_the_same_databases_share_one_count(tmp_path, database_urls, community):
    """Two `wb run`s, as behind a load balancer: on the main database's counters, or on Redis."""
    settings = shared_storage_settings()
    with Server(tmp_path, database_urls, workers=2, **settings) as first, \
            Server(tmp_path, database_urls, workers=2, **settings) as second:
        alice_first = signed_in(first, "alice")
        alice_second = alice_first.on(second.url)
        path = alice_first.post("/messages/with/bob").headers["Location"]
        calls = [lambda i=i: (alice_first if i % 2 else alice_second).post(path, {"body": f"m{i}"}, htmx=True)
                 for i in range(25)]
        answers = in_parallel(calls)
    statuses = sorted(answer.status for answer in answers)
    assert statuses == [200] * 20 + [429] * 5, statuses
    assert {a.status for i, a in enumerate(answers) if i % 2} >= {200}
    assert {a.status for i, a in enumerate(answers) if not i % 2} >= {200}  # both servers took sends


def wait_until(moment: float) -> None:
    """Let the clock reach `moment` (time.time()): what these tests wait on is time itself."""
    while time.time() < moment:
        time.sleep(min(0.05, max(0.0, moment - time.time())))


def test_a_limit_holds_in_any_window_not_per_window_across_workers(tmp_path, database_urls, community):
    """"5 per 6 seconds" stands for "20 per minute": a full limit sent at the end of one window and
    more at the start of the next are refused until one period after the first of them."""
    period = 6
    settings = {**shared_storage_settings(), "WB_MESSAGE_RATE_LIMIT": f"5 per {period} seconds"}
    with Server(tmp_path, database_urls, workers=3, **settings) as server:
        alice = signed_in(server, "alice")
        path = alice.post("/messages/with/bob").headers["Location"]
        send = lambda body: alice.post(path, {"body": body}, htmx=True)  # noqa: E731
        assert send("opens a window").status == 200
        opened = time.time()

        wait_until(opened + period / 2)
        late_start = time.time()
        late = in_parallel([lambda i=i: send(f"late {i}") for i in range(4)])  # the window's other 4
        late_end = time.time()
        assert [a.status for a in late] == [200] * 4

        wait_until(opened + period + 0.2)  # a fixed window would start afresh here
        early = in_parallel([lambda i=i: send(f"early {i}") for i in range(5)])
        again = send("still within a period of the late ones")
        assert time.time() < late_start + period, "this machine was too slow for the test's period"
        # Only the first send's place was free again: the 4 late ones still count.
        assert sorted(a.status for a in early) == [200] + [429] * 4, [a.status for a in early]
        assert again.status == 429
        waits = [int(a.headers["Retry-After"]) for a in early if a.status == 429] + [int(again.headers["Retry-After"])]
        refused_at = time.time()
        # Retry-After counts to one period after the oldest late send: no later than the last one's.
        assert all(1 <= wait <= math.ceil(late_end - opened) for wait in waits), waits

        wait_until(refused_at + int(again.headers["Retry-After"]))
        assert send("after the wait Retry-After asked for").status == 200
    db.session.expire_all()
    assert db.session.query(Message).count() == 1 + 4 + 1 + 1
