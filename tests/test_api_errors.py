"""Every error under /api is application/problem+json, never HTML, never a trace; off means 404 everywhere."""
import json

import pytest

from api_helpers import alice_api, api_as, api_chat, assert_problem, bob_api, send  # noqa: F401
from wb.flags import set_flag
from messaging_helpers import messages_in
from wb.messaging import writes

ROUTES = [
    ("GET", "/api/v1/me"), ("GET", "/api/v1/unread-count"), ("GET", "/api/v1/conversations"),
    ("POST", "/api/v1/conversations"), ("GET", "/api/v1/conversations/1"), ("POST", "/api/v1/conversations/1/hide"),
    ("GET", "/api/v1/conversations/1/messages"), ("POST", "/api/v1/conversations/1/messages"),
    ("POST", "/api/v1/conversations/1/read"), ("DELETE", "/api/v1/conversations/1/messages/1"),
    ("POST", "/api/v1/conversations/1/messages/1/remove"), ("GET", "/api/v1/blocks"),
    ("PUT", "/api/v1/blocks/bob"), ("DELETE", "/api/v1/blocks/bob"), ("POST", "/api/v1/reports"),
    ("GET", "/api/v1/openapi.json"), ("GET", "/api/docs"), ("GET", "/api/v1/no-such-thing"),
]


@pytest.mark.parametrize("method, path", ROUTES)
def test_with_messaging_off_every_api_route_is_a_404_problem(app, api_chat, alice_api, method, path):
    set_flag("direct_messaging", False)
    response = alice_api.request(method, path, json={"body": "x"} if method == "POST" else None)
    assert_problem(response, 404)
    if path.startswith("/api/v1/") and "no-such-thing" not in path:
        # a client with a valid token is told why (a bare 404 read as a wrong URL); nobody else is
        assert "switched messaging off" in response.get_json()["detail"]
        # ... in words a script reads too: a syncing script took the 404 for a conversation gone (an API tester)
        assert response.get_json()["reason"] == "messaging_off"
        anonymous = app.test_client().open(path, method=method)
        assert_problem(anonymous, 404)
        assert anonymous.get_json()["detail"] == "There is nothing here." and "reason" not in anonymous.get_json()


def test_a_conversation_that_is_not_yours_is_a_404_without_a_reason(api_chat, alice_api):
    """The reason is for messaging switched off alone: any other 404 says nothing more."""
    response = alice_api.get("/api/v1/conversations/1234567")
    assert_problem(response, 404)
    assert "reason" not in response.get_json()


def test_the_document_says_what_a_problems_reason_means(alice_api):
    problem = alice_api.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["Problem"]
    assert problem["properties"]["reason"]["const"] == "messaging_off" and "reason" not in problem.get("required", [])
    assert "switched messaging off" in problem["properties"]["reason"]["description"]


def test_unknown_routes_and_methods_are_problems(alice_api):
    assert_problem(alice_api.get("/api/v1/nothing/here"), 404)
    response = alice_api.request("PATCH", "/api/v1/conversations")
    assert_problem(response, 405)
    assert "POST" in response.headers["Allow"]


def test_a_body_that_is_not_json_is_a_415(api_chat, alice_api):
    _, _, cid = api_chat
    response = alice_api.post(f"/api/v1/conversations/{cid}/messages", data="body=hi",
                              content_type="application/x-www-form-urlencoded")
    assert_problem(response, 415)


@pytest.mark.parametrize("raw, status", [("{not json", 400), ("[1, 2]", 422), ('"hi"', 422), ("\xff", 400),
                                         ('{"body": "hi", "x": NaN}', 400), ('{"body": Infinity}', 400),
                                         ('{"body": "hi", "x": [-Infinity]}', 400),
                                         ("[" * 100_000, 400), ('{"body": ' + "[" * 50_000 + "]" * 50_000 + "}", 400)])
def test_malformed_or_non_object_json_is_refused(api_chat, alice_api, raw, status):
    """Each names the body in errors, as every 422 does: the 400s had no errors list (a residents'
    building's tester), so a client reading problem.errors found nothing."""
    _, _, cid = api_chat
    response = alice_api.post(f"/api/v1/conversations/{cid}/messages", data=raw.encode("latin-1"),
                              content_type="application/json")
    problem = assert_problem(response, status)
    assert [(e["location"], e["name"], e["detail"]) for e in problem["errors"]] == [("body", "(body)", problem["detail"])]
    assert alice_api.get(f"/api/v1/conversations/{cid}/messages").get_json()["messages"] == []  # nothing sent


def test_an_oversized_body_is_a_413(api_chat, alice_api):
    _, _, cid = api_chat
    response = alice_api.post(f"/api/v1/conversations/{cid}/messages", data=json.dumps({"body": "x" * 300_000}),
                              content_type="application/json")
    assert assert_problem(response, 413)["detail"] == "The request body is larger than 256 KiB."  # the limit, said


def post_in_chunks(api, path, body: bytes):
    """A POST without a Content-Length, as one sent with Transfer-Encoding: chunked reaches the app
    (the test client always counts the body, so the request is built by hand)."""
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    environ = EnvironBuilder(path=path, method="POST", data=body, content_type="application/json",
                             headers={"Authorization": f"Bearer {api.token}"}).get_environ()
    del environ["CONTENT_LENGTH"]
    environ["wsgi.input_terminated"] = True  # what gunicorn and Werkzeug's server say of a chunked body
    return api.client.open(Request(environ))


@pytest.mark.parametrize("body", [json.dumps({"body": "x" * 300_000}), json.dumps({"body": "hi"}) + " " * 300_000])
def test_an_oversized_body_sent_in_chunks_is_a_413_too(api_chat, alice_api, body):
    """Werkzeug reads a body without a Content-Length up to the limit and quietly stops: the cut
    body was a 400 "isn't valid JSON", or stored (what was cut, trailing spaces)."""
    _, _, cid = api_chat
    assert_problem(post_in_chunks(alice_api, f"/api/v1/conversations/{cid}/messages", body.encode()), 413)
    assert messages_in(cid) == []


def test_a_small_body_sent_in_chunks_goes(api_chat, alice_api):
    _, _, cid = api_chat
    response = post_in_chunks(alice_api, f"/api/v1/conversations/{cid}/messages", b'{"body": "hi"}')
    assert response.status_code == 201, response.get_data(as_text=True)
    assert [m.body for m in messages_in(cid)] == ["hi"]


def test_api_answers_vary_on_the_token_and_never_on_htmx(api_chat, alice_api, app):
    """Every answer depends on who asks: Vary names Authorization, not only the session's Cookie; and a
    204 is no page, so it doesn't vary on HX-Request (remove did: an API tester)."""
    _, _, cid = api_chat
    mid = send(alice_api, cid, "hi")["id"]
    answers = [alice_api.get("/api/v1/conversations"), alice_api.get("/api/v1/me"),
               alice_api.post(f"/api/v1/conversations/{cid}/messages/{mid}/remove"),
               alice_api.put(f"/api/v1/conversations/{cid}/mute"), app.test_client().get("/api/v1/me")]
    for response in answers:
        vary = {name.strip().lower() for name in response.headers.get("Vary", "").split(",")}
        assert "authorization" in vary and "hx-request" not in vary, (response.status_code, vary)
    assert answers[2].status_code == 204 and "Content-Type" not in answers[2].headers
    assert answers[2].headers["Cache-Control"] == "no-store"


def test_a_422_lists_each_invalid_field_without_echoing_it(alice_api):
    response = alice_api.post("/api/v1/reports", json={"username": "bob", "reason": "bored", "note": 7, "extra": 1})
    problem = assert_problem(response, 422)
    names = {error["name"] for error in problem["errors"]}
    assert {"reason", "note", "extra"} <= names
    assert all(error["location"] == "body" for error in problem["errors"])
    assert "bored" not in response.get_data(as_text=True)


PAGE_SIZE = "must be a whole number from 1 to 100, written with the digits 0-9"


@pytest.mark.parametrize("query, name, detail", [
    ("limit=1&limit=2", "limit", "given more than once: send it once"),
    ("unread=true&unread=false", "unread", "given more than once: send it once"),
    ("cursor=", "cursor", "is empty: give it a value, or leave it out"),
    ("limit=", "limit", "is empty: give it a value, or leave it out"),
    ("limit=99999999999999999999999", "limit", PAGE_SIZE),
    ("limit=-1", "limit", PAGE_SIZE),
    ("limit=0", "limit", PAGE_SIZE),
    ("limit=101", "limit", PAGE_SIZE),
    ("unread=maybe", "unread", "must be true or false"),
    ("messages?before=1&before=2", "before", "given more than once: send it once"),
    ("messages?after=-1", "after", "must be a whole number from 0 to 9223372036854775807, written with the digits 0-9"),
    ("messages?limit=-1", "limit", PAGE_SIZE),
])
def test_a_query_parameter_s_422_says_what_it_takes(api_chat, alice_api, query, name, detail):
    """A parameter sent twice, empty or out of range is told so, with its real range: an API tester was
    told "a valid integer", "a character this field doesn't take", "at most 9223372036854775807" for
    a page size of at most 100, and "the digits 0-9" for -1."""
    _, _, cid = api_chat
    path = f"/api/v1/conversations/{cid}/{query}" if query.startswith("messages") else f"/api/v1/conversations?{query}"
    problem = assert_problem(alice_api.get(path), 422)
    assert problem["errors"] == [{"location": "query", "name": name, "detail": detail}]


WHOLE_NUMBER = 'must be a whole number, a JSON number such as 14 (not "14" or 14.5)'


@pytest.mark.parametrize("path, body, name, detail", [
    ("/api/v1/conversations", {"with": 6}, "with", 'must be text, a JSON string ("…")'),
    ("/api/v1/conversations/{c}/messages", {"body": 123}, "body", 'must be text, a JSON string ("…")'),
    ("/api/v1/conversations/{c}/read", {"up_to": "14"}, "up_to", WHOLE_NUMBER),
    ("/api/v1/conversations/{c}/read", {"up_to": 1.5}, "up_to", WHOLE_NUMBER),
])
def test_a_value_of_the_wrong_json_type_is_told_what_the_field_takes(api_chat, alice_api, path, body, name, detail):
    """"Input should be a valid string" and "... a valid integer" read as the validator's own words, among
    errors that say what a field takes (a marketplace's API tester)."""
    _, _, cid = api_chat
    problem = assert_problem(alice_api.post(path.format(c=cid), json=body), 422)
    assert problem["errors"] == [{"location": "body", "name": name, "detail": detail}]


MALFORMED_IDS = ["99999999999", "%D9%A3", "%D9%A1%D9%A0%D9%A1%D9%A5", "%EF%BC%91%EF%BC%90", "-1", "abc", "1e3",
                 "+1", "%201", "0", str(2**63), "9" * 40]


@pytest.mark.parametrize("malformed", MALFORMED_IDS)
def test_a_malformed_id_in_a_path_answers_as_an_unknown_id_does(api_chat, alice_api, api_as, make_user, malformed):
    """"١٠١٥", fullwidth digits, "-1", "abc", "1e3" or a number past 2^63 answered a bare "Not Found",
    while an unknown id (or one not yours) answered "That conversation doesn't exist." (an API tester):
    every id in the spec's paths now answers a malformed one as it answers one it doesn't know."""
    _, _, cid = api_chat
    carol, dave = make_user("carol"), make_user("dave")
    not_mine = api_as(carol).post("/api/v1/conversations", json={"with": "dave"}).get_json()["id"]
    send(api_as(carol), not_mine, "hi dave")
    mid = send(alice_api, cid, "hello")["id"]
    routes = [("GET", "/api/v1/conversations/{c}"), ("POST", "/api/v1/conversations/{c}/hide"),
              ("DELETE", "/api/v1/conversations/{c}/hide"), ("PUT", "/api/v1/conversations/{c}/mute"),
              ("DELETE", "/api/v1/conversations/{c}/mute"), ("GET", "/api/v1/conversations/{c}/messages"),
              ("POST", "/api/v1/conversations/{c}/messages"), ("POST", "/api/v1/conversations/{c}/read"),
              ("DELETE", "/api/v1/conversations/{c}/messages/{m}"),
              ("POST", "/api/v1/conversations/{c}/messages/{m}/remove")]
    for method, route in routes:
        body = {"body": "x"} if route.endswith("/messages") and method == "POST" else None
        unknown = assert_problem(alice_api.request(method, route.format(c=not_mine, m=mid), json=body), 404)
        assert unknown["detail"] == "That conversation doesn't exist."
        malformed_answer = assert_problem(alice_api.request(method, route.format(c=malformed, m=mid), json=body), 404)
        assert malformed_answer == unknown, (method, route)
        # Without a token, both are asked to sign in first: a malformed id tells nothing more.
        anonymous = alice_api.client.open(route.format(c=malformed, m=mid), method=method)
        assert assert_problem(anonymous, 401) == assert_problem(
            alice_api.client.open(route.format(c=not_mine, m=mid), method=method), 401)
        if "{m}" in route:  # a message's id in a conversation of mine
            told = assert_problem(alice_api.request(method, route.format(c=cid, m=malformed)), 404)
            assert told == assert_problem(alice_api.request(method, route.format(c=cid, m=999999999)), 404)
            assert told["detail"] == "That message doesn't exist."
    for method in ("PUT", "DELETE"):  # a username: any text, a NUL too (no username has one)
        for name in (malformed, "%00", "a%00b"):
            assert assert_problem(alice_api.request(method, f"/api/v1/blocks/{name}"), 404)["detail"] \
                == "No member has that username."
    assert messages_in(cid)[0].body == "hello" and len(messages_in(cid)) == 1


def test_every_path_parameter_of_the_spec_is_an_id_or_a_username(client, messaging_on):
    """The test above covers each path parameter the spec has: if one is added, it must be covered too."""
    spec = client.get("/api/v1/openapi.json").get_json()
    names = {(parameter["name"], parameter["schema"]["type"]) for path in spec["paths"].values()
             for operation in path.values() for parameter in operation.get("parameters", []) if parameter["in"] == "path"}
    assert names == {("conversation_id", "integer"), ("message_id", "integer"), ("username", "string")}


def test_an_unexpected_error_is_a_500_problem_without_a_trace(api_chat, alice_api, app, monkeypatch):
    _, _, cid = api_chat

    def crash(*_args, **_kwargs):
        raise RuntimeError("kaboom in /srv/wb/secret.py")

    monkeypatch.setattr(writes, "hide_conversation", crash)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = alice_api.post(f"/api/v1/conversations/{cid}/hide")
    problem = assert_problem(response, 500)
    for leak in ("Traceback", "kaboom", "RuntimeError", "secret.py"):
        assert leak not in json.dumps(problem)


def test_message_text_is_never_logged_by_the_api(api_chat, alice_api, bob_api, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    _, _, cid = api_chat
    secret = "the eagle lands at midnight"
    send(alice_api, cid, secret)
    alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": secret + "\x07"})
    alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": secret, "extra": secret})
    bob_api.get(f"/api/v1/conversations/{cid}/messages")
    assert "eagle" not in caplog.text


def test_an_answer_that_breaks_its_own_schema_is_a_500_that_logs_no_text(api_chat, alice_api, monkeypatch, caplog):
    from wb.api import views

    _, _, cid = api_chat
    send(alice_api, cid, "the eagle lands")

    def broken(model, status=200, headers=None):
        response = views.current_app.response_class('{"messages": [{"body": "the eagle lands"}]}', status=status,
                                                    mimetype="application/json")
        return response

    monkeypatch.setattr(views, "_json", broken)
    response = alice_api.get(f"/api/v1/conversations/{cid}/messages")
    assert_problem(response, 500)
    assert "eagle" not in response.get_data(as_text=True) and "eagle" not in caplog.text
    assert "api answer does not match its schema" in caplog.text


# --- the body is UTF-8 JSON, each key once --------------------------------------------------------

SEND = {"body": "héllo"}


@pytest.mark.parametrize("raw, content_type, status", [
    (json.dumps(SEND).encode("utf-16"), "application/json", 400),  # with its byte order mark
    (json.dumps(SEND).encode("utf-16-le"), "application/json", 400),
    (json.dumps(SEND).encode("utf-32"), "application/json", 400),
    (b"\xef\xbb\xbf" + json.dumps(SEND).encode(), "application/json", 400),  # UTF-8 with a byte order mark
    (json.dumps(SEND, ensure_ascii=False).encode("latin-1"), "application/json", 400),
    (json.dumps(SEND).encode(), "application/json; charset=utf-16", 415),
    (json.dumps(SEND).encode(), "application/json; charset=latin-1", 415),
    (json.dumps(SEND).encode(), "application/json; charset=bogus", 415),
])
def test_a_body_that_is_not_utf8_json_is_refused_and_nothing_is_sent(api_chat, alice_api, raw, content_type, status):
    _, _, cid = api_chat
    response = alice_api.post(f"/api/v1/conversations/{cid}/messages", data=raw, content_type=content_type)
    problem = assert_problem(response, status)
    if status == 400:  # what was sent can't be read: named as the body, as a 422 names it
        assert [(e["location"], e["name"]) for e in problem["errors"]] == [("body", "(body)")]
    assert alice_api.get(f"/api/v1/conversations/{cid}/messages").get_json()["messages"] == []


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "application/json; charset=UTF-8", 'application/json; charset="utf8"'])
def test_utf8_json_is_welcome_with_or_without_its_charset(api_chat, alice_api, content_type):
    _, _, cid = api_chat
    response = alice_api.post(f"/api/v1/conversations/{cid}/messages",
                              data=json.dumps(SEND, ensure_ascii=False).encode(), content_type=content_type)
    assert response.status_code == 201 and response.get_json()["body"] == "héllo"


def test_json_nested_too_deeply_is_told_so_not_invalid(api_chat, alice_api):
    """Valid JSON 3,000 arrays deep was "isn't valid JSON" (an API tester): still a 400, saying why."""
    _, _, cid = api_chat
    raw = '{"x": ' + "[" * 3000 + "]" * 3000 + "}"
    response = alice_api.post(f"/api/v1/conversations/{cid}/messages", data=raw, content_type="application/json")
    assert "nests arrays or objects too deeply" in assert_problem(response, 400)["detail"]


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "identity, gzip"])
def test_a_compressed_body_is_a_415_naming_its_coding(api_chat, alice_api, coding):
    """Content-Encoding was ignored: gzip's bytes read as "isn't UTF-8" (an API tester). RFC 9110 15.5.16:
    a 415 naming the coding, and Accept-Encoding says what is taken."""
    import gzip

    _, _, cid = api_chat
    response = alice_api.post(f"/api/v1/conversations/{cid}/messages", data=gzip.compress(json.dumps(SEND).encode()),
                              content_type="application/json", headers={"Content-Encoding": coding})
    problem = assert_problem(response, 415)
    assert f"Content-Encoding: {coding.split(', ')[-1]}" in problem["detail"] and "uncompressed" in problem["detail"]
    assert response.headers["Accept-Encoding"] == "identity"
    assert alice_api.get(f"/api/v1/conversations/{cid}/messages").get_json()["messages"] == []
    spec = alice_api.get("/api/v1/openapi.json").get_json()
    assert "Accept-Encoding" in spec["paths"]["/api/v1/conversations/{conversation_id}/messages"]["post"]["responses"]["415"]["headers"]


def test_content_encoding_identity_is_no_coding(api_chat, alice_api):
    _, _, cid = api_chat
    response = alice_api.post(f"/api/v1/conversations/{cid}/messages", data=json.dumps(SEND).encode(),
                              content_type="application/json", headers={"Content-Encoding": "identity"})
    assert response.status_code == 201


@pytest.mark.parametrize("raw, named", [
    ('{"body": "kind words", "body": "something else"}', ["body"]),
    ('{"with": "bob", "with": "carol", "x": {"y": 1, "y": 2}}', ["with", "y"]),
])
def test_a_key_named_twice_is_a_422_naming_it(api_chat, alice_api, raw, named):
    _, _, cid = api_chat
    path = f"/api/v1/conversations/{cid}/messages" if "body" in raw else "/api/v1/conversations"
    response = alice_api.post(path, data=raw.encode(), content_type="application/json")
    problem = assert_problem(response, 422)
    assert sorted(error["name"] for error in problem["errors"]) == sorted(named)
    assert "kind words" not in response.get_data(as_text=True)
    assert alice_api.get(f"/api/v1/conversations/{cid}/messages").get_json()["messages"] == []


def test_a_number_too_long_to_read_is_a_422_not_invalid_json(api_chat, alice_api):
    """Valid JSON all the same: Python refuses to read an integer of over 4,300 digits."""
    _, _, cid = api_chat
    response = alice_api.post(f"/api/v1/conversations/{cid}/messages", data='{"body": "hi", "n": ' + "9" * 5000 + "}",
                              content_type="application/json")
    assert "more digits" in assert_problem(response, 422)["detail"]
    assert messages_in(cid) == []


def test_two_idempotency_keys_are_refused_not_one_picked(api_chat, alice_api):
    """A header sent twice reaches the app as one value joined with a comma ("a,b" under gunicorn):
    it was a key of its own, so a retry with one of them stored the message again. Refused, it was
    told "Has a character this field doesn't take" (an API tester): it is told to send one."""
    _, _, cid = api_chat
    path = f"/api/v1/conversations/{cid}/messages"
    several = "Send one Idempotency-Key header, not several (a comma separates them, so a key has none)."
    for joined in ("a,b", "a, b", "k-x,k-y"):
        response = alice_api.post(path, json={"body": "once"}, headers={"Idempotency-Key": joined})
        assert assert_problem(response, 422)["errors"] == [
            {"location": "header", "name": "Idempotency-Key", "detail": several}]
    # Two headers as Werkzeug's and gunicorn's servers pass them on (the test client keeps only one).
    twice = alice_api.client.open(path, method="POST", json={"body": "once"},
                                  headers={"Authorization": f"Bearer {alice_api.token}"},
                                  environ_overrides={"HTTP_IDEMPOTENCY_KEY": "k-x,k-y"})
    assert assert_problem(twice, 422)["errors"][0]["detail"] == several
    assert messages_in(cid) == []


@pytest.mark.parametrize("key", ["a b", "caf\u00e9", "x" * 256, "tab\there"])
def test_an_idempotency_key_that_is_not_one_is_told_what_a_key_is(api_chat, alice_api, client, key):
    """The rule as the spec states it (pattern, length), in words, not "a character this field doesn't take"."""
    _, _, cid = api_chat
    response = alice_api.client.open(f"/api/v1/conversations/{cid}/messages", method="POST", json={"body": "once"},
                                     headers={"Authorization": f"Bearer {alice_api.token}"},
                                     environ_overrides={"HTTP_IDEMPOTENCY_KEY": key})
    assert assert_problem(response, 422)["errors"] == [{
        "location": "header", "name": "Idempotency-Key",
        "detail": "An Idempotency-Key is 1 to 255 printable ASCII characters, without spaces or commas (a UUID will do)."}]
    assert messages_in(cid) == []
    spec = client.get("/api/v1/openapi.json").get_json()
    send_operation = spec["paths"]["/api/v1/conversations/{conversation_id}/messages"]["post"]
    [schema] = [p["schema"] for p in send_operation["parameters"] if p["name"] == "Idempotency-Key"]
    schema = next(option for option in schema.get("anyOf", [schema]) if option.get("type") == "string")
    assert (schema["minLength"], schema["maxLength"], schema["pattern"]) == (1, 255, r"^[\x21-\x2b\x2d-\x7e]+$")
    assert alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": "once"},
                          headers={"Idempotency-Key": "~!" + "x" * 253}).status_code == 201


def test_both_username_lookups_say_nobody_has_that_username_alike(alice_api, alice):
    """A block said "No member has that username." and a conversation "There is no member by that
    name." (an API tester): one wording, the clearer."""
    words = "No member has that username."
    assert assert_problem(alice_api.put("/api/v1/blocks/nobody"), 404)["detail"] == words
    assert assert_problem(alice_api.post("/api/v1/conversations", json={"with": "nobody"}), 404)["detail"] == words
    assert assert_problem(alice_api.post("/api/v1/reports", json={"username": "nobody", "reason": "spam"}),
                          404)["detail"] == words


@pytest.mark.parametrize("method, path", [
    ("POST", "/api/v1/conversations/{cid}/hide"), ("PUT", "/api/v1/conversations/{cid}/mute"),
    ("DELETE", "/api/v1/conversations/{cid}/mute"), ("PUT", "/api/v1/blocks/bob"), ("DELETE", "/api/v1/blocks/bob"),
])
def test_a_write_that_takes_no_body_refuses_keys_and_does_nothing(api_chat, alice_api, method, path):
    """{"hidden": false} to /hide hid the conversation without a word (an outside tester)."""
    _, _, cid = api_chat
    path = path.format(cid=cid)
    problem = assert_problem(alice_api.request(method, path, json={"hidden": False}), 422)
    assert problem["errors"] == [{"location": "body", "name": "hidden", "detail": "Not taken here."}]
    assert alice_api.get("/api/v1/blocks").get_json()["blocked"] == []  # nothing happened
    listed = alice_api.get(f"/api/v1/conversations/{cid}").get_json()
    assert listed["muted"] is False and listed["hidden"] is False
    # with no body, or an empty object, it is done
    assert alice_api.request(method, path, json={}).status_code == 204
    assert alice_api.request(method, path).status_code == 204


@pytest.mark.parametrize("body, words", [
    ("", "Write something before sending."), ("  \n ", "Write something before sending."),
    ("x" * 5001, "Messages can be at most 5,000 characters; this one has 5,001."),
    ("bell \x07", "Messages can only contain text"),
])
def test_a_refused_message_text_is_said_in_the_web_forms_words(api_chat, alice_api, body, words):
    """"String should have at least 1 character" read as another app's words (an outside tester)."""
    _, _, cid = api_chat
    problem = assert_problem(alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": body}), 422)
    assert [(e["location"], e["name"]) for e in problem["errors"]] == [("body", "body")]
    assert problem["errors"][0]["detail"].startswith(words)
    assert messages_in(cid) == []


@pytest.mark.parametrize("body", ["\ud800", "a\udfff", "\ud83d"])
def test_half_of_a_character_pair_is_refused_not_a_500(api_chat, alice_api, body):
    """JSON's "\\ud800" is no character: it reached the database and was a 500 (an API tester). It is
    said for what it is, not called a control character (a residents' building's tester)."""
    _, _, cid = api_chat
    before = alice_api.get("/api/v1/me").get_json()
    problem = assert_problem(alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": body}), 422)
    detail = problem["errors"][0]["detail"]
    assert f"U+{ord(body[-1]):04X}, character {len(body)}, isn't a valid character" in detail, detail
    assert "surrogate" in detail and "control" not in detail
    assert messages_in(cid) == []
    assert alice_api.get("/api/v1/me").get_json() == before  # nothing of the minute's twenty spent


def test_every_422_names_what_is_invalid_in_errors(api_chat, alice_api, bob_api):
    """Some 422s had no `errors` and one an empty list: a client looping over problem.errors broke
    (an API tester). Each names its field, where it was, and what is wrong."""
    _, _, cid = api_chat
    path = f"/api/v1/conversations/{cid}/messages"

    def errors_of(response):
        problem = assert_problem(response, 422)
        assert problem["errors"] and all(set(e) == {"location", "name", "detail"} for e in problem["errors"]), problem
        return [(e["location"], e["name"]) for e in problem["errors"]]

    alice_api.post(path, json={"body": "first"}, headers={"Idempotency-Key": "k-1"})
    assert errors_of(alice_api.post(path, json={"body": "another"}, headers={"Idempotency-Key": "k-1"})) == [
        ("header", "Idempotency-Key")]
    assert errors_of(alice_api.post(path, data="[1]", headers={"Content-Type": "application/json"})) == [("body", "(body)")]
    assert errors_of(alice_api.post(path, data="1" * 5000, headers={"Content-Type": "application/json"})) == [("body", "(body)")]
    bob_api.post("/api/v1/reports", json={"username": "alice", "reason": "spam", "note": "n" * 995})
    assert errors_of(bob_api.post("/api/v1/reports", json={"username": "alice", "reason": "spam", "note": "more words"})) == [
        ("body", "note")]
