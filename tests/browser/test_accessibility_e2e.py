"""axe-core on every page a member or admin visits, in a real Chromium (issue 13).

axe-core comes from the npm registry, pinned and vendored next to this file (never served
to members): each page gets it as a script tag from Playwright (in a context that bypasses
our CSP, which rightly refuses the inline script), runs `axe.run()`, and the
test fails on any violation of impact "serious" or "critical", naming the rule, the
elements and axe's help.
"""
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips these tests (or fails them when WB_REQUIRE_BROWSER=1)
    expect = None

from .conftest import THREAD_WAIT_MS, failed_resource
from .test_thread_pane_e2e import seed_conversation

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js"
PHONE = {"width": 390, "height": 844}
SERIOUS = ("serious", "critical")

# The whole page, every rule axe ships for WCAG 2.x A/AA and its best practices.
RUN_AXE = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(" ") + (n.failureSummary ? " (" + n.failureSummary.replace(/\\s+/g, " ") + ")" : "")),
  }));
}"""


def axe_violations(page, label: str) -> list[str]:
    """The serious and critical violations on the page as it is now, one readable line each."""
    page.wait_for_load_state("load")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(RUN_AXE)
    return [
        f"{label} ({page.url}): {violation['impact']} {violation['id']}: {violation['help']}\n    "
        + "\n    ".join(violation["targets"][:8])
        for violation in found if violation["impact"] in SERIOUS
    ]


class AxeTour:
    """Visits pages and gathers their violations, so one failure lists every page's."""

    def __init__(self):
        self.problems: list[str] = []
        self.checked: list[str] = []

    def check(self, page, label: str) -> None:
        self.checked.append(label)
        self.problems.extend(axe_violations(page, label))

    def visit(self, page, path: str, label: str, status: int = 200) -> None:
        response = page.goto(path)
        assert response.status == status, (path, response.status)
        self.check(page, label)

    def assert_clean(self) -> None:
        assert not self.problems, (
            f"axe found serious or critical violations on {len(self.problems)} page checks:\n"
            + "\n".join(self.problems)
        )


# --- seeding --------------------------------------------------------------------------------


def invite_token(server) -> str:
    from wb.extensions import db
    from wb.models import Invite

    with server.app.app_context():
        invite = Invite.issue()
        db.session.commit()
        return invite.token


def spread_over_days(server, conversation_id: int) -> int:
    """Gives the conversation's messages a last week, a yesterday and a today; returns a message id."""
    from wb.extensions import db
    from wb.messaging.models import Message

    now = datetime.utcnow()
    moments = [now - timedelta(days=6), now - timedelta(days=1), now - timedelta(days=1) + timedelta(minutes=2),
               now - timedelta(minutes=5), now - timedelta(minutes=4)]
    with server.app.app_context():
        messages = db.session.scalars(
            db.select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
        ).all()
        for message, moment in zip(messages, moments):
            message.created_at = moment
        db.session.commit()
        return messages[-1].id


def chat_over_days(server, alice: str, bob: str) -> tuple[int, int]:
    """A conversation with a link and three days of messages; returns (its id, a message id of alice's)."""
    from wb.messaging import writes
    from wb.models import User

    with server.app.app_context():
        author, reader = User.by_username(alice), User.by_username(bob)
        conversation, _created = writes.open_conversation(author, reader)
        for sender, body in ((author, "Hello Bob, last week's list is at https://example.org/list?week=1"),
                             (reader, "Thanks! I'll look."),
                             (reader, "Looked: all fine."),
                             (author, "Coffee today?"),
                             (author, "Say 3pm?")):
            writes.send_message(sender, conversation, body)
        conversation_id = conversation.id
    return conversation_id, spread_over_days(server, conversation_id)


def help_request_with_comments(server, author: str, commenter: str) -> int:
    from wb.extensions import db
    from wb.models import Comment, HelpRequest, User

    with server.app.app_context():
        request = HelpRequest(author=User.by_username(author), title="A lift to the station on Friday",
                              body="Early train, around 6am.")
        db.session.add(request)
        db.session.flush()
        db.session.add(Comment(request=request, author=User.by_username(commenter), body="I can drive you."))
        db.session.commit()
        return request.id


def report(server, reporter: str, reported: str) -> None:
    from wb.messaging import safety
    from wb.models import User

    with server.app.app_context():
        safety.report(User.by_username(reporter), User.by_username(reported), "spam", "sends adverts")


# --- the tour -------------------------------------------------------------------------------


def test_visitor_pages_have_no_serious_accessibility_violations(browsing, server):
    tour = AxeTour()
    page = browsing.new_page(bypass_csp=True)
    tour.visit(page, "/login", "login")
    tour.visit(page, f"/register?invite={invite_token(server)}", "register with an invite")
    browsing.allow_console_error(failed_resource(404))
    tour.visit(page, "/no-such-page", "404 page", status=404)
    tour.assert_clean()


def test_member_pages_have_no_serious_accessibility_violations(browsing, server):
    alice = server.create_member("alice", display_name="Alice Liddell")
    bob = server.create_member("bob", display_name="Bob Inkwell")
    tour = AxeTour()

    page = browsing.sign_in(alice, bypass_csp=True)
    tour.check(page, "dashboard")
    tour.visit(page, "/messages", "inbox, empty")

    with_bob, last_message = chat_over_days(server, alice, bob)
    carol = server.create_member("carol")
    seed_conversation(server, carol, alice, "Are you coming on Saturday?")
    tour.visit(page, "/", "dashboard with conversations")
    tour.visit(page, f"/messages/{with_bob}", "inbox with a thread open")
    thread = page.locator("#thread-messages")
    expect(thread.locator("li.day-separator")).to_have_count(3)
    expect(thread.locator(".body a")).to_have_count(1)
    expect(thread).to_have_attribute("aria-live", "polite")  # new messages are read out
    tour.check(page, "inbox with a thread open")
    # The message menu, opened in place, and its own page (without JavaScript).
    page.locator(f"#message-{last_message} .message-actions summary").click()
    expect(page.locator(f"#message-{last_message} .message-actions form").first).to_be_visible(timeout=THREAD_WAIT_MS)
    tour.check(page, "a message's menu, open")
    tour.visit(page, f"/messages/{with_bob}/messages/{last_message}/actions", "a message's actions page")

    page.goto("/messages")
    page.locator("details.new-message summary").click()
    page.get_by_label("Find a member by name or username").press_sequentially("inkw", delay=30)
    expect(page.locator("#new-message-results").get_by_role("button", name="Message Bob Inkwell")).to_be_visible()
    tour.check(page, "New message search with results")
    tour.visit(page, "/messages/new?q=inkw", "New message page with results")

    tour.visit(page, f"/people/{alice}", "own profile")
    tour.visit(page, f"/people/{bob}", "another member's profile")
    # Block's own question page, as a browser without JavaScript reaches it (form.submit()
    # skips the submit event, so app.js's dialog doesn't answer for it).
    page.locator("form[action$='/block']").evaluate("form => form.submit()")
    expect(page.get_by_role("heading", name="Block Bob Inkwell?")).to_be_visible()
    tour.check(page, "block question page")
    tour.visit(page, f"/people/{bob}/report", "report a member")
    tour.visit(page, "/members", "directory")
    tour.visit(page, "/settings", "settings")
    tour.visit(page, "/settings/close", "close my account")
    tour.visit(page, "/invites", "invites")

    request_id = help_request_with_comments(server, bob, alice)
    tour.visit(page, "/requests", "help requests")
    tour.visit(page, f"/requests/{request_id}", "a help request with comments")
    page.locator("form[action$='/remove']").first.evaluate("form => form.submit()")  # as without JavaScript
    expect(page.get_by_role("heading", name="Remove this comment?")).to_be_visible()
    tour.check(page, "remove comment question page")
    tour.visit(page, "/requests/new", "new help request form")
    browsing.allow_console_error(failed_resource(404))
    tour.visit(page, "/messages/999999", "404 page, signed in", status=404)

    phone = browsing.sign_in(alice, viewport=PHONE, bypass_csp=True)
    tour.visit(phone, "/messages", "phone: inbox list")
    tour.visit(phone, f"/messages/{with_bob}", "phone: thread")
    phone.get_by_role("button", name="Mute", exact=True).click()
    phone.wait_for_load_state("load")
    tour.check(phone, "phone: a muted thread")
    tour.assert_clean()


def test_admin_pages_have_no_serious_accessibility_violations(browsing, server):
    admin = server.create_member("root", role="admin")
    alice, bob = server.create_member("alice"), server.create_member("bob")
    seed_conversation(server, alice, bob, "hello")
    report(server, bob, alice)
    tour = AxeTour()
    page = browsing.sign_in(admin, bypass_csp=True)
    for path, label in (("/admin/settings", "admin: settings"), ("/admin/members", "admin: members"),
                        ("/admin/messaging", "admin: messaging health"), ("/admin/reports", "admin: reports"),
                        (f"/people/{alice}", "admin: a member's profile"),
                        (f"/admin/members/{bob}/erase", "admin: erase a member")):
        tour.visit(page, path, label)
    tour.assert_clean()


def test_a_form_sent_back_with_errors_ties_each_error_to_its_field_and_focuses_the_first(browsing, server):
    """The errors were loose paragraphs and focus was on <body> after the reload: a screen reader
    tabbing back to a field didn't hear why it was refused (an outside tester)."""
    browsing.allow_console_error(failed_resource(400))
    alice = server.create_member("alice")
    page = browsing.sign_in(alice)
    page.goto("/requests/new")
    page.locator("form[action='/requests/new']").evaluate("form => { form.noValidate = true; }")  # the server decides
    page.fill("#title", "Walk my dog on Tuesday")
    page.fill("#body", "   ")
    page.get_by_role("button", name="Post request").click()
    body = page.locator("#body")
    expect(page.locator("#body-error")).to_be_visible()
    expect(body).to_have_attribute("aria-invalid", "true")
    expect(body).to_have_attribute("aria-describedby", "body-error")
    expect(body).to_be_focused()
    expect(page.locator("#title")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#title")).to_have_value("Walk my dog on Tuesday")  # what was typed is kept

    page.goto("/settings")  # a field that already has help text keeps it, the error added
    page.locator("#new_password").evaluate("field => { field.form.noValidate = true; }")
    page.fill("#current_password", "not my password at all")
    page.fill("#new_password", "another long password")
    page.locator("#new_password").press("Enter")
    expect(page.locator("#current_password")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#current_password")).to_be_focused()


def test_a_refused_sign_in_puts_the_focus_on_the_password_which_names_the_error(browsing, server):
    """After a wrong password the username's autofocus took the focus, and the error, tied to no
    field, was likely never read (an outside tester)."""
    browsing.allow_console_error(failed_resource(400))
    alice = server.create_member("alice")
    page = browsing.new_page()
    page.goto("/login")
    page.get_by_label("Username").fill(alice)
    page.get_by_label("Password").fill("not my password at all")
    page.get_by_role("button", name="Sign in").click()
    password = page.get_by_label("Password")
    expect(page.get_by_role("alert")).to_have_text("That username and password don't match.")
    expect(password).to_be_focused()
    expect(password).to_have_accessible_description("That username and password don't match.")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Username")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Username")).to_have_value(alice)


def test_what_an_action_says_afterwards_takes_the_focus_not_the_message_box(browsing, server):
    """After Mute the message box's autofocus took the focus (a phone's keyboard opened, and a screen
    reader heard the box, not "muted"); after Hide, focus was on <body> (an outside tester)."""
    alice, bob = server.create_member("alice"), server.create_member("bob")
    conversation_id = seed_conversation(server, bob, alice, "Is the hall free on Friday?")
    page = browsing.sign_in(alice, viewport=PHONE, has_touch=True, is_mobile=True)
    page.goto(f"/messages/{conversation_id}")
    page.get_by_role("button", name="Mute").click()
    flashes = page.locator("[data-flashes]")
    expect(flashes).to_contain_text("Conversation muted")
    expect(flashes).to_be_focused()
    # under the thread's header, by Unmute: from the top of the page it took 13 presses back to it, and
    # the next Enter landed on the note (a newcomer's tester)
    expect(page.locator("#thread > header + [data-flashes]")).to_have_count(1)
    for _ in range(3):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Unmute":
            break
    expect(page.get_by_role("button", name="Unmute")).to_be_focused()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Hide").click()
    expect(flashes).to_contain_text("Your conversation with Bob is hidden")
    expect(flashes.get_by_role("button", name="Undo")).to_be_visible()
    expect(flashes).to_be_focused()


def test_a_confirmation_at_a_pages_section_keeps_the_focus_through_the_jump_there(browsing, server):
    """Settings came back at its section (#pause) with "Messages paused" there, but the browser's jump
    to the section took the focus off it and no screen reader said it (a residents' building's
    tester); a posted comment's "Comment posted." the same, at the comment."""
    alice = server.create_member("alice")
    request_id = help_request_with_comments(server, alice, alice)
    page = browsing.sign_in(alice)
    page.goto("/settings")
    flashes = page.locator("[data-flashes]")
    for section, button, said in (("#pause", "Pause messages", "Messages paused"),
                                  ("#pause", "Turn messages back on", "Messages are back on"),
                                  ("#read-receipts", "Save", "Saved. Others")):
        page.locator(section).get_by_role("button", name=button).click()
        expect(page.locator(f"{section} [data-flashes]")).to_contain_text(said)
        page.wait_for_load_state("load")
        expect(flashes).to_be_focused()
        expect(flashes).to_be_in_viewport()

    page.goto(f"/requests/{request_id}")
    page.get_by_label("Add a comment").fill("And I can bring a thermos.")
    page.get_by_role("button", name="Post comment").click()
    expect(flashes).to_contain_text("Comment posted.")
    page.wait_for_load_state("load")
    expect(flashes).to_be_focused()
    expect(page.locator(".comment").last).to_be_in_viewport()  # where the jump went: the focus didn't scroll back up


def test_times_are_drawn_in_the_browsers_time_zone(browsing, server):
    """A neighbour in Los Angeles heard "00:21 UTC" before every message (an outside tester)."""
    alice, bob = server.create_member("alice"), server.create_member("bob")
    conversation_id = seed_conversation(server, bob, alice, "Is the hall free on Friday?")
    page = browsing.sign_in(alice, timezone_id="America/Los_Angeles")
    page.goto(f"/messages/{conversation_id}")  # the sign-in pages already told the server the zone
    stamp = page.locator("#thread-messages li.message time").first
    expect(stamp).to_have_attribute("title", re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d P[SD]T$"))
    shown = stamp.get_attribute("title")[11:16]
    menu = page.locator("#thread-messages li.message details.message-actions > summary").first
    expect(menu).to_have_attribute("aria-label", re.compile(rf"^Actions for their message of {shown}: "))
    # The same moment as the browser's own clock tells it.
    local = page.evaluate("""iso => new Date(iso).toLocaleTimeString("en-GB",
        {hour: "2-digit", minute: "2-digit", timeZone: "America/Los_Angeles"})""", stamp.get_attribute("datetime"))
    assert local == shown


def test_on_a_touch_screen_an_opened_thread_leaves_the_box_for_a_tap(browsing, server):
    """The box's autofocus opened a phone's keyboard over a thread not read yet (a tester); with a
    mouse and keyboard it still takes the focus, ready to reply."""
    alice, bob = server.create_member("alice"), server.create_member("bob")
    conversation_id = seed_conversation(server, bob, alice, "Is the hall free on Friday?")
    phone = browsing.sign_in(alice, viewport=PHONE, has_touch=True, is_mobile=True)
    phone.goto(f"/messages/{conversation_id}")
    expect(phone.locator("#thread-messages li.message")).to_have_count(1)
    phone.wait_for_timeout(300)  # past the browser's autofocus
    expect(phone.locator("#compose-body")).not_to_be_focused()
    phone.locator("#compose-body").tap()
    expect(phone.locator("#compose-body")).to_be_focused()
    desktop = browsing.sign_in(bob)
    desktop.goto(f"/messages/{conversation_id}")
    expect(desktop.locator("#compose-body")).to_be_focused()
