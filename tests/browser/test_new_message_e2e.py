"""Starting a conversation from the inbox in a real Chromium: New message, type, pick, write."""
import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips these tests (or fails them when WB_REQUIRE_BROWSER=1)
    expect = None

pytestmark = pytest.mark.browser

THREAD_URL = re.compile(r"/messages/\d+$")


def test_alice_starts_a_conversation_with_bob_from_the_inbox(browsing, server, artifacts):
    alice = server.create_member("alice")
    server.create_member("bob", display_name="Bob Quillfeather")
    page = browsing.sign_in(alice)
    page.goto("/messages")
    page.wait_for_load_state("load")
    new_message = page.locator("details.new-message summary")
    search = page.get_by_label("Find a member by name or username")

    # Escape closes the box and gives focus back to the control that opened it.
    new_message.click()
    expect(search).to_be_focused()
    page.keyboard.press("Escape")
    expect(search).to_be_hidden()
    expect(new_message).to_be_focused()

    page.keyboard.press("Enter")  # the focused summary opens it again
    expect(search).to_be_focused()
    search.press_sequentially("quillf", delay=30)
    results = page.locator("#new-message-results")
    bob_button = results.get_by_role("button", name="Message Bob Quillfeather")
    expect(bob_button).to_be_visible()
    # It looks like the button it is, with "Message" in sight (a touch screen shows no hover).
    expect(bob_button.locator(".member-result-action")).to_have_text("Message")
    expect(bob_button.locator(".member-result-action")).to_be_visible()
    page.screenshot(path=artifacts / "new-message-found-desktop.png")
    expect(results).to_have_attribute("aria-live", "polite")
    # The results are real buttons: the keyboard reaches Bob's after the Search button.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(bob_button).to_be_focused()
    page.keyboard.press("Enter")

    expect(page).to_have_url(THREAD_URL)
    expect(page.locator("#thread h2 a")).to_have_text("Bob Quillfeather")
    expect(page.locator("#compose textarea")).to_be_visible()
