"""A forgotten password in a real Chromium: an admin makes a reset link, the member sets a new one.
A reload of the link's page makes no new link (it did, and the link handed over stopped working)."""
import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips these tests (or fails them when WB_REQUIRE_BROWSER=1)
    expect = None

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_an_admin_makes_a_link_a_reload_keeps_it_and_the_member_sets_a_password(browsing, server, artifacts, viewport):
    admin, bob = server.create_member("root", role="admin"), server.create_member("bob")
    page = browsing.sign_in(admin, viewport=viewport)
    page.goto(f"/admin/members?q={bob}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Make a password reset link for Bob").click()
    card = page.locator("section[data-flashes]")
    expect(card).to_be_focused()
    link = page.get_by_label("Password reset link").input_value()
    assert "/reset/" in link
    box, button = page.get_by_label("Password reset link").bounding_box(), page.get_by_role("button", name="Copy link").bounding_box()
    assert button["y"] >= box["y"] + box["height"] + 4  # under the box, not touching it
    card.screenshot(path=str(artifacts / f"reset-link-{'phone' if viewport else 'desktop'}.png"))

    page.reload()  # no "Confirm Form Resubmission", and no new link
    expect(page.get_by_text("A link is shown only once, when it is made.")).to_be_visible()
    expect(page.get_by_label("Password reset link")).to_have_count(0)

    member = browsing.new_page(viewport)
    member.goto(link)
    member.get_by_label("New password", exact=True).fill("a brand new password")
    member.get_by_label("The new password again").fill("a brand new password")
    member.get_by_role("button", name="Set my new password").click()
    expect(member.locator(".whoami")).to_have_text("Bob")
