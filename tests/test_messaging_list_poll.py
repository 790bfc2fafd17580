"""The inbox list keeps up: asked again when something changed, 304 to the ETag of the rows it shows."""
import html
import json
import re

import pytest
from sqlalchemy import func, select

from wb.extensions import db
from wb.flags import set_flag
from wb.messaging import live
from wb.messaging.models import LiveEvent
from wb.models import User
from messaging_helpers import messages_in, open_conversation, send, visible_text

LIST_POLL = re.compile(r'<div id="conversation-list"[^>]*\shx-get="([^"]+)"')


class ShownList:
    """A list on screen: the URL it asks again (with the open conversation, as app.js adds it)
    and the ETag of the rows it shows, which the browser revalidates with."""

    def __init__(self, client, page: str, active: int = 0):
        path = html.unescape(LIST_POLL.search(page).group(1))
        separator = "&" if "?" in path else "?"
        self.client, self.path = client, f"{path}{separator}active={active}"
        self.etag = client.get(self.path, headers={"HX-Request": "true"}).headers["ETag"]

    def ask(self):
        """The list asked again, as the browser does: If-None-Match with the rows it shows."""
        response = self.client.get(self.path, headers={"HX-Request": "true", "If-None-Match": self.etag})
        if response.status_code == 200:
            self.etag = response.headers["ETag"]
        return response


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


def test_unchanged_list_answers_304_and_draws_nothing(inbox):
    alice_client, _bob, _carol, with_bob, _with_carol = inbox
    shown = ShownList(alice_client, text(alice_client.get(f"/messages/{with_bob}")), active=with_bob)
    response = shown.ask()
    assert response.status_code == 304 and text(response) == ""


def test_the_list_and_the_badge_are_kept_by_the_members_browser_alone(inbox):
    """Revalidated with their ETags, never stored by a cache shared between members: the list
    shows previews of messages."""
    alice_client, *_ = inbox
    for path in ("/messages/list", "/messages/badge"):
        response = alice_client.get(path, headers={"HX-Request": "true"})
        assert response.status_code == 200 and "ETag" in response.headers
        assert response.headers["Cache-Control"] == "no-cache, private", path


def test_a_new_message_brings_its_row_to_the_top_with_its_unread_count(inbox):
    alice_client, _bob, carol_client, with_bob, with_carol = inbox
    page = text(alice_client.get(f"/messages/{with_bob}"))
    assert rows(page) == [with_bob, with_carol]
    shown = ShownList(alice_client, page, active=with_bob)
    send(carol_client, with_carol, "are you there?")
    response = shown.ask()
    fresh = text(response)
    assert response.status_code == 200 and "<html" not in fresh
    assert rows(fresh) == [with_carol, with_bob]
    assert unread_of(fresh, with_carol) == 2 and "are you there?" in fresh
    # The open conversation stays marked, and the new list carries a new version that is idle.
    assert re.search(rf'<a href="/messages/{with_bob}"[^>]*aria-current="page"', fresh)
    assert "<div" not in fresh.split("<ul", 1)[0]  # only the rows: the list element stays
    assert shown.ask().status_code == 304


def test_a_read_changes_the_version(inbox):
    alice_client, _bob, _carol, _with_bob, with_carol = inbox
    shown = ShownList(alice_client, text(alice_client.get("/messages")))
    alice_client.post(f"/messages/{with_carol}/read", headers={"HX-Request": "true"})
    fresh = text(shown.ask())
    assert unread_of(fresh, with_carol) == 0 and rows(fresh)


NAV_BADGE = re.compile(r'<a id="inbox-badge"[^>]*>.*?</a>', re.S)


def nav_badge(page: str) -> tuple[str, int]:
    """The nav badge's opening tag and the number it shows (0: none)."""
    badge = NAV_BADGE.search(page).group(0)
    number = re.search(r'aria-label="(\d+) unread"', badge)
    return badge.split(">", 1)[0], int(number.group(1)) if number else 0


def test_on_the_inbox_the_nav_badge_comes_with_the_list(inbox, bob):
    """The list's answer carries the nav badge out of band with the total it read (its version
    holds it, so a 304 leaves both as they are); the inbox's badge asks nothing itself, while
    other pages' badges still do."""
    alice_client, bob_client, _carol, with_bob, with_carol = inbox
    page = text(alice_client.get(f"/messages/{with_bob}"))
    tag, shown_total = nav_badge(page)
    assert "hx-get" not in tag and "hx-trigger" not in tag and shown_total == 1
    assert 'hx-get="/messages/badge"' in nav_badge(text(alice_client.get("/requests")))[0]
    shown = ShownList(alice_client, page, active=with_bob)
    send(bob_client, with_bob, "one more")
    send(bob_client, with_bob, "and another")
    fresh = text(shown.ask())
    tag, total = nav_badge(fresh)
    assert 'hx-swap-oob="true"' in tag and "hx-get" not in tag and total == 3
    assert text(alice_client.get("/messages/badge")).count('aria-label="3 unread"') == 1
    assert shown.ask().status_code == 304
    alice_client.post(f"/messages/{with_carol}/read", headers={"HX-Request": "true"})
    assert nav_badge(text(shown.ask()))[1] == 2


def test_on_the_dashboard_the_nav_badge_comes_with_the_unread_line(inbox):
    alice_client, _bob, carol_client, _with_bob, with_carol = inbox
    dashboard = text(alice_client.get("/"))
    tag, total = nav_badge(dashboard)
    assert "hx-get" not in tag and total == 1
    assert 'hx-get="/messages/badge?variant=dashboard"' in dashboard
    send(carol_client, with_carol, "still there?")
    line = alice_client.get("/messages/badge?variant=dashboard", headers={"HX-Request": "true"})
    tag, total = nav_badge(text(line))
    assert 'id="dashboard-unread"' in text(line) and "You have <strong" in text(line)
    assert 'hx-swap-oob="true"' in tag and total == 2
    again = alice_client.get("/messages/badge?variant=dashboard",
                             headers={"HX-Request": "true", "If-None-Match": line.headers["ETag"]})
    assert again.status_code == 304


def test_a_hide_changes_the_version(inbox):
    alice_client, _bob, _carol, with_bob, with_carol = inbox
    shown = ShownList(alice_client, text(alice_client.get("/messages")))
    alice_client.post(f"/messages/{with_bob}/hide", data={"confirmed": "1"})
    assert rows(text(shown.ask())) == [with_carol]


def test_own_actions_ask_for_the_list(inbox):
    alice_client, _bob, _carol, with_bob, _with_carol = inbox
    sent = send(alice_client, with_bob, "on my way")
    assert "wb:list-changed" in sent.headers["HX-Trigger"]
    read = alice_client.post(f"/messages/{with_bob}/read", headers={"HX-Request": "true"})
    assert "wb:list-changed" in read.headers["HX-Trigger"]


ON_THE_INBOX = {"HX-Request": "true", "X-WB-List": "page=1"}  # what live.js adds on the inbox
LIST_ALONG = re.compile(r'<div id="conversation-list" hx-swap-oob="innerHTML"(?: data-list-rows=\'([^\']*)\')?>(.*?)</div>',
                        re.S)


def list_along(response) -> str:
    """The inbox list's rows an answer brings out of band (the page swaps them into its list, or
    with order_along, merges them into the rows it keeps)."""
    found = LIST_ALONG.search(text(response))
    assert found, text(response)
    return found.group(2)


def order_along(response) -> list[int] | None:
    """The page's rows in order when the answer brings only those that changed, None when it
    brings the whole list (the times and names of the rows come with them: [[id, "5 min ago", "Bob"], ...])."""
    found = LIST_ALONG.search(text(response))
    assert found, text(response)
    return None if found.group(1) is None else [row for row, _when, _name in json.loads(found.group(1))]


def test_own_actions_on_the_inbox_bring_the_list_along(inbox, bob):
    """On the inbox a send, a read, a delete and a remove answer with the list's changed row for
    its page (and every row's order) and the nav badge, out of band, instead of making the list
    ask (wb:list-changed)."""
    alice_client, bob_client, _carol, with_bob, with_carol = inbox
    sent = alice_client.post(f"/messages/{with_carol}?after=0&seen=0", data={"body": "On my way, Carol"},
                             headers=ON_THE_INBOX)
    assert sent.status_code == 200 and "wb:list-changed" not in sent.headers["HX-Trigger"]
    assert 'id="compose"' in text(sent)  # the compose box is still the answer's own content
    rows_along = list_along(sent)
    assert rows(rows_along) == [with_carol] and order_along(sent) == [with_carol, with_bob]
    assert "You: On my way, Carol" in visible_text(rows_along) and "hi from bob" not in text(sent)
    # Drawn after the send's change: the newest change it shows is at least the send's own event
    # (Alice's own: her cursor counts her news alone, not Carol's event of the same send).
    alice_id = User.by_username("alice").id
    newest_event = db.session.scalar(select(func.max(LiveEvent.id)).where(LiveEvent.member_id == alice_id))
    assert newest_event < db.session.scalar(select(func.max(LiveEvent.id)))
    alice_cursor = live.newest_for(alice_id)
    assert alice_cursor // live.EVERYONE_STEP == db.session.scalar(select(LiveEvent.seq).where(LiveEvent.id == newest_event))
    assert f'data-list-cursor="{alice_cursor}"' in rows_along
    assert f'data-list-cursor="{alice_cursor}"' in text(alice_client.get("/messages/list?active=0"))
    assert 'class="conversation active" data-conversation-id="%d"' % with_carol in rows_along
    tag, total = nav_badge(text(sent))
    assert 'hx-swap-oob="true"' in tag and total == 0  # replying read Carol's
    send(bob_client, with_bob, "Are you there?")
    read = alice_client.post(f"/messages/{with_bob}/read", headers=ON_THE_INBOX)
    assert read.status_code == 200 and read.headers["HX-Trigger"] == "wb:unread-changed"
    assert order_along(read) == [with_bob, with_carol] and rows(list_along(read)) == [with_bob]
    assert unread_of(list_along(read), with_bob) == 0
    assert nav_badge(text(read))[1] == 0
    [*_, mine] = messages_in(with_carol)
    deleted = alice_client.post(f"/messages/{with_carol}/messages/{mine.id}/delete", headers=ON_THE_INBOX)
    assert deleted.status_code == 200 and "HX-Trigger" not in deleted.headers
    assert "Message deleted" in list_along(deleted) and "On my way" not in text(deleted)
    [*_, bobs] = messages_in(with_bob)
    removed = alice_client.post(f"/messages/{with_bob}/messages/{bobs.id}/remove", headers=ON_THE_INBOX)
    assert removed.status_code == 200 and removed.headers["HX-Trigger"] == "wb:unread-changed"
    assert "Message removed from your view" in list_along(removed)


def test_the_list_along_keeps_its_page_and_filter(inbox, app):
    alice_client, _bob, _carol, with_bob, with_carol = inbox
    app.config["CONVERSATIONS_PER_PAGE"] = 1
    read = alice_client.post(f"/messages/{with_carol}/read", headers={**ON_THE_INBOX, "X-WB-List": "page=2"})
    assert order_along(read) == rows(list_along(read)) == [with_carol]  # page 2 of 1 each: Bob wrote last
    assert "Newer" in list_along(read)  # the pager comes along
    other_page = alice_client.post(f"/messages/{with_bob}/read", headers={**ON_THE_INBOX, "X-WB-List": "page=2"})
    assert order_along(other_page) == [with_carol] and rows(list_along(other_page)) == []  # Bob's row isn't there
    unread = alice_client.post(f"/messages/{with_bob}/read", headers={**ON_THE_INBOX, "X-WB-List": "filter=unread"})
    # Read, but open beside the list: the Unread filter keeps it (its row left under the member's eyes).
    assert order_along(unread) == rows(list_along(unread)) == [with_bob]
    # Nothing unread and nothing open: the empty list is drawn whole.
    caught_up = text(alice_client.get("/messages/list?filter=unread&active=0", headers={"HX-Request": "true"}))
    assert rows(caught_up) == [] and "all caught up" in caught_up


@pytest.mark.parametrize("shown", ["page=x", "page=%C2%B2", "page=0", "page=99999999999999999999999"])
def test_a_list_query_that_is_not_the_lists_makes_the_list_ask_instead(inbox, shown):
    """Bad input loses nothing: the action is done, and the list asks for itself."""
    alice_client, _bob, _carol, _with_bob, with_carol = inbox
    read = alice_client.post(f"/messages/{with_carol}/read", headers={**ON_THE_INBOX, "X-WB-List": shown})
    assert read.status_code == 204 and read.headers["HX-Trigger"] == "wb:unread-changed, wb:list-changed"
    assert text(read) == ""


def test_page_and_filter_are_honoured(inbox, app):
    alice_client, _bob, _carol, with_bob, with_carol = inbox
    unread = text(alice_client.get("/messages/list?filter=unread&active=0"))
    assert rows(unread) == [with_carol]
    page = text(alice_client.get("/messages?filter=unread"))
    assert "filter=unread" in ShownList(alice_client, page).path and rows(page) == [with_carol]
    app.config["CONVERSATIONS_PER_PAGE"] = 1
    second = text(alice_client.get("/messages/list?page=2&active=0"))
    assert rows(second) == [with_carol]
    assert "page=2" in ShownList(alice_client, text(alice_client.get("/messages?page=2"))).path
    assert "Newer" in visible_text_of(second)


def visible_text_of(fragment: str) -> str:
    return re.sub(r"<[^>]+>", " ", fragment)


def test_a_cookie_from_before_sign_out_gets_no_list(app, inbox):
    alice_client, *_ = inbox
    shown = ShownList(alice_client, text(alice_client.get("/messages")))
    stale = app.test_client()
    stale.set_cookie("session", alice_client.get_cookie("session").value)
    alice_client.post("/logout")
    for client in (stale, alice_client):
        response = client.get(shown.path)
        assert response.status_code == 302 and response.location.startswith("/login")
        assert "hi from" not in text(response)


def test_messaging_off_gets_404(inbox):
    alice_client, *_ = inbox
    shown = ShownList(alice_client, text(alice_client.get("/messages")))
    set_flag("direct_messaging", False)
    response = shown.ask()
    assert response.status_code == 404 and "hi from" not in text(response)


def test_an_etag_for_someone_else_gets_nothing(inbox, client):
    """A visitor who was never signed in, replaying a member's ETag, is sent to sign in."""
    alice_client, *_ = inbox
    shown = ShownList(alice_client, text(alice_client.get("/messages")))
    response = client.get(shown.path, headers={"If-None-Match": shown.etag})
    assert response.status_code == 302 and "hi from" not in text(response)


def preview_of(page: str, conversation_id: int) -> str:
    row = re.search(rf'data-conversation-id="{conversation_id}".*?</li>', page, re.S).group(0)
    return visible_text(re.search(r'<span class="conversation-preview">.*?</span></span>', row, re.S).group(0))


def test_the_newest_message_deleted_for_both_changes_the_other_members_list(inbox):
    alice_client, bob_client, _carol, with_bob, _with_carol = inbox
    page = text(alice_client.get("/messages"))
    assert preview_of(page, with_bob) == "hi from bob"
    shown = ShownList(alice_client, page)
    newest = messages_in(with_bob)[-1].id
    assert bob_client.post(f"/messages/{with_bob}/messages/{newest}/delete").status_code == 302
    response = shown.ask()
    assert response.status_code == 200 and preview_of(text(response), with_bob) == "Message deleted"
    assert shown.ask().status_code == 304


def test_my_own_message_deleted_for_both_says_it_was_mine_in_my_list(inbox):
    """Bob deleted his "door code" message for both: his row about Alice read "Message deleted", as if
    she had deleted hers (a street's tester). His says whose, as any message of his does; hers doesn't."""
    alice_client, bob_client, _carol, with_bob, _with_carol = inbox
    newest = messages_in(with_bob)[-1].id
    assert bob_client.post(f"/messages/{with_bob}/messages/{newest}/delete").status_code == 302
    assert preview_of(text(bob_client.get("/messages")), with_bob) == "You: Message deleted"
    assert preview_of(text(alice_client.get("/messages")), with_bob) == "Message deleted"


def test_removing_the_newest_message_for_me_changes_my_list_elsewhere(inbox):
    """Alice's other tab (or phone) asks again with the rows it shows."""
    alice_client, _bob, _carol, with_bob, _with_carol = inbox
    shown = ShownList(alice_client, text(alice_client.get("/messages")))
    newest = messages_in(with_bob)[-1].id
    assert alice_client.post(f"/messages/{with_bob}/messages/{newest}/remove").status_code == 302
    response = shown.ask()
    assert response.status_code == 200
    assert preview_of(text(response), with_bob) == "Message removed from your view"


def test_removing_the_newest_message_deleted_for_both_says_it_is_removed(inbox):
    """Bob deleted his message for both, then Alice removed "Message deleted" from her view: her list
    still said "Message deleted" (an API tester), of a message her thread no longer shows."""
    alice_client, bob_client, _carol, with_bob, _with_carol = inbox
    newest = messages_in(with_bob)[-1].id
    assert bob_client.post(f"/messages/{with_bob}/messages/{newest}/delete").status_code == 302
    shown = ShownList(alice_client, text(alice_client.get("/messages")))
    assert alice_client.post(f"/messages/{with_bob}/messages/{newest}/remove").status_code == 302
    response = shown.ask()
    assert response.status_code == 200
    assert preview_of(text(response), with_bob) == "Message removed from your view"
    assert preview_of(text(alice_client.get("/messages")), with_bob) == "Message removed from your view"
    assert preview_of(text(bob_client.get("/messages")), with_bob) == "You: Message deleted"  # his view is his


def test_deleting_an_older_message_leaves_the_other_members_list_idle(inbox):
    alice_client, bob_client, _carol, with_bob, _with_carol = inbox
    send(bob_client, with_bob, "and another")
    alice_client.post(f"/messages/{with_bob}/read")
    shown = ShownList(alice_client, text(alice_client.get("/messages")))
    older = messages_in(with_bob)[-2].id
    assert bob_client.post(f"/messages/{with_bob}/messages/{older}/delete").status_code == 302
    assert shown.ask().status_code == 304
