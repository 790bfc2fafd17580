"""Who may write to whom, as members see it in a real Chromium: an empty conversation stays the
opener's draft, a paused member's conversations say so before anyone types, and the "New message"
search and inbox explain the rules instead of finding no one."""
import re

import pytest

from .conftest import failed_resource

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips these tests (or fails them when WB_REQUIRE_BROWSER=1)
    expect = None

pytestmark = pytest.mark.browser

THREAD_URL = re.compile(r"/messages/(\d+)$")
PHONE = {"width": 390, "height": 844}


def test_pressing_message_alone_leaves_nothing_in_the_other_members_inbox(browsing, server):
    alice = server.create_member("alice", display_name="Alice Draft")
    bob = server.create_member("bob", display_name="Bob Draft")
    alice_page = browsing.sign_in(alice)
    alice_page.goto(f"/people/{bob}")
    alice_page.get_by_role("button", name="Message Bob Draft").click()
    expect(alice_page).to_have_url(THREAD_URL)
    thread_path = "/messages/" + THREAD_URL.search(alice_page.url).group(1)

    bob_page = browsing.sign_in(bob)
    bob_page.goto("/messages")
    expect(bob_page.locator(".inbox-list")).not_to_contain_text("Alice Draft")
    browsing.allow_console_error(failed_resource(404))
    response = bob_page.goto(thread_path)
    assert response.status == 404
    expect(bob_page.locator("main")).to_contain_text("doesn't exist")

    box = alice_page.locator("#compose textarea")
    box.fill("Hello Bob, are you free on Saturday?")
    box.press("Enter")
    expect(alice_page.locator("#thread")).to_contain_text("are you free on Saturday?")
    bob_page.goto("/messages")
    expect(bob_page.locator(".inbox-list")).to_contain_text("Alice Draft")
    bob_page.goto(thread_path)
    expect(bob_page.locator("#thread")).to_contain_text("are you free on Saturday?")


def test_a_paused_member_is_said_to_be_away_before_anyone_types(browsing, server, artifacts):
    alice = server.create_member("alice", display_name="Alice Writer")
    bob = server.create_member("bob", display_name="Bob Holiday")
    alice_page = browsing.sign_in(alice)
    alice_page.goto(f"/people/{bob}")
    alice_page.get_by_role("button", name="Message Bob Holiday").click()
    expect(alice_page).to_have_url(THREAD_URL)
    # Enter sends once the page's scripts run; a key pressed before that is a new line.
    alice_page.wait_for_load_state("load")
    alice_page.locator("#compose textarea").fill("See you after the holiday?")
    alice_page.locator("#compose textarea").press("Enter")
    expect(alice_page.locator("#thread")).to_contain_text("See you after the holiday?")
    thread_url = alice_page.url

    bob_page = browsing.sign_in(bob, viewport=PHONE)
    bob_page.goto("/settings")
    pause = bob_page.locator("#pause")
    expect(pause).to_contain_text("nobody but staff can write to you")
    pause.get_by_role("button", name="Pause messages").click()
    expect(bob_page.locator("#pause")).to_contain_text("Your messages are paused.")
    bob_page.locator("#pause").screenshot(path=artifacts / "settings-pause-phone.png")

    alice_page.goto(thread_url)
    expect(alice_page.locator("#compose textarea")).to_have_count(0)
    expect(alice_page.locator("#compose")).to_have_text(
        "Bob Holiday isn't accepting messages right now. Only they can change that.")
    alice_page.screenshot(path=artifacts / "thread-paused-desktop.png")

    bob_page.get_by_role("button", name="Turn messages back on").click()
    expect(bob_page.locator("#pause")).to_contain_text("Pause messages")
    alice_page.goto(thread_url)
    expect(alice_page.locator("#compose textarea")).to_be_visible()


@pytest.fixture(scope="module")
def ruled_server(start_server, browser):
    """A server of its own: only Volunteers start conversations, and Clinicians are protected."""
    from wb.circles import service as circles
    from wb.messaging.rule_changes import set_protection, set_starters

    live = start_server()
    live.set_messaging(True)
    names = {name: live.create_member(name, display_name=display)
             for name, display in (("alice", "Alice Volunteer"), ("carol", "Carol Clinician"), ("dave", "Dave Neighbour"))}
    with live.app.app_context():
        set_starters([circles.create("Volunteers")])
        circles.add_members(circles.by_name("Volunteers"), [names["alice"]])
        clinicians = circles.create("Clinicians")
        circles.add_members(clinicians, [names["carol"]])
        set_protection(clinicians, [])
    live.names = names
    return live


def test_new_message_search_lists_who_the_rules_keep_from_you_with_their_words(browsing, ruled_server, artifacts):
    names = ruled_server.names
    page = browsing.sign_in(names["alice"], server=ruled_server)
    page.goto("/messages")
    page.locator("details.new-message summary").click()
    page.get_by_label("Find a member by name or username").press_sequentially("clinician", delay=30)
    results = page.locator("#new-message-results")
    expect(results).to_contain_text("Carol Clinician")
    expect(results).to_contain_text("Carol Clinician is in Clinicians: new conversations with its members are "
                                    "started by staff and its own members. Once they write to you, you can reply.")
    expect(results.get_by_role("button", name="Message Carol Clinician")).to_have_count(0)
    expect(results).not_to_contain_text("No members match")
    page.screenshot(path=artifacts / "new-message-refused-desktop.png")
    # without JavaScript: the search's own page says the same
    plain = browsing.sign_in(names["alice"], server=ruled_server, java_script_enabled=False)
    plain.goto("/messages/new?q=clinician")
    expect(plain.locator("#new-message-results")).to_contain_text("Carol Clinician is in Clinicians")


def test_where_the_rules_let_a_member_start_with_nobody_the_inbox_says_so_once(browsing, ruled_server, artifacts):
    ruled_server.create_member("warden", role="admin", display_name="Wanda Warden")
    page = browsing.sign_in(ruled_server.names["dave"], server=ruled_server, viewport=PHONE)
    page.goto("/messages")
    note = page.locator("#new-message-refused")
    expect(note).to_contain_text("Starting conversations is open to members of Volunteers. You can write to the admins")
    # New message stays: it finds the admins, whom every member may write to.
    page.locator("details.new-message summary").click()
    page.get_by_label("Find a member by name or username").press_sequentially("wanda", delay=30)
    results = page.locator("#new-message-results")
    expect(results.get_by_role("button", name="Message Wanda Warden")).to_be_visible()
    expect(results).not_to_contain_text("Starting conversations is open")  # said once, above
    page.screenshot(path=artifacts / "inbox-cant-start-phone.png")
    note.get_by_role("link", name="See the circles and who the admins are").click()
    expect(page).to_have_url(re.compile(r"/circles$"))
