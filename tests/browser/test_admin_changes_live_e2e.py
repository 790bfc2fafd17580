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
