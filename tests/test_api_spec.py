"""The published spec and the reference page drawn from it."""
import re

from api_helpers import alice_api, api_as, api_chat, bob_api  # noqa: F401
from wb.api.docs import SWAGGER_UI_VERSION
from wb.auth.service import set_status
from wb.models import User


def test_the_spec_is_openapi_3_1_generated_from_the_schemas(client, messaging_on):
    response = client.get("/api/v1/openapi.json")  # no token needed to read it
    assert response.status_code == 200 and response.mimetype == "application/json"
    spec = response.get_json()
    assert spec["openapi"].startswith("3.1")
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer",
        "description": "A personal access token from /settings/tokens; it may expire (401 then says when)"}
    send = spec["paths"]["/api/v1/conversations/{conversation_id}/messages"]["post"]
    assert "201" in send["responses"] and "application/problem+json" in send["responses"]["429"]["content"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in send["parameters"])
    # What a client needs to wait and to poll cheaply (found missing by an outside tester).
    assert send["responses"]["429"]["headers"]["Retry-After"]["schema"]["type"] == "integer"
    # Busy, the messaging database or the limits' storage out of reach (the README says 503): every route.
    assert all("503" in operation["responses"] for path in spec["paths"].values() for operation in path.values())
    assert send["responses"]["503"]["headers"]["Retry-After"]["schema"]["type"] == "integer"
    messages = spec["paths"]["/api/v1/conversations/{conversation_id}/messages"]["get"]
    assert "ETag" in messages["responses"]["200"]["headers"] and "ETag" in messages["responses"]["304"]["headers"]
    assert {("If-None-Match", "header"), ("If-Match", "header")} <= {(p["name"], p["in"]) for p in messages["parameters"]}
    assert all("ETag" not in (operation["responses"].get("200", {}).get("headers") or {})
               for path in spec["paths"].values() for operation in path.values() if "304" not in operation["responses"])
    # Named as in schemas.py: "SendMessage.30d5aca" became a generated client's class name (an API tester).
    assert {"SendMessage", "Message", "Member", "Problem", "InvalidField"} <= set(spec["components"]["schemas"])
    assert not [name for name in spec["components"]["schemas"] if "." in name]
    body = spec["components"]["schemas"]["SendMessage"]
    assert body["properties"]["body"]["minLength"] == 1 and body["additionalProperties"] is False


def test_the_spec_refuses_no_message_text_the_server_takes(client, api_chat, alice_api):
    """The text "a\\r\\n" 2,500 times is 7,500 characters as sent and 5,000 as the server counts them: it is
    sent, so the spec can't cap the string at 5,000 (a client validating by it refused the message:
    an API tester); the rule is in its words instead."""
    spec = client.get("/api/v1/openapi.json").get_json()
    body = spec["components"]["schemas"]["SendMessage"]["properties"]["body"]
    text = "a\r\n" * 2500
    assert len(text) <= body.get("maxLength", len(text))
    assert "at most 5,000 characters" in body["description"]
    _, _, cid = api_chat
    assert alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": text}).status_code == 201


def test_the_docs_page_loads_only_our_own_files(client, messaging_on):
    response = client.get("/api/docs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all('src="/static/' in attributes and not inline.strip() for attributes, inline in scripts)
    assert "<style" not in page and "style=" not in page and "http" not in page.replace("http-equiv", "")
    for asset in (f"vendor/swagger-ui-bundle-{SWAGGER_UI_VERSION}.js", f"vendor/swagger-ui-{SWAGGER_UI_VERSION}.css", "js/api-docs.js"):
        assert f"/static/{asset}" in page
        assert client.get(f"/static/{asset}").status_code == 200


def test_the_spec_declares_the_headers_and_types_the_answers_carry(client, messaging_on, alice_api, bob):
    """Each header the server sends is in the spec beside its answer (an outside tester found five
    missing), and sent: Location and Idempotent-Replayed, WWW-Authenticate, the export's ZIP."""
    spec = client.get("/api/v1/openapi.json").get_json()
    open_ = spec["paths"]["/api/v1/conversations"]["post"]["responses"]
    send = spec["paths"]["/api/v1/conversations/{conversation_id}/messages"]["post"]["responses"]
    export = spec["paths"]["/api/v1/me/export"]["get"]["responses"]
    assert "Location" in open_["201"]["headers"] and "Location" in open_["200"]["headers"]
    assert {"Location", "Idempotent-Replayed"} <= set(send["201"]["headers"])
    assert "Retry-After" in send["409"]["headers"]
    assert all("WWW-Authenticate" in operation["responses"]["401"]["headers"]
               for path in spec["paths"].values() for operation in path.values())
    assert list(export["200"]["content"]) == ["application/zip"]

    opened = alice_api.post("/api/v1/conversations", json={"with": "bob"})
    assert opened.status_code == 201 and opened.headers["Location"].endswith(f"/conversations/{opened.get_json()['id']}")
    path = f"/api/v1/conversations/{opened.get_json()['id']}/messages"
    first = alice_api.post(path, json={"body": "hi"}, headers={"Idempotency-Key": "k-1"})
    again = alice_api.post(path, json={"body": "hi"}, headers={"Idempotency-Key": "k-1"})
    assert first.headers["Location"].endswith(path) and "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert client.get("/api/v1/me").headers["WWW-Authenticate"].startswith("Bearer")
    assert alice_api.get("/api/v1/me/export").mimetype == "application/zip"


def test_each_operation_is_named_by_its_view(client, messaging_on):
    """spectree's ids ("post__api_v1_conversations_{conversation_id}_messages") became a generated
    client's method names (an API tester): each operation is named by its view, once."""
    import re

    spec = client.get("/api/v1/openapi.json").get_json()
    ids = {(method, path): operation["operationId"] for path, operations in spec["paths"].items()
           for method, operation in operations.items()}
    assert len(set(ids.values())) == len(ids)
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", name) for name in ids.values()), ids
    assert ids[("post", "/api/v1/conversations/{conversation_id}/messages")] == "sendMessage"
    assert ids[("delete", "/api/v1/conversations/{conversation_id}/hide")] == "unhideConversation"
    assert ids[("delete", "/api/v1/conversations/{conversation_id}/messages/{message_id}")] == "deleteMessage"
    assert ids[("get", "/api/v1/me/export")] == "exportMine"


def test_the_spec_says_what_a_send_s_409_and_a_delete_s_403_mean(client, api_chat, alice_api, bob_api):
    """"Conflict" and "Forbidden" told a client nothing (an API tester): the spec says why, as the
    answers do."""
    spec = client.get("/api/v1/openapi.json").get_json()
    messages = "/api/v1/conversations/{conversation_id}/messages"
    conflict = spec["paths"][messages]["post"]["responses"]["409"]["description"]
    assert "Idempotency-Key is still being sent" in conflict and "Retry" in conflict
    delete = spec["paths"][messages + "/{message_id}"]["delete"]
    forbidden = delete["responses"]["403"]["description"]
    assert "Not yours to delete for both" in forbidden
    # A sender who was blocked or reported is answered as any other (a 403 told them: a therapy practice's
    # tester); what a delete for both keeps is said of every one.
    assert "blocked" not in forbidden and "reported" not in forbidden
    assert "A member who has reported or blocked me keeps their copy" in delete["description"]

    _, _, cid = api_chat
    mid = alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": "hi"}).get_json()["id"]
    refused = bob_api.delete(f"/api/v1/conversations/{cid}/messages/{mid}")
    assert refused.status_code == 403 and "You can only delete messages you sent" in refused.get_json()["detail"]


def test_me_s_status_lists_only_what_a_signed_in_member_can_be(client, messaging_on, make_user, api_as):
    """A suspended member's token is refused (401) before /me answers, so the spec lists only the two
    statuses /me can say (it listed "suspended" too: an API tester)."""
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["components"]["schemas"]["Me"]["properties"]["status"]["enum"] == ["pending", "active"]
    pending, suspended = api_as(make_user("pat", status="pending")), api_as(make_user("sam"))
    assert pending.get("/api/v1/me").get_json()["status"] == "pending"
    set_status(User.by_username("sam"), "suspended")
    assert suspended.get("/api/v1/me").status_code == 401


def test_the_spec_names_the_site_root_as_its_server(client, messaging_on):
    """Its paths are written whole (/api/v1/...), so a client adds them to the site's address, not to
    the spec's."""
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["servers"] == [{"url": "/"}]
    assert all(path.startswith("/api/v1/") for path in spec["paths"])


def test_may_start_says_it_counts_the_days_limit(client, messaging_on):
    """/me said "may_start": true beside "new_conversations_remaining": 0 and a client offered to start
    (a marketplace's tester): may_start now counts the day's limit, and the spec says so."""
    spec = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    words = spec["Me"]["properties"]["may_start"]["description"]
    assert "today's new conversations aren't all started" in words and "limits.new_conversations_remaining" in words
    assert "today" in spec["Limits"]["properties"]["new_conversations_remaining"]["description"]


def test_the_spec_names_each_problem_status_as_its_title_does(client, messaging_on, alice_api, api_chat):
    """A 413's title read "Content Too Large" and the spec "Request Entity Too Large" (an API tester):
    both say RFC 9110's words."""
    _, _, cid = api_chat
    spec = client.get("/api/v1/openapi.json").get_json()
    send = spec["paths"]["/api/v1/conversations/{conversation_id}/messages"]["post"]["responses"]
    too_large = alice_api.post(f"/api/v1/conversations/{cid}/messages", data=b"{" + b" " * 300_000 + b"}",
                               content_type="application/json")
    assert too_large.status_code == 413
    assert send["413"]["description"] == too_large.get_json()["title"] == "Content Too Large"
    assert send["422"]["description"] == "Unprocessable Content"
