"""Rate limits: 20 messages a minute, 5 new conversations a day, per member."""
import pytest
from limits import parse
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import select

from messaging_helpers import conversation_count, messages_in, open_conversation, send, visible_text
from wb.extensions import db
from wb.ratelimits import DatabaseStorage, RateLimitCounter, RateLimitEntry


def test_21st_message_in_a_minute_is_refused_with_a_friendly_message(app, alice, bob, login, messaging_on):
    client = login(alice)
    cid = open_conversation(client, "bob")
    for i in range(20):
        assert send(client, cid, f"message {i}").status_code == 200
    response = send(client, cid, "one too many")
    assert response.status_code == 429
    page = visible_text(response)
    assert "sending messages very quickly" in page and "Try again in" in page
    assert 'class="compose-error"' in response.get_data(as_text=True)
    assert ">one too many</textarea>" in response.get_data(as_text=True)  # text kept
    assert int(response.headers["Retry-After"]) > 0
    assert len(messages_in(cid)) == 20  # nothing half-saved


def test_the_limit_is_per_member(app, alice, bob, login, messaging_on):
    alice_client, bob_client = login(alice), login(bob)
    cid = open_conversation(alice_client, "bob")
    for i in range(20):
        send(alice_client, cid, f"a{i}")
    assert send(alice_client, cid, "blocked").status_code == 429
    assert send(bob_client, cid, "bob still can").status_code == 200


def test_invalid_messages_do_not_use_up_the_limit(app, alice, bob, login, messaging_on):
    client = login(alice)
    cid = open_conversation(client, "bob")
    for _ in range(25):
        assert send(client, cid, "").status_code == 400
    assert send(client, cid, "still allowed").status_code == 200


def test_sixth_new_conversation_in_a_day_is_refused_but_reopening_works(app, alice, make_user, login, messaging_on):
    client = login(alice)
    people = [make_user(f"member{i}") for i in range(6)]
    ids = [open_conversation(client, person.username) for person in people[:5]]
    for cid in ids:
        assert send(client, cid, "Hello").status_code == 200  # a conversation's first message starts it
    response = client.post(f"/messages/with/{people[5].username}")
    assert response.status_code == 429
    assert "5 new conversations today" in visible_text(response)
    assert "existing conversations" in visible_text(response)
    assert conversation_count() == 5
    # reopening an existing conversation is free
    assert open_conversation(client, people[0].username) == ids[0]
    assert send(client, ids[0], "still talking").status_code == 200


@pytest.mark.parametrize("app_config", [{"NEW_CONVERSATION_RATE_LIMIT": "2 per day"}])
def test_a_draft_left_empty_costs_nothing_and_a_first_message_past_the_limit_keeps_its_text(
        app, alice, make_user, login, messaging_on, app_config):
    """Pressing "Message" opens a draft the other member never sees: only its first message starts
    a conversation (found by an outside tester: four empty drafts used up the day's five)."""
    client = login(alice)
    people = [make_user(f"member{i}") for i in range(5)]
    drafts = [open_conversation(client, person.username) for person in people]  # five drafts, nothing sent
    assert client.get("/api/v1/me").get_json()["limits"]["new_conversations_remaining"] == 2
    assert send(client, drafts[0], "Is the bike still for sale?").status_code == 200
    assert send(client, drafts[0], "And the helmet?").status_code == 200  # the same conversation: no second start
    assert send(client, drafts[1], "Hello").status_code == 200
    refused = send(client, drafts[2], "Do you still have the sofa?")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "2 new conversations today" in visible_text(refused)
    assert ">Do you still have the sofa?</textarea>" in refused.get_data(as_text=True)
    assert messages_in(drafts[2]) == []
    # Opening another draft now says so at once, before anything is typed.
    assert client.post(f"/messages/with/{make_user('member9').username}").status_code == 429
    # A reply to someone else's first message is no start of one's own.
    member3 = login(people[3])
    assert open_conversation(member3, "alice") == drafts[3]  # one conversation per pair: Alice's draft
    assert send(member3, drafts[3], "Hi Alice, a question about your ladder").status_code == 200
    assert send(client, drafts[3], "Ask away").status_code == 200
    assert [m.body for m in messages_in(drafts[3])] == ["Hi Alice, a question about your ladder", "Ask away"]


# --- the database:// storage's moving window, on a clock the test moves --------------------------

@pytest.fixture
def database_limiter(app):
    """A moving-window limiter on the main database's storage, whose clock starts at 1,000 s."""
    storage = DatabaseStorage()
    clock = {"now": 1000.0}
    storage.clock = lambda: clock["now"]
    return MovingWindowRateLimiter(storage), clock


def test_twenty_a_minute_means_twenty_in_any_minute(database_limiter):
    limiter, clock = database_limiter
    item = parse("20 per minute")
    assert limiter.hit(item, "alice")  # the first, opening what a fixed window would call a minute
    clock["now"] = 1059.0
    assert all(limiter.hit(item, "alice") for _ in range(19))  # the rest, at that minute's end
    assert not limiter.hit(item, "alice")
    clock["now"] = 1060.5  # a fixed window would start afresh: here only the first send's place is free
    assert limiter.hit(item, "alice")
    assert not limiter.hit(item, "alice")
    stats = limiter.get_window_stats(item, "alice")
    assert (stats.reset_time, stats.remaining) == (1059.0 + 60, 0)  # Retry-After: a minute after the 19
    assert limiter.hit(item, "bob")  # per key
    clock["now"] = 1119.5
    assert limiter.get_window_stats(item, "alice").remaining == 19
    assert all(limiter.hit(item, "alice") for _ in range(19)) and not limiter.hit(item, "alice")


def test_finished_entries_are_cleared_from_the_database(database_limiter):
    limiter, clock = database_limiter
    item = parse("3 per minute")
    for key in ("alice", "bob", "carol"):
        limiter.hit(item, key)
    clock["now"] += 3600
    limiter.hit(item, "dave")  # a window starting afresh clears everybody's finished entries
    assert db.session.scalars(select(RateLimitEntry.key)).all() == [item.key_for("dave")]
    assert len(db.session.scalars(select(RateLimitCounter.key)).all()) == 1
