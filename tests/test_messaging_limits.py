"""Rate limits: 20 messages a minute, 5 new conversations a day, per member."""
import re

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


def start(client, username) -> int:
    """Open a conversation and send its first message, which starts it; its id."""
    conversation_id = open_conversation(client, username)
    assert send(client, conversation_id, f"Hello {username}").status_code == 200
    return conversation_id


def test_sixth_new_conversation_in_a_day_is_refused_but_reopening_works(app, alice, make_user, login, messaging_on):
    client = login(alice)
    people = [make_user(f"member{i}") for i in range(6)]
    ids = [start(client, person.username) for person in people[:5]]
    response = client.post(f"/messages/with/{people[5].username}")
    assert response.status_code == 429
    assert "5 new conversations today" in visible_text(response)
    assert "existing conversations" in visible_text(response)
    # when, in hours (a tester read "try a new one in 1440 minutes"), and the way to the conversations there are
    assert "try a new one in about 24 hours" in visible_text(response)
    assert 'href="/messages">Go to your conversations</a>' in response.get_data(as_text=True)
    assert conversation_count() == 5
    # reopening an existing conversation is free
    assert open_conversation(client, people[0].username) == ids[0]
    assert send(client, ids[0], "still talking").status_code == 200


def test_conversations_with_staff_never_count_against_the_day(app, alice, admin, make_user, login, messaging_on):
    """A buyer who had written to five sellers couldn't ask the admins for help that day (a
    marketplace tester); and staff reach members whatever their count."""
    client = login(alice)
    for i in range(5):
        start(client, make_user(f"seller{i}").username)
    make_user("seller9")
    assert client.post("/messages/with/seller9").status_code == 429
    profile = client.get(f"/people/{admin.username}").get_data(as_text=True)
    assert f'action="/messages/with/{admin.username}"' in profile
    to_admin = start(client, admin.username)
    assert [m.body for m in messages_in(to_admin)] == [f"Hello {admin.username}"]
    staff = login(admin)
    for i in range(6):
        start(staff, f"seller{i}" if i < 5 else "seller9")
    assert conversation_count() == 12


def test_opening_a_conversation_counts_nothing_its_first_message_does(app, alice, make_user, login, messaging_on):
    """A buyer pressed Message on five sellers' profiles to look, wrote nothing, and could start no
    conversation for a day (a marketplace tester): a conversation counts from its first message."""
    client = login(alice)
    people = [make_user(f"seller{i}") for i in range(7)]
    drafts = [open_conversation(client, person.username) for person in people]  # seven drafts: nothing spent
    assert 'action="/messages/with/seller6"' in client.get("/people/seller6").get_data(as_text=True)
    for draft in drafts[:5]:
        assert send(client, draft, "Is it still for sale?").status_code == 200
    refused = send(client, drafts[5], "And yours, is it still for sale?")
    assert refused.status_code == 429
    words = visible_text(refused)
    assert "5 new conversations today" in words and "counts from its first message" in words
    assert "And yours, is it still for sale?" in refused.get_data(as_text=True)  # what was typed stays in the box
    assert messages_in(drafts[5]) == []
    for _ in range(20):  # refused, it spends none of the minute's twenty (an API tester's reply was refused)
        assert send(client, drafts[6], "Still for sale?").status_code == 429
    # and the draft says so where its box was, before anything is typed (a street's tester)
    draft_page = client.get(f"/messages/{drafts[6]}").get_data(as_text=True)
    assert "5 new conversations today" in visible_text(draft_page) and 'id="compose-body"' not in draft_page
    assert 'id="compose-body"' in client.get(f"/messages/{drafts[0]}").get_data(as_text=True)
    from api_helpers import ApiClient, token_for

    api = ApiClient(app.test_client(), token_for(alice))
    row = api.get(f"/api/v1/conversations/{drafts[6]}").get_json()
    assert row["may_send"] is False and "5 new conversations today" in row["why_not_send"]
    listed = {c["id"]: c for c in api.get("/api/v1/conversations").get_json()["conversations"]}
    assert listed[drafts[6]]["may_send"] is False and listed[drafts[0]]["may_send"] is True
    # replies are no new conversations; the draft that can't start today says so where its button was
    assert send(client, drafts[0], "I can come at six").status_code == 200
    profile = client.get("/people/seller5").get_data(as_text=True)
    assert 'action="/messages/with/seller5"' not in profile and "5 new conversations today" in visible_text(profile)
    assert 'action="/messages/with/seller0"' in client.get("/people/seller0").get_data(as_text=True)


def test_once_the_days_conversations_are_started_pages_say_so_instead_of_a_button(app, alice, make_user, login,
                                                                                  messaging_on):
    """A Message button that leads to the refusal page is a trap: where the next start would be refused,
    the page says why (and where the conversations are) in its place. Those already talked to keep theirs."""
    client = login(alice)
    people = [make_user(f"member{i}") for i in range(7)]
    for person in people[:4]:
        start(client, person.username)
    before = client.get("/people/member6").get_data(as_text=True)
    assert 'action="/messages/with/member6"' in before  # one start left: the button

    start(client, people[4].username)
    profile = client.get("/people/member6")
    assert 'action="/messages/with/member6"' not in profile.get_data(as_text=True)
    assert "5 new conversations today" in visible_text(profile)
    assert 'href="/messages">Go to your conversations</a>' in profile.get_data(as_text=True)
    # someone already talked to keeps the button, which opens the conversation there is
    assert 'action="/messages/with/member0"' in client.get("/people/member0").get_data(as_text=True)

    directory = client.get("/members").get_data(as_text=True)
    assert 'action="/messages/with/member1"' in directory
    assert 'action="/messages/with/member5"' not in directory and 'action="/messages/with/member6"' not in directory
    assert visible_text(directory).count("5 new conversations today") == 1  # said once, then briefly
    # and says which reason: a bare "same reason as above" sat under another reason's note (a street's tester)
    assert "Can't start a conversation: you've reached today's limit of new conversations, as above." in visible_text(directory)
    # once, above the list: in the first row it read as about that member (a marketplace's tester)
    assert directory.index("5 new conversations today") < directory.index('<ul class="member-list">')

    # likewise above a request, not between a comment's author and its words
    from helpers import post_requests_and_comments

    listing, = post_requests_and_comments([(people[5], "Bike for sale", "Red, 3 gears")],
                                          [(0, people[6], "Pay a deposit to hold it")])
    page = client.get(f"/requests/{listing.id}").get_data(as_text=True)
    assert visible_text(page).count("5 new conversations today") == 1
    assert page.index("5 new conversations today") < page.index("<article")
    comment = page[page.index('class="comment"'):page.index("Pay a deposit to hold it")]
    assert "Can't start a conversation: you've reached today's limit of new conversations, as above." in visible_text(comment)
    requests_page = client.get("/requests").get_data(as_text=True)
    assert requests_page.index("5 new conversations today") < requests_page.index('<ul class="request-list">')

    found = client.get("/messages/new?q=member", headers={"HX-Request": "true"})
    assert found.status_code == 200
    text = found.get_data(as_text=True)
    assert 'action="/messages/with/member2"' in text
    assert 'action="/messages/with/member5"' not in text
    assert visible_text(found).count("5 new conversations today") == 1
    # the viewer can't, not the member found ("Bob Okafor @bob · can't start a conversation" read as Bob
    # couldn't: a residents' building's tester)
    assert "· you can't start one with them, as above" in visible_text(found)
    assert re.search(r'@member\d+</span>\s+<span class="muted">· you can', text)  # a space before it
    assert conversation_count() == 5


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


@pytest.mark.parametrize("seconds, words", [(1, "1 second"), (45, "45 seconds"), (119, "119 seconds"), (120, "2 minutes"),
                                            (7199, "120 minutes"), (7200, "about 2 hours"), (86340, "about 24 hours")])
def test_a_wait_is_said_in_the_unit_a_member_would_use(seconds, words):
    from wb.ratelimits import wait_words

    assert wait_words(seconds) == words


def test_a_first_message_the_days_count_refuses_leaves_no_other_sent_at_that_moment(app, alice, bob, login, messaging_on,
                                                                                     monkeypatch):
    """Two first messages to one draft at once, and the day's last new conversation taken by another
    send meanwhile: the first was stored, then refused by the day's count and deleted, while the second
    had found it stored and gone on as a reply, and stayed: a conversation started with no count (five a
    day became eight: a re-check tester). Now the start is counted before anything is stored, once,
    and the second waits for that count: both are refused, nothing is stored."""
    import threading

    from wb import ratelimits
    from wb.messaging import policy

    app.config["NEW_CONVERSATION_RATE_LIMIT"] = "1 per day"
    first, second = login(alice), login(alice)
    draft = open_conversation(first, "bob")
    counting, go = threading.Event(), threading.Event()
    take = policy.take_rate_limit

    def held_take(name, config_key, member):
        if name == "new-conversation" and not counting.is_set():
            counting.set()  # the first message's count of the day is being taken...
            assert go.wait(10)  # ...slowly
        return take(name, config_key, member)

    monkeypatch.setattr(policy, "take_rate_limit", held_take)
    answers = {}

    def sending(client, key, words):
        with app.app_context():
            answers[key] = send(client, draft, words).status_code

    one = threading.Thread(target=sending, args=(first, "first", "Is the bike still for sale?"))
    one.start()
    assert counting.wait(10)
    two = threading.Thread(target=sending, args=(second, "second", "Is the bike still for sale??"))
    two.start()
    two.join(0.5)  # the second has done what it does before the first's count ends
    with app.test_request_context():  # another send takes the day's last meanwhile
        ratelimits.take("new-conversation", "1 per day", f"user:{alice.id}")
    go.set()
    one.join(10)
    two.join(10)
    assert answers == {"first": 429, "second": 429}, answers
    assert messages_in(draft) == []
