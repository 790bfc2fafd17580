"""Conditional requests on a conversation's messages, by RFC 9110: If-None-Match and If-Match."""
import pytest

from api_helpers import alice_api, api_as, api_chat, assert_problem, bob_api, send  # noqa: F401


@pytest.fixture
def page(api_chat):
    """Alice's client, the messages' path and the page's current ETag (strong, quoted)."""
    alice_api, bob_api, cid = api_chat
    send(alice_api, cid, "hello")
    path = f"/api/v1/conversations/{cid}/messages"
    first = alice_api.get(path)
    assert first.status_code == 200
    return alice_api, path, first.headers["ETag"]


def weak(etag):
    return f"W/{etag}"


def ask(page, **headers):
    alice_api, path, _ = page
    return alice_api.get(path, headers={name.replace("_", "-"): value for name, value in headers.items()})


def assert_the_page(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [m["body"] for m in response.get_json()["messages"]] == ["hello"]


def assert_precondition_failed(response):
    problem = assert_problem(response, 412)
    assert "messages" not in problem and "hello" not in response.get_data(as_text=True)  # no page in it


@pytest.mark.parametrize("if_match", ["*", "{etag}", '"other", {etag}', ' {etag} ,"x"'])
def test_if_match_that_holds_answers_the_page(page, if_match):
    assert_the_page(ask(page, If_Match=if_match.format(etag=page[2])))


@pytest.mark.parametrize("if_match", ['"other"', '"a", "b"', weak("{etag}"), "garbage", '"unterminated', "W/"])
def test_if_match_that_fails_is_a_412_problem_without_the_page(page, if_match):
    assert_precondition_failed(ask(page, If_Match=if_match.format(etag=page[2])))


@pytest.mark.parametrize("if_none_match", ["*", "{etag}", weak("{etag}"), '"other", {etag}'])
def test_if_none_match_that_matches_answers_304(page, if_none_match):
    response = ask(page, If_None_Match=if_none_match.format(etag=page[2]))
    assert response.status_code == 304 and response.get_data() == b""
    assert response.headers["ETag"] == page[2]
    assert "Content-Type" not in response.headers and "Content-Length" not in response.headers


def test_the_answers_leave_the_date_to_the_server(page):
    """The server sends Date: one the app adds too makes two in every answer (gunicorn and
    Werkzeug's server each pass the app's along beside their own)."""
    for response in (ask(page), ask(page, If_None_Match=page[2])):
        assert response.status_code in (200, 304)
        assert "Date" not in response.headers


@pytest.mark.parametrize("if_none_match", ['"other"', '"a", W/"b"', "garbage", '"unterminated', ""])
def test_if_none_match_that_does_not_match_answers_the_page(page, if_none_match):
    assert_the_page(ask(page, If_None_Match=if_none_match))


def test_if_match_is_evaluated_before_if_none_match(page):
    etag = page[2]
    assert ask(page, If_Match="*", If_None_Match=etag).status_code == 304
    assert ask(page, If_Match=etag, If_None_Match=etag).status_code == 304
    assert_the_page(ask(page, If_Match=etag, If_None_Match='"other"'))
    assert_precondition_failed(ask(page, If_Match='"other"', If_None_Match=etag))


def test_a_new_message_makes_the_old_etag_fail_if_match_and_miss_if_none_match(page, api_chat):
    _alice_api, bob_api, cid = api_chat
    send(bob_api, cid, "news")
    etag = page[2]
    assert_precondition_failed(ask(page, If_Match=etag))
    assert ask(page, If_None_Match=etag).status_code == 200


def test_a_delete_or_a_read_changes_the_newest_page_while_a_poll_after_it_stays_304(api_chat):
    # As the README says: after= brings only newer messages, so a client that also wants deletes
    # and "Seen" polls the newest page with its ETag (an outside tester found after= alone missed them).
    alice_api, bob_api, cid = api_chat
    first = send(alice_api, cid, "my door code is 4821")
    second = send(alice_api, cid, "wrong person, sorry")
    path = f"/api/v1/conversations/{cid}/messages"
    newest, polled = alice_api.get(path), alice_api.get(f"{path}?after={second['id']}")
    assert newest.status_code == polled.status_code == 200 and polled.get_json()["messages"] == []

    assert alice_api.delete(f"{path}/{first['id']}").status_code == 204
    assert alice_api.get(f"{path}?after={second['id']}", headers={"If-None-Match": polled.headers["ETag"]}).status_code == 304
    changed = alice_api.get(path, headers={"If-None-Match": newest.headers["ETag"]})
    assert changed.status_code == 200
    assert [(m["body"], m["deleted"]) for m in changed.get_json()["messages"]] == [(None, True), ("wrong person, sorry", False)]

    # Bob reads: the newest page says so (other_last_read_message_id) under a new ETag.
    assert bob_api.post(f"/api/v1/conversations/{cid}/read", json={"up_to": second["id"]}).status_code == 200
    seen = alice_api.get(path, headers={"If-None-Match": changed.headers["ETag"]})
    assert seen.status_code == 200 and seen.get_json()["other_last_read_message_id"] == second["id"]
    assert alice_api.get(path, headers={"If-None-Match": seen.headers["ETag"]}).status_code == 304


@pytest.mark.parametrize("path", ["/api/v1/conversations", "/api/v1/conversations?unread=true", "/api/v1/unread-count"])
def test_the_conversation_list_and_the_unread_count_answer_304_until_something_changes(api_chat, path):
    """A sync client asked for the whole list (or the count) every time: only messages had an ETag
    (an outside tester)."""
    alice_api, bob_api, cid = api_chat
    send(alice_api, cid, "hello")
    first = bob_api.get(path)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-cache, private"
    etag = first.headers["ETag"]
    assert bob_api.get(path, headers={"If-None-Match": etag}).status_code == 304
    send(alice_api, cid, "are you there?")
    again = bob_api.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["ETag"] != etag
    assert_problem(bob_api.get(path, headers={"If-Match": etag}), 412)
    assert bob_api.get(path, headers={"If-Match": ""}).status_code == 200  # sent empty: no precondition (an API tester)
    assert_problem(bob_api.get(path, headers={"If-Match": '"unterminated'}), 412)  # unreadable: matches nothing
