"""The inbox list keeps up on its own: it polls with the version it shows (issue 13)."""
import html
import re

import pytest

from wb.flags import set_flag
from messaging_helpers import messages_in, open_conversation, send
from test_sessions import replay, session_cookie

LIST_POLL = re.compile(r'<div id="conversation-list"[^>]*\shx-get="([^"]+)"')
LIST_VERSION = re.compile(r'data-list-version="([^"]+)"')


def list_poll_path(page: str, active: int = 0) -> str:
    """What the list asks on its next tick: its URL with the version its rows show (as app.js sends it)."""
    path = html.unescape(LIST_POLL.search(page).group(1)) if "conversation-list" in page else "/messages/list?"
    separator = "&" if "?" in path and not path.endswith("?") else ""
    return f"{path}{separator}active={active}&version={LIST_VERSION.search(page).group(1)}"


def text(response) -> str:
    return response.get_data(as_text=True)


def rows(page: str) -> list[int]:
    """The conversation ids the list shows, top first."""
    return [int(i) for i in re.findall(r'<li class="conversation[^"]*" data-conversation-id="(\d+)"', page)]


def unread_of(page: str, conversation_id: int) -> int:
    row = re.search(rf'data-conversation-id="{conversation_id}".*?</li>', page, re.S).group(0)
    badge = re.search(r'aria-label="(\d+) unread"', row)
    return int(badge.group(1)) if badge else 0


@pytest.fixture
def inbox(alice, bob, make_user, login, messaging_on):
    """Alice reading her thread with Bob; Carol and Bob have each written to her."""
    carol = make_user("carol")
    alice_client, bob_client, carol_client = login(alice), login(bob), login(carol)
    with_bob = open_conversation(bob_client, "alice")
    with_carol = open_conversation(carol_client, "alice")
    send(carol_client, with_carol, "hi from carol")
    send(bob_client, with_bob, "hi from bob")
    alice_client.post(f"/messages/{with_bob}/read")
    return alice_client, bob_client, carol_client, with_bob, with_carol


def _statements(client, count_queries, path):
    with count_queries() as statements:
        response = client.get(path, headers={"HX-Request": "true"})
    return response, [s for s in statements if "feature_flags" not in s]


def test_unchanged_list_answers_204_in_one_query(inbox, count_queries):
    alice_client, _bob, _carol, with_bob, _with_carol = inbox
    path = list_poll_path(text(alice_client.get(f"/messages/{with_bob}")), active=with_bob)
    response, statements = _statements(alice_client, count_queries, path)
    assert response.status_code == 204 and text(response) == ""
    assert len(statements) == 1


def test_a_new_message_brings_its_row_to_the_top_with_its_unread_count(inbox):
    alice_client, _bob, carol_client, with_bob, with_carol = inbox
    page = text(alice_client.get(f"/messages/{with_bob}"))
    assert rows(page) == [with_bob, with_carol]
    path = list_poll_path(page, active=with_bob)
    send(carol_client, with_carol, "are you there?")
    response = alice_client.get(path, headers={"HX-Request": "true"})
    fresh = text(response)
    assert response.status_code == 200 and "<html" not in fresh
    assert rows(fresh) == [with_carol, with_bob]
    assert unread_of(fresh, with_carol) == 2 and "are you there?" in fresh
    # The open conversation stays marked, and the new list carries a new version that is idle.
    assert re.search(rf'<a href="/messages/{with_bob}"[^>]*aria-current="page"', fresh)
    assert "<div" not in fresh.split("<ul", 1)[0]  # only the rows: the list element stays
    assert list_poll_path(fresh, active=with_bob) != path
    assert alice_client.get(list_poll_path(fresh, active=with_bob)).status_code == 204


def test_a_read_changes_the_version(inbox):
    alice_client, _bob, _carol, _with_bob, with_carol = inbox
    path = list_poll_path(text(alice_client.get("/messages")))
    alice_client.post(f"/messages/{with_carol}/read", headers={"HX-Request": "true"})
    fresh = text(alice_client.get(path))
    assert unread_of(fresh, with_carol) == 0 and rows(fresh)


def test_a_hide_changes_the_version(inbox):
    alice_client, _bob, _carol, with_bob, with_carol = inbox
    path = list_poll_path(text(alice_client.get("/messages")))
    alice_client.post(f"/messages/{with_bob}/hide")
    assert rows(text(alice_client.get(path))) == [with_carol]


def test_own_actions_ask_for_the_list(inbox):
    alice_client, _bob, _carol, with_bob, _with_carol = inbox
    sent = send(alice_client, with_bob, "on my way")
    assert "wb:list-changed" in sent.headers["HX-Trigger"]
    read = alice_client.post(f"/messages/{with_bob}/read", headers={"HX-Request": "true"})
    assert "wb:list-changed" in read.headers["HX-Trigger"]


def test_page_and_filter_are_honoured(inbox, app):
    alice_client, _bob, _carol, with_bob, with_carol = inbox
    unread = text(alice_client.get("/messages/list?filter=unread&active=0"))
    assert rows(unread) == [with_carol]
    page = text(alice_client.get("/messages?filter=unread"))
    assert "filter=unread" in list_poll_path(page) and rows(page) == [with_carol]
    app.config["CONVERSATIONS_PER_PAGE"] = 1
    second = text(alice_client.get("/messages/list?page=2&active=0"))
    assert rows(second) == [with_carol]
    assert "page=2" in list_poll_path(text(alice_client.get("/messages?page=2")))
    assert "Newer" in visible_text_of(second)


def visible_text_of(fragment: str) -> str:
    return re.sub(r"<[^>]+>", " ", fragment)


def test_a_cookie_from_before_sign_out_gets_no_list(app, inbox):
    alice_client, *_ = inbox
    path = list_poll_path(text(alice_client.get("/messages")))
    cookie = session_cookie(alice_client)
    alice_client.post("/logout")
    for stale in (replay(app, cookie), alice_client):
        response = stale.get(path)
        assert response.status_code == 302 and response.location.startswith("/login")
        assert "hi from" not in text(response)


def test_messaging_off_gets_404(inbox):
    alice_client, *_ = inbox
    path = list_poll_path(text(alice_client.get("/messages")))
    set_flag("direct_messaging", False)
    response = alice_client.get(path)
    assert response.status_code == 404 and "hi from" not in text(response)


def test_a_version_for_someone_else_gets_nothing(inbox, client):
    """A visitor who was never signed in, guessing a version, is sent to sign in."""
    alice_client, *_ = inbox
    path = list_poll_path(text(alice_client.get("/messages")))
    response = client.get(path)
    assert response.status_code == 302 and "hi from" not in text(response)


def preview_of(page: str, conversation_id: int) -> str:
    row = re.search(rf'data-conversation-id="{conversation_id}".*?</li>', page, re.S).group(0)
    return html.unescape(re.search(r'class="conversation-preview"[^>]*>([^<]*)<', row).group(1))


def test_the_newest_message_deleted_for_both_changes_the_other_members_list(inbox):
    alice_client, bob_client, _carol, with_bob, _with_carol = inbox
    page = text(alice_client.get("/messages"))
    assert preview_of(page, with_bob) == "hi from bob"
    path = list_poll_path(page)
    newest = messages_in(with_bob)[-1].id
    assert bob_client.post(f"/messages/{with_bob}/messages/{newest}/delete").status_code == 302
    response = alice_client.get(path, headers={"HX-Request": "true"})
    assert response.status_code == 200 and preview_of(text(response), with_bob) == "Message deleted"
    assert alice_client.get(list_poll_path(text(response))).status_code == 204


def test_removing_the_newest_message_for_me_changes_my_list_elsewhere(inbox):
    """Alice's other tab (or phone) polls with the version it shows."""
    alice_client, _bob, _carol, with_bob, _with_carol = inbox
    path = list_poll_path(text(alice_client.get("/messages")))
    newest = messages_in(with_bob)[-1].id
    assert alice_client.post(f"/messages/{with_bob}/messages/{newest}/remove").status_code == 302
    response = alice_client.get(path, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert preview_of(text(response), with_bob) == "Message removed from your view"


def test_deleting_an_older_message_leaves_the_other_members_list_idle(inbox):
    alice_client, bob_client, _carol, with_bob, _with_carol = inbox
    send(bob_client, with_bob, "and another")
    alice_client.post(f"/messages/{with_bob}/read")
    path = list_poll_path(text(alice_client.get("/messages")))
    older = messages_in(with_bob)[-2].id
    assert bob_client.post(f"/messages/{with_bob}/messages/{older}/delete").status_code == 302
    assert alice_client.get(path, headers={"HX-Request": "true"}).status_code == 204
