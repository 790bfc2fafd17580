"""Settings tells a member that sign-out leaves API tokens working, and revokes them when asked."""
import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips these tests (or fails them when WB_REQUIRE_BROWSER=1)
    expect = None

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_sign_out_everywhere_can_also_revoke_the_api_tokens(browsing, server, artifacts, viewport):
    alice = server.create_member("alice")
    page = browsing.sign_in(alice, viewport=viewport)
    page.goto("/settings/tokens")
    page.get_by_label("Name", exact=True).fill("My phone")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#tokens").get_by_text("My phone").first).to_be_visible()

    page.goto("/settings#sessions")
    sessions = page.locator("#sessions")
    expect(sessions.get_by_text("API tokens are not affected")).to_be_visible()
    expect(sessions.get_by_role("link", name="revoke it on the API tokens page")).to_have_attribute("href", "/settings/tokens")
    box = sessions.get_by_role("checkbox", name="Also revoke my API tokens")
    box.focus()
    page.keyboard.press("Space")  # by keyboard, as anyone may
    expect(box).to_be_checked()
    sessions.screenshot(path=str(artifacts / f"settings-sessions-{'phone' if viewport else 'desktop'}.png"))
    # Enter in the checkbox sends the form, as browsers do: it asks first (a keyboard-only newcomer
    # signed out everywhere unasked), and nothing happens unless the question is answered yes.
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    assert questions == ["Sign out on every other browser and device? This browser stays signed in."]
    expect(page.get_by_text("Your API tokens are revoked")).to_have_count(0)
    page.once("dialog", lambda dialog: dialog.accept())
    sessions.get_by_role("button", name="Sign out everywhere").click()

    expect(page.get_by_text("Your API tokens are revoked (1).")).to_be_visible()
    page.goto("/settings/tokens")
    expect(page.get_by_text("You have no tokens.")).to_be_visible()


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_what_a_settings_section_saved_is_said_where_the_member_is_looking(browsing, server, artifacts, viewport):
    """The page comes back at the section that was saved; its "Saved" note is there, in sight, not
    a screen or two above (found by an outside tester)."""
    alice = server.create_member("alice")
    page = browsing.sign_in(alice, viewport=viewport)
    page.goto("/settings")
    section = page.locator("#read-receipts")
    section.get_by_label("Let others see when I've read their messages").uncheck()
    section.get_by_role("button", name="Save").click()
    expect(page).to_have_url(server.url + "/settings#read-receipts")
    note = section.locator(".flash")
    expect(note).to_contain_text("Saved.")
    expect(note).to_be_in_viewport()
    page.screenshot(path=artifacts / f"settings-saved-{'phone' if viewport else 'desktop'}.png")


def test_settings_controls_have_names_of_their_own_and_the_index_reaches_desktop_notifications(browsing, server):
    """Buttons named just "Save", two boxes named "Also revoke my API tokens", and an "On this page"
    without Desktop notifications (an outside tester)."""
    page = browsing.sign_in(server.create_member("alice"))
    page.goto("/settings")
    expect(page.get_by_role("button", name="Save", exact=True)).to_have_count(0)
    for name in ("Save profile", "Save who can start a conversation", "Save read receipts", "Save email choices"):
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(1)
    for name in ("Also revoke my API tokens when I change my password",
                 "Also revoke my API tokens when I sign out everywhere"):
        expect(page.get_by_role("checkbox", name=name, exact=True)).to_have_count(1)
    page.get_by_role("navigation", name="On this page").get_by_role("link", name="Desktop notifications").click()
    expect(page).to_have_url(server.url + "/settings#desktop-notifications")
    expect(page.get_by_role("heading", name="Desktop notifications")).to_be_in_viewport()


def test_an_invite_link_is_copied_with_one_tap_on_a_phone(browsing, server, artifacts):
    """Selecting a long link in a field is fiddly on a phone (an outside tester found no Copy button)."""
    alice = server.create_member("alice")
    page = browsing.sign_in(alice, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                            permissions=["clipboard-read", "clipboard-write"])
    page.goto("/invites")
    page.get_by_role("button", name="Create an invite link").click()
    link = page.locator("input.invite-link").first
    expect(link).to_be_visible()
    copy = page.locator("button[data-copy]").first
    expect(copy).to_have_text("Copy link")
    copy.tap()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == link.input_value()
    assert "/register?invite=" in link.input_value()
    page.screenshot(path=str(artifacts / "invite-copied-phone.png"), full_page=True)


def test_a_new_token_fits_a_phone_is_copied_with_a_button_and_has_the_focus(browsing, server, artifacts):
    """A token without a hyphen ran off a phone's screen, had no Copy button, and the focus was left
    on the page after creating it (an API tester)."""
    alice = server.create_member("alice")
    page = browsing.sign_in(alice, viewport=PHONE)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/settings/tokens")
    page.get_by_label("Name", exact=True).fill("My phone")
    page.get_by_role("button", name="Create token").click()
    card = page.locator("#new-token")
    expect(card).to_be_focused()
    token = page.get_by_label("Your new token")
    expect(token).to_have_value(re.compile(r"^wbpat_"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = token.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    page.get_by_role("button", name="Copy token").click()
    expect(card.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == token.input_value()
    card.screenshot(path=str(artifacts / "new-token-phone.png"))


def test_a_token_s_expiry_is_chosen_by_keyboard_and_each_state_fits_a_phone(browsing, server, artifacts):
    """Tokens that never expired were an API tester's complaint: the member picks 30 days, 90, a year
    or never with a labelled select, and the list says when each one expires, on a 390 px screen."""
    from datetime import datetime

    from sqlalchemy import select

    from wb.api.models import AccessToken
    from wb.extensions import db

    alice = server.create_member("alice")
    page = browsing.sign_in(alice, viewport=PHONE)
    page.goto("/settings/tokens")
    expires = page.get_by_label("Expires", exact=True)
    expect(expires).to_have_value("90")
    for name, key in (("Old script", "ArrowUp"), ("Laptop", "End")):
        page.get_by_label("Name", exact=True).fill(name)
        expires.focus()
        page.keyboard.press(key)  # 30 days (one up from the default), then Never
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name="Create token")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.locator("#new-token")).to_be_focused()
    page.get_by_label("Name", exact=True).fill("My phone with a rather long name for its token")
    page.get_by_role("button", name="Create token").click()  # the default: 90 days
    with server.app.app_context():
        rows = {row.name: row for row in db.session.scalars(select(AccessToken))}
        assert rows["Laptop"].expires_at is None
        assert (rows["Old script"].expires_at - rows["Old script"].created_at).days == 30
        rows["Old script"].expires_at = datetime(2026, 12, 2, 10, 0)
        rows["My phone with a rather long name for its token"].expires_at = datetime(2099, 3, 6, 12, 0)
        db.session.commit()
    page.goto("/settings/tokens")
    listed = page.locator("#tokens")
    expect(listed.get_by_role("listitem").filter(has_text="Laptop")).to_contain_text("never expires")
    expect(listed.get_by_role("listitem").filter(has_text="Old script")).to_contain_text("expired 2 Dec 2026")
    expect(listed.get_by_role("listitem").filter(has_text="My phone")).to_contain_text("expires 6 Mar 2099")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for item in listed.get_by_role("listitem").all():
        box = item.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    page.screenshot(path=str(artifacts / "token-expiry-phone.png"), full_page=True)
