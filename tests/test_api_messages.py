"""Messages through the API: send (idempotent), page both ways, poll with ETag, read, delete, remove."""
import threading

import pytest

from api_helpers import ApiClient, alice_api, api_as, api_chat, assert_problem, bob_api, send  # noqa: F401
from messaging_helpers import membership_of, messages_in
from wb.messaging import live, safety

SECRET = "the secret plan is pancakes"


def _messages(api, cid, query=""):
    response = api.get(f"/api/v1/conversations/{cid}/messages{query}")
    assert response.status_code == 200, response.get_json()
    return response


def test_a_sent_message_comes_back_201_stored_trimmed(api_chat, alice, alice_api):
    _, _, cid = api_chat
    response = alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": "  Hi Bob,\r\nwalk?  "})
    assert response.status_code == 201
    body = response.get_json()
    assert body["body"] == "Hi Bob,\nwalk?" and body["from_me"] is True and body["sender_id"] == alice.id
    assert body["conversation_id"] == cid and body["deleted"] is False
    [stored] = messages_in(cid)
    assert stored.id == body["id"] and stored.body == "Hi Bob,\nwalk?"


def test_line_breaks_count_as_on_the_web_form_one_character_each(api_chat, alice_api):
    """A client sending \r\n (Windows) gets the 5,000 characters the web form gives: 4,500 here."""
    _, _, cid = api_chat
    text = "ab\r\n" * 1500
    response = alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": text})
    assert response.status_code == 201, response.get_json()
    [stored] = messages_in(cid)
    assert stored.body == ("ab\n" * 1500).strip() and len(stored.body) == 4499
    too_long = alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": "a\r\n" * 2501})
    assert_problem(too_long, 422)


@pytest.mark.parametrize("text", ["x" * 5000 + "\n", "  " + "x" * 5000 + " \r\n\u3000", "\n" + "é" * 5000])
def test_5000_characters_with_spaces_around_them_go_as_on_the_web_form(api_chat, alice_api, text):
    """The web form trims before it counts; the API counted the spaces, so the same text was a 422."""
    _, _, cid = api_chat
    response = alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": text})
    assert response.status_code == 201, response.get_json()
    [stored] = messages_in(cid)
    assert stored.body == text.strip() and len(stored.body) == 5000


@pytest.mark.parametrize("payload, field", [
    ({"body": ""}, "body"), ({"body": "   \n "}, "body"), ({"body": "x" * 5001}, "body"),
    ({"body": "x" * 5000 + "\x1f  "}, "body"), ({"body": " " * 5001}, "body"),
    ({"body": "bell\x07"}, "body"), ({"body": "next\x86line"}, "body"), ({"body": "invoice\u202egnp.exe"}, "body"),
    ({"body": 5}, "body"),
    ({"body": ["a"]}, "body"),
    ({}, "body"), ({"body": "hi", "urgent": True}, "urgent"),
])
def test_bad_bodies_are_a_422_naming_the_field_and_nothing_is_stored(api_chat, alice_api, payload, field):
    _, _, cid = api_chat
    problem = assert_problem(alice_api.post(f"/api/v1/conversations/{cid}/messages", json=payload), 422)
    assert problem["title"] == "Unprocessable Content"  # RFC 9110's name, as the spec has it
    assert field in [error["name"] for error in problem["errors"]]
    assert messages_in(cid) == []


def test_pages_are_chronological_and_page_back_with_before(api_chat, alice_api, bob_api):
    _, _, cid = api_chat
    sent = [send(bob_api if n % 2 else alice_api, cid, f"message {n}")["id"] for n in range(7)]
    newest = _messages(bob_api, cid, "?limit=3").get_json()
    assert [m["id"] for m in newest["messages"]] == sent[4:]
    older = _messages(bob_api, cid, f"?limit=3&before={newest['older_cursor']}").get_json()
    assert [m["id"] for m in older["messages"]] == sent[1:4]
    oldest = _messages(bob_api, cid, f"?limit=3&before={older['older_cursor']}").get_json()
    assert [m["id"] for m in oldest["messages"]] == sent[:1] and oldest["older_cursor"] is None
    after = _messages(bob_api, cid, f"?after={sent[2]}&limit=2").get_json()
    assert [m["id"] for m in after["messages"]] == sent[3:5] and after["has_more_newer"] is True
    between = _messages(bob_api, cid, f"?after={sent[1]}&before={sent[4]}").get_json()
    assert [m["id"] for m in between["messages"]] == sent[2:4] and between["has_more_newer"] is False
    capped = _messages(bob_api, cid, f"?after={sent[0]}&before={sent[5]}&limit=2").get_json()
    assert [m["id"] for m in capped["messages"]] == sent[1:3] and capped["has_more_newer"] is True


@pytest.mark.parametrize("query", ["?limit=101", "?limit=0", "?before=abc", "?after=%D9%A3", "?after=-1",
                                   "?after=99999999999999999999999", "?limit=1_0"])
def test_malformed_paging_arguments_are_a_422(api_chat, alice_api, query):
    _, _, cid = api_chat
    problem = assert_problem(alice_api.get(f"/api/v1/conversations/{cid}/messages{query}"), 422)
    assert problem["errors"]


def test_polling_with_the_etag_answers_304_until_something_changes(api_chat, alice_api, bob_api):
    _, _, cid = api_chat
    first = send(alice_api, cid, "first")
    poll = _messages(alice_api, cid, f"?after={first['id']}")
    assert poll.get_json()["messages"] == []
    etag = poll.headers["ETag"]
    again = alice_api.get(f"/api/v1/conversations/{cid}/messages?after={first['id']}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    bob_api.post(f"/api/v1/conversations/{cid}/read")  # "Seen" changes what the poll shows
    seen = alice_api.get(f"/api/v1/conversations/{cid}/messages?after={first['id']}", headers={"If-None-Match": etag})
    assert seen.status_code == 200 and seen.get_json()["other_last_read_message_id"] == first["id"]
    etag = seen.headers["ETag"]
    reply = send(bob_api, cid, "reply")
    news = alice_api.get(f"/api/v1/conversations/{cid}/messages?after={first['id']}", headers={"If-None-Match": etag})
    assert news.status_code == 200 and [m["id"] for m in news.get_json()["messages"]] == [reply["id"]]


def test_a_retried_send_with_the_same_idempotency_key_stores_once(api_chat, alice_api):
    _, _, cid = api_chat
    headers = {"Idempotency-Key": "8d5e-retry"}
    first = alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": "once"}, headers=headers)
    retry = alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": "once"}, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.get_json() == first.get_json() and retry.headers["Idempotent-Replayed"] == "true"
    assert len(messages_in(cid)) == 1
    other = alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": "different"}, headers=headers)
    assert_problem(other, 422)
    assert len(messages_in(cid)) == 1


def test_a_key_past_a_day_names_a_new_send_though_no_clearing_has_reached_it(api_chat, alice_api):
    """Keys are kept a day (KEPT_FOR); clearing them runs at most once a minute in a process, so a key
    reused after its day, still in the table, is this send's: a new message, not the old one replayed."""
    from datetime import timedelta

    from sqlalchemy import update

    from wb.api import idempotency
    from wb.api.models import IdempotencyKey
    from wb.extensions import db
    from wb.models import utcnow

    _, _, cid = api_chat
    headers = {"Idempotency-Key": "a-day-old"}
    first = alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": "Monday's"}, headers=headers)
    db.session.execute(update(IdempotencyKey).values(created_at=utcnow() - idempotency.KEPT_FOR - timedelta(minutes=5)))
    db.session.commit()
    idempotency._cleared_at = utcnow()  # the process cleared a moment ago: this row is still there
    again = alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": "Tuesday's"}, headers=headers)
    assert first.status_code == again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert [m.body for m in messages_in(cid)] == ["Monday's", "Tuesday's"]
    assert db.session.query(IdempotencyKey).count() == 1


def test_an_idempotency_key_is_not_stored_with_the_text(api_chat, alice_api):
    import hashlib

    from sqlalchemy import select

    from wb.api.models import IdempotencyKey
    from wb.extensions import db

    _, _, cid = api_chat
    alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": SECRET}, headers={"Idempotency-Key": "k1"})
    row = db.session.scalars(select(IdempotencyKey)).one()
    assert SECRET not in repr(vars(row)) and "k1" not in row.key_hash
    # Its text's hash is keyed: a short text's plain SHA-256 is found by trying texts.
    assert row.body_hash and row.body_hash != hashlib.sha256(SECRET.encode()).hexdigest()


def test_a_reused_idempotency_key_is_refused_for_other_text_after_its_message_was_deleted(api_chat, alice_api):
    """Once its message was deleted for both, other text with the same key answered 201 with the
    deleted message and stored nothing (an API tester): the key's row keeps a hash of the text, so
    it is refused as before the delete, and a retry of that very send still gets its answer."""
    _, _, cid = api_chat
    url, headers = f"/api/v1/conversations/{cid}/messages", {"Idempotency-Key": "lunch-1"}
    mid = alice_api.post(url, json={"body": "Lunch on Friday?"}, headers=headers).get_json()["id"]
    assert alice_api.delete(f"{url}/{mid}").status_code == 204
    other = alice_api.post(url, json={"body": "Dinner instead?"}, headers=headers)
    words = "This Idempotency-Key was already used for a different message."
    assert assert_problem(other, 422)["detail"] == words and "Idempotent-Replayed" not in other.headers
    assert other.get_json()["errors"] == [{"location": "header", "name": "Idempotency-Key", "detail": words}]
    retry = alice_api.post(url, json={"body": " Lunch on Friday? "}, headers=headers)  # stored trimmed
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert {k: retry.get_json()[k] for k in ("id", "body", "deleted")} == {"id": mid, "body": None, "deleted": True}
    assert [(m.id, m.body, m.deleted_at is not None) for m in messages_in(cid)] == [(mid, "", True)]


def test_two_identical_retries_at_once_store_one_message(api_chat, alice_api, app):
    _, _, cid = api_chat
    results = []

    def attempt():
        client = ApiClient(app.test_client(), alice_api.token)
        response = client.post(f"/api/v1/conversations/{cid}/messages", json={"body": "race"},
                               headers={"Idempotency-Key": "same-key"})
        results.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(messages_in(cid)) == 1
    statuses = sorted(status for status, _ in results)
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}
    assert len({body["id"] for status, body in results if status == 201}) == 1


def test_a_refused_send_frees_its_idempotency_key(api_chat, alice_api, bob, alice):
    _, _, cid = api_chat
    safety.block(bob, alice)
    headers = {"Idempotency-Key": "blocked-then-not"}
    assert_problem(alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": "hi"}, headers=headers), 403)
    safety.unblock(bob, alice)
    assert alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": "hi"}, headers=headers).status_code == 201


@pytest.mark.parametrize("app_config", [{"MESSAGE_RATE_LIMIT": "2 per minute"}])
def test_sending_too_fast_is_a_429_with_retry_after(api_chat, alice_api, app_config):
    _, _, cid = api_chat
    send(alice_api, cid, "one")
    send(alice_api, cid, "two")
    response = alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": "three"})
    assert_problem(response, 429)
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert len(messages_in(cid)) == 2


def test_reading_up_to_a_message_moves_the_marker_only_forward(api_chat, alice_api, bob_api, bob):
    _, _, cid = api_chat
    ids = [send(alice_api, cid, f"m{n}")["id"] for n in range(3)]
    state = bob_api.post(f"/api/v1/conversations/{cid}/read", json={"up_to": ids[1]}).get_json()
    assert state == {"conversation_id": cid, "last_read_message_id": ids[1], "unread_count": 1, "unread_total": 1}
    back = bob_api.post(f"/api/v1/conversations/{cid}/read", json={"up_to": ids[0]}).get_json()
    assert back["last_read_message_id"] == ids[1]
    everything = bob_api.post(f"/api/v1/conversations/{cid}/read").get_json()
    assert everything["last_read_message_id"] == ids[2] and everything["unread_total"] == 0
    assert membership_of(bob, cid).unread_count == 0


def test_reading_up_to_a_message_tells_both_members_tabs(api_chat, alice_api, bob_api, alice, bob):
    """A read through the API with up_to is the web's read: Bob's tabs hear "read" (his badge),
    Alice's "seen" (both share read receipts); reading back to an older message tells nobody."""
    _, _, cid = api_chat
    ids = [send(alice_api, cid, f"m{n}")["id"] for n in range(3)]
    since = {member.id: live.newest_for(member.id) for member in (alice, bob)}
    bob_api.post(f"/api/v1/conversations/{cid}/read", json={"up_to": ids[1]})
    heard = lambda member: [(e.kind, e.message_id) for e in live.changes_since(member.id, since[member.id]).events]  # noqa: E731
    assert heard(bob) == [("read", ids[1])] and heard(alice) == [("seen", ids[1])]
    since = {member.id: live.newest_for(member.id) for member in (alice, bob)}
    bob_api.post(f"/api/v1/conversations/{cid}/read", json={"up_to": ids[0]})
    assert heard(bob) == [] and heard(alice) == []
    assert {member.id: live.newest_for(member.id) for member in (alice, bob)} == since  # nothing recorded for either


def test_an_integral_json_number_is_an_id(api_chat, alice_api, bob_api):
    _, _, cid = api_chat
    first = send(alice_api, cid, "m")["id"]
    assert bob_api.post(f"/api/v1/conversations/{cid}/read", json={"up_to": float(first)}).status_code == 200


@pytest.mark.parametrize("payload", [{"up_to": "1"}, {"up_to": True}, {"up_to": 0}, {"up_to": 1.5}, {"until": 1}])
def test_a_malformed_read_is_a_422(api_chat, bob_api, payload):
    _, _, cid = api_chat
    assert_problem(bob_api.post(f"/api/v1/conversations/{cid}/read", json=payload), 422)


def test_the_sender_deletes_for_both_and_the_text_is_gone(api_chat, alice_api, bob_api):
    _, _, cid = api_chat
    message = send(alice_api, cid, SECRET)
    assert_problem(bob_api.delete(f"/api/v1/conversations/{cid}/messages/{message['id']}"), 403)
    assert alice_api.delete(f"/api/v1/conversations/{cid}/messages/{message['id']}").status_code == 204
    shown = _messages(bob_api, cid)
    assert shown.get_json()["messages"][0] | {"created_at": None} == {
        "id": message["id"], "conversation_id": cid, "sender_id": message["sender_id"], "from_me": False,
        "body": None, "deleted": True, "created_at": None}
    assert SECRET not in shown.get_data(as_text=True)
    assert messages_in(cid)[0].body == ""  # gone from the messaging database (an API tester found it kept)


def test_a_retried_send_of_a_message_deleted_since_gets_it_deleted(api_chat, alice_api):
    """The retry was compared with the stored text; deleted, it has none to compare with."""
    _, _, cid = api_chat
    headers = {"Idempotency-Key": "retry-after-delete"}
    first = alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": SECRET}, headers=headers)
    assert first.status_code == 201
    assert alice_api.delete(f"/api/v1/conversations/{cid}/messages/{first.get_json()['id']}").status_code == 204
    again = alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": SECRET}, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["deleted"] is True and again.get_json()["body"] is None
    assert len(messages_in(cid)) == 1


def test_removing_hides_a_message_from_me_only(api_chat, alice_api, bob_api):
    _, _, cid = api_chat
    message = send(alice_api, cid, "keep or not")
    assert bob_api.post(f"/api/v1/conversations/{cid}/messages/{message['id']}/remove").status_code == 204
    assert _messages(bob_api, cid).get_json()["messages"] == []
    assert len(_messages(alice_api, cid).get_json()["messages"]) == 1


def test_a_blocked_member_cannot_send(api_chat, alice_api, alice, bob):
    _, _, cid = api_chat
    safety.block(bob, alice)
    assert assert_problem(alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": "hi"}), 403)["detail"] \
        == "Bob isn't accepting messages right now. Only they can change that."


def test_a_page_of_messages_asks_the_same_number_of_queries_however_long(api_chat, alice_api, bob_api, count_queries):
    _, _, cid = api_chat
    send(alice_api, cid, "one")
    bob_api.get("/api/v1/me")
    with count_queries() as few:
        _messages(bob_api, cid)
    for n in range(30):
        send(alice_api if n % 2 else bob_api, cid, f"n{n}")
    with count_queries() as many:
        assert len(_messages(bob_api, cid).get_json()["messages"]) == 31
    assert len(many) == len(few) <= 5, many


# --- someone else's conversation: the non-participant matrix ----------------------------------------


@pytest.fixture
def outsider(api_as, make_user):
    return api_as(make_user("mallory"))


def _routes(cid, mid):
    base = f"/api/v1/conversations/{cid}"
    return [
        ("GET", base, None), ("POST", f"{base}/hide", None), ("GET", f"{base}/messages", None),
        ("GET", f"{base}/messages?after=0", None), ("GET", f"{base}/messages?before={mid + 1}", None),
        ("POST", f"{base}/messages", {"body": "let me in"}), ("POST", f"{base}/read", {"up_to": mid}),
        ("POST", f"{base}/read", None), ("DELETE", f"{base}/messages/{mid}", None),
        ("POST", f"{base}/messages/{mid}/remove", None),
    ]


def test_someone_else_s_conversation_is_404_and_shows_no_text(api_chat, alice_api, outsider):
    _, _, cid = api_chat
    mid = send(alice_api, cid, SECRET)["id"]
    for method, path, payload in _routes(cid, mid):
        response = outsider.request(method, path, json=payload)
        assert response.status_code == 404, (method, path, response.status_code)
        assert_problem(response, 404)
        assert SECRET not in response.get_data(as_text=True) and "pancakes" not in response.get_data(as_text=True)
    assert [m.body for m in messages_in(cid)] == [SECRET]
    assert messages_in(cid)[0].deleted_at is None


def test_a_message_id_from_another_conversation_is_not_found(api_chat, alice_api, api_as, make_user):
    _, _, cid = api_chat
    carol_api = api_as(make_user("carol"))
    theirs = carol_api.post("/api/v1/conversations", json={"with": "alice"}).get_json()["id"]
    foreign = send(carol_api, theirs, SECRET)["id"]
    for method, path, payload in _routes(cid, foreign)[6:]:
        if "up_to" in (payload or {}) or path.endswith("/remove") or method == "DELETE":
            response = alice_api.request(method, path, json=payload)
            assert_problem(response, 404)
            assert SECRET not in response.get_data(as_text=True)
    assert messages_in(theirs)[0].deleted_at is None and messages_in(theirs)[0].hidden_for_low is False


def test_a_claim_left_by_a_request_that_died_is_taken_over_by_a_later_retry(api_chat, alice_api, alice):
    from datetime import timedelta

    from wb.api.idempotency import hashlib
    from wb.api.models import IdempotencyKey
    from wb.extensions import db
    from wb.models import utcnow

    _, _, cid = api_chat
    key_hash = hashlib.sha256(b"died").hexdigest()
    db.session.add(IdempotencyKey(user_id=alice.id, key_hash=key_hash, conversation_id=cid,
                                  created_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    url, headers = f"/api/v1/conversations/{cid}/messages", {"Idempotency-Key": "died"}
    first = alice_api.post(url, json={"body": "hi"}, headers=headers)
    assert_problem(first, 409)
    assert first.headers["Retry-After"] == "1"
    assert alice_api.post(url, json={"body": "hi"}, headers=headers).status_code == 201
    assert len(messages_in(cid)) == 1


def test_an_idempotency_key_names_one_send_in_one_conversation(api_chat, alice_api, api_as, make_user):
    _, _, cid = api_chat
    make_user("carol")
    other = alice_api.post("/api/v1/conversations", json={"with": "carol"}).get_json()["id"]
    headers = {"Idempotency-Key": "one-send"}
    assert alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": "hi"}, headers=headers).status_code == 201
    assert_problem(alice_api.post(f"/api/v1/conversations/{other}/messages", json={"body": "hi"}, headers=headers), 422)
    assert messages_in(other) == []


def test_a_field_error_says_what_is_wrong_in_plain_words(api_chat, alice_api):
    """Our validators' words, without pydantic's "Value error, " before them; digits too many for
    any id say the range an id takes (found by an outside tester)."""
    _, _, cid = api_chat
    huge = assert_problem(alice_api.get(f"/api/v1/conversations/{cid}/messages?before=9223372036854775808"), 422)
    [field] = huge["errors"]
    assert field["name"] == "before" and field["detail"].startswith("must be a whole number from 0 to 9223372036854775807")
    arabic = assert_problem(alice_api.get(f"/api/v1/conversations/{cid}/messages?limit=٣"), 422)
    assert [e["detail"] for e in arabic["errors"]] == ["must be a whole number from 1 to 100, written with the digits 0-9"]
    note = assert_problem(alice_api.post("/api/v1/reports", json={"username": "bob", "reason": "spam", "note": "\x00"}), 422)
    assert all(not e["detail"].startswith("Value error") for e in note["errors"])


def test_a_delete_leaves_an_unread_members_read_marker_empty(api_chat, alice_api, bob_api):
    """Bob never read: after Alice deletes her message his marker is still none, not 0 (found by an
    outside tester)."""
    _, _, cid = api_chat
    mid = send(alice_api, cid, "oops")["id"]
    assert alice_api.delete(f"/api/v1/conversations/{cid}/messages/{mid}").status_code == 204
    assert bob_api.get(f"/api/v1/conversations/{cid}").get_json()["last_read_message_id"] is None
    assert alice_api.get(f"/api/v1/conversations/{cid}").get_json()["other_last_read_message_id"] is None
