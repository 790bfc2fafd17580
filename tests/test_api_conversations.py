"""Conversations through the API: open, list by cursor, one, hide, the badge; the same rules as the button."""
import pytest

from api_helpers import alice_api, api_as, api_chat, assert_problem, bob_api, send  # noqa: F401
from messaging_helpers import conversation_count, membership_of, messages_in
from wb.extensions import db
from wb.messaging import safety
from wb.models import User


def test_opening_creates_once_then_finds_the_same(api_chat, alice_api, bob_api):
    _, _, cid = api_chat
    again = alice_api.post("/api/v1/conversations", json={"with": "BOB"})
    assert again.status_code == 200 and again.get_json()["id"] == cid
    assert again.headers["Location"] == f"/api/v1/conversations/{cid}"
    assert bob_api.post("/api/v1/conversations", json={"with": "alice"}).get_json()["id"] == cid
    assert conversation_count() == 1


def test_a_username_written_with_its_at_opens_the_same_conversation(api_chat, alice_api):
    """Pages write "@bob"; copied, it answered "no member by that name" (a marketplace tester)."""
    _, _, cid = api_chat
    again = alice_api.post("/api/v1/conversations", json={"with": "@bob"})
    assert again.status_code == 200 and again.get_json()["id"] == cid


def test_an_opened_conversation_describes_the_other_member(api_chat, alice_api):
    _, _, cid = api_chat
    body = alice_api.get(f"/api/v1/conversations/{cid}").get_json()
    assert body["other_member"] == {"username": "bob", "display_name": "Bob", "former": False}
    assert body["preview"] == "No messages yet" and body["unread_count"] == 0 and body["hidden"] is False
    assert body["last_activity_at"].endswith("Z")


@pytest.mark.parametrize("name, status, words", [
    ("alice", 400, "yourself"), ("nobody", 404, "no member"), ("penny", 403, "waiting for approval"),
])
def test_the_button_s_rules_hold(alice_api, make_user, name, status, words):
    make_user("penny", status="pending")
    problem = assert_problem(alice_api.post("/api/v1/conversations", json={"with": name}), status)
    assert words in problem["detail"].lower()
    assert conversation_count() == 0


def test_a_blocked_member_gets_the_words_of_a_pause(alice_api, alice, bob, bob_api, make_user):
    """A block reads exactly like the member's own "Pause messages", so it can't be inferred:
    opening a conversation, and replying in one that has messages."""
    cid = alice_api.post("/api/v1/conversations", json={"with": "bob"}).get_json()["id"]
    assert alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": "hi Bob"}).status_code == 201
    words = "Bob isn't accepting messages right now. Only they can change that."
    safety.block(bob, alice)
    blocked = [alice_api.post("/api/v1/conversations", json={"with": "bob"}).get_json()["why_not_send"],
               assert_problem(alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": "hello?"}), 403)["detail"]]
    safety.unblock(bob, alice)
    bob.messages_paused = True
    db.session.commit()
    paused = [alice_api.post("/api/v1/conversations", json={"with": "bob"}).get_json()["why_not_send"],
              assert_problem(alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": "hello?"}), 403)["detail"]]
    assert blocked == paused == [words, words]
    assert bob_api.get("/api/v1/me").get_json()["messages_paused"] is True
    assert alice_api.get("/api/v1/me").get_json()["messages_paused"] is False


def _pause(member):
    member.messages_paused = True
    db.session.commit()


def _suspend(member):
    member.status = "suspended"
    db.session.commit()


def _close(member):
    from wb.people import leaving
    leaving.close_account(db.session.get(User, member.id))


@pytest.mark.parametrize("stop, words", [
    (_pause, "Bob isn't accepting messages right now. Only they can change that."),
    (_suspend, "This member's account is suspended, so they can't receive messages."),
    (_close, "This member has left WhiteBalloon, so you can't reply. The conversation stays here for you."),
])
def test_finding_a_conversation_i_have_answers_200_when_i_cant_write_in_it(api_chat, alice_api, alice, bob, stop, words):
    """"Find or start": finding one answered 403 with the refusal once Bob paused, was suspended or
    left (an API tester). It answers 200 with the conversation, saying why not, as GET does."""
    _, _, cid = api_chat
    send(alice_api, cid, "Lunch on Friday?")
    alice_api.post(f"/api/v1/conversations/{cid}/hide")
    stop(bob)
    found = alice_api.post("/api/v1/conversations", json={"with": "bob"})
    assert found.status_code == 200 and found.headers["Location"] == f"/api/v1/conversations/{cid}"
    body = found.get_json()
    assert (body["id"], body["may_send"], body["why_not_send"], body["hidden"]) == (cid, False, words, False)
    assert body == alice_api.get(f"/api/v1/conversations/{cid}").get_json()
    assert conversation_count() == 1 and membership_of(alice, cid).hidden is False  # opened, as the web does
    assert [m.body for m in messages_in(cid)] == ["Lunch on Friday?"]


def test_my_own_empty_draft_is_found_but_the_other_member_s_draft_is_no_conversation_of_mine(
        alice_api, api_as, alice, bob, make_user):
    """Only a start is refused by the rules: Alice's draft to a member who paused since is hers and
    found (200); Carol's unsent draft to Alice, Carol paused, is none of Alice's (403, nothing shown)."""
    draft = alice_api.post("/api/v1/conversations", json={"with": "bob"}).get_json()["id"]
    _pause(bob)
    found = alice_api.post("/api/v1/conversations", json={"with": "bob"})
    assert found.status_code == 200 and found.get_json()["id"] == draft and found.get_json()["may_send"] is False
    carol = make_user("carol")
    carols_draft = api_as(carol).post("/api/v1/conversations", json={"with": "alice"}).get_json()["id"]
    _pause(carol)
    problem = assert_problem(alice_api.post("/api/v1/conversations", json={"with": "carol"}), 403)
    assert problem["detail"] == "Carol isn't accepting messages right now. Only they can change that."
    assert membership_of(alice, carols_draft) is None and conversation_count() == 2


@pytest.mark.parametrize("app_config", [{"NEW_CONVERSATION_RATE_LIMIT": "1 per day"}])
def test_new_conversations_are_limited_with_retry_after(alice_api, bob, make_user, app_config):
    make_user("carol")
    opened = alice_api.post("/api/v1/conversations", json={"with": "bob"})
    assert opened.status_code == 201
    assert alice_api.get("/api/v1/me").get_json()["limits"]["new_conversations_remaining"] == 1  # opening is free
    send(alice_api, opened.get_json()["id"], "hello bob")  # its first message starts it
    response = alice_api.post("/api/v1/conversations", json={"with": "carol"})
    assert_problem(response, 429)
    assert int(response.headers["Retry-After"]) > 0
    assert alice_api.post("/api/v1/conversations", json={"with": "bob"}).status_code == 200  # existing: no limit
    assert alice_api.get("/api/v1/me").get_json()["limits"]["new_conversations_remaining"] == 0


@pytest.mark.parametrize("app_config", [{"NEW_CONVERSATION_RATE_LIMIT": "1 per day"}])
def test_may_start_is_false_once_todays_new_conversations_are_started(alice_api, api_as, bob, make_user, app_config):
    """/me said "may_start": true beside new_conversations_remaining 0, where the web said he could start
    no more today (a residents' building's tester): it says no, and why, in the refusal's words; an admin,
    whose conversations count nothing, still may."""
    make_user("carol")
    admin_api = api_as(make_user("ada", role="admin"))
    assert alice_api.get("/api/v1/me").get_json()["may_start"] is True
    send(alice_api, alice_api.post("/api/v1/conversations", json={"with": "bob"}).get_json()["id"], "hello bob")
    me = alice_api.get("/api/v1/me").get_json()
    refused = alice_api.post("/api/v1/conversations", json={"with": "carol"})
    assert_problem(refused, 429)
    assert (me["may_message"], me["may_start"], me["limits"]["new_conversations_remaining"]) == (True, False, 0)
    assert me["why_not_start"] == refused.get_json()["detail"]
    assert conversation_count() == 1  # carol's was never opened
    assert admin_api.get("/api/v1/me").get_json()["may_start"] is True


def test_the_list_is_newest_first_with_previews_unread_and_seen(api_chat, alice_api, bob_api, make_user, api_as):
    _, _, cid = api_chat
    carol_api = api_as(make_user("carol"))
    other = carol_api.post("/api/v1/conversations", json={"with": "bob"}).get_json()["id"]
    send(carol_api, other, "from carol")
    first = send(alice_api, cid, "  Hello\nBob  ")
    page = bob_api.get("/api/v1/conversations").get_json()
    assert [c["id"] for c in page["conversations"]] == [cid, other]
    newest = page["conversations"][0]
    assert newest["preview"] == "Hello Bob" and newest["unread_count"] == 1
    assert newest["other_last_read_message_id"] == first["id"] and newest["last_read_message_id"] is None
    assert page["unread_total"] == 2 and page["next_cursor"] is None
    assert alice_api.get("/api/v1/conversations").get_json()["conversations"][0]["preview"] == "You: Hello Bob"
    unread = bob_api.get("/api/v1/conversations?unread=true").get_json()["conversations"]
    assert len(unread) == 2
    bob_api.post(f"/api/v1/conversations/{cid}/read")
    assert [c["id"] for c in bob_api.get("/api/v1/conversations?unread=true").get_json()["conversations"]] == [other]
    assert bob_api.get("/api/v1/unread-count").get_json() == {"unread_total": 1}


def _crowd(api_as, bob_api, count, start=0):
    ids = []
    for number in range(start, start + count):
        friend = api_as(_member(f"friend{number}"))
        cid = friend.post("/api/v1/conversations", json={"with": "bob"}).get_json()["id"]
        send(friend, cid, f"hi from {number}")
        ids.append(cid)
    return ids


def _member(name):
    from wb.extensions import db
    from wb.models import User
    from conftest import PASSWORD

    user = User(username=name, display_name=name.capitalize(), status="active")
    user.set_password(PASSWORD)
    db.session.add(user)
    db.session.commit()
    return user


def test_cursor_pages_cover_every_conversation_once(api_as, bob_api, bob):
    ids = _crowd(api_as, bob_api, 5)
    seen, cursor = [], None
    for _ in range(5):
        url = "/api/v1/conversations?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = bob_api.get(url).get_json()
        seen += [c["id"] for c in page["conversations"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


def test_the_list_asks_the_same_number_of_queries_however_long(api_as, bob_api, bob, count_queries):
    _crowd(api_as, bob_api, 2)
    bob_api.get("/api/v1/conversations")  # the token's last use is noted once
    with count_queries() as few:
        assert bob_api.get("/api/v1/conversations").status_code == 200
    _crowd(api_as, bob_api, 6, start=2)
    with count_queries() as many:
        assert len(bob_api.get("/api/v1/conversations").get_json()["conversations"]) == 8
    # the token and its member, the page, its previews, the unread total; whether each other member
    # may be written to: their accounts, the rules, the circles (names and members), blocks
    assert len(many) == len(few) <= 9, many


@pytest.mark.parametrize("cursor, status", [("garbage", 422), ("MjAyNi0xMS0yOXx4", 422), ("eA", 422), ("zzz", 422),
                                            ("!!!", 422), ("%00", 400), ("x" * 201, 422)])
def test_a_malformed_cursor_is_refused(bob_api, cursor, status):
    """"zzz" answered 400 where "!!!", a bad limit or unread answer 422 (a residents' building's tester):
    a cursor this API never gave out is an invalid parameter like any other."""
    problem = assert_problem(bob_api.get(f"/api/v1/conversations?cursor={cursor}"), status)
    if cursor == "%00":
        return  # refused before any route reads its arguments, as in every link of the app
    # every refusal names the field, and never in a regular expression's words (an API tester)
    assert [(e["location"], e["name"]) for e in problem["errors"]] == [("query", "cursor")]
    assert "pattern" not in problem["errors"][0]["detail"] and "^" not in problem["errors"][0]["detail"]


def test_hiding_takes_it_off_the_list_until_a_new_message(api_chat, alice_api, bob_api):
    _, _, cid = api_chat
    send(alice_api, cid, "one")
    hidden = bob_api.post(f"/api/v1/conversations/{cid}/hide")
    assert hidden.status_code == 204 and hidden.data == b"" and "Content-Type" not in hidden.headers
    assert bob_api.get("/api/v1/conversations").get_json()["conversations"] == []
    assert bob_api.get(f"/api/v1/conversations/{cid}").get_json()["hidden"] is True
    send(alice_api, cid, "two")
    assert [c["id"] for c in bob_api.get("/api/v1/conversations").get_json()["conversations"]] == [cid]


def test_a_hidden_conversation_comes_back_with_delete(api_chat, alice_api, bob_api, alice, bob):
    """The web's Undo: DELETE .../hide lists it again at once, even with a member who has since left
    (a client had no way back: an API tester, whose reopening with {"with": ...} was refused)."""
    _, _, cid = api_chat
    send(alice_api, cid, "one")
    bob_api.post(f"/api/v1/conversations/{cid}/hide")
    from wb.people import leaving
    leaving.close_account(db.session.get(User, alice.id))
    assert bob_api.get("/api/v1/conversations").get_json()["conversations"] == []
    back = bob_api.delete(f"/api/v1/conversations/{cid}/hide")
    assert back.status_code == 204 and back.data == b""
    listed = bob_api.get("/api/v1/conversations").get_json()["conversations"]
    assert [(c["id"], c["hidden"]) for c in listed] == [(cid, False)]
    assert membership_of(bob, cid).hidden is False
    assert bob_api.delete("/api/v1/conversations/1/hide").status_code == 404


def test_the_who_may_start_rules_hold_for_the_api_and_replies_still_go(alice_api, bob_api, alice, bob):
    """Starters limited to Volunteers: Alice (not one) is told why in /me and refused a new
    conversation in the same words; once Bob (a volunteer) writes, Alice replies through the API."""
    from wb.circles import service as circles
    from wb.messaging import rule_changes

    volunteers = circles.create("Volunteers")
    circles.add_members(volunteers, ["bob"])
    rule_changes.set_starters([volunteers])
    words = ("Starting conversations is open to members of Volunteers. You can write to the admins, and reply to "
             "anyone who writes to you or in conversations you already have.")

    me = alice_api.get("/api/v1/me").get_json()
    assert (me["may_message"], me["may_start"], me["why_not_start"]) == (True, False, words)
    assert assert_problem(alice_api.post("/api/v1/conversations", json={"with": "bob"}), 403)["detail"] == words
    assert bob_api.get("/api/v1/me").get_json()["may_start"] is True

    opened = bob_api.post("/api/v1/conversations", json={"with": "alice"})
    assert opened.status_code == 201
    conversation_id = opened.get_json()["id"]
    send(bob_api, conversation_id, "Can you help on Saturday?")
    assert alice_api.post("/api/v1/conversations", json={"with": "bob"}).status_code == 200
    reply = send(alice_api, conversation_id, "Yes!")
    assert reply["body"] == "Yes!"


def test_a_conversation_says_whether_i_may_send_in_it_now_as_the_web_does(api_as, alice_api, bob_api, alice, bob):
    """The API answered the same whether the other member had blocked or paused me: only a refused
    send told (an API tester). may_send and why_not_send say it first, in the web's words; a block
    reads exactly as a pause."""
    from wb.messaging import safety

    cid = alice_api.post("/api/v1/conversations", json={"with": "bob"}).get_json()["id"]
    assert alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": "hi"}).status_code == 201

    def mine(client):
        listed = client.get("/api/v1/conversations").get_json()["conversations"][0]
        single = client.get(f"/api/v1/conversations/{cid}").get_json()
        assert (listed["may_send"], listed["why_not_send"]) == (single["may_send"], single["why_not_send"])
        return single["may_send"], single["why_not_send"]

    assert mine(alice_api) == (True, None) and mine(bob_api) == (True, None)
    safety.block(bob, alice)
    blocked = mine(alice_api)
    assert blocked[0] is False and "isn't accepting messages" in blocked[1]
    safety.unblock(bob, alice)
    bob.messages_paused = True
    db.session.commit()
    assert mine(alice_api) == blocked  # a block is never told
    refused = alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": "there?"})
    assert refused.status_code == 403 and blocked[1].split(".")[0] in refused.get_json()["detail"]


def test_a_cursor_names_the_conversation_not_a_row_counting_the_communitys(api_as, bob_api, bob):
    """A cursor carried the membership row's id, which counts up across the community: two drafts'
    cursors told a member how many conversations others had started in between (an outside tester)."""
    import base64

    from wb.extensions import db
    from wb.messaging.models import ConversationMembership

    ids = _crowd(api_as, bob_api, 3)
    page = bob_api.get("/api/v1/conversations?limit=1").get_json()
    raw = base64.urlsafe_b64decode(page["next_cursor"] + "==").decode()
    [first] = page["conversations"]
    assert raw.endswith(f"|c{first['id']}") and first["id"] == ids[-1]
    row_ids = db.session.scalars(db.select(ConversationMembership.id)).all()
    assert not any(raw.endswith(f"|{row_id}") for row_id in row_ids)
    assert bob_api.get(f"/api/v1/conversations?limit=1&cursor={page['next_cursor']}").get_json()["conversations"][0]["id"] == ids[-2]
    old_kind = base64.urlsafe_b64encode(raw.replace("|c", "|").encode()).decode().rstrip("=")
    assert_problem(bob_api.get(f"/api/v1/conversations?cursor={old_kind}"), 422)


def test_the_readme_quick_start_writes_to_someone_the_demos_alice_may_write_to(app, api_as):
    """The README's first curl opened a conversation with bob, which the demo's alice may not start
    (no circle in common: 403), under an id like 7 where ids are drawn at random (an API tester)."""
    import re
    from pathlib import Path

    from wb.demo import seed_demo
    from wb.messaging.conversations import CONVERSATION_IDS

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = re.search(r"## The JSON API.*?```bash\n(.*?)```", readme, re.S).group(1)
    [who] = re.findall(r'"with": "(\w+)"', block)
    [example_id] = set(re.findall(r"/conversations/(\d+)", block))
    assert CONVERSATION_IDS[0] <= int(example_id) < CONVERSATION_IDS[1] and len(example_id) >= 9
    assert seed_demo()
    alice_api = api_as(User.by_username("alice"))
    opened = alice_api.post("/api/v1/conversations", json={"with": who})
    assert opened.status_code in (200, 201) and opened.get_json()["may_send"] is True
    cid = opened.get_json()["id"]
    assert send(alice_api, cid, "Lunch on Friday?")["body"] == "Lunch on Friday?"
    assert messages_in(cid)[-1].body == "Lunch on Friday?"
    # as the README says of bob
    assert assert_problem(alice_api.post("/api/v1/conversations", json={"with": "bob"}), 403)
