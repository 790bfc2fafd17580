"""A member's own "Pause messages": nobody but staff can write to them, in new or existing
conversations, until they turn it off; the refusal reads exactly like a block's."""
import re

import pytest

from api_helpers import api_as, assert_problem  # noqa: F401
from helpers import reload, text
from messaging_helpers import messages_in, open_conversation, send, visible_text
from wb.messaging import safety
from wb.models import User

NOT_ACCEPTING = "Bob isn't accepting messages right now. Only they can change that."


@pytest.fixture
def talking(app, alice, bob, login, messaging_on):
    """Alice and Bob, with a conversation in which both have written: (alice_client, bob_client, id)."""
    alice_client, bob_client = login(alice), login(bob)
    cid = open_conversation(alice_client, "bob")
    send(alice_client, cid, "Lunch on Friday?")
    send(bob_client, cid, "Gladly")
    return alice_client, bob_client, cid


def pause(client, on=True):
    return client.post("/settings/messaging/pause", data={"paused": "on" if on else "off"})


def test_pausing_in_settings_stops_replies_before_anyone_types(talking, bob):
    alice_client, bob_client, cid = talking
    settings = visible_text(bob_client.get("/settings"))
    assert "Pause messages" in settings and "nobody but staff can write to you" in settings
    response = pause(bob_client)
    assert response.status_code == 302 and response.location.endswith("/settings#pause")
    assert reload(User, bob.id).messages_paused is True
    assert "Your messages are paused." in visible_text(bob_client.get("/settings"))
    page = alice_client.get(f"/messages/{cid}")
    assert 'id="compose-body"' not in text(page) and NOT_ACCEPTING in visible_text(page)  # said before typing
    # The keyboard's skip link leads to the words, and says so: it promised a box that isn't there.
    assert "Skip to why you can't write here" in visible_text(page)
    assert "Skip to writing a message" not in visible_text(page)
    assert "Skip to writing a message" in visible_text(bob_client.get(f"/messages/{cid}"))
    refused = send(alice_client, cid, "Are you there?")
    assert refused.status_code == 403 and NOT_ACCEPTING in visible_text(refused)
    assert NOT_ACCEPTING in visible_text(alice_client.get("/people/bob"))  # and for a new conversation
    assert alice_client.post("/messages/with/bob").location == f"/messages/{cid}"  # theirs opens, saying why
    assert [m.body for m in messages_in(cid)] == ["Lunch on Friday?", "Gladly"]
    assert "You've paused messages: only staff can write to you." in visible_text(bob_client.get("/messages"))
    # the home page says so too: back from a holiday, a member didn't see it was still on (a street's tester)
    assert "You've paused messages: only staff can write to you." in visible_text(bob_client.get("/"))
    pause(bob_client, on=False)
    assert "You've paused messages" not in visible_text(bob_client.get("/"))
    assert send(alice_client, cid, "Are you there?").status_code == 200


def test_staff_may_still_write_to_a_paused_member(talking, bob, admin, login):
    _, bob_client, _ = talking
    pause(bob_client)
    root_client = login(admin)
    cid = open_conversation(root_client, "bob")
    assert send(root_client, cid, "About your report").status_code == 200


def test_a_pause_and_a_block_read_the_same_in_an_existing_conversation(talking, alice, bob, make_user, login):
    alice_client, bob_client, cid = talking
    safety.block(bob, alice)
    blocked = alice_client.get(f"/messages/{cid}")
    safety.unblock(bob, alice)
    pause(bob_client)
    paused = alice_client.get(f"/messages/{cid}")
    compose = r'<div id="compose".*?</div>'
    import re

    assert re.search(compose, text(blocked), re.S).group(0) == re.search(compose, text(paused), re.S).group(0)


def test_the_api_refuses_with_the_same_words_and_me_says_so(talking, api_as, alice, bob):
    _, bob_client, cid = talking
    pause(bob_client)
    alice_api, bob_api = api_as(alice), api_as(bob)
    problem = assert_problem(alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": "hi"}), 403)
    assert problem["detail"] == NOT_ACCEPTING
    assert bob_api.get("/api/v1/me").get_json()["messages_paused"] is True
    assert bob_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": "I can still write"}).status_code == 201


def test_a_forged_value_is_refused_and_changes_nothing(talking, bob):
    _, bob_client, _ = talking
    response = bob_client.post("/settings/messaging/pause", data={"paused": "maybe"})
    assert response.status_code == 400 and "Not a valid choice" in visible_text(response)
    assert reload(User, bob.id).messages_paused is False


def test_an_open_thread_hears_of_a_pause_and_a_block_alike(talking, alice, bob):
    """The other member's open thread kept its box after a pause until a send was refused (an outside
    tester): its live channel hears "compose" for its conversation, the same for a block, so that a
    block is never told."""
    alice_client, bob_client, cid = talking
    since = int(re.search(r'data-live-cursor="(\d+)"', text(alice_client.get(f"/messages/{cid}"))).group(1))

    def heard(since):
        answer = alice_client.get(f"/messages/live?since={since}").get_json()
        return [(e["kind"], e["conversation"]) for e in answer["events"]], answer["cursor"]

    pause(bob_client)
    events, since = heard(since)
    assert events == [("compose", cid)]
    pause(bob_client, on=False)
    events, since = heard(since)
    assert events == [("compose", cid)]
    safety.block(bob, alice)
    events, since = heard(since)
    assert events == [("compose", cid)]  # word for word what a pause tells
    safety.unblock(bob, alice)
    events, since = heard(since)
    assert events == [("compose", cid)]


def test_message_on_the_profile_of_a_paused_member_opens_our_conversation_and_says_why(talking, bob):
    """Found, not started: the button opens the conversation Alice has, which says why she can't
    write, as the API's POST /conversations answers 200 with it (an API tester found it refused)."""
    alice_client, bob_client, cid = talking
    pause(bob_client)
    opened = alice_client.post("/messages/with/bob")
    assert opened.status_code == 302 and opened.location == f"/messages/{cid}"
    page = alice_client.get(opened.location)
    assert NOT_ACCEPTING in visible_text(page) and 'id="compose-body"' not in text(page)
    assert [m.body for m in messages_in(cid)] == ["Lunch on Friday?", "Gladly"]
