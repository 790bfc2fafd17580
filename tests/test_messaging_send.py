"""Sending: validation, escaping, what the thread and poll show."""
import hashlib
import html
import re

import pytest

from messaging_helpers import messages_in, membership_of, open_conversation, poll_cursors, send


def test_opening_twice_gives_the_same_single_conversation(chat):
    alice_client, bob_client, cid = chat
    assert open_conversation(alice_client, "bob") == cid
    assert open_conversation(bob_client, "alice") == cid
    assert open_conversation(alice_client, "BOB") == cid


def test_sent_message_is_stored_trimmed_and_shown(chat, alice):
    alice_client, _, cid = chat
    response = send(alice_client, cid, "   Hi Bob,\r\nfancy a walk?\t  ")
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "wb:poll-now, wb:list-changed"
    # the fresh compose box comes back empty and focused
    html = response.get_data(as_text=True)
    assert 'id="compose"' in html and "autofocus" in html and "fancy a walk" not in html
    [message] = messages_in(cid)
    assert message.body == "Hi Bob,\nfancy a walk?"
    assert message.sender_id == alice.id
    assert "Hi Bob,\nfancy a walk?" in alice_client.get(f"/messages/{cid}").get_data(as_text=True)


def test_a_send_with_the_threads_cursors_brings_what_is_new_and_a_new_poller(chat, alice, bob, login):
    """The page's send carries its poller's cursors: the answer brings the new message (and what
    came before it) out of band with a new poller, so the thread asks no poll for it."""
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "Shown already")
    send(bob_client, cid, "Bob's news")
    [shown, news] = messages_in(cid)
    response = alice_client.post(f"/messages/{cid}?after={shown.id}&seen=0", data={"body": "Alice answers"},
                                 headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "wb:list-changed, wb:unread-changed"  # replying read Bob's
    page = response.get_data(as_text=True)
    answered = messages_in(cid)[-1]
    assert answered.body == "Alice answers"
    assert 'id="compose"' in page and "autofocus" in page
    assert f'id="message-{shown.id}"' not in page
    assert page.index(f'id="message-{news.id}"') < page.index(f'id="message-{answered.id}"')
    assert '<div id="poller" class="poller" hx-swap-oob="true"' in page
    assert f'data-after-id="{answered.id}"' in page
    # Bob has read up to his own news (so "Seen" goes under Alice's first message): the new
    # poller carries that, and posts the read of Bob's news.
    assert f'data-seen-id="{news.id}"' in page
    assert 'hx-trigger="load"' in page
    assert membership_of(alice, cid).unread_count == 0


@pytest.mark.parametrize("cursors", ["after=x&seen=0", "after=1&seen=%C2%B2", "after=-1", "after=99999999999999999999999"])
def test_a_send_with_malformed_cursors_is_refused_before_anything_is_written(chat, cursors):
    alice_client, _, cid = chat
    response = alice_client.post(f"/messages/{cid}?{cursors}", data={"body": "kept in the box"}, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert "kept in the box" not in response.get_data(as_text=True)
    assert messages_in(cid) == []


def test_plain_form_send_without_javascript_redirects_to_the_thread(chat):
    alice_client, _, cid = chat
    response = send(alice_client, cid, "no js here", htmx=False)
    assert response.status_code == 302
    # The thread itself, not #message-N: a jump to that would scroll the page past the header.
    assert response.location == f"/messages/{cid}"


@pytest.mark.parametrize(
    "body, expected",
    [
        ("", "Write something"),
        ("   \n\t ", "Write something"),
        ("\u00a0\u200b\u3000", "Write something"),  # no-break, zero-width and ideographic spaces
        ("\u200d\u2060\ufeff\u00ad", "Write something"),  # joiners, word joiner, byte order mark, soft hyphen
        ("\u3164\u3164", "Write something"),  # Hangul fillers: letters that draw nothing
        ("x" * 5001, "at most 5,000 characters"),
        ("nul\x00byte", "only contain text"),
        ("bell\x07", "only contain text"),
        ("escape\x1b[31m", "only contain text"),
    ],
)
def test_bad_bodies_are_refused_in_the_compose_area_and_nothing_is_stored(chat, body, expected):
    alice_client, _, cid = chat
    response = send(alice_client, cid, body)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert expected in html
    assert 'class="compose-error"' in html
    assert messages_in(cid) == []


def test_oversized_text_is_kept_in_the_box_after_the_error(chat):
    alice_client, _, cid = chat
    text = "y" * 5001
    html = send(alice_client, cid, text).get_data(as_text=True)
    assert f">{text}</textarea>" in html


def test_exactly_5000_characters_and_tabs_and_newlines_are_fine(chat):
    alice_client, _, cid = chat
    assert send(alice_client, cid, "z" * 5000).status_code == 200
    assert send(alice_client, cid, "a\tb\nc").status_code == 200
    assert [len(m.body) for m in messages_in(cid)] == [5000, 5]


def test_html_and_script_payloads_are_rendered_as_text(chat):
    alice_client, bob_client, cid = chat
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    send(alice_client, cid, payload)
    for client in (alice_client, bob_client):
        html = client.get(f"/messages/{cid}").get_data(as_text=True)
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    inbox = bob_client.get("/messages").get_data(as_text=True)
    assert "<script>alert" not in inbox and "&lt;script&gt;" in inbox


def test_messaging_yourself_or_unknown_or_suspended_members(app, alice, make_user, login, messaging_on):
    client = login(alice)
    response = client.post("/messages/with/alice")
    assert response.status_code == 400
    assert "can't message yourself" in html.unescape(response.get_data(as_text=True))
    response = client.post("/messages/with/nobody-here")
    assert response.status_code == 404
    assert "No member has that username." in response.get_data(as_text=True)
    make_user("gone", status="suspended")
    response = client.post("/messages/with/gone")
    assert response.status_code == 403  # refused, like a block or a pause (400 read as a malformed request: an API tester)
    assert "suspended" in response.get_data(as_text=True)
    from messaging_helpers import conversation_count

    assert conversation_count() == 0


def test_a_suspended_member_keeps_their_name_and_the_compose_box_says_why_it_is_closed(chat, bob, alice):
    """Suspended is not gone: the other member still sees who the conversation is with, and why
    they can't write now (found by an outside tester: a suspension read as "has left")."""
    from wb.extensions import db

    alice_client, _, cid = chat
    send(alice_client, cid, "are you there?")
    bob.status = "suspended"
    db.session.commit()
    html = alice_client.get(f"/messages/{cid}").get_data(as_text=True)
    assert "former member" not in html and ">Bob<" in html
    assert 'id="compose-body"' not in html
    assert "account is suspended, so they can" in html and "has left WhiteBalloon" not in html
    response = send(alice_client, cid, "still there?")
    assert response.status_code == 403
    assert len(messages_in(cid)) == 1
    inbox = alice_client.get("/messages").get_data(as_text=True)
    assert "former member" not in inbox and ">Bob<" in inbox


def test_poll_returns_204_when_nothing_is_new(chat):
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "first")
    after, seen = poll_cursors(bob_client.get(f"/messages/{cid}").get_data(as_text=True))
    # Bob's page marks the thread read with a POST, as the browser does on load
    bob_client.post(f"/messages/{cid}/read", headers={"HX-Request": "true"})
    after, seen = poll_cursors(alice_client.get(f"/messages/{cid}").get_data(as_text=True))
    response = alice_client.get(f"/messages/{cid}/poll?after={after}&seen={seen}", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.data == b""


def test_poll_delivers_new_messages_and_moves_its_cursor(chat, bob):
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "one")
    after, seen = poll_cursors(bob_client.get(f"/messages/{cid}").get_data(as_text=True))
    send(alice_client, cid, "two")
    send(alice_client, cid, "three")
    response = bob_client.get(f"/messages/{cid}/poll?after={after}&seen={seen}", headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "two" in html and "three" in html and ">one<" not in html
    new_after, _ = poll_cursors(html)
    assert new_after == messages_in(cid)[-1].id
    # new messages from the other member come with the read trigger
    assert f'hx-post="/messages/{cid}/read"' in html
    assert html.index("two") < html.index("three")


def test_viewing_does_not_mark_read_but_the_read_post_does(chat, bob):
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "unread one")
    send(alice_client, cid, "unread two")
    assert membership_of(bob, cid).unread_count == 2
    html = bob_client.get(f"/messages/{cid}").get_data(as_text=True)
    assert membership_of(bob, cid).unread_count == 2  # a GET changes nothing
    assert f'hx-post="/messages/{cid}/read"' in html
    response = bob_client.post(f"/messages/{cid}/read", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Trigger"] == "wb:unread-changed, wb:list-changed"
    row = membership_of(bob, cid)
    assert row.unread_count == 0
    assert row.last_read_message_id == messages_in(cid)[-1].id


def test_seen_cursor_reaches_the_sender_by_polling(chat, alice, bob):
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "did you see this?")
    after, seen = poll_cursors(alice_client.get(f"/messages/{cid}").get_data(as_text=True))
    assert seen == 0
    bob_client.post(f"/messages/{cid}/read")
    response = alice_client.get(f"/messages/{cid}/poll?after={after}&seen={seen}", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert f'data-seen-id="{messages_in(cid)[-1].id}"' in response.get_data(as_text=True)


def test_thread_shows_newest_50_and_pages_older_by_cursor(chat, app):
    from wb.extensions import db
    from wb.messaging.models import Message

    alice_client, bob_client, cid = chat
    send(alice_client, cid, "kick off")
    first = messages_in(cid)[0]
    db.session.add_all(
        [Message(conversation_id=cid, sender_id=first.sender_id, body=f"number {i:03d}") for i in range(1, 120)]
    )
    db.session.commit()
    html = bob_client.get(f"/messages/{cid}").get_data(as_text=True)
    assert html.count('class="message ') == 50
    assert "number 119" in html and "number 069" not in html
    assert "number 070" in html
    ids = [m.id for m in messages_in(cid)]
    cursor = ids[-50]
    assert f"?before={cursor}" in html
    older = bob_client.get(f"/messages/{cid}?before={cursor}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert older.count('class="message ') == 50
    assert "number 020" in older and "number 069" in older and "number 070" not in older
    assert "<html" not in older
    oldest = bob_client.get(f"/messages/{cid}?before={ids[-100]}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert oldest.count('class="message ') == 20
    assert "kick off" in oldest
    assert "?before=" not in oldest  # nothing older than the first page


def test_a_send_after_messaging_was_switched_off_says_so_and_gives_the_text_back(chat):
    from wb.flags import set_flag

    alice_client, _, cid = chat
    set_flag("direct_messaging", False)
    response = send(alice_client, cid, "See you at <the> market")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "<html" not in page
    assert "The community's admins switched messaging off, so this message wasn't sent." in page
    assert ">See you at &lt;the&gt; market</textarea>" in page
    response = send(alice_client, cid, "And without JavaScript", htmx=False)
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "<h1>Messaging is switched off</h1>" in page and ">And without JavaScript</textarea>" in page
    assert alice_client.get(f"/messages/{cid}").status_code == 404


# --- a send again after its answer was lost: the page's Idempotency-Key (app.js makes one per message) ---


def send_keyed(client, conversation_id, body, key, after=0):
    """A send as the page makes it: htmx, the thread's cursors and the message's Idempotency-Key."""
    return client.post(f"/messages/{conversation_id}?after={after}&seen=0", data={"body": body},
                       headers={"HX-Request": "true", "Idempotency-Key": key})


def test_a_message_sent_again_with_its_key_is_stored_once_and_shown_once(chat, alice):
    """Its answer was lost on the way (the connection cut after the server stored it): the page said
    "Not sent", and sending it again stored it twice (an outside tester)."""
    alice_client, _, cid = chat
    first = send_keyed(alice_client, cid, "Keys are under the mat", "4f1c-mat")
    again = send_keyed(alice_client, cid, "Keys are under the mat", "4f1c-mat")
    assert first.status_code == again.status_code == 200
    [message] = messages_in(cid)
    assert message.body == "Keys are under the mat" and message.sender_id == alice.id
    page = again.get_data(as_text=True)
    assert page.count(f'id="message-{message.id}"') == 1  # the answer draws it, as the lost one did
    assert "Keys are under the mat</textarea>" not in page and 'class="compose-error"' not in page


def test_each_message_has_its_own_key(chat):
    alice_client, _, cid = chat
    send_keyed(alice_client, cid, "ok", "key-one")
    send_keyed(alice_client, cid, "ok", "key-two")
    assert [m.body for m in messages_in(cid)] == ["ok", "ok"]


def test_the_page_and_the_api_keep_one_set_of_keys(chat, alice):
    """The compose form's keys are the API's (api/idempotency.py): the same rows, the same answers."""
    from api_helpers import ApiClient, token_for

    alice_client, _, cid = chat
    api = ApiClient(alice_client.application.test_client(), token_for(alice))
    stored = api.post(f"/api/v1/conversations/{cid}/messages", json={"body": "Lunch?"}, headers={"Idempotency-Key": "k-9"})
    assert stored.status_code == 201
    assert send_keyed(alice_client, cid, "Lunch?", "k-9").status_code == 200
    assert [m.body for m in messages_in(cid)] == ["Lunch?"]


def test_other_words_under_a_used_key_are_refused_in_the_box_with_their_text(chat):
    alice_client, _, cid = chat
    send_keyed(alice_client, cid, "Lunch on Friday?", "lunch-1")
    response = send_keyed(alice_client, cid, "Dinner instead?", "lunch-1")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'class="compose-error"' in page and "mixed the message up with another one" in page
    assert ">Dinner instead?</textarea>" in page
    assert [m.body for m in messages_in(cid)] == ["Lunch on Friday?"]


def test_a_send_again_while_the_first_is_still_being_stored_asks_to_wait(chat, alice):
    from wb.api.idempotency import _body_hash
    from wb.api.models import IdempotencyKey
    from wb.extensions import db

    alice_client, _, cid = chat
    db.session.add(IdempotencyKey(user_id=alice.id, key_hash=hashlib.sha256(b"slow-1").hexdigest(),
                                  conversation_id=cid, body_hash=_body_hash("Still here?")))  # claimed, not yet stored
    db.session.commit()
    response = send_keyed(alice_client, cid, "Still here?", "slow-1")
    assert response.status_code == 409 and response.headers["Retry-After"] == "1"
    page = response.get_data(as_text=True)
    assert "this message may still be on its way" in page and ">Still here?</textarea>" in page
    assert messages_in(cid) == []


def test_a_malformed_key_is_refused_before_anything_is_stored(chat):
    alice_client, _, cid = chat
    response = send_keyed(alice_client, cid, "hello", "two,keys")
    assert response.status_code == 400
    assert ">hello</textarea>" in response.get_data(as_text=True)
    assert messages_in(cid) == []


# --- without JavaScript: the form's own key (send_key), drawn with it ---

SEND_KEY_FIELD = re.compile(r'<input type="hidden" name="send_key" value="([^"]+)">')


def form_key(page: str) -> str:
    [key] = SEND_KEY_FIELD.findall(page)
    return key


def send_form(client, conversation_id, body, key):
    """The compose form as a browser without JavaScript posts it: its fields, no htmx, no header."""
    return client.post(f"/messages/{conversation_id}", data={"body": body, "send_key": key})


def test_each_drawn_compose_form_has_a_key_of_its_own(chat):
    alice_client, _, cid = chat
    first = form_key(alice_client.get(f"/messages/{cid}").get_data(as_text=True))
    second = form_key(alice_client.get(f"/messages/{cid}").get_data(as_text=True))
    assert first != second and len(first) >= 16


def test_a_form_sent_twice_without_javascript_stores_its_message_once(chat, alice):
    """A double click on Send without JavaScript posted the form twice and stored the message twice."""
    alice_client, _, cid = chat
    key = form_key(alice_client.get(f"/messages/{cid}").get_data(as_text=True))
    first = send_form(alice_client, cid, "Parcel is with me", key)
    again = send_form(alice_client, cid, "Parcel is with me", key)
    assert first.status_code == again.status_code == 302
    assert first.location == again.location == f"/messages/{cid}"
    [message] = messages_in(cid)
    assert message.body == "Parcel is with me" and message.sender_id == alice.id
    page = alice_client.get(f"/messages/{cid}").get_data(as_text=True)
    assert page.count(f'id="message-{message.id}"') == 1 and page.count('class="message mine') == 1
    assert form_key(page) != key  # the next message's form has a new key


def test_other_words_from_the_same_form_are_another_message_not_a_refusal(chat):
    """Back to the page, then a new message from the form it showed: sent, not "mixed up"."""
    alice_client, _, cid = chat
    key = form_key(alice_client.get(f"/messages/{cid}").get_data(as_text=True))
    assert send_form(alice_client, cid, "See you at six", key).status_code == 302
    assert send_form(alice_client, cid, "Make that seven", key).status_code == 302
    assert [m.body for m in messages_in(cid)] == ["See you at six", "Make that seven"]


def test_a_refused_form_keeps_its_key_so_its_send_again_is_the_same_message(chat, alice):
    """A form send refused while the first one of a double click is still being stored (409) is
    drawn again with the same key: sending it again then stores nothing twice."""
    from wb.api.idempotency import _body_hash
    from wb.api.models import IdempotencyKey
    from wb.extensions import db
    from wb.messaging.views import _form_send_key

    alice_client, _, cid = chat
    key = form_key(alice_client.get(f"/messages/{cid}").get_data(as_text=True))
    with alice_client.application.test_request_context(method="POST", data={"send_key": key}):
        stands_for = _form_send_key("Still here?")
    db.session.add(IdempotencyKey(user_id=alice.id, key_hash=hashlib.sha256(stands_for.encode()).hexdigest(),
                                  conversation_id=cid, body_hash=_body_hash("Still here?")))  # claimed, not yet stored
    db.session.commit()
    response = send_form(alice_client, cid, "Still here?", key)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "this message may still be on its way" in page and ">Still here?</textarea>" in page
    assert form_key(page) == key
    assert messages_in(cid) == []


def test_a_tampered_form_key_is_ignored_and_the_message_sent(chat):
    alice_client, _, cid = chat
    for key in ("short", "has space in it, and more", "é" * 20, ""):
        assert send_form(alice_client, cid, f"sent with {key!r}", key).status_code == 302
    assert len(messages_in(cid)) == 4
