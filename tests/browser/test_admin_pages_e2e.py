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

