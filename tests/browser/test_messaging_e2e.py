"""Two members messaging in a real Chromium: the live channel, htmx swaps, focus, badges, the phone layout.

Every test signs in fresh members through the login form and does what a person would:
click, type, press Enter, and wait (with Playwright's auto-waiting expect) for what they
would see. Waits are what the live channel takes plus a margin; nothing sleeps.
"""
import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips these tests (or fails them when WB_REQUIRE_BROWSER=1)
    expect = None

from .conftest import BADGE_WAIT_MS, MESSAGE_RATE_LIMIT, PASSWORD, THREAD_WAIT_MS, failed_resource

pytestmark = pytest.mark.browser

THREAD_URL = re.compile(r"/messages/\d+$")
INBOX_URL = re.compile(r"/messages$")
PHONE = {"width": 390, "height": 844}


# --- what a member does ---------------------------------------------------------------------


def open_conversation(page, username, name):
    """From the member's profile, press "Message"; lands in the thread."""
    page.goto(f"/people/{username}")
    press_message(page, name)
    expect(page.locator("#thread h2 a")).to_have_text(name)


def press_message(page, name):
    page.get_by_role("button", name=f"Message {name}").click()
    expect(page).to_have_url(THREAD_URL)
    # Scripts are deferred: until "load", Enter would only add a line, as for any early typist.
    page.wait_for_load_state("load")


def compose_box(page):
    return page.locator("#compose textarea")


def send(page, text):
    """Type into the compose box and press Enter (fill: the keystrokes are not what is tested).

    A person starts the next message once the last one has left (the box empties as it leaves)
    and types it into what the box holds: fill replaces it. So a send on its way lands first,
    else fill would wipe a message typed while it travelled, kept in the box to follow it
    (app.js): a screen reader test sent three messages at once and Alice's badge, waiting for
    the third, stayed at two (what CI caught under load)."""
    expect(page.locator("#compose.htmx-request")).to_have_count(0)
    box = compose_box(page)
    box.fill(text)
    box.press("Enter")


def remember_document(page):
    """Mark this document, so a later check can tell the page was never reloaded."""
    page.evaluate("window.wbSameDocument = true")


def assert_not_reloaded(page):
    assert page.evaluate("window.wbSameDocument === true"), "the page was reloaded"


HORIZONTAL_OVERFLOW = """() => {
  const width = window.innerWidth;
  const offenders = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || box.right <= width + 0.5) continue;
    let clipped = false;  // inside a scroll or clip box that itself fits
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== "visible" && up.getBoundingClientRect().right <= width + 0.5) {
        clipped = true;
        break;
      }
    }
    if (!clipped) offenders.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
      (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "") +
      " right=" + Math.round(box.right));
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width, offenders: offenders.slice(0, 10)};
}"""


def assert_no_horizontal_overflow(page):
    result = page.evaluate(HORIZONTAL_OVERFLOW)
    assert result["scrollWidth"] <= result["innerWidth"], f"{page.url} scrolls sideways: {result}"
    assert not result["offenders"], f"{page.url} has content past the right edge: {result}"


# --- scenarios --------------------------------------------------------------------------------


def test_alice_sends_from_bobs_profile_and_the_message_appears_without_reload(browsing, server):
    alice, bob = server.create_member("alice"), server.create_member("bob")
    page = browsing.sign_in(alice)
    open_conversation(page, bob, "Bob")
    remember_document(page)

    box = compose_box(page)
    box.click()
    box.press_sequentially("Hi Bob,")
    box.press("Shift+Enter")
    box.press_sequentially("I can lend you the ladder on Saturday.")
    box.press("Enter")

    mine = page.locator("#thread-messages li.message.mine")
    expect(mine).to_have_count(1, timeout=THREAD_WAIT_MS)
    expect(mine.locator(".body")).to_have_text("Hi Bob,\nI can lend you the ladder on Saturday.")
    expect(compose_box(page)).to_have_value("")
    expect(compose_box(page)).to_be_focused()
    expect(page.locator("#thread-messages .thread-empty")).to_have_count(0)
    assert_not_reloaded(page)


def test_what_alice_types_while_a_send_is_on_its_way_is_sent_next(browsing, server):
    alice, bob = server.create_member("alice"), server.create_member("bob")
    page = browsing.sign_in(alice)
    open_conversation(page, bob, "Bob")
    # Both Enters in one go, so the second surely comes while the first send is in flight.
    page.evaluate("""() => {
      const box = document.querySelector("#compose textarea");
      const enter = () => box.dispatchEvent(new KeyboardEvent("keydown", {key: "Enter", bubbles: true, cancelable: true}));
      box.value = "First thought";
      enter();
      box.value = "Second thought";
      enter();
    }""")
    bodies = page.locator("#thread-messages li.message.mine .body")
    expect(bodies).to_have_text(["First thought", "Second thought"], timeout=THREAD_WAIT_MS)
    expect(compose_box(page)).to_have_value("")
    expect(compose_box(page)).to_be_focused()


def test_bob_sees_the_badge_then_reads_alices_message(browsing, server, artifacts):
    alice, bob, carol = (server.create_member(name) for name in ("alice", "bob", "carol"))
    bob_page = browsing.sign_in(bob)
    # An older conversation of Bob's, so that "Alice first" means something.
    open_conversation(bob_page, carol, "Carol")
    send(bob_page, "Thanks for the soup, Carol!")
    expect(bob_page.locator("li.message.mine")).to_have_count(1, timeout=THREAD_WAIT_MS)
    bob_page.goto("/")
    badge = bob_page.locator("#inbox-badge")
    expect(badge).to_have_text("Messages")
    remember_document(bob_page)

    alice_page = browsing.sign_in(alice)
    open_conversation(alice_page, bob, "Bob")
    send(alice_page, "Could you water my plants while I'm away next week?")
    expect(alice_page.locator("li.message.mine")).to_have_count(1, timeout=THREAD_WAIT_MS)

    expect(badge.locator(".badge")).to_have_text("1", timeout=BADGE_WAIT_MS)
    expect(bob_page.locator("#dashboard-unread")).to_contain_text("1 unread message", timeout=BADGE_WAIT_MS)
    assert_not_reloaded(bob_page)

    badge.click()
    expect(bob_page).to_have_url(INBOX_URL)
    rows = bob_page.locator(".conversation")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator(".conversation-name")).to_have_text("Alice")
    expect(rows.nth(0).locator(".conversation-preview")).to_have_text("Could you water my plants while I'm away next week?")
    expect(rows.nth(0).locator(".badge")).to_have_text("1")
    expect(rows.nth(1).locator(".conversation-name")).to_have_text("Carol")
    expect(rows.nth(1).locator(".badge")).to_have_count(0)
    bob_page.screenshot(path=artifacts / "inbox-desktop.png", full_page=True)

    rows.nth(0).get_by_role("link").click()
    expect(bob_page).to_have_url(THREAD_URL)
    expect(bob_page.locator("li.message.theirs .body")).to_have_text("Could you water my plants while I'm away next week?")
    expect(bob_page.locator("#inbox-badge")).to_have_text("Messages", timeout=BADGE_WAIT_MS)
    expect(bob_page.locator(".conversation.active .badge")).to_have_count(0)
    bob_page.screenshot(path=artifacts / "thread-desktop.png", full_page=True)


def test_alice_sees_seen_and_bobs_reply_arrives_live(browsing, server):
    alice, bob = server.create_member("alice"), server.create_member("bob")
    alice_page = browsing.sign_in(alice)
    open_conversation(alice_page, bob, "Bob")
    send(alice_page, "Are you around tomorrow afternoon?")
    mine = alice_page.locator("#thread-messages li.message.mine")
    expect(mine).to_have_count(1, timeout=THREAD_WAIT_MS)
    expect(alice_page.locator(".seen-label")).to_have_count(0)
    remember_document(alice_page)

    bob_page = browsing.sign_in(bob)
    bob_page.goto(alice_page.url)
    expect(bob_page.locator("li.message.theirs .body")).to_have_text("Are you around tomorrow afternoon?")
    expect(bob_page.locator("#inbox-badge")).to_have_text("Messages", timeout=BADGE_WAIT_MS)

    expect(mine.locator(".seen-label")).to_have_text("Seen", timeout=THREAD_WAIT_MS)

    send(bob_page, "Yes, from two o'clock. Come by!")
    theirs = alice_page.locator("#thread-messages li.message.theirs")
    expect(theirs.locator(".body")).to_have_text("Yes, from two o'clock. Come by!", timeout=THREAD_WAIT_MS)
    expect(alice_page.locator(".seen-label")).to_have_count(1)
    expect(alice_page.locator("#thread-messages li.message")).to_have_count(2)
    assert_not_reloaded(alice_page)


def test_phone_layout_stacks_list_and_thread(browsing, server, artifacts):
    alice = server.create_member("alice")
    bob = server.create_member("bob", display_name="Bartholomew Featherstonehaugh-Wolfeschlegelsteinhausen")
    page = browsing.sign_in(alice, viewport=PHONE)
    assert_no_horizontal_overflow(page)

    page.goto(f"/people/{bob}")
    assert_no_horizontal_overflow(page)
    press_message(page, "Bartholomew")
    send(page, "A link without a single space: https://example.org/" + "very-long-path-segment-" * 12)
    send(page, "And a short one.")
    expect(page.locator("li.message.mine")).to_have_count(2, timeout=THREAD_WAIT_MS)

    conversation_list, thread = page.locator(".inbox-list"), page.locator(".inbox-thread")
    expect(thread).to_be_visible()
    expect(conversation_list).to_be_hidden()
    assert_no_horizontal_overflow(page)
    page.screenshot(path=artifacts / "thread-phone.png")
    # The heading names the other member: on a phone the header's actions move under it rather
    # than squeeze it to a letter (a name this long may end in an ellipsis, but its start shows).
    heading = page.locator("#thread h2")
    assert heading.bounding_box()["width"] >= 150

    back = page.get_by_role("link", name="All conversations")
    expect(back).to_be_visible()
    back.click()
    expect(page).to_have_url(INBOX_URL)
    expect(conversation_list).to_be_visible()
    expect(thread).to_be_hidden()
    expect(page.locator(".conversation")).to_have_count(1)
    box = conversation_list.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert_no_horizontal_overflow(page)
    page.screenshot(path=artifacts / "inbox-phone.png")

    page.locator(".conversation a").click()
    expect(page).to_have_url(THREAD_URL)
    expect(thread).to_be_visible()
    expect(conversation_list).to_be_hidden()


def test_a_message_menu_loads_its_actions_and_deletes_for_both(browsing, server):
    """The menu under a message is opened from the keyboard; its actions load then; deleting
    asks first, and both members then see "Message deleted" without a reload."""
    alice, bob = server.create_member("alice"), server.create_member("bob")
    alice_page = browsing.sign_in(alice)
    open_conversation(alice_page, bob, "Bob")
    send(alice_page, "Sorry, wrong person!")
    mine = alice_page.locator("#thread-messages li.message.mine")
    expect(mine).to_have_count(1, timeout=THREAD_WAIT_MS)
    bob_page = browsing.sign_in(bob)
    bob_page.goto(alice_page.url)
    expect(bob_page.locator("li.message.theirs .body")).to_have_text("Sorry, wrong person!")
    remember_document(alice_page)

    mine.locator("summary").focus()
    alice_page.keyboard.press("Enter")
    delete = mine.get_by_role("button", name="Delete for both")
    expect(delete).to_be_visible()
    expect(mine.get_by_role("button", name="Remove for me")).to_be_visible()
    questions = []
    alice_page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    delete.focus()
    alice_page.keyboard.press("Enter")
    expect(mine.locator(".body")).to_have_text("Message deleted")
    assert questions == ["Delete this message for both of you? It can't be undone. "
                         "A member who has reported or blocked you keeps their copy."]
    assert_not_reloaded(alice_page)
    # The focus stays at the message (its ⋯), not back at the top of the page.
    expect(mine.locator("summary")).to_be_focused()

    # Bob's open thread shows the delete without a reload (his live channel); his menu on
    # Alice's message offers only removal from his own view.
    theirs = bob_page.locator("li.message.theirs")
    expect(theirs.locator(".body")).to_have_text("Message deleted", timeout=THREAD_WAIT_MS)
    theirs.locator("summary").click()
    expect(theirs.get_by_role("button", name="Remove for me")).to_be_visible()
    expect(theirs.get_by_role("button", name="Delete for both")).to_have_count(0)
    bob_page.reload()
    expect(bob_page.locator("li.message.theirs .body")).to_have_text("Message deleted")


def test_messaging_switched_off_by_the_admin_hides_everything(browsing, start_server):
    # A server of its own: switching the flag must not pull the rug from other tests.
    live = start_server()
    live.set_messaging(True)
    admin, alice, bob = live.create_member("root", role="admin"), live.create_member("alice"), live.create_member("bob")
    # Alice's open page holds /messages/live, which answers 404 once messaging is off.
    browsing.allow_console_error(failed_resource(404))

    from .test_conversation_ui_e2e import seed_messages

    seed_messages(live, bob, alice, ["Are you in tonight?"])
    alice_page = browsing.sign_in(alice, server=live)
    alice_page.goto(f"/people/{bob}")
    message_button = alice_page.get_by_role("button", name="Message Bob")
    expect(message_button).to_be_visible()
    expect(alice_page.locator("#inbox-badge")).to_be_visible()
    expect(alice_page).to_have_title(re.compile(r"^\(1\) "))
    remember_document(alice_page)

    admin_page = browsing.sign_in(admin, server=live)
    admin_page.goto("/admin/settings")
    row = admin_page.locator("#flag-direct_messaging")
    expect(row.locator(".flag-state")).to_have_text("Currently on.")
    # The switch asks first; saying no keeps messaging on.
    questions = []
    admin_page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    row.get_by_role("button", name="Turn off direct messaging").click()
    assert questions and questions[0].startswith("Turn direct messaging off?")
    expect(row.locator(".flag-state")).to_have_text("Currently on.")
    admin_page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Turn off direct messaging").click()
    expect(row.locator(".flag-state")).to_have_text("Currently off.")
    expect(row.get_by_role("button", name="Turn on direct messaging")).to_have_text("Turn on direct messaging")

    # The page Alice already had open drops its badge (its live channel ends), showing no error in its place,
    # says messaging is off and offers no Message button (an outside tester found it kept, leading to the 404).
    expect(alice_page.locator("#inbox-badge")).to_have_count(0, timeout=BADGE_WAIT_MS)
    expect(alice_page.locator(".site-header .error-box")).to_have_count(0)
    expect(alice_page.get_by_role("alert").filter(has_text="Messaging is switched off.")).to_be_visible()
    expect(message_button).to_have_count(0)
    # nor a count in the tab's title of messages she can't open now (it stayed: a street's tester)
    expect(alice_page).not_to_have_title(re.compile(r"^\(\d+\) "))
    assert_not_reloaded(alice_page)

    alice_page.reload()
    expect(alice_page.get_by_role("heading", name="Bob", exact=True)).to_be_visible()
    expect(message_button).to_have_count(0)
    expect(alice_page.locator("#inbox-badge")).to_have_count(0)

    response = alice_page.goto("/messages")
    assert response.status == 404
    expect(alice_page.locator(".error-code")).to_have_text("Error code 404")
    expect(alice_page.get_by_role("heading", name="Messaging is switched off")).to_be_visible()
    expect(alice_page.locator("main")).to_contain_text("Your conversations are kept")
    expect(alice_page.locator("#inbox-badge")).to_have_count(0)


def test_compose_errors_show_in_the_compose_area_and_keep_the_text(browsing, server):
    # The deliberate 400 (a control character) and 429 (rate limit) responses, and nothing else.
    browsing.allow_console_error(failed_resource(400))
    browsing.allow_console_error(failed_resource(429))
    alice, bob = server.create_member("alice"), server.create_member("bob")
    page = browsing.sign_in(alice)
    open_conversation(page, bob, "Bob")
    error = page.locator("#compose .compose-error")
    mine = page.locator("#thread-messages li.message.mine")

    # Too long is held back on the page now (the count says it); the server's refusal of a control
    # character comes back the same way a too-long one did.
    too_long = "x" * 5001
    send(page, too_long)
    expect(page.locator("#compose-length")).to_have_text("1 character too many (5,000 at most)")
    expect(compose_box(page)).to_have_value(too_long)
    refused = "Ring the bell \x07 please"
    send(page, refused)
    expect(error).to_contain_text("Messages can only contain text")
    expect(compose_box(page)).to_have_value(refused)
    expect(compose_box(page)).to_be_focused()
    expect(mine).to_have_count(0)
    # A refusal of the text goes once the member writes again ("Write something before sending"
    # stayed above the words typed since, with the box marked invalid: a residents' building's tester).
    compose_box(page).press("End")
    compose_box(page).press_sequentially("!")
    expect(error).to_have_count(0)
    expect(compose_box(page)).not_to_have_attribute("aria-invalid", "true")
    compose_box(page).fill("")
    page.locator("#compose button[type=submit]").click()
    expect(error).to_have_text("Write something before sending.")
    expect(compose_box(page)).to_have_attribute("aria-invalid", "true")
    compose_box(page).press_sequentially("Hi")
    expect(error).to_have_count(0)
    expect(compose_box(page)).to_have_value("Hi")
    # Enter says so too (it did nothing a keyboard user could hear: a residents' building's tester)
    compose_box(page).fill("  ")
    compose_box(page).press("Enter")
    expect(error).to_have_text("Write something before sending.")
    expect(compose_box(page)).to_have_attribute("aria-invalid", "true")
    compose_box(page).fill("")
    compose_box(page).press_sequentially("Hi")
    expect(error).to_have_count(0)

    limit = int(MESSAGE_RATE_LIMIT.split()[0])
    for number in range(1, limit + 1):
        send(page, f"Message number {number}")
        expect(mine).to_have_count(number, timeout=THREAD_WAIT_MS)
        expect(error).to_have_count(0)

    page.clock.install()  # the wait below passes at once
    send(page, "One message too many")
    expect(error).to_contain_text("You're sending messages very quickly")
    expect(error).to_contain_text("Try again in")
    expect(compose_box(page)).to_have_value("One message too many")
    expect(mine).to_have_count(limit)
    compose_box(page).press_sequentially("!")  # a limit's wait is still true: it stays
    expect(error).to_contain_text("Try again in")
    # and the words go on from the end of the text that came back (they went in front: a re-check tester)
    expect(compose_box(page)).to_have_value("One message too many!")
    # Once the wait is over, it says so ("Try again in 46 seconds" stayed: a marketplace's tester), and
    # until then the seconds count down ("56 seconds" stood still), read out once: an alert no more.
    first = int(re.search(r"Try again in (\d+) seconds?\.", error.inner_text()).group(1))
    page.clock.run_for(30_000)
    now = int(re.search(r"Try again in (\d+) seconds?\.", error.inner_text()).group(1))
    assert first - 32 <= now <= first - 30, (first, now)  # (the page's clock ran on a little while it was read)
    expect(error).not_to_have_attribute("role", "alert")
    page.clock.run_for(31_000)
    ready = page.locator("#compose .compose-ready")
    expect(ready).to_have_text("You can send again now.")
    expect(ready).to_have_attribute("role", "status")  # news, no longer an error
    expect(compose_box(page)).not_to_have_attribute("aria-invalid", "true")


def test_no_console_errors_or_csp_violations_on_any_page(browsing, server):
    admin = server.create_member("root", role="admin")
    alice, bob = server.create_member("alice"), server.create_member("bob")

    visitor = browsing.new_page()
    for path in ("/", "/login", "/requests"):
        response = visitor.goto(path)
        assert response.ok, (path, response.status)

    page = browsing.sign_in(alice)
    page.goto("/requests/new")
    page.get_by_label("What do you need?").fill("A lift to the station on Friday")
    page.get_by_label("Details").fill("Early train, around 6am.")
    page.get_by_role("button", name="Post request").click()
    expect(page.get_by_role("heading", name="A lift to the station on Friday")).to_be_visible()
    request_path = page.url
    open_conversation(page, bob, "Bob")
    send(page, "Hello from the tour")
    expect(page.locator("li.message.mine")).to_have_count(1, timeout=THREAD_WAIT_MS)
    thread_path = page.url
    for path in ("/", "/requests", request_path, "/members", f"/people/{bob}", f"/people/{bob}/report",
                 "/settings", "/messages", "/messages?filter=unread", thread_path):
        response = page.goto(path)
        assert response.ok, (path, response.status)

    admin_page = browsing.sign_in(admin)
    for path in ("/admin/settings", "/admin/messaging", "/admin/members", "/admin/reports", f"/people/{alice}"):
        response = admin_page.goto(path)
        assert response.ok, (path, response.status)

    assert browsing.unexpected_problems() == []


def test_a_style_a_browser_extension_puts_on_the_compose_box_breaks_no_csp_rule(browsing, server):
    """Extensions (spelling checkers, password managers) style the fields they touch through the
    DOM, which our CSP allows; htmx's settling would copy that style attribute onto the box the
    send's answer draws, which our CSP refuses (a console error, a violation report)."""
    alice, bob = server.create_member("alice"), server.create_member("bob")
    page = browsing.sign_in(alice)
    open_conversation(page, bob, "Bob")
    compose_box(page).evaluate("box => { box.style.outline = '2px solid orange'; }")  # as an extension does
    send(page, "Hello, with an extension on")
    expect(page.locator("li.message.mine")).to_have_count(1, timeout=THREAD_WAIT_MS)
    expect(compose_box(page)).to_have_value("")
    page.wait_for_timeout(300)  # htmx settles a moment after the swap
    assert browsing.unexpected_problems() == []


def test_the_console_watch_catches_csp_violations(browsing, server):
    """The watch itself: an inline script is refused by our CSP, and the test would fail."""
    page = browsing.new_page()
    page.goto("/login")
    with page.expect_console_message(lambda message: "CSP violation" in message.text):
        page.evaluate("""() => {
          const script = document.createElement("script");
          script.textContent = "window.inlineRan = true";
          document.body.appendChild(script);
        }""")
    assert page.evaluate("window.inlineRan === undefined")
    assert any("CSP violation: script-src" in problem for problem in browsing.unexpected_problems())
    browsing.problems.clear()  # provoked on purpose


def test_a_url_in_a_message_is_a_link_and_a_script_url_is_not(browsing, server):
    alice, bob = server.create_member("alice"), server.create_member("bob")
    page = browsing.sign_in(alice)
    open_conversation(page, bob, "Bob")
    send(page, "Read https://example.org/a?b=1&c=2.")
    mine = page.locator("#thread-messages li.message.mine")
    expect(mine).to_have_count(1, timeout=THREAD_WAIT_MS)
    send(page, "javascript:alert(1)")
    expect(mine).to_have_count(2, timeout=THREAD_WAIT_MS)

    link = mine.nth(0).locator(".body a")
    expect(link).to_have_text("https://example.org/a?b=1&c=2")
    expect(link).to_have_attribute("href", "https://example.org/a?b=1&c=2")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "nofollow noopener ugc")
    expect(mine.nth(1).locator(".body")).to_have_text("javascript:alert(1)")
    expect(mine.nth(1).locator(".body a")).to_have_count(0)
    # Each message came by its own poll: one "Today" between them all, and one time label.
    expect(page.locator("#thread-messages li.day-separator")).to_have_text(["Today"])
    expect(mine.nth(1)).to_have_class(re.compile(r"\bgrouped\b"))



def test_a_page_left_open_while_messaging_was_off_draws_itself_again_when_it_is_back(browsing, start_server):
    """While messaging is off the page's live channel waits for it to be switched on; when it is back
    the page is drawn again within a second or two (it asked every LIVE_RETRY_SECONDS, ten by
    default, here longer than the test waits), and news reaches it as before."""
    live = start_server(LIVE_RETRY_SECONDS=60)
    live.set_messaging(True)
    alice, bob = live.create_member("alice"), live.create_member("bob")
    browsing.allow_console_error(failed_resource(404))
    alice_page, bob_page = browsing.sign_in(alice, server=live), browsing.sign_in(bob, server=live)
    open_conversation(alice_page, bob, "Bob")
    send(alice_page, "Before the pause")
    open_conversation(bob_page, alice, "Alice")
    expect(alice_page.locator("#inbox-badge")).to_be_visible()

    live.set_messaging(False)
    expect(alice_page.locator("#poller")).to_have_count(0, timeout=BADGE_WAIT_MS)  # the thread's parts leave
    live.set_messaging(True)
    expect(alice_page.locator("#poller")).to_have_count(1, timeout=BADGE_WAIT_MS)  # drawn again
    expect(bob_page.locator("#poller")).to_have_count(1, timeout=BADGE_WAIT_MS)  # Bob's page too, by itself
    bob_page.wait_for_load_state("load")
    send(bob_page, "After the pause")
    expect(alice_page.locator("#thread-messages")).to_contain_text("After the pause", timeout=BADGE_WAIT_MS)


def test_a_page_drawn_while_messaging_was_off_hears_of_the_switch_and_of_a_sign_out(browsing, start_server):
    """A page opened while messaging was off had no live channel: it stayed as it was when messaging
    came back, and when the member signed out everywhere (an operator tester)."""
    live = start_server(LIVE_RETRY_SECONDS=60)  # longer than the test waits: the channel's hold does it
    live.set_messaging(False)
    alice, bob = live.create_member("alice"), live.create_member("bob")
    browsing.allow_console_error(failed_resource(404))
    page = browsing.sign_in(alice, server=live)
    page.goto("/requests")
    expect(page.locator("#inbox-badge")).to_have_count(0)
    expect(page.locator("#messaging-off-notice")).to_have_count(0)  # nothing to say: it was never there
    page.wait_for_timeout(500)  # the channel is held now
    live.set_messaging(True)
    expect(page.locator("#inbox-badge")).to_be_visible(timeout=BADGE_WAIT_MS)  # drawn again, with messaging

    live.set_messaging(False)
    other = browsing.sign_in(bob, server=live)
    other.goto("/requests")
    page.wait_for_timeout(500)
    elsewhere = browsing.sign_in(bob, server=live)
    elsewhere.goto("/settings#sessions")
    elsewhere.once("dialog", lambda dialog: dialog.accept())
    elsewhere.locator("#sessions").get_by_role("button", name="Sign out everywhere").click()
    expect(other).to_have_url(re.compile(r"/login\?.*ended=elsewhere"), timeout=BADGE_WAIT_MS)


def test_a_comment_or_request_being_written_when_the_session_ends_elsewhere_is_kept(browsing, server):
    """The sign-in page says what was being typed is kept; only an unsent message was: a comment, and a
    new request's title and details, were gone after signing in again (a street's tester)."""
    from wb.extensions import db
    from wb.models import HelpRequest, User

    edna, dave = server.create_member("edna"), server.create_member("dave")
    with server.app.app_context():
        item = HelpRequest(author_id=User.by_username(dave).id, title="Check on Mr Patel", body="He's 90.")
        db.session.add(item)
        db.session.commit()
        request_id = item.id
    page, new = browsing.sign_in(edna, viewport=PHONE), browsing.sign_in(edna)
    page.goto(f"/requests/{request_id}")
    page.get_by_label("Add a comment").fill("I'll knock at 6 and take him soup.")
    new.goto("/requests/new")
    new.get_by_label("What do you need?").fill("Lift to the clinic")
    new.get_by_label("Details").fill("Thursday at 9, and back.")
    page.wait_for_timeout(500)  # the live channels are held now
    elsewhere = browsing.sign_in(edna)
    elsewhere.goto("/settings#sessions")
    elsewhere.once("dialog", lambda dialog: dialog.accept())
    elsewhere.locator("#sessions").get_by_role("button", name="Sign out everywhere").click()
    for tab in (page, new):
        expect(tab).to_have_url(re.compile(r"/login\?.*ended=elsewhere"), timeout=BADGE_WAIT_MS)
        tab.get_by_label("Username").fill(edna)
        tab.get_by_label("Password").fill(PASSWORD)
        tab.get_by_role("button", name="Sign in").click()
    expect(page.get_by_label("Add a comment")).to_have_value("I'll knock at 6 and take him soup.")
    expect(new.get_by_label("What do you need?")).to_have_value("Lift to the clinic")
    expect(new.get_by_label("Details")).to_have_value("Thursday at 9, and back.")
    new.reload()  # kept once: a page drawn again after that starts empty
    expect(new.get_by_label("What do you need?")).to_have_value("")


def test_a_comment_posted_as_the_session_ends_elsewhere_comes_back_and_a_form_left_as_drawn_brings_nothing_old(
        browsing, server):
    """Post pressed before the page heard the session had ended: the sign-in came back to the post's address
    (405) and the comment was gone (a re-check tester). And Settings left untouched brought its old bio
    back over the one saved elsewhere meanwhile (the same tester)."""
    from wb.extensions import db
    from wb.models import HelpRequest, User

    edna, dave = server.create_member("edna"), server.create_member("dave")
    with server.app.app_context():
        item = HelpRequest(author_id=User.by_username(dave).id, title="Check on Mr Patel", body="He's 90.")
        db.session.add(item)
        User.by_username(edna).bio = "Has a van"
        db.session.commit()
        request_id = item.id
    page, settings = browsing.sign_in(edna, viewport=PHONE), browsing.sign_in(edna)
    page.route("**/messages/live*", lambda route: None)  # a phone just woken: it hasn't heard yet
    page.goto(f"/requests/{request_id}")
    page.get_by_label("Add a comment").fill("I'll knock at 6.")
    settings.goto("/settings")
    elsewhere = browsing.sign_in(edna)
    elsewhere.goto("/settings")
    elsewhere.get_by_label("Bio").fill("Moved to number 12")
    elsewhere.get_by_role("button", name="Save profile").click()
    elsewhere.goto("/settings#sessions")
    elsewhere.once("dialog", lambda dialog: dialog.accept())
    elsewhere.locator("#sessions").get_by_role("button", name="Sign out everywhere").click()
    page.get_by_role("button", name="Post comment").click()
    expect(page).to_have_url(re.compile(rf"/login\?next=/requests/{request_id}&"))
    page.unroute_all(behavior="ignoreErrors")
    page.get_by_label("Username").fill(edna)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(rf"/requests/{request_id}$"))
    expect(page.get_by_label("Add a comment")).to_have_value("I'll knock at 6.")

    expect(settings).to_have_url(re.compile(r"/login\?.*ended=elsewhere"), timeout=BADGE_WAIT_MS)
    settings.get_by_label("Username").fill(edna)
    settings.get_by_label("Password").fill(PASSWORD)
    settings.get_by_role("button", name="Sign in").click()
    expect(settings.get_by_label("Bio")).to_have_value("Moved to number 12")


@pytest.mark.parametrize("viewport", [PHONE, {"width": 1280, "height": 800}], ids=["phone", "desktop"])
def test_a_name_bio_or_title_without_spaces_stays_on_the_page(browsing, server, viewport, artifacts):
    """One member's unbroken display name, bio and request title wrap where they are shown: the
    directory, the request list and page, the profile and the home page never scroll sideways
    for everyone else (found by an outside tester: the directory was 22,000 pixels wide)."""
    from wb.extensions import db
    from wb.models import Comment, HelpRequest, User

    alice = server.create_member("alice")
    long_one = server.create_member("wide", display_name="W" * 80)
    with server.app.app_context():
        author = User.by_username(long_one)
        author.bio = "B" * 2000
        item = HelpRequest(author_id=author.id, title="T" * 120, body="D" * 3000)
        db.session.add(item)
        db.session.flush()
        db.session.add(Comment(request_id=item.id, author_id=author.id, body="C" * 3000))
        db.session.commit()
        request_id = item.id
    page = browsing.sign_in(alice, viewport=viewport)
    for path in ("/", "/members", "/requests", f"/requests/{request_id}", f"/people/{long_one}"):
        page.goto(path)
        assert_no_horizontal_overflow(page)
        name = path.strip("/").split("/")[0] or "home"
        page.screenshot(path=artifacts / f"long-words-{name}-{viewport['width']}.png")


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, PHONE], ids=["desktop", "phone"])
def test_a_half_written_message_waits_while_another_conversation_is_open(browsing, server, viewport):
    """Typed and not sent, a message is still in the box after picking another conversation in the
    list (desktop) or going back to all conversations (phone) and coming back; once sent, nothing
    comes back (found by an outside tester: the box came back empty)."""
    alice, bob, carol = (server.create_member(name) for name in ("alice", "bob", "carol"))
    page = browsing.sign_in(alice, viewport=viewport)
    open_conversation(page, carol, "Carol")
    send(page, "Hello Carol")
    open_conversation(page, bob, "Bob")
    send(page, "Hello Bob")
    expect(page.locator("#thread-messages li.message.mine")).to_have_count(1, timeout=THREAD_WAIT_MS)
    compose_box(page).fill("Half-written: the ladder is")

    def leave_and_come_back():
        if viewport is PHONE:
            page.get_by_role("link", name="All conversations").click()
            expect(page).to_have_url(INBOX_URL)
        page.locator(".conversation a", has_text="Carol").click()
        expect(page.locator("#thread h2 a")).to_have_text("Carol")
        expect(compose_box(page)).to_have_value("")
        if viewport is PHONE:
            page.get_by_role("link", name="All conversations").click()
        page.locator(".conversation a", has_text="Bob").click()
        expect(page.locator("#thread h2 a")).to_have_text("Bob")

    leave_and_come_back()
    expect(compose_box(page)).to_have_value("Half-written: the ladder is")
    compose_box(page).press("Enter")
    expect(page.locator("#thread-messages li.message.mine")).to_have_count(2, timeout=THREAD_WAIT_MS)
    leave_and_come_back()
    page.wait_for_timeout(300)
    expect(compose_box(page)).to_have_value("")


def test_signing_out_forgets_what_was_typed(browsing, server):
    """A shared computer: after "Sign out" the next person to sign in on this tab finds no draft,
    though leaving a page keeps one."""
    alice, bob = server.create_member("alice"), server.create_member("bob")
    page = browsing.sign_in(alice)
    open_conversation(page, bob, "Bob")
    thread_path = page.url.split(server.url, 1)[1]
    compose_box(page).fill("My new door code is 1234")
    page.locator("form.sign-out button").click()
    expect(page.get_by_role("link", name="Sign in").or_(page.get_by_role("button", name="Sign in")).first).to_be_visible()
    page.goto("/login")
    page.get_by_label("Username").fill(alice)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(thread_path)
    expect(page.locator("#thread h2 a")).to_have_text("Bob")
    page.wait_for_timeout(300)
    expect(compose_box(page)).to_have_value("")
    assert page.evaluate("Object.keys(window.sessionStorage).filter(k => k.startsWith('wb-draft:'))") == []


def test_the_admins_messaging_page_fits_a_phone(browsing, server, artifacts):
    """The storage table's location (a long path) wraps inside the card rather than needing a
    sideways scroll on a phone (found by an outside tester)."""
    admin = server.create_member("admin", role="admin")
    page = browsing.sign_in(admin, viewport=PHONE)
    for path in ("/admin/messaging", "/admin/settings"):
        page.goto(path)
        assert_no_horizontal_overflow(page)
        wide = page.evaluate("""() => [...document.querySelectorAll("table.table")]
            .filter(t => t.scrollWidth > t.clientWidth + 1).map(t => t.closest("section")?.id || t.className)""")
        assert wide == [], f"{path}: tables that scroll sideways: {wide}"
    page.goto("/admin/messaging")
    page.screenshot(path=artifacts / "admin-messaging-phone.png", full_page=True)
