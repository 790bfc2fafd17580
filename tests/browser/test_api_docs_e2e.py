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
