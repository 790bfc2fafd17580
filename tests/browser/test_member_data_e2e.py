"""A member's own choices in a real Chromium: read receipts, Mute in the thread header, downloading
their conversations and closing their account, at desktop and phone widths."""
import io
import json
import re
import zipfile

import pytest

from .conftest import BADGE_WAIT_MS, PASSWORD, THREAD_WAIT_MS, failed_resource

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips these tests (or fails them when WB_REQUIRE_BROWSER=1)
    expect = None

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def converse(server, sender: str, recipient: str, *bodies) -> int:
    """sender writes each body to recipient; returns the conversation id."""
    from wb.messaging import writes
    from wb.models import User

    with server.app.app_context():
        conversation, _created = writes.open_conversation(User.by_username(sender), User.by_username(recipient))
        for body in bodies:
            writes.send_message(User.by_username(sender), conversation, body)
        return conversation.id


def unread_of(server, username: str, conversation_id: int) -> int:
    from wb.extensions import db
    from wb.messaging.models import ConversationMembership as CM
    from wb.models import User

    with server.app.app_context():
        return db.session.scalar(db.select(CM.unread_count).where(
            CM.user_id == User.by_username(username).id, CM.conversation_id == conversation_id))


def test_read_receipts_switched_off_in_settings_hide_seen_both_ways(browsing, server, artifacts):
    alice, bob = server.create_member("alice"), server.create_member("bob")
    cid = converse(server, alice, bob, "Did the parcel come?")
    bob_page = browsing.sign_in(bob)
    bob_page.goto("/settings#read-receipts")
    box = bob_page.get_by_label("Let others see when I've read their messages")
    expect(box).to_be_checked()  # on by default
    expect(bob_page.locator("#read-receipts")).to_contain_text("It works both ways")
    bob_page.locator("#read-receipts").screenshot(path=artifacts / "settings-read-receipts.png")
    box.uncheck()
    bob_page.locator("#read-receipts").get_by_role("button", name="Save").click()
    expect(bob_page.locator(".flash, [role=status]").first).to_contain_text("don't see when you've read")
    expect(bob_page.get_by_label("Let others see when I've read their messages")).not_to_be_checked()

    bob_page.goto(f"/messages/{cid}")  # Bob reads: his own badge clears
    expect(bob_page.locator("#inbox-badge .badge")).to_have_count(0, timeout=BADGE_WAIT_MS)
    assert unread_of(server, bob, cid) == 0
    alice_page = browsing.sign_in(alice)
    alice_page.goto(f"/messages/{cid}")
    expect(alice_page.locator("#thread-messages li.message").first).to_be_visible()
    expect(alice_page.locator(".seen-label")).to_have_count(0)

    bob_page.goto("/settings#read-receipts")  # on again: what he read meanwhile stays unsaid
    bob_page.get_by_label("Let others see when I've read their messages").check()
    bob_page.locator("#read-receipts").get_by_role("button", name="Save").click()
    expect(bob_page.locator("#read-receipts .flash")).to_contain_text("see when you've read")
    alice_page.reload()
    expect(alice_page.locator("#thread-messages li.message").first).to_be_visible()
    expect(alice_page.locator(".seen-label")).to_have_count(0)
    # His next read, with receipts on, reaches Alice's open thread.
    alice_page.locator("#compose textarea").fill("Still waiting for it?")
    alice_page.locator("#compose textarea").press("Enter")
    expect(alice_page.locator("#thread-messages li.message")).to_have_count(2, timeout=THREAD_WAIT_MS)
    bob_page.goto(f"/messages/{cid}")
    expect(alice_page.locator(".seen-label")).to_have_count(1, timeout=THREAD_WAIT_MS)


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_mute_in_the_thread_header_keeps_the_count_out_of_the_badge(browsing, server, artifacts, viewport):
    alice, bob, carol = server.create_member("alice"), server.create_member("bob"), server.create_member("carol")
    with_bob = converse(server, bob, alice, "One", "Two")
    converse(server, carol, alice, "Hi from Carol")
    page = browsing.sign_in(alice, viewport=viewport)
    expect(page.locator("#inbox-badge .badge")).to_have_text("3", timeout=BADGE_WAIT_MS)

    page.goto(f"/messages/{with_bob}")
    page.get_by_role("button", name="Mute", exact=True).click()
    expect(page.get_by_role("button", name="Unmute")).to_be_visible()
    expect(page.locator("[data-flashes]")).to_contain_text("Conversation muted")
    label = "phone" if viewport else "desktop"
    page.screenshot(path=artifacts / f"thread-muted-{label}.png")
    page.goto("/")
    expect(page.locator("#inbox-badge .badge")).to_have_text("1")
    expect(page).to_have_title(re.compile(r"^\(1\) "))

    converse(server, bob, alice, "Three")  # a new message in the muted conversation: no badge change
    page.goto("/messages")
    row = page.locator(f'li.conversation[data-conversation-id="{with_bob}"]')
    expect(row).to_contain_text("Muted")
    page.screenshot(path=artifacts / f"inbox-muted-{label}.png")
    expect(page.locator("#inbox-badge .badge")).to_have_text("1")

    page.goto(f"/messages/{with_bob}")
    page.get_by_role("button", name="Unmute").click()
    expect(page.get_by_role("button", name="Mute", exact=True)).to_be_visible()


def test_muting_in_one_tab_reaches_the_members_other_tab(browsing, server, artifacts):
    """The other tab learns of the mute through its live channel: its badge and title drop the
    muted conversation's count and its list marks it Muted, without a reload; a new message there
    changes the list but not the badge."""
    alice, bob, carol = server.create_member("alice"), server.create_member("bob"), server.create_member("carol")
    with_bob = converse(server, bob, alice, "One", "Two")
    converse(server, carol, alice, "Hi from Carol")
    inbox = browsing.sign_in(alice)
    inbox.goto("/messages")
    expect(inbox.locator("#inbox-badge .badge")).to_have_text("3", timeout=BADGE_WAIT_MS)
    other_tab = inbox.context.new_page()
    other_tab.goto(f"/messages/{with_bob}")
    other_tab.get_by_role("button", name="Mute", exact=True).click()
    expect(other_tab.get_by_role("button", name="Unmute")).to_be_visible()

    row = inbox.locator(f'li.conversation[data-conversation-id="{with_bob}"]')
    expect(row).to_contain_text("Muted", timeout=BADGE_WAIT_MS)
    expect(inbox.locator("#inbox-badge .badge")).to_have_text("1", timeout=BADGE_WAIT_MS)
    expect(inbox).to_have_title(re.compile(r"^\(1\) "))
    converse(server, bob, alice, "Three")
    expect(row.locator(".conversation-preview")).to_have_text("Three", timeout=BADGE_WAIT_MS)
    expect(inbox.locator("#inbox-badge .badge")).to_have_text("1")
    inbox.screenshot(path=artifacts / "inbox-muted-from-another-tab.png")


def test_download_then_close_the_account_erasing_what_i_sent(browsing, server, artifacts):
    alice, bob = server.create_member("alice", display_name="Alice <b>Ames</b>"), server.create_member("bob")
    cid = converse(server, alice, bob, "My address is 4 Pine Road")
    converse(server, bob, alice, "Thanks, on my way")
    page = browsing.sign_in(alice)
    page.goto("/settings#your-data")
    page.locator("#your-data").screenshot(path=artifacts / "settings-your-data.png")
    with page.expect_download() as waiting:
        page.get_by_role("button", name="Download my conversations").click()
    download = waiting.value
    assert download.failure() is None, (download.failure(), server.log_tail())
    assert download.suggested_filename.startswith("whiteballoon-conversations-")
    archive = zipfile.ZipFile(io.BytesIO(open(download.path(), "rb").read()))
    everything = json.loads(archive.read("conversations.json"))
    assert [m["body"] for m in everything["conversations"][0]["messages"]] == [
        "My address is 4 Pine Road", "Thanks, on my way"]
    # Once an hour: the second download says so (a link marked `download` would fail it silently).
    browsing.allow_console_error(failed_resource(429))
    page.get_by_role("button", name="Download my conversations").click()
    expect(page.get_by_role("heading", name="Not yet")).to_be_visible()
    expect(page.locator("main")).to_contain_text("You can download them again in 60 minutes")

    bob_page = browsing.sign_in(bob, viewport=PHONE)
    bob_page.goto(f"/messages/{cid}")  # Bob's thread is open while Alice leaves
    expect(bob_page.locator("#thread-messages")).to_contain_text("Pine Road")
    other_tab = page.context.new_page()  # another tab of hers, a reply half written
    other_tab.goto(f"/messages/{cid}")
    other_tab.locator("#compose-body").fill("Half a reply she will never send")
    page.goto("/settings")
    page.get_by_role("link", name="Close my account…").click()
    expect(page.get_by_role("heading", name="Close my account")).to_be_visible()
    page.get_by_label("Also erase the text of the messages I sent").check()
    page.get_by_label("Your password, to confirm").fill(PASSWORD)
    page.screenshot(path=artifacts / "close-account.png", full_page=True)
    page.get_by_role("button", name="Close my account").click()
    expect(page.locator(".flash, [role=status]").first).to_contain_text("Your account is closed")
    expect(page.locator(".whoami")).to_have_count(0)
    # That tab goes to a sign-in page saying the account is closed, and forgets what it held (it said
    # "sign in again" and kept the draft: outside testers).
    expect(other_tab).to_have_url(re.compile(r"/login\?.*ended=closed"), timeout=THREAD_WAIT_MS)
    expect(other_tab.get_by_role("status")).to_contain_text("This account is closed, so it can't be signed in to again.")
    # The words show as the page is read; the drafts go once its scripts have run (DOMContentLoaded):
    # looked at in between, under CI's load, the draft was still there.
    other_tab.wait_for_load_state("load")
    assert other_tab.evaluate("Object.keys(sessionStorage).filter(k => k.startsWith('wb-draft:'))") == []

    # His open thread is drawn again at once: her text gone, a former member, no compose box.
    expect(bob_page.locator(".thread-head h2")).to_have_text("former member", timeout=THREAD_WAIT_MS)
    expect(bob_page.locator("#thread-messages")).not_to_contain_text("Pine Road")
    expect(bob_page.locator("#compose-body")).to_have_count(0)
    bob_page.goto(f"/messages/{cid}")
    expect(bob_page.locator(".thread-head h2")).to_have_text("former member")
    expect(bob_page.locator("#thread-messages .deleted-text")).to_have_text(["Message deleted"])
    expect(bob_page.locator("#thread-messages")).not_to_contain_text("Pine Road")
    bob_page.screenshot(path=artifacts / "thread-former-member-phone.png")


def test_the_page_that_closes_the_account_says_so_though_the_live_channel_heard_first(browsing, server):
    """The close's own answer tells the member, not the live channel's news of it: under load (in CI)
    the channel heard of the closing before the answer came, and sent the page to the sign-in page's
    "This account is closed" instead of the member's "Your account is closed"."""
    import time

    alice = server.create_member("alice")
    page = browsing.sign_in(alice)
    page.goto("/settings/close")
    page.wait_for_timeout(1000)  # the page's live request is on its way, held

    def answered_late(route):
        answer = route.fetch(max_redirects=0)  # the account is closed now, and the held ask answered
        time.sleep(2)  # the channel's answer reaches the page before this one does
        route.fulfill(response=answer)

    page.route(re.compile(r"/settings/close$"), lambda route: answered_late(route)
               if route.request.method == "POST" else route.continue_())
    page.get_by_label("Your password, to confirm").fill(PASSWORD)
    page.get_by_role("button", name="Close my account").click()
    expect(page.locator(".flash, [role=status]").first).to_contain_text("Your account is closed")
    expect(page).not_to_have_url(re.compile(r"ended="))  # where the channel would have sent it
    page.wait_for_timeout(1000)  # nothing sends the page elsewhere after
    expect(page.locator(".flash, [role=status]").first).to_contain_text("Your account is closed")
