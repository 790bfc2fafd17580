"""Rate limits: 20 messages a minute, 5 new conversations a day, per member."""
from messaging_helpers import conversation_count, messages_in, open_conversation, send, visible_text


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
    response = client.post(f"/messages/with/{people[5].username}")
    assert response.status_code == 429
    assert "5 new conversations today" in visible_text(response)
    assert "existing conversations" in visible_text(response)
    assert conversation_count() == 5
    # reopening an existing conversation is free
    assert open_conversation(client, people[0].username) == ids[0]
    assert send(client, ids[0], "still talking").status_code == 200
