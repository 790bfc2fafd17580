"""Admin pages as an admin sees and hears them in a real Chromium: where the numbers sit, and what
the buttons are called (an outside admin tester's findings)."""
import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips these tests (or fails them when WB_REQUIRE_BROWSER=1)
    expect = None

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}

# Each cell's left edge, rounded to a pixel.
LEFT_EDGES = "cells => cells.map(cell => Math.round(cell.getBoundingClientRect().left))"


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_every_count_on_the_messaging_page_sits_in_one_column(browsing, server, artifacts, viewport):
    """At 1280px the two "Conversation downloads…" numbers sat to the right of the ones above them (a
    table of their own), and "Direct messaging" was said twice, as the card's heading and the switch's."""
    page = browsing.sign_in(server.create_member("root", role="admin"), viewport=viewport)
    page.goto("/admin/messaging")
    counts = page.locator("#messaging-counts")
    figures = counts.locator("td[data-figure]")
    expect(figures).to_have_count(7)
    assert len(set(figures.evaluate_all(LEFT_EDGES))) == 1
    expect(page.get_by_role("heading", name="Direct messaging")).to_have_count(1)
    counts.screenshot(path=str(artifacts / f"admin-messaging-counts-{'phone' if viewport else 'desktop'}.png"))


def test_make_admin_and_an_erased_comments_remove_button_read_naturally(browsing, server):
    """A screen reader said "Make admin Alice Moreno", and ": the comment by a former member, “”" for
    the Remove comment button of an erased member's comment."""
    from wb.extensions import db
    from wb.models import Comment, HelpRequest, User
    from wb.people import leaving

    admin = server.create_member("root", role="admin")
    wren = server.create_member("wren", display_name="Wren Halvorsen")
    bob = server.create_member("bob")
    with server.app.app_context():
        asked = HelpRequest(author_id=User.by_username(wren).id, title="A ladder for Saturday", body="Anyone?")
        db.session.add(asked)
        db.session.flush()
        db.session.add(Comment(request_id=asked.id, author_id=User.by_username(bob).id, body="Mine is in the shed."))
        db.session.commit()
        request_id = asked.id
        leaving.erase_member(User.by_username(bob))
    page = browsing.sign_in(admin)

    page.goto(f"/admin/members?q={wren}")
    expect(page.get_by_role("button", name="Make admin, Wren Halvorsen", exact=True)).to_be_visible()

    page.goto(f"/requests/{request_id}")
    expect(page.get_by_role("button", name="Remove comment: the erased comment by a former member", exact=True)).to_be_visible()


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_a_refused_rule_comes_back_where_the_admin_is_looking(browsing, server, viewport):
    """"Only members of these circles" with none ticked came back on Settings at the top, the reason
    974 px (a phone: 1,647 px) down and the focus on the page (a re-check tester)."""
    import re

    from wb.circles import service as circles

    browsing.allow_console_error(re.compile(r"status of 400"))  # the refusal's own answer
    page = browsing.sign_in(server.create_member("root", role="admin"), viewport=viewport)
    with server.app.app_context():
        if circles.by_name("Floor 2") is None:
            circles.create("Floor 2")
    page.goto("/admin/settings")
    page.get_by_label("Only members of these circles:").check()
    page.get_by_role("button", name="Save who may start").click()  # refused at once, not asked first
    refusal = page.locator("#starters-error")
    expect(refusal).to_have_text("Tick at least one circle whose members may start conversations.")
    expect(refusal).to_be_in_viewport()
    chosen = page.get_by_label("Only members of these circles:")
    expect(chosen).to_be_focused()
    expect(chosen).to_have_accessible_description("Tick at least one circle whose members may start conversations.")
