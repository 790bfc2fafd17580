"""Learning of a message in a background tab, in a real Chromium: the count in the tab title, desktop notices."""
import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips these tests (or fails them when WB_REQUIRE_BROWSER=1)
    expect = None

from .conftest import BADGE_WAIT_MS, THREAD_WAIT_MS, failed_resource, sign_in_here
from .test_messaging_e2e import open_conversation, send

pytestmark = pytest.mark.browser

# The test decides whether the tab is hidden, and sees every notice the page makes
# (the real Notification is still called, with the permission the context was granted).
WATCH_NOTICES = """
window.wbTabHidden = false;
Object.defineProperty(Document.prototype, "hidden", { get: function () { return window.wbTabHidden; } });
Object.defineProperty(Document.prototype, "visibilityState", {
  get: function () { return window.wbTabHidden ? "hidden" : "visible"; } });
window.wbNotices = [];
if ("Notification" in window) {
  var Real = window.Notification;
  var Watched = function (title, options) {
    window.wbNotices.push({ title: title, body: (options && options.body) || "", tag: (options && options.tag) || "" });
    document.documentElement.setAttribute("data-test-notices", String(window.wbNotices.length));
    return new Real(title, options);
  };
  Object.defineProperty(Watched, "permission", { get: function () { return Real.permission; } });
  Watched.requestPermission = function () { return Real.requestPermission.apply(Real, arguments); };
  window.Notification = Watched;
}
"""
SECRET = "The spare key is under the blue flowerpot"


def test_the_tab_title_shows_the_unread_count_on_every_page(browsing, server):
    alice, bob = server.create_member("alice"), server.create_member("bob")
    bob_page = browsing.sign_in(bob)
    bob_page.goto("/requests")
    bob_page.wait_for_load_state("load")
    title = bob_page.title()
    assert not title.startswith("(")

    alice_page = browsing.sign_in(alice)
    open_conversation(alice_page, bob, "Bob")
    send(alice_page, "Are you free on Saturday?")
    expect(alice_page.locator("li.message.mine")).to_have_count(1, timeout=THREAD_WAIT_MS)
    expect(bob_page).to_have_title(f"(1) {title}", timeout=BADGE_WAIT_MS)
    send(alice_page, "Around ten?")
    expect(bob_page).to_have_title(f"(2) {title}", timeout=BADGE_WAIT_MS)

    bob_page.goto("/messages")
    expect(bob_page).to_have_title("(2) Messages · WhiteBalloon")
    bob_page.locator(".conversation a").first.click()
    # read: the count leaves the title (the thread's own title is "Alice · Messages")
    expect(bob_page).to_have_title("Alice · Messages · WhiteBalloon", timeout=BADGE_WAIT_MS)


def test_a_hidden_tab_gets_one_notice_naming_the_sender_without_the_text(browsing, server):
    alice, bob = server.create_member("alice"), server.create_member("bob", display_name="Bob")
    bob_page = browsing.sign_in(bob)
    bob_page.context.grant_permissions(["notifications"], origin=server.url)
    bob_page.context.add_init_script(WATCH_NOTICES)
    bob_page.goto("/settings")
    bob_page.wait_for_load_state("load")
    switch = bob_page.get_by_role("button", name="Turn on desktop notifications")
    expect(switch).to_be_visible()
    switch.click()
    expect(bob_page.get_by_role("button", name="Turn off desktop notifications")).to_be_visible()
    # Turning them on shows what a notice looks like (and whether this browser can show one).
    assert [notice["title"] for notice in bob_page.evaluate("window.wbNotices")] == ["Desktop notifications are on"]
    bob_page.goto("/requests")  # any page: the choice belongs to this browser
    bob_page.wait_for_load_state("load")
    bob_page.evaluate("window.wbTabHidden = true")

    alice_page = browsing.sign_in(alice)
    open_conversation(alice_page, bob, "Bob")
    send(alice_page, SECRET)
    expect(alice_page.locator("li.message.mine")).to_have_count(1, timeout=THREAD_WAIT_MS)
    # (the page's CSP forbids wait_for_function's eval: the watcher marks <html> instead)
    expect(bob_page.locator("html")).to_have_attribute("data-test-notices", "1", timeout=BADGE_WAIT_MS + 3000)
    notices = bob_page.evaluate("window.wbNotices")
    assert [notice["title"] for notice in notices] == ["New message from Alice"]
    assert SECRET not in str(notices) and notices[0]["body"] == ""

    # A visible tab gets no notice: the member sees the badge.
    bob_page.evaluate("window.wbTabHidden = false")
    send(alice_page, "and one more")
    expect(bob_page.locator("#inbox-badge .badge")).to_have_text("2", timeout=BADGE_WAIT_MS)
    assert len(bob_page.evaluate("window.wbNotices")) == 1


def test_nothing_is_asked_until_the_member_chooses_and_a_refusal_is_explained(browsing, server):
    bob = server.create_member("bob")
    bob_page = browsing.sign_in(bob)
    bob_page.context.add_init_script(
        "window.wbAsked = 0; if ('Notification' in window) { var ask = Notification.requestPermission;"
        " Notification.requestPermission = function () { window.wbAsked += 1; return Promise.resolve('denied'); }; }")
    bob_page.goto("/settings")
    bob_page.wait_for_load_state("load")
    assert bob_page.evaluate("window.wbAsked") == 0
    bob_page.get_by_role("button", name="Turn on desktop notifications").click()
    expect(bob_page.locator("[data-desktop-status]").first).to_contain_text("block notifications")
    assert bob_page.evaluate("window.wbAsked") == 1
    bob_page.reload()
    bob_page.wait_for_load_state("load")
    expect(bob_page.locator("[data-desktop-status]").first).to_contain_text("block notifications")
    assert bob_page.evaluate("window.wbAsked") == 0


def test_a_question_closed_without_an_answer_is_explained(browsing, server):
    """"Off for you in this browser." was all the panel said after the browser's question was dismissed (a
    marketplace tester): it says what happened and what to do."""
    bob = server.create_member("bob")
    bob_page = browsing.sign_in(bob)
    bob_page.context.add_init_script(
        "if ('Notification' in window) { Notification.requestPermission = function () { return Promise.resolve('default'); }; }")
    bob_page.goto("/settings")
    bob_page.wait_for_load_state("load")
    bob_page.get_by_role("button", name="Turn on desktop notifications").click()
    expect(bob_page.locator("[data-desktop-status]").first).to_have_text(
        "Off for you in this browser: its question was closed without an answer. Press the button again and choose Allow to "
        "turn them on.")
    expect(bob_page.get_by_role("button", name="Turn on desktop notifications")).to_be_visible()


# Chrome on Android offers the permission, then throws at every notice a page makes.
THROWING_NOTICES = """
var Throwing = function () { throw new TypeError("Illegal constructor. Use ServiceWorkerRegistration.showNotification() instead."); };
Object.defineProperty(Throwing, "permission", { get: function () { return window.wbPermission || "default"; } });
Throwing.requestPermission = function () { window.wbPermission = "granted"; return Promise.resolve("granted"); };
window.Notification = Throwing;
"""


def test_a_browser_that_cant_show_a_pages_notices_says_so_and_emails_are_offered(browsing, server):
    bob = server.create_member("bob")
    bob_page = browsing.sign_in(bob)
    bob_page.context.add_init_script(THROWING_NOTICES)
    errors = []
    bob_page.on("pageerror", lambda error: errors.append(str(error)))
    bob_page.goto("/settings")
    bob_page.wait_for_load_state("load")
    bob_page.get_by_role("button", name="Turn on desktop notifications").click()
    status = bob_page.locator("[data-desktop-status]").first
    expect(status).to_contain_text("can't show desktop notifications from a web page")
    expect(status).to_contain_text("Email notifications, above, can tell you instead.")  # on Settings: that section
    expect(bob_page.locator("[data-desktop-toggle]").first).to_be_hidden()
    expect(bob_page.get_by_label("Show a preview of the message in the notice")).to_be_hidden()  # nothing to preview
    bob_page.goto("/messages")  # remembered by this browser: not offered again
    bob_page.wait_for_load_state("load")
    expect(bob_page.locator("[data-desktop-toggle]").first).to_be_hidden()
    expect(bob_page.locator("[data-desktop-status]").first).to_contain_text("Email notifications (in Settings)")
    assert errors == []


def test_save_email_choices_saves_the_address_typed_above_them_and_a_bad_one_keeps_all_typed(browsing, server,
                                                                                             artifacts):
    """A new member typed an address, ticked "Soon" and pressed the big Save email choices button: the address
    was dropped without a word (an outside tester; Add address was needed). Both are saved now; an address the
    server refuses saves nothing, says what to press, and keeps the box, its focus and the choices."""
    from wb.extensions import db
    from wb.models import User
    from wb.notifications.models import EmailSettings

    member = server.create_member("margaret")
    page = browsing.sign_in(member)
    page.goto("/settings#email")
    browsing.allow_console_error(failed_resource(400))  # the refused address's page
    card = page.locator("#email")
    card.get_by_label("Email address").fill("margaret@example")  # a browser lets it through; we don't
    card.get_by_label("Soon after a message arrives").check()
    card.get_by_label("Don't name who wrote").check()
    card.get_by_role("button", name="Save email choices").click()
    box = page.locator("#email").get_by_label("Email address")
    expect(box).to_be_focused()
    expect(box).to_have_value("margaret@example")
    expect(box).to_have_accessible_description(re.compile(r"Nothing was saved\. .*press Save email choices again\."))
    expect(page.locator("#email").get_by_label("Soon after a message arrives")).to_be_checked()
    expect(page.locator("#email").get_by_label("Don't name who wrote")).to_be_checked()
    page.screenshot(path=artifacts / "email-choices-refused-address-desktop.png")

    box.fill("margaret@example.org")
    page.locator("#email").get_by_role("button", name="Save email choices").click()
    expect(page).to_have_url(server.url + "/settings#email")
    expect(page.locator(".flashes")).to_have_text(
        "Saved margaret@example.org: look in that inbox for our link. Email about unread messages: soon after a "
        "message arrives, without naming who wrote. Nothing is sent until you confirm an email address.")
    expect(page.locator("[data-email-status=unconfirmed]")).to_contain_text("margaret@example.org")
    with server.app.app_context():
        row = db.session.get(EmailSettings, db.session.scalar(db.select(User.id).where(User.username == member)))
        assert (row.address, row.frequency, row.name_writers) == ("margaret@example.org", "soon", False)

    # Enter in the box still presses Change address, the button beside it
    page.locator("#email").get_by_label("New email address").fill("maggie@example.org")
    page.locator("#email").get_by_label("New email address").press("Enter")
    expect(page.locator(".flashes")).to_have_text("Saved maggie@example.org: look in that inbox for our link.")


def test_one_members_notice_choices_are_not_the_next_members_on_a_shared_browser(browsing, server):
    """Dave turned on notices with previews and signed out; Carol, signed in next on the same
    computer, got notices showing her therapist's words without ever choosing them (a therapy
    practice's tester). Each member's choices are their own; Dave's wait for Dave."""
    alice = server.create_member("alice", display_name="Alice")
    carol, dave = server.create_member("carol"), server.create_member("dave")
    page = browsing.sign_in(dave, viewport={"width": 390, "height": 844})
    page.context.grant_permissions(["notifications"], origin=server.url)
    page.context.add_init_script(WATCH_NOTICES)
    page.goto("/settings")
    page.get_by_role("button", name="Turn on desktop notifications").click()
    expect(page.get_by_role("button", name="Turn off desktop notifications")).to_be_visible()
    page.get_by_label("Show a preview of the message in the notice").check()
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()

    sign_in_here(page, carol)
    page.goto("/settings")
    page.wait_for_load_state("load")
    expect(page.get_by_role("button", name="Turn on desktop notifications")).to_be_visible()
    expect(page.locator("[data-desktop-status]").first).to_have_text("Off for you in this browser.")
    expect(page.get_by_label("Show a preview of the message in the notice")).not_to_be_checked()
    page.goto("/requests")
    page.wait_for_load_state("load")
    page.evaluate("window.wbTabHidden = true")
    alice_page = browsing.sign_in(alice)
    open_conversation(alice_page, carol, "Carol")
    send(alice_page, SECRET)
    expect(page.locator("#inbox-badge .badge")).to_have_text("1", timeout=BADGE_WAIT_MS)
    assert page.evaluate("window.wbNotices") == []

    page.get_by_role("button", name="Sign out", exact=True).click()
    sign_in_here(page, dave)
    page.goto("/settings")
    expect(page.get_by_role("button", name="Turn off desktop notifications")).to_be_visible()
    expect(page.get_by_label("Show a preview of the message in the notice")).to_be_checked()
