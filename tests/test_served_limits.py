"""Every limit is exact across the worker processes of `wb run`, and across servers sharing storage.

These start the production server (gunicorn, several workers) as operators do, with no
limiter storage configured: the default must be shared. Requests are fired concurrently,
so they land on different workers.
"""
import json
import math
import os
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from api_helpers import token_for
from served import Member, Server
from sqlalchemy import select

from conftest import PASSWORD
from wb.extensions import db
from wb.messaging.models import Block, Conversation, Message

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


def api_send(server, token, conversation_id, body):
    """POST a message through the API with a personal access token: its status."""
    request = urllib.request.Request(
        f"{server.url}/api/v1/conversations/{conversation_id}/messages", method="POST",
        data=json.dumps({"body": body}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_first_messages_refused_at_once_spend_nothing_of_the_minute(tmp_path, database_urls, make_user, messaging_on):
    """A first message that is refused (the day's limit, a block) spends no send of the minute, also
    when sent at once through several workers: a buyer with two new conversations left sent six first
    messages at once, and the four refused had spent four of the twenty: `messages_remaining` said 14
    and her sends in a conversation she had were refused after 14 (a marketplace tester)."""
    buyer = make_user("buyer10")
    sellers = [make_user(f"seller{i}") for i in range(13)]
    token = token_for(buyer)
    db.session.commit()
    settings = {**shared_storage_settings(), "WB_NEW_CONVERSATION_RATE_LIMIT": "2 per day"}
    with Server(tmp_path, database_urls, workers=4, **settings) as server:
        browser = signed_in(server, "buyer10")
        drafts = [browser.post(f"/messages/with/{seller.username}").headers["Location"] for seller in sellers]
        db.session.add(Block(blocker_id=sellers[-1].id, blocked_id=buyer.id))  # the last seller blocks her since
        db.session.commit()
        # Twelve at once through four workers (fewer often reached the check one after another, refused
        # there before anything was counted), half by the API, half by the web form, and one to the
        # seller who blocked her.
        calls = [lambda i=i, path=path: (api_send(server, token, int(path.rsplit("/", 1)[1]), f"Still for sale? ({i})")
                                         if i % 2 else browser.post(path, {"body": f"Still for sale? ({i})"}, htmx=True).status)
                 for i, path in enumerate(drafts)]
        statuses = in_parallel(calls, workers=len(calls))
        me = json.loads(browser.get("/api/v1/me").text)["limits"]
        db.session.expire_all()
        started = db.session.scalars(select(Message.conversation_id)).all()
        assert len(started) == 2, statuses
        path = next(path for path in drafts if path.endswith(f"/{started[0]}"))
        later = in_parallel([lambda i=i: browser.post(path, {"body": f"And the price? ({i})"}, htmx=True).status
                             for i in range(20)])
    assert statuses[-1] == 403, statuses  # the block
    accepted = [i for i, status in enumerate(statuses[:-1]) if status != 429]
    assert len(accepted) == 2 and all(statuses[i] == (201 if i % 2 else 200) for i in accepted), statuses
    assert me["new_conversations_remaining"] == 0, me
    assert me["messages_remaining"] == 20 - 2, me
    assert sorted(later) == [200] * 18 + [429] * 2, later  # the minute's other 18, no fewer
    db.session.expire_all()
    assert db.session.query(Message).count() == 2 + 18


def test_twelve_first_messages_at_once_in_one_draft_start_one_conversation(tmp_path, database_urls, community):
    """A double tap or a client's retries send a draft's first message several times at once: all are
    sent, and the conversation counts once (an API tester's twelve at once had spent all five)."""
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


def test_several_first_messages_at_once_to_each_of_many_drafts_start_no_more_than_the_day_allows(
        tmp_path, database_urls, make_user, messaging_on):
    """Four messages at once to each of twelve drafts, by the API and the web form through four
    workers, five new conversations a day: five start, every message answered as sent is stored and no
    other, and the metadata is exact. (A re-check tester's threads had started eight, and left an
    unread count one too high; the interleaving that did it is shown in-process by
    test_messaging_limits' test of a first message the day's count refuses: here it is left to chance.)"""
    from wb.messaging import reconcile

    buyer = make_user("buyer11")
    sellers = [make_user(f"vendor{i}") for i in range(12)]
    token = token_for(buyer)
    db.session.commit()
    settings = {**shared_storage_settings(), "WB_NEW_CONVERSATION_RATE_LIMIT": "5 per day", "WB_MESSAGE_RATE_LIMIT": "100 per minute"}
    with Server(tmp_path, database_urls, workers=4, **settings) as server:
        browser = signed_in(server, "buyer11")
        drafts = [browser.post(f"/messages/with/{seller.username}").headers["Location"] for seller in sellers]
        # by the API and the web form, as a client's threads and a member's taps would
        calls = [lambda i=i, path=path: (api_send(server, token, int(path.rsplit("/", 1)[1]), f"Is it still for sale? ({i})")
                                         if i % 2 else browser.post(path, {"body": f"Is it still for sale? ({i})"}, htmx=True).status)
                 for path in drafts for i in range(4)]
        statuses = in_parallel(calls, workers=10)
        me = json.loads(browser.get("/api/v1/me").text)["limits"]
        log = server.log()
    db.session.expire_all()
    stored = db.session.scalars(select(Message.conversation_id)).all()
    assert len(set(stored)) == 5, (statuses, stored)  # five started, no more
    assert len(stored) == statuses.count(200) + statuses.count(201), statuses  # every message answered as sent, no other
    assert set(statuses) <= {200, 201, 429} and " 500 " not in log, statuses
    assert me["new_conversations_remaining"] == 0, me
    assert me["messages_remaining"] == 100 - len(stored), me
    assert reconcile.reconcile(dry_run=True) == []  # unread counts and the rest as reconcile computes them


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
