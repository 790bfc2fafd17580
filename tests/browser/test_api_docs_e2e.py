"""/api/docs draws the API reference in a real Chromium, under the site's CSP, from our own files only."""
import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips these tests (or fails them when WB_REQUIRE_BROWSER=1)
    expect = None

pytestmark = pytest.mark.browser


def test_the_api_reference_renders_without_csp_violations(browsing, server):
    page = browsing.new_page()
    outside = []
    page.on("request", lambda request: outside.append(request.url) if not request.url.startswith(server.url) else None)
    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("WhiteBalloon API")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/conversations/{conversation_id}/messages").first).to_be_visible()
    assert outside == []


def test_the_api_reference_has_the_sites_top_bar_not_serif_text(browsing, server, artifacts):
    page = browsing.new_page()
    page.goto("/api/docs")
    bar = page.get_by_role("navigation", name="Main")
    expect(bar.get_by_role("link", name="WhiteBalloon")).to_be_visible()
    expect(bar.get_by_role("link", name="Your API tokens")).to_be_visible()
    font = bar.evaluate("el => getComputedStyle(el).fontFamily")
    assert "serif" not in font.replace("sans-serif", ""), font
    assert bar.evaluate("el => getComputedStyle(el).display") == "flex"
    page.screenshot(path=artifacts / "api-docs.png")


def test_try_it_out_acts_as_the_signed_in_member_and_says_so(browsing, server):
    """Try it out refused every write for a signed-in member (no X-CSRFToken: an API tester), and
    nothing said it acts for real (a re-check tester)."""
    alice, bob = server.create_member("alice"), server.create_member("bob")
    page = browsing.sign_in(alice)
    page.goto("/api/docs")
    expect(page.get_by_role("note")).to_contain_text("Try it out acts as you, for real")
    block = page.locator(".opblock-put", has=page.locator(".opblock-summary-path", has_text="/api/v1/blocks/{username}"))
    block.locator(".opblock-summary").click()
    block.get_by_role("button", name="Try it out").click()
    block.locator("input[placeholder='username']").fill(bob)
    block.get_by_role("button", name="Execute").click()
    expect(block.locator(".live-responses-table tbody .response-col_status").first).to_have_text("204")
    page.goto("/settings#blocked")
    expect(page.locator("#blocked")).to_contain_text("Bob")
