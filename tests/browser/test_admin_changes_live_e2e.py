"""An admin's change to a member reaches the open pages it changes within a second, in a real Chromium,
as a pause or a change of the rules does: no reload, and what was typed is kept."""
import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips these tests (or fails them when WB_REQUIRE_BROWSER=1)
    expect = None

from .conftest import THREAD_WAIT_MS
from .test_conversation_ui_e2e import seed_messages
from .test_messaging_e2e import open_conversation

pytestmark = pytest.mark.browser

NEWS_MS = THREAD_WAIT_MS


def test_an_open_thread_closes_its_box_when_the_other_member_is_suspended_and_opens_it_when_reinstated(
        browsing, server):
    """Erin had her thread with Frank open, words typed, when the admin suspended him: her box stayed, and
    only Send said he was suspended; reinstated, her thread said so until reloaded (a residents' building's
    tester)."""
    warden = server.create_member("warden", role="admin", display_name="Wanda Warden")
    erin = server.create_member("erin", display_name="Erin Thirdfloor")
    frank = server.create_member("frank", display_name="Frank Fourthfloor")
    seed_messages(server, frank, erin, ["Is my parcel still downstairs?"])
    erin_page = browsing.sign_in(erin)
    open_conversation(erin_page, frank, "Frank Fourthfloor")
    erin_page.locator("#compose-body").fill("Yes, I'll bring it up at six")

    admin_page = browsing.sign_in(warden)
    admin_page.goto(f"/admin/members?q={frank}")
    admin_page.get_by_role("button", name="Suspend Frank Fourthfloor").click()
    admin_page.get_by_role("button", name="Suspend Frank Fourthfloor").click()  # the page that asks first
    expect(admin_page.get_by_role("button", name="Reinstate Frank Fourthfloor")).to_be_visible()

    expect(erin_page.locator("#compose")).to_contain_text(
        "This member's account is suspended, so they can't receive messages.", timeout=NEWS_MS)
    expect(erin_page.locator("#compose-body")).to_have_count(0)
    expect(erin_page.locator("#compose-unsent")).to_have_value("Yes, I'll bring it up at six")

    admin_page.get_by_role("button", name="Reinstate Frank Fourthfloor").click()
    expect(erin_page.locator("#compose-body")).to_have_value("Yes, I'll bring it up at six", timeout=NEWS_MS)
    expect(erin_page.locator("#compose")).not_to_contain_text("suspended")


@pytest.fixture(scope="module")
def building_server(start_server, browser):
    """A server of its own where residents reach only those who share a circle (the rule would reach
    every other browser test on the shared server)."""
    from wb.messaging.rule_changes import set_reach

    live = start_server()
    live.set_messaging(True)
    with live.app.app_context():
        set_reach(True)
    return live


def circle_of(server, name, usernames):
    """A new circle with these members; its id."""
    from wb.circles import service as circles

    with server.app.app_context():
        circle = circles.create(name)
        circles.add_members(circle, usernames)
        return circle.id


def test_an_open_inbox_drops_ask_to_be_added_to_a_circle_once_the_admin_adds_the_member(browsing, building_server):
    """Erin, in no circle, had "Ask an admin to add you to a circle" on her inbox; the admin added her, and it
    stayed until she reloaded (a residents' building's tester)."""
    server = building_server
    warden = server.create_member("warden", role="admin", display_name="Wanda Warden")
    erin = server.create_member("erin", display_name="Erin Newcomer")
    gina = server.create_member("gina", display_name="Gina Neighbour")
    circle_id = circle_of(server, "Floor Three", [gina])
    erin_page = browsing.sign_in(erin, server=server)
    erin_page.goto("/messages")
    title = erin_page.title()
    note = erin_page.locator("#new-message-refused")
    expect(note).to_contain_text("and you aren't in one yet. Ask an admin to add you to a circle")
    erin_page.wait_for_timeout(300)  # the channel is held now

    admin_page = browsing.sign_in(warden, server=server)
    admin_page.goto("/admin/circles")
    admin_page.locator(f"#add-{circle_id}").fill(erin)
    admin_page.locator(f"#circle-{circle_id}").get_by_role("button", name="Add").click()
    expect(admin_page.locator(".flashes")).to_contain_text("Added to Floor Three: Erin Newcomer.")

    expect(note).to_have_count(0, timeout=NEWS_MS)
    assert erin_page.title() == title  # the note came from the inbox page, its title not with it
    erin_page.locator("details.new-message summary").click()
    erin_page.get_by_label("Find a member by name or username").press_sequentially("gina", delay=30)
    expect(erin_page.locator("#new-message-results").get_by_role("button", name="Message Gina Neighbour")).to_be_visible()

    admin_page.once("dialog", lambda dialog: dialog.accept())
    admin_page.get_by_role("button", name="Remove Erin Newcomer from Floor Three").click()
    expect(admin_page.locator(".flashes")).to_contain_text("Removed from Floor Three: Erin Newcomer.")
    expect(note).to_contain_text("Ask an admin to add you to a circle", timeout=NEWS_MS)


def test_an_open_draft_closes_its_box_when_the_member_is_removed_from_the_circle_they_share(browsing, building_server):
    """Erin, removed from her circle, kept an open box to Gina, refused only on Enter (a residents' building's
    tester). It now closes within a second, what was typed kept, and opens again when she is added back."""
    server = building_server
    warden = server.create_member("warden", role="admin", display_name="Wanda Warden")
    erin = server.create_member("erin", display_name="Erin Mover")
    gina = server.create_member("gina", display_name="Gina Staying")
    circle_id = circle_of(server, "Floor Four", [erin, gina])
    erin_page = browsing.sign_in(erin, server=server)
    open_conversation(erin_page, gina, "Gina Staying")
    erin_page.locator("#compose-body").fill("Could you water my plants while I move?")
    erin_page.wait_for_timeout(300)  # the channel is held now

    admin_page = browsing.sign_in(warden, server=server)
    admin_page.goto("/admin/circles")
    admin_page.once("dialog", lambda dialog: dialog.accept())
    admin_page.get_by_role("button", name="Remove Erin Mover from Floor Four").click()
    expect(admin_page.locator(".flashes")).to_contain_text("Removed from Floor Four: Erin Mover.")

    expect(erin_page.locator("#compose")).to_contain_text("and you aren't in one yet", timeout=NEWS_MS)
    expect(erin_page.locator("#compose-body")).to_have_count(0)
    expect(erin_page.locator("#compose-unsent")).to_have_value("Could you water my plants while I move?")

    admin_page.locator(f"#add-{circle_id}").fill(erin)
    admin_page.locator(f"#circle-{circle_id}").get_by_role("button", name="Add").click()
    expect(erin_page.locator("#compose-body")).to_have_value("Could you water my plants while I move?",
                                                            timeout=NEWS_MS)


def test_a_report_reaches_the_count_beside_admin_on_an_admins_open_pages(browsing, start_server):
    """A report about a threat came to the admin's open page only at their next click: "Admin" stayed
    without a count (a street's tester). The Menu button carries it too, where large text folds the links."""
    from wb.messaging import safety
    from wb.models import User

    from .test_messaging_e2e import PHONE, assert_not_reloaded, remember_document

    live = start_server()  # its own: a report left open would count beside Admin in other tests
    live.set_messaging(True)
    warden = live.create_member("warden", role="admin", display_name="Wanda Warden")
    erin, frank = live.create_member("erin"), live.create_member("frank")
    desk = browsing.sign_in(warden, server=live)
    desk.goto("/admin/members")
    phone = browsing.sign_in(warden, server=live, viewport=PHONE)
    phone.goto("/requests")
    for page in (desk, phone):
        remember_document(page)
    expect(desk.locator("#admin-link .badge")).to_have_count(0)

    with live.app.app_context():
        safety.report(User.by_username(erin), User.by_username(frank), "harassment", "He said he'd come round")
    expect(desk.locator("#admin-link .badge")).to_have_text("1", timeout=NEWS_MS)
    expect(desk.locator("#admin-link")).to_have_attribute("href", "/admin/reports")
    expect(desk.locator("#admin-link")).to_contain_text("open report")  # read out with the number
    expect(phone.locator("#admin-link .badge")).to_have_text("1", timeout=NEWS_MS)
    expect(phone.locator("#admin-link .badge")).to_be_visible()
    expect(phone.locator("#menu-waiting .badge")).to_have_text("1")  # (shown where large text folds the links)
    for page in (desk, phone):
        assert_not_reloaded(page)

    desk.goto("/admin/reports")
    desk.get_by_role("button", name="Mark resolved").first.click()
    expect(phone.locator("#admin-link .badge")).to_have_count(0, timeout=NEWS_MS)
    expect(phone.locator("#menu-waiting .badge")).to_have_count(0)


def test_a_newcomers_open_page_is_drawn_again_once_an_admin_approves_them(browsing, server):
    """Erin registered on her phone and waited on the page that said "Waiting for approval"; the admin
    approved her, and her page said so for as long as she left it open (a residents' building's tester)."""
    warden = server.create_member("warden", role="admin", display_name="Wanda Warden")
    erin = server.create_member("erin", display_name="Erin Newcomer", status="pending")
    erin_page = browsing.sign_in(erin, viewport={"width": 390, "height": 844})
    expect(erin_page.get_by_text("Your account is waiting for an admin's approval.")).to_be_visible()
    # Her profile is what a newcomer may edit while waiting: what she types there is hers to keep
    # (a re-check tester's half-typed bio went with the page drawn again).
    erin_page.goto("/settings")
    erin_page.get_by_label("Bio").fill("Flat 4B, happy to water plants")

    admin_page = browsing.sign_in(warden)
    admin_page.goto(f"/admin/members?q={erin}")
    admin_page.get_by_role("button", name="Approve Erin Newcomer").click()
    expect(admin_page.get_by_role("button", name="Approve Erin Newcomer")).to_have_count(0)

    expect(erin_page.locator(".tag-pending")).to_have_count(0, timeout=NEWS_MS)
    approved = erin_page.locator(".flashes[role=status]")
    expect(approved).to_have_text("An admin approved your account: you can now post, comment and send messages.")
    expect(approved).to_be_focused()  # read out
    expect(erin_page.get_by_label("Bio")).to_have_value("Flat 4B, happy to water plants")
    expect(erin_page.locator("#inbox-badge")).to_be_visible()  # messaging is hers now
    erin_page.reload()
    expect(erin_page.locator(".flashes[role=status]")).to_have_count(0)  # said once
