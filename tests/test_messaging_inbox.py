"""The inbox, the badge, the dashboard; deleting and hiding."""
import html
import json
import re

import pytest


from messaging_helpers import membership_of, messages_in, open_conversation, send, visible_text


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_empty_inbox_says_what_to_do(app, alice, login, messaging_on):
    page = text(login(alice).get("/messages"))
    assert "No conversations yet" in page
    assert "members list" in page


def test_inbox_lists_newest_first_with_preview_and_unread_count(app, alice, make_user, login, messaging_on):
    alice_client = login(alice)
    senders = []
    for name in ("carol", "dave", "erin"):
        user = make_user(name)
        client = login(user)
        cid = open_conversation(client, "alice")
        senders.append((name, client, cid))
    # erin writes first, then carol twice, dave never: his empty conversation is his draft alone
    send(senders[2][1], senders[2][2], "from erin")
    send(senders[0][1], senders[0][2], "carol one")
    send(senders[0][1], senders[0][2], "carol two is the latest")
    page = text(alice_client.get("/messages"))
    names = re.findall(r'class="conversation-name"><bdi>([^<]+)</bdi>', page)
    assert names == ["Carol", "Erin"]
    assert "carol two is the latest" in page
    assert 'aria-label="2 unread"' in page and 'aria-label="1 unread"' in page
    assert "No messages yet" not in page and "Dave" not in page  # dave's draft: nothing of it for Alice
    assert "No messages yet" in text(senders[1][1].get("/messages"))  # but Dave has it in his own list
    unread_only = text(alice_client.get("/messages?filter=unread"))
    assert re.findall(r'class="conversation-name"><bdi>([^<]+)</bdi>', unread_only) == ["Carol", "Erin"]


def test_inbox_pages_conversations(app, alice, make_user, login, messaging_on):
    app.config["CONVERSATIONS_PER_PAGE"] = 2
    alice_client = login(alice)
    for name in ("carol", "dave", "erin"):
        make_user(name)
        open_conversation(alice_client, name)
    first = text(alice_client.get("/messages"))
    assert first.count('<li class="conversation') == 2 and "page=2" in first
    second = text(alice_client.get("/messages?page=2"))
    assert second.count('<li class="conversation') == 1 and "page=1" in second
    # A page past the last says so and leads back; it doesn't pretend there are no conversations.
    for path in ("/messages?page=999", "/messages?filter=unread&page=5"):
        past = visible_text(alice_client.get(path))
        assert "There are no conversations on this page." in past and "Go to the first page" in past, path
        assert "No conversations yet" not in past and "all caught up" not in past


def _row_links(page: str) -> dict[str, str]:
    """Each listed conversation's link, by the other member's name."""
    return dict((name, link) for link, name in re.findall(
        r'<li class="conversation[^"]*"[^>]*>\s*<a href="([^"]+)".*?class="conversation-name"><bdi>([^<]+)</bdi>', page, re.S))


def test_a_thread_opened_from_a_later_page_or_unread_keeps_that_list(app, alice, make_user, login, messaging_on):
    """A row of page 2 (or of Unread) carries the list's place: reloading the thread it opened shows
    that list beside it, and "All conversations" leads back to it (it showed page 1: a tester)."""
    app.config["CONVERSATIONS_PER_PAGE"] = 2
    alice_client = login(alice)
    for name in ("carol", "dave", "erin"):
        make_user(name)
        send(alice_client, open_conversation(alice_client, name), f"Hello {name}")
    first, second = text(alice_client.get("/messages")), text(alice_client.get("/messages?page=2"))
    assert set(_row_links(first)) == {"Erin", "Dave"} and not any("?" in link for link in _row_links(first).values())
    carol_link = _row_links(second)["Carol"]
    assert re.fullmatch(r"/messages/\d+\?page=2", carol_link)
    opened = text(alice_client.get(carol_link))
    assert set(_row_links(opened)) == {"Carol"} and 'aria-current="page"' in opened  # page 2 beside the thread
    assert 'class="back-link" href="/messages?page=2"' in opened
    assert "Hello carol" in visible_text(alice_client.get(carol_link))

    carol = login(make_user("carol2"))
    send(carol, open_conversation(carol, "alice"), "Are you free?")
    unread = text(alice_client.get("/messages?filter=unread"))
    link = _row_links(unread)["Carol2"]
    assert re.fullmatch(r"/messages/\d+\?filter=unread", link)
    assert 'class="back-link" href="/messages?filter=unread"' in text(alice_client.get(link))
    # Junk in the place is ignored, as on the inbox: page 1 of everything.
    junk = text(alice_client.get(link.split("?")[0] + "?page=%D9%A2&filter=x"))
    assert 'class="back-link" href="/messages"' in junk and set(_row_links(junk)) == {"Carol2", "Erin"}


def _nav_badge(page: str) -> str:
    """The unread number in the page's navigation ("" when it shows none)."""
    link = re.search(r'<a id="inbox-badge".*?</a>', page, re.S).group(0)
    number = re.search(r'class="badge"[^>]*>(\d+)<', link)
    return number.group(1) if number else ""


def test_inbox_pages_show_the_same_unread_total_as_the_badge(app, alice, make_user, login, messaging_on):
    """The inbox reads the navigation's unread total with its list: every page and filter agrees
    with the badge, past the last page too, and blocks and reads change it alike."""
    app.config["CONVERSATIONS_PER_PAGE"] = 1
    alice_client = login(alice)
    conversations = {}
    for name, count in (("carol", 2), ("dave", 1), ("erin", 0)):
        client = login(make_user(name))
        conversations[name] = cid = open_conversation(client, "alice")
        for i in range(count):
            send(client, cid, f"{name} {i}")

    def totals():
        badge = _nav_badge(text(alice_client.get("/messages/badge")))
        pages = [_nav_badge(text(alice_client.get(path))) for path in (
            "/messages", "/messages?page=2", "/messages?page=3", "/messages?page=9",
            "/messages?filter=unread", "/messages?filter=unread&page=9", f"/messages/{conversations['erin']}",
        )]
        return badge, set(pages)

    assert totals() == ("3", {"3"})
    alice_client.post("/people/carol/block", data={"confirmed": "1"})
    assert totals() == ("1", {"1"})
    alice_client.post(f"/messages/{conversations['dave']}/read")
    assert totals() == ("", {""})


def test_own_message_preview_is_prefixed(chat):
    alice_client, _, cid = chat
    send(alice_client, cid, "my own words")
    page = alice_client.get("/messages")
    assert "You: my own words" in visible_text(page)
    # drawn apart, the words cut at their own end: "You: شكرا يوسف…" cut as one line lost the Arabic's start
    assert '<span class="preview-who">You:</span> <span class="preview-words" dir="auto">my own words</span>' in text(page)


def test_badge_and_dashboard_show_unread_total(chat, bob):
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "one")
    send(alice_client, cid, "two")
    badge = text(bob_client.get("/messages/badge", headers={"HX-Request": "true"}))
    assert 'aria-label="2 unread"' in badge and "<html" not in badge
    # A name on a plain <span> is one screen readers may skip (ARIA names no generic element): the
    # count is an image named "2 unread" (a street's tester), in the nav, the list and the dashboard.
    assert '<span class="badge" role="img" aria-label="2 unread">2</span>' in badge
    assert '<span class="badge" role="img" aria-label="2 unread">2</span>' in text(bob_client.get("/messages"))
    dashboard = text(bob_client.get("/"))
    assert '<span class="badge" role="img" aria-label="2 unread">2</span>' in dashboard
    assert "You have 2 unread messages" in visible_text(dashboard)
    assert 'id="inbox-badge"' in dashboard
    assert "Alice" in dashboard  # latest conversations
    bob_client.post(f"/messages/{cid}/read")
    assert visible_text(bob_client.get("/messages/badge")) == "Messages"
    assert "No unread messages" in visible_text(bob_client.get("/messages/badge?variant=dashboard"))


def test_the_dashboards_latest_conversations_answer_304_until_they_change(chat, bob, client):
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "one")
    first = bob_client.get("/messages/dashboard-conversations", headers={"HX-Request": "true"})
    assert first.status_code == 200 and 'id="dashboard-conversations"' in text(first) and "<html" not in text(first)
    assert 'aria-label="1 unread"' in text(first) and "Alice" in visible_text(first)
    etag = first.headers["ETag"]
    again = bob_client.get("/messages/dashboard-conversations", headers={"If-None-Match": etag})
    assert again.status_code == 304
    send(alice_client, cid, "two")
    changed = bob_client.get("/messages/dashboard-conversations", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and 'aria-label="2 unread"' in text(changed)
    assert alice_client.get("/messages/dashboard-conversations").headers["ETag"] != changed.headers["ETag"]
    assert client.get("/messages/dashboard-conversations").status_code == 302  # signed out: sign in


def test_sender_deletes_own_message_for_both(chat, bob):
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "oops, wrong person")
    [message] = messages_in(cid)
    response = alice_client.post(
        f"/messages/{cid}/messages/{message.id}/delete", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "Message deleted" in text(response)
    assert messages_in(cid)[0].deleted_at is not None
    assert messages_in(cid)[0].body == ""  # its text is gone from the database too, not kept until purge
    for client in (alice_client, bob_client):
        page = text(client.get(f"/messages/{cid}"))
        assert "oops, wrong person" not in page and "Message deleted" in page
        assert "oops" not in text(client.get("/messages"))
    # deleting an unread message takes it off the recipient's unread count
    assert membership_of(bob, cid).unread_count == 0


def test_cannot_delete_someone_elses_message(chat):
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "alice's words")
    [message] = messages_in(cid)
    response = bob_client.post(f"/messages/{cid}/messages/{message.id}/delete")
    assert response.status_code == 403
    assert "only delete messages you sent" in text(response)
    assert messages_in(cid)[0].deleted_at is None


def test_remove_for_me_hides_only_from_my_view_and_both_means_no_one(chat):
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "keep or remove")
    [message] = messages_in(cid)
    assert bob_client.post(f"/messages/{cid}/messages/{message.id}/remove", headers={"HX-Request": "true"}).status_code == 200
    assert "keep or remove" not in text(bob_client.get(f"/messages/{cid}"))
    assert "keep or remove" in text(alice_client.get(f"/messages/{cid}"))
    alice_client.post(f"/messages/{cid}/messages/{message.id}/remove")
    assert "keep or remove" not in text(alice_client.get(f"/messages/{cid}"))
    assert "keep or remove" not in text(alice_client.get(f"/messages/{cid}/poll?after=0"))
    stored = messages_in(cid)[0]
    assert stored.hidden_for_low and stored.hidden_for_high


def test_hidden_conversation_returns_when_a_new_message_arrives(chat, bob):
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "hello")
    # Without JavaScript, Hide asks on a page of its own first (with it, a dialog asks and says so).
    asked = bob_client.post(f"/messages/{cid}/hide")
    assert asked.status_code == 200 and "Hide the conversation with" in text(asked)
    assert membership_of(bob, cid).hidden is False
    response = bob_client.post(f"/messages/{cid}/hide", data={"confirmed": "1"})
    assert response.status_code == 302
    assert "Alice" not in re.findall(r'class="conversation-name"><bdi>([^<]+)</bdi>', text(bob_client.get("/messages")))
    assert membership_of(bob, cid).hidden is True
    # His only conversation hidden: the inbox says so, not "No conversations yet" (an outside tester).
    empty = visible_text(text(bob_client.get("/messages")))
    assert "No conversations to show: you hid one." in empty and "No conversations yet" not in empty
    send(alice_client, cid, "are you ignoring me?")
    assert "Alice" in re.findall(r'class="conversation-name"><bdi>([^<]+)</bdi>', text(bob_client.get("/messages")))
    assert membership_of(bob, cid).hidden is False


def test_hide_says_so_with_undo_where_it_leads(chat, bob, alice):
    """Hidden by mistake, a conversation had no way back but a new message (a street's tester)."""
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "hello")
    response = bob_client.post(f"/messages/{cid}/hide", data={"confirmed": "1"})
    assert response.location == f"/messages?hidden={cid}"
    page = visible_text(text(bob_client.get(response.location)))
    assert "Your conversation with Alice is hidden. It comes back when a new message arrives, or when you press \"Message\" for them. Undo" in page
    undone = bob_client.post(f"/messages/{cid}/unhide")
    assert undone.status_code == 302 and undone.location == f"/messages/{cid}"
    assert membership_of(bob, cid).hidden is False
    assert "back in your inbox" in visible_text(text(bob_client.get(undone.location)))
    # once back, or for a conversation that isn't theirs, or junk: no such note
    for query in (f"hidden={cid}", "hidden=999999", "hidden=abc", "hidden=%D9%A3"):
        assert "is hidden" not in visible_text(text(bob_client.get(f"/messages?{query}")))
    assert "Your conversation with" not in visible_text(text(alice_client.get(f"/messages?hidden={cid}")))


def test_the_action_urls_on_the_page_are_the_ones_the_routes_answer(chat):
    """Each message's menu links to its actions; the forms found there post to routes that work
    (thread page and poll partial alike)."""
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "delete me via the page")
    send(alice_client, cid, "remove me via the page")
    first, second = messages_in(cid)
    page = alice_client.get(f"/messages/{cid}").get_data(as_text=True)
    menu_url = re.search(rf'hx-get="([^"]+/{first.id}/actions)"', page).group(1)
    assert f'<a href="{menu_url}">' in page  # the same place without JavaScript
    menu = alice_client.get(menu_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    delete_action = re.search(r'action="([^"]+/delete)"', menu).group(1)
    assert delete_action == f"/messages/{cid}/messages/{first.id}/delete"
    assert alice_client.post(delete_action).status_code == 302

    polled = bob_client.get(f"/messages/{cid}/poll?after=0&seen=0").get_data(as_text=True)
    menu_url = re.search(rf'hx-get="([^"]+/{second.id}/actions)"', polled).group(1)
    menu = bob_client.get(menu_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    remove_action = re.search(r'action="([^"]+/remove)"', menu).group(1)
    assert 'name="csrf_token" value="' in menu
    assert bob_client.post(remove_action).status_code == 302
    first, second = messages_in(cid)
    assert first.deleted_at is not None and (second.hidden_for_low or second.hidden_for_high)


def test_a_message_menu_offers_what_this_member_may_do(chat):
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "mine to delete")
    (message,) = messages_in(cid)
    url = f"/messages/{cid}/messages/{message.id}/actions"
    htmx = {"HX-Request": "true"}

    mine = text(alice_client.get(url, headers=htmx))
    assert "Delete for both" in mine and "Remove for me" in mine
    assert f'hx-post="{url[:-len("/actions")]}/delete"' in mine
    assert ('hx-confirm="Delete this message for both of you? It can\'t be undone. A member who has reported or '
            'blocked you keeps their copy."') in mine
    assert "mine to delete" not in mine  # the menu only: the message is already on screen

    theirs = text(bob_client.get(url, headers=htmx))
    assert "Remove for me" in theirs and "Delete for both" not in theirs

    # Without JavaScript: a page of its own with the message, plain forms that ask first, a way back.
    response = alice_client.get(url)
    page = text(response)
    assert response.status_code == 200
    assert "mine to delete" in page and "Back to the conversation with <bdi>Bob</bdi>" in page
    # The page asks itself: without JavaScript no dialog would (an outside tester deleted in one tap).
    assert ("<p>Delete this message for both of you? It can't be undone. A member who has reported or blocked you "
            "keeps their copy.</p>") in page and "Yes, delete for both</button>" in page
    assert "<p>Remove this message from your view? The other member still sees it, and you can't bring it back.</p>" in page
    assert "hx-post" not in page and "data-confirm" not in page  # not asked twice with JavaScript

    alice_client.post(f"/messages/{cid}/messages/{message.id}/delete")
    deleted = text(alice_client.get(url, headers=htmx))
    assert "Remove for me" in deleted and "Delete for both" not in deleted


def test_a_message_menu_is_only_for_messages_the_member_sees(chat, make_user, login):
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "hello")
    (message,) = messages_in(cid)
    url = f"/messages/{cid}/messages/{message.id}/actions"
    carol_client = login(make_user("carol"))
    assert carol_client.get(url).status_code == 404  # not a participant
    assert "hello" not in text(carol_client.get(url))
    other_cid = open_conversation(carol_client, "alice")
    assert alice_client.get(f"/messages/{other_cid}/messages/{message.id}/actions").status_code == 404
    assert alice_client.get(f"/messages/{cid}/messages/999999/actions").status_code == 404
    assert alice_client.get(f"/messages/{cid}/messages/abc/actions").status_code == 404
    bob_client.post(f"/messages/{cid}/messages/{message.id}/remove")
    assert bob_client.get(url).status_code == 404  # removed from his view
    assert alice_client.get(url).status_code == 200


def test_the_unread_filter_keeps_the_conversation_open_beside_it(chat, make_user, login):
    """Opening a conversation from the Unread list read it, and its row left the list under the
    member's eyes, unmarked (an outside tester); the one open stays, other read ones go."""
    alice_client, bob_client, with_bob = chat
    send(bob_client, with_bob, "unread one")
    carol_client = login(make_user("carol"))
    with_carol = open_conversation(carol_client, "alice")
    send(carol_client, with_carol, "unread too")
    alice_client.post(f"/messages/{with_bob}/read")  # opened: read

    def rows(query):
        page = text(alice_client.get(f"/messages/list?{query}", headers={"HX-Request": "true"}))
        return [int(found) for found in re.findall(r'data-conversation-id="(\d+)"', page)]

    assert rows(f"filter=unread&active={with_bob}") == [with_carol, with_bob]
    assert rows("filter=unread") == [with_carol]
    assert rows(f"filter=unread&active={with_carol}") == [with_carol]
    # the read's own answer, which brings the list along, keeps it too
    along = text(alice_client.post(f"/messages/{with_bob}/read", headers={
        "HX-Request": "true", "X-WB-List": f"page=1&filter=unread&active={with_bob}"}))
    assert f'data-conversation-id="{with_bob}"' in along


# --- finding a conversation by the other member's name (?q=) ---

NAMES = re.compile(r'class="conversation-name"><bdi>([^<]+)</bdi>')


@pytest.fixture
def seller(app, make_user, messaging_on):
    """Sam sells; twelve buyers wrote to him, Zoë Ødegård among them (and one he blocked, one he hid)."""
    from messaging_ops_helpers import converse

    sam = make_user("sam", display_name="Sam Seller")
    buyers = [make_user(f"buyer{n:02d}", display_name=f"Buyer {n:02d}") for n in range(9)]
    buyers += [make_user("zoe_o", display_name="Zoë Ødegård"), make_user("zoltan", display_name="Zoltan Hidden"),
               make_user("zora", display_name="Zora Blocked")]
    conversations = {buyer.username: converse(buyer, sam, [f"Is it still for sale? ({buyer.username})"]).id
                     for buyer in buyers}
    return sam, buyers, conversations


def test_a_search_lists_only_the_conversations_with_members_whose_name_holds_it(seller, login):
    """A seller with many buyers went through page after page of them (a marketplace's tester)."""
    from wb.extensions import db
    from wb.messaging import safety, writes
    from wb.messaging.models import Conversation
    from wb.models import User

    sam, buyers, conversations = seller
    client = login(sam)
    page = text(client.get("/messages"))
    assert 'placeholder="Find a conversation"' in page  # twelve conversations: worth a search
    assert 'placeholder="Find a conversation"' not in text(login(buyers[0]).get("/messages"))  # one: not
    writes.hide_conversation(sam, db.session.get(Conversation, conversations["zoltan"]))
    safety.block(sam, User.by_username("zora"))
    for hidden_or_blocked in ("zoltan", "zora"):  # not found: a search looks only through the list
        assert NAMES.findall(text(client.get(f"/messages?q={hidden_or_blocked}"))) == []

    for typed in ("zo", "ZOE", "odegard", "@zoe_o", " Ødegård "):
        found = text(client.get(f"/messages?q={typed}"))
        assert NAMES.findall(found) == ["Zoë Ødegård"], typed
        assert 'id="conversation-q" type="search" name="q" value="' in found
    found = client.get("/messages?q=buyer").get_data(as_text=True)
    assert len(NAMES.findall(found)) == 9
    # the list's own asks, its rows' links and the thread's way back keep the search
    assert re.search(r'id="conversation-list"[^>]*hx-get="/messages/list\?page=1&amp;q=buyer"', found)
    row_link = re.search(r'<a href="(/messages/\d+\?q=buyer)"', found).group(1)
    thread = text(client.get(row_link))
    assert NAMES.findall(thread) == [f"Buyer {n:02d}" for n in reversed(range(9))]
    assert 'class="back-link" href="/messages?q=buyer"' in thread
    listed = text(client.get("/messages/list?q=buyer", headers={"HX-Request": "true"}))
    assert len(NAMES.findall(listed)) == 9
    nothing = visible_text(client.get("/messages?q=zzz"))
    assert "Conversations with a member whose name holds “ zzz ”. Show all No conversation found." in nothing
    assert "No conversations yet" not in nothing


def test_a_search_says_which_hidden_conversations_it_holds_and_brings_one_back(seller, login):
    """A seller hid Kim's conversation after the sale, searched "kim" for the price they agreed, and read
    "No conversation found" (a marketplace's tester). The search says it is hidden and offers it back;
    one with a member she blocked stays unsaid, as in the list."""
    from wb.extensions import db
    from wb.messaging import safety, writes
    from wb.messaging.models import Conversation
    from wb.models import User

    sam, buyers, conversations = seller
    client = login(sam)
    writes.hide_conversation(sam, db.session.get(Conversation, conversations["zoltan"]))
    writes.hide_conversation(sam, db.session.get(Conversation, conversations["zora"]))
    safety.block(sam, User.by_username("zora"))
    found = text(client.get("/messages?q=zo"))
    said = visible_text(found)
    assert NAMES.findall(found) == ["Zoë Ødegård"]
    assert "You hid your conversation with Zoltan Hidden . Show it again , with Zoltan Hidden" in said
    assert "Zora" not in said
    assert "You hid" not in visible_text(client.get("/messages?q=buyer"))
    back = re.search(r'<form method="post" action="(/messages/(\d+)/unhide)"', found)
    assert int(back.group(2)) == conversations["zoltan"]
    assert client.post(back.group(1)).location == f"/messages/{conversations['zoltan']}"
    assert sorted(NAMES.findall(text(client.get("/messages?q=zo")))) == ["Zoltan Hidden", "Zoë Ødegård"]


def test_a_searched_list_stays_the_search_as_news_comes(seller, login):
    """The live answer and a send's answer bring the list as the page shows it (X-WB-List): a search's,
    with only the rows that match, however many others changed."""
    from messaging_ops_helpers import converse
    from wb.messaging import live

    sam, buyers, conversations = seller
    client = login(sam)
    since = live.newest_for(sam.id)
    converse(buyers[0], sam, ["Still there?"])
    converse(buyers[9], sam, ["Zoë again: still there?"])
    answer = client.get(f"/messages/live?since={since}", headers={"X-WB-List": "page=1&q=odegard&active=0"}).get_json()
    assert NAMES.findall(answer["list"]) == ["Zoë Ødegård"]
    rows = json.loads(html.unescape(re.search(r"data-list-rows='([^']*)'", answer["list"]).group(1)))
    assert [row[2] for row in rows] == ["Zoë Ødegård"]  # the list's order: only what the search finds
    sent = client.post(f"/messages/{conversations['zoe_o']}", data={"body": "Yes, come by"},
                       headers={"HX-Request": "true", "X-WB-List": "page=1&q=odegard"})
    assert NAMES.findall(sent.get_data(as_text=True)) == ["Zoë Ødegård"]


@pytest.mark.parametrize("typed", ["\x00", "zo\x00e", "\u202ezo", "z" * 500, "%", "_", "\\", "  "])
def test_odd_searches_answer_a_list_never_an_error(seller, login, typed):
    from urllib.parse import quote

    sam, _, _ = seller
    client = login(sam)
    for path in (f"/messages?q={quote(typed)}", f"/messages/list?q={quote(typed)}"):
        answer = client.get(path, headers={"HX-Request": "true"} if "list" in path else {})
        if "\x00" in typed:  # refused before any page is drawn, as every address with a NUL is
            assert answer.status_code == 400 and "a NUL byte" in visible_text(answer), path
        else:
            assert answer.status_code == 200, path
    live = client.get("/messages/live?since=0", headers={"X-WB-List": f"page=1&q={quote(typed)}&active=0"})
    assert live.status_code == 200
