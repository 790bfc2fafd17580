"""Muting a conversation: it keeps its unread count in the list, but adds nothing to the badge,
the tab title, the dashboard, desktop notices or emails; unmuting brings it back."""
import re

import pytest

from api_helpers import ApiClient, api_as, api_chat, alice_api, bob_api, token_for  # noqa: F401
from messaging_helpers import membership_of, open_conversation, send, visible_text
from messaging_ops_helpers import converse
from notify_helpers import notify, opt_in
from wb.messaging import writes

BADGE = re.compile(r'<span class="badge"[^>]*aria-label="(\d+) unread')


@pytest.fixture
def two_writers(app, alice, bob, make_user, login, messaging_on):
    """Bob and Carol each wrote Alice; Alice's client, Bob's and Carol's conversation ids."""
    carol = make_user("carol")
    bob_chat = converse(bob, alice, ["From Bob, one", "From Bob, two"])
    carol_chat = converse(carol, alice, ["From Carol"])
    return login(alice), bob_chat.id, carol_chat.id


def mute(client, cid, muted=True):
    response = client.post(f"/messages/{cid}/mute", data={"muted": "1" if muted else "0"})
    assert response.status_code == 302 and response.location.endswith(f"/messages/{cid}#thread")


def nav_badge(client) -> int:
    """The nav badge (which the tab title and desktop notices read) on the dashboard."""
    page = client.get("/").get_data(as_text=True)
    match = re.search(r'id="inbox-badge".*?>Messages(?: <span class="badge"[^>]*>(\d+)</span>)?</a>', page, re.S)
    assert match, "no nav badge"
    return int(match.group(1) or 0)


def test_a_muted_conversation_keeps_its_count_in_the_list_but_not_in_the_badge(two_writers, alice):
    alice_client, bob_cid, carol_cid = two_writers
    assert nav_badge(alice_client) == 3
    mute(alice_client, bob_cid)

    assert membership_of(alice, bob_cid).muted is True
    assert nav_badge(alice_client) == 1
    badge = alice_client.get("/messages/badge", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert ">1<" in badge and ">3<" not in badge
    listing = alice_client.get("/messages/list?filter=unread", headers={"HX-Request": "true"}).get_data(as_text=True)
    bob_row = re.search(rf'<li class="conversation unread" data-conversation-id="{bob_cid}" data-muted>.*?</li>', listing, re.S)
    assert bob_row and 'aria-label="2 unread"' in bob_row.group(0) and "Muted" in bob_row.group(0)
    carol_row = re.search(rf'data-conversation-id="{carol_cid}"(?P<rest>[^>]*)>', listing)
    assert "data-muted" not in carol_row.group("rest")  # desktop notices (notify.js) still announce Carol


def test_the_dashboard_counts_only_unmuted_unread(two_writers):
    alice_client, bob_cid, _carol_cid = two_writers
    mute(alice_client, bob_cid)
    page = visible_text(alice_client.get("/"))
    assert "1 unread message" in page and "3 unread" not in page
    # Its row among the latest conversations says Muted, without its count (found by an outside tester).
    html = alice_client.get("/").get_data(as_text=True)
    rows = re.findall(r'<li><a href="/messages/(\d+)">.*?</li>', html, re.S)
    assert len(rows) == 2
    bob_row = re.search(rf'<li><a href="/messages/{bob_cid}">.*?</li>', html, re.S).group(0)
    assert "Muted" in bob_row and 'class="badge"' not in bob_row


def test_unmuting_counts_it_again(two_writers, alice):
    alice_client, bob_cid, _carol_cid = two_writers
    mute(alice_client, bob_cid)
    mute(alice_client, bob_cid, muted=False)
    assert membership_of(alice, bob_cid).muted is False
    assert nav_badge(alice_client) == 3


def test_the_thread_header_offers_mute_and_then_unmute(two_writers):
    alice_client, bob_cid, _carol_cid = two_writers
    page = alice_client.get(f"/messages/{bob_cid}").get_data(as_text=True)
    assert re.search(r'<input type="hidden" name="muted" value="1">.*?>Mute</button>', page, re.S)
    mute(alice_client, bob_cid)
    page = alice_client.get(f"/messages/{bob_cid}").get_data(as_text=True)
    assert re.search(r'<input type="hidden" name="muted" value="0">.*?>Unmute</button>', page, re.S)
    assert "Conversation muted: it keeps its unread count here" in visible_text(page)


def test_a_new_message_in_a_muted_conversation_still_counts_in_the_list_only(app, chat, alice, bob, login):
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "Say hi when you can")
    mute(bob_client, cid)
    send(alice_client, cid, "Another one")
    assert membership_of(bob, cid).unread_count == 2
    assert nav_badge(bob_client) == 0


def test_no_email_about_a_muted_conversation_and_unmuting_doesnt_bring_the_old_ones(app, smtp, alice, bob, make_user, messaging_on):
    carol = make_user("carol")
    opt_in(alice, "soon")
    bob_chat = converse(bob, alice, ["Muted words from Bob"])
    writes.mute_conversation(alice, bob_chat, True)
    converse(carol, alice, ["Carol's words"])

    notify(app, minutes_later=11)
    [email] = smtp.messages
    assert "Carol" in email.get_content() and "Bob" not in email.get_content()

    writes.mute_conversation(alice, bob_chat, False)
    notify(app, minutes_later=30)
    assert len(smtp.messages) == 1


def test_a_member_muted_alone_is_not_emailed(app, smtp, alice, bob, messaging_on):
    opt_in(alice, "soon")
    bob_chat = converse(bob, alice, ["Muted words from Bob"])
    writes.mute_conversation(alice, bob_chat, True)
    notify(app, minutes_later=60)
    assert smtp.received == []


def test_a_muted_conversations_news_makes_no_email_go_out_early_for_another(app, smtp, alice, bob, make_user,
                                                                            messaging_on):
    """A "soon" email went out 3 s after a message, not after the delay: the member's muted
    conversation had an unread clock of its own, which had run out (a street's tester)."""
    from messaging_helpers import membership_of

    carol = make_user("carol")
    opt_in(alice, "soon")
    bob_chat = converse(bob, alice, ["Before the mute"])
    writes.mute_conversation(alice, bob_chat, True)
    assert membership_of(alice, bob_chat.id).unread_since is None  # muting stops its clock
    writes.send_message(bob, bob_chat, "Chatty Bob, muted")
    assert membership_of(alice, bob_chat.id).unread_since is None  # and news in it starts none
    notify(app, minutes_later=11)  # Bob's muted news, long enough ago: nothing to tell, nothing due
    carol_chat = converse(carol, alice, ["Carol's words"])
    notify(app, minutes_later=0.05)  # 3 s after Carol's message
    assert smtp.received == []
    notify(app, minutes_later=11)
    [email] = smtp.messages
    assert "Carol" in email.get_content() and "Bob" not in email.get_content()
    assert membership_of(alice, carol_chat.id).unread_since is None


def test_the_api_mutes_and_unmutes(app, api_chat, alice, bob):
    alice_api, bob_api, cid = api_chat
    alice_api.post(f"/api/v1/conversations/{cid}/messages", json={"body": "Hello Bob"})
    assert bob_api.get("/api/v1/unread-count").get_json()["unread_total"] == 1
    assert bob_api.put(f"/api/v1/conversations/{cid}/mute").status_code == 204
    listed = bob_api.get(f"/api/v1/conversations/{cid}").get_json()
    assert listed["muted"] is True and listed["unread_count"] == 1
    assert bob_api.get("/api/v1/unread-count").get_json()["unread_total"] == 0
    assert bob_api.delete(f"/api/v1/conversations/{cid}/mute").status_code == 204
    assert bob_api.get("/api/v1/unread-count").get_json()["unread_total"] == 1


def test_only_a_participant_can_mute(app, api_chat, make_user, login):
    _alice_api, _bob_api, cid = api_chat
    carol = make_user("carol")
    assert ApiClient(app.test_client(), token_for(carol)).put(f"/api/v1/conversations/{cid}/mute").status_code == 404
    assert login(carol).post(f"/messages/{cid}/mute").status_code == 404


def test_the_live_channel_tells_the_members_tabs_of_a_mute_and_leaves_their_badge_out_of_muted_news(
        two_writers, alice, bob, login):
    """Muting reaches the member's other tabs (their list shows it muted, their badge drops its
    count); a message, or a read, in a muted conversation still refreshes the list but never asks
    for the badge, which doesn't count it (the event's unread flag says so)."""
    from wb.messaging import live

    alice_client, bob_cid, carol_cid = two_writers
    since = live.newest_for(alice.id)
    mute(alice_client, bob_cid)
    changes = live.changes_since(alice.id, since)
    assert [(e.kind, e.conversation_id, e.unread) for e in changes.events] == [("muted", bob_cid, True)]

    since = {alice.id: changes.cursor, bob.id: live.newest_for(bob.id)}
    bob_client = login(bob)
    assert send(bob_client, bob_cid, "Muted news").status_code in (200, 302)
    assert [(e.kind, e.unread) for e in live.changes_since(alice.id, since[alice.id]).events] == [("message", False)]
    assert [(e.kind, e.unread) for e in live.changes_since(bob.id, since[bob.id]).events] == [("message", False)]
    assert nav_badge(alice_client) == 1  # Carol's message only

    since = live.newest_for(alice.id)
    alice_client.post(f"/messages/{bob_cid}/read")
    assert [(e.kind, e.unread) for e in live.changes_since(alice.id, since).events] == [("read", False)]
    since = live.newest_for(alice.id)
    alice_client.post(f"/messages/{carol_cid}/read")
    assert [(e.kind, e.unread) for e in live.changes_since(alice.id, since).events] == [("read", True)]


def test_muting_a_conversation_with_nothing_unread_still_changes_the_lists_version(two_writers):
    """The list answers 304 to a tab holding its ETag; a mute must move it even when the unread
    total stays as it was, or the member's other tabs would never show "Muted"."""
    alice_client, bob_cid, _carol_cid = two_writers
    alice_client.post(f"/messages/{bob_cid}/read")
    htmx = {"HX-Request": "true"}
    before = alice_client.get("/messages/list?page=1", headers=htmx)
    etag = before.headers["ETag"]
    assert alice_client.get("/messages/list?page=1", headers={**htmx, "If-None-Match": etag}).status_code == 304
    assert nav_badge(alice_client) == 1
    mute(alice_client, bob_cid)
    assert nav_badge(alice_client) == 1  # nothing unread in it: the badge stays
    after = alice_client.get("/messages/list?page=1", headers={**htmx, "If-None-Match": etag})
    assert after.status_code == 200 and after.headers["ETag"] != etag
    assert re.search(rf'data-conversation-id="{bob_cid}" data-muted>.*?Muted', after.get_data(as_text=True), re.S)
    mute(alice_client, bob_cid, muted=False)
    again = alice_client.get("/messages/list?page=1", headers={**htmx, "If-None-Match": after.headers["ETag"]})
    assert again.status_code == 200 and "data-muted" not in again.get_data(as_text=True)
