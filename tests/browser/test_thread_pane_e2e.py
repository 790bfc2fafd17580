"""Picking a conversation in the inbox list swaps only the thread pane, in a real Chromium."""
import re
import time

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips these tests (or fails them when WB_REQUIRE_BROWSER=1)
    expect = None

from .conftest import THREAD_WAIT_MS

pytestmark = pytest.mark.browser

# Short enough that Alice's list of conversations scrolls.
SHORT = {"width": 1280, "height": 560}


def seed_conversation(server, sender: str, recipient: str, body: str, read: bool = False) -> int:
    """sender opens a conversation with recipient and writes body (read by recipient, if read); returns its id."""
    from wb.messaging import writes
    from wb.models import User

    with server.app.app_context():
        author, reader = User.by_username(sender), User.by_username(recipient)
        conversation, _created = writes.open_conversation(author, reader)
        writes.send_message(author, conversation, body)
        if read:
            writes.mark_read(reader, conversation)
        return conversation.id


def test_picking_a_conversation_swaps_the_pane_and_back_restores_the_thread(browsing, server):
    alice = server.create_member("alice")
    bob, carol = server.create_member("bob"), server.create_member("carol")
    # Newest first: Carol's conversation is the oldest, at the bottom of a list that scrolls.
    with_carol = seed_conversation(server, carol, alice, "carol says hi")
    for _ in range(8):
        seed_conversation(server, server.create_member("filler"), alice, "just filling the list")
    # Already read: opening an unread thread marks it read, which refreshes the list and
    # replaces its rows while this test works with them.
    with_bob = seed_conversation(server, bob, alice, "bob says hi", read=True)

    page = browsing.sign_in(alice, viewport=SHORT)
    page.goto(f"/messages/{with_bob}")
    page.wait_for_load_state("load")
    expect(page.locator("#thread-messages")).to_contain_text("bob says hi")
    page.evaluate("window.wbSameDocument = true")
    page.evaluate("document.getElementById('conversation-list').wbSameList = true")
    carol_row = page.locator(f'#conversation-list li[data-conversation-id="{with_carol}"]')
    carol_row.scroll_into_view_if_needed()
    scrolled = page.evaluate("document.querySelector('.inbox-list').scrollTop")
    assert scrolled > 0, "the list should scroll at this height"

    carol_row.locator("a").click()
    expect(page).to_have_url(re.compile(rf"/messages/{with_carol}$"))
    expect(page.locator("#thread h2 a")).to_have_text("Carol")
    expect(page.locator("#thread-messages")).to_contain_text("carol says hi")
    expect(page.locator("#thread-messages")).not_to_contain_text("bob says hi")
    # (after the unread count of the other conversations, which the tab title carries)
    expect(page).to_have_title(re.compile(r"^(\(\d+\) )?Carol · Messages · WhiteBalloon$"))
    # Picked with the mouse: the box takes the focus, ready to type (a tester's reply went nowhere
    # with the focus on the heading); from the keyboard the heading does (test_conversation_ui_e2e).
    expect(page.locator("#compose-body")).to_be_focused()
    # The list is the same node, still scrolled; the current marker moved to Carol's row.
    assert page.evaluate("window.wbSameDocument === true"), "the page was reloaded"
    assert page.evaluate("document.getElementById('conversation-list').wbSameList === true")
    # (within a few pixels: Carol's row dropped its unread badge, so the list got shorter)
    assert page.evaluate("document.querySelector('.inbox-list').scrollTop") >= scrolled - 10
    expect(carol_row).to_have_class(re.compile(r"\bactive\b"))
    expect(carol_row.locator("a")).to_have_attribute("aria-current", "page")
    expect(carol_row.locator(".badge")).to_have_count(0)  # opened, so read: as the server draws it
    expect(page.locator("#conversation-list [aria-current]")).to_have_count(1)
    expect(page.locator("#conversation-list li.active")).to_have_count(1)
    # One poller, the new thread's: the old one left with its thread.
    expect(page.locator("#poller")).to_have_count(1)
    expect(page.locator("#poller")).to_have_attribute("hx-get", re.compile(rf"^/messages/{with_carol}/poll"))

    # Writing in the swapped-in thread works: the send, then the poller brings the message.
    box = page.locator("#compose textarea")
    box.fill("hello carol, from the pane")
    box.press("Enter")
    expect(page.locator("#thread-messages")).to_contain_text("hello carol, from the pane", timeout=THREAD_WAIT_MS)
    expect(box).to_have_value("")

    page.go_back()
    expect(page).to_have_url(re.compile(rf"/messages/{with_bob}$"))
    expect(page.locator("#thread h2 a")).to_have_text("Bob")
    expect(page.locator("#thread-messages")).to_contain_text("bob says hi")
    expect(page.locator("#thread-messages")).not_to_contain_text("carol says hi")
    expect(page.locator(f'#conversation-list li[data-conversation-id="{with_bob}"] a')).to_have_attribute("aria-current", "page")
    expect(page.locator("#poller")).to_have_count(1)
    expect(page.locator("#poller")).to_have_attribute("hx-get", re.compile(rf"^/messages/{with_bob}/poll"))

    page.go_forward()
    expect(page).to_have_url(re.compile(rf"/messages/{with_carol}$"))
    expect(page.locator("#thread-messages")).to_contain_text("hello carol, from the pane")


def test_on_a_phone_a_picked_conversation_shows_the_thread_and_focuses_its_heading(browsing, server):
    alice, bob = server.create_member("alice"), server.create_member("bob")
    with_bob = seed_conversation(server, bob, alice, "bob on the phone")
    page = browsing.sign_in(alice, viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page.goto("/messages")
    page.wait_for_load_state("load")
    expect(page.locator("#thread-pane")).to_be_hidden()
    page.locator(f'#conversation-list li[data-conversation-id="{with_bob}"] a').tap()
    expect(page).to_have_url(re.compile(rf"/messages/{with_bob}$"))
    expect(page.locator("#thread-messages")).to_contain_text("bob on the phone")
    expect(page.locator("#conversation-list")).to_be_hidden()  # stacked: the thread replaces the list
    expect(page.locator("#thread h2")).to_be_focused()  # not the compose box: no keyboard pops up
    page.go_back()
    expect(page).to_have_url(re.compile(r"/messages$"))
    expect(page.locator("#conversation-list")).to_be_visible()
    page.go_forward()  # the thread drawn again from the history: still no keyboard (a re-check tester)
    expect(page.locator("#thread-messages")).to_contain_text("bob on the phone")
    page.wait_for_timeout(300)  # the browser's autofocus comes at its next rendering
    expect(page.locator("#compose-body")).not_to_be_focused()


def unread_in(server, username: str, conversation_id: int) -> int:
    """The member's unread count in that conversation, as the server holds it."""
    from sqlalchemy import select

    from wb.extensions import db
    from wb.messaging.models import ConversationMembership as CM
    from wb.models import User

    with server.app.app_context():
        return db.session.scalar(select(CM.unread_count).where(
            CM.conversation_id == conversation_id, CM.user_id == User.by_username(username).id))


def test_on_a_phone_back_to_the_list_keeps_its_page_filter_and_place(browsing, server):
    """Working down a long list on a phone: "All conversations" and Back return to the list
    (its filter too) scrolled where the member left it, not to the top of page one."""
    alice = server.create_member("alice")
    senders = [server.create_member("filler") for _ in range(24)]
    ids = [seed_conversation(server, sender, alice, f"note {number}") for number, sender in enumerate(senders)]
    page = browsing.sign_in(alice, viewport={"width": 390, "height": 844})

    for way in ("link", "back"):
        page.goto("/messages?filter=unread")
        page.wait_for_load_state("load")
        row = page.locator("#conversation-list li.conversation a").nth(10)
        row.scroll_into_view_if_needed()
        page.evaluate("window.scrollBy(0, 40)")
        left_at = page.evaluate("window.scrollY")
        assert left_at > 400, "the list should scroll on a phone"
        picked = row.get_attribute("href")
        row.click()
        assert picked.endswith("?filter=unread")  # the row carries its list's place (a reload keeps it)
        expect(page).to_have_url(re.compile(rf"{re.escape(picked)}$"))
        expect(page.locator("#conversation-list")).to_be_hidden()
        # The thread reads itself (its poller's read, once drawn): the list it goes back to counts it read.
        deadline = time.monotonic() + 5
        while unread_in(server, alice, int(picked.split("?")[0].rsplit("/", 1)[1])):
            assert time.monotonic() < deadline, "the opened thread was never marked read"
            page.wait_for_timeout(50)
        if way == "link":
            page.locator("#thread .back-link").click()
        else:
            page.go_back()
        expect(page).to_have_url(re.compile(r"/messages\?filter=unread$"))
        expect(page.locator("#conversation-list")).to_be_visible()
        deadline = time.monotonic() + 5
        while abs(page.evaluate("window.scrollY") - left_at) >= 60:  # (the page's CSP allows no wait_for_function)
            assert time.monotonic() < deadline, f"the list opened at {page.evaluate('window.scrollY')}, left at {left_at}"
            page.wait_for_timeout(50)
        # (the conversation just read has left the unread list: its neighbour is where it was)
        assert page.locator("#conversation-list li.conversation").count() == len(ids) - (1 if way == "link" else 2)

    # A thread opened from elsewhere: its link opens the inbox, it doesn't go back out of it.
    page.goto("/")
    page.goto(f"/messages/{ids[0]}")
    page.locator("#thread .back-link").click()
    expect(page).to_have_url(re.compile(r"/messages$"))


def test_back_to_the_list_keeps_the_desktop_notices_switch_and_a_long_draft_its_count(browsing, server):
    """Two things an outside tester found gone after moving between conversations: the inbox's
    "Desktop notifications" (until a reload) and a long draft's count of characters left (until
    the next key)."""
    alice, bob, carol = server.create_member("alice"), server.create_member("bob"), server.create_member("carol")
    with_bob = seed_conversation(server, bob, alice, "bob says hi", read=True)
    with_carol = seed_conversation(server, carol, alice, "carol says hi", read=True)
    page = browsing.sign_in(alice, viewport={"width": 390, "height": 844})
    page.goto("/messages")
    notices = page.locator(".inbox-list [data-desktop-notices]")
    expect(notices).to_be_visible()
    page.locator(f'#conversation-list li[data-conversation-id="{with_bob}"] a').click()
    expect(page.locator("#thread-messages")).to_contain_text("bob says hi")
    box = page.locator("#compose-body")
    box.fill("a" * 4600)
    expect(page.locator("#compose-length")).to_have_text("400 characters left")
    page.get_by_role("link", name="All conversations").click()
    expect(page.locator("#conversation-list")).to_be_visible()
    expect(notices).to_be_visible()
    summary = notices.get_by_text("Desktop notifications", exact=True)
    summary.click()
    expect(notices.get_by_role("button", name="Turn on desktop notifications")).to_be_visible()
    notices.get_by_role("button", name="Turn on desktop notifications").focus()
    page.keyboard.press("Escape")  # folds again, as the other disclosures do
    expect(notices.get_by_role("button", name="Turn on desktop notifications")).to_be_hidden()
    expect(notices.locator("summary")).to_be_focused()

    page.locator(f'#conversation-list li[data-conversation-id="{with_carol}"] a').click()
    expect(page.locator("#thread-messages")).to_contain_text("carol says hi")
    page.go_back()  # the list again
    expect(page.locator("#conversation-list")).to_be_visible()
    expect(notices).to_be_visible()
    page.locator(f'#conversation-list li[data-conversation-id="{with_bob}"] a').click()  # its draft back, counted
    expect(page.locator("#thread-messages")).to_contain_text("bob says hi")
    expect(page.locator("#compose-body")).to_have_value("a" * 4600)
    expect(page.locator("#compose-length")).to_have_text("400 characters left")
    page.reload()
    expect(page.locator("#compose-body")).to_have_value("a" * 4600)
    expect(page.locator("#compose-length")).to_have_text("400 characters left")
