"""A phone at 200 % zoom, as a residents' building's older members hold theirs (195 x 422 CSS px,
four device pixels to one): names and headings keep their words whole, and no page is wider than
the screen, a 60-letter name included."""
import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips these tests (or fails them when WB_REQUIRE_BROWSER=1)
    expect = None

from .test_messaging_e2e import assert_no_horizontal_overflow

pytestmark = pytest.mark.browser

ZOOMED_PHONE = {"viewport": {"width": 195, "height": 422}, "device_scale_factor": 4}

# Every ordinary word (2 to 20 letters) drawn across two lines, as "word in element". A 60-letter
# name may break (it must, to fit); "Okafor-Lindqvist" may break at its hyphen; "Alic / e" may not.
SPLIT_WORDS = """(root) => {
  const split = [];
  const walker = document.createTreeWalker(root || document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest("template, script, style, .visually-hidden, .skip-link, .skip-inline, .back-link-words")) continue;
    for (const word of node.data.matchAll(/\\b[A-Za-z]{2,20}\\b/g)) {
      range.setStart(node, word.index);
      range.setEnd(node, word.index + word[0].length);
      const lines = new Set([...range.getClientRects()].filter(r => r.width && r.height).map(r => Math.round(r.top)));
      if (lines.size > 1) split.push(word[0] + " in " + el.tagName.toLowerCase() + (el.className ? "." + el.className : ""));
    }
  }
  return split;
}"""


def sign_in_zoomed(browsing, username, server=None):
    """A zoomed phone signed in through the login form (its header folds the member's name under Menu)."""
    from .conftest import PASSWORD

    page = browsing.new_page(server=server, **ZOOMED_PHONE)
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Menu")).to_be_visible()
    return page


def split_words(page, selector=None) -> list[str]:
    return page.locator(selector).first.evaluate(SPLIT_WORDS) if selector else page.evaluate(SPLIT_WORDS)


def test_a_new_message_result_keeps_the_name_whole_with_message_under_it(browsing, server, artifacts):
    """The row put "Message" beside the name and left it a column of pieces ("Alic / e / Mor / eno /
    @ali / ce"), the search box two letters wide (a residents' building's tester)."""
    bob = server.create_member("bob")
    server.create_member("alice", display_name="Alice Moreno")
    page = sign_in_zoomed(browsing, bob)
    page.goto("/messages")
    page.locator("details.new-message summary").click()
    search = page.get_by_label("Find a member by name or username")
    search.press_sequentially("moreno", delay=30)
    row = page.locator("#new-message-results").get_by_role("button", name="Message Alice Moreno")
    expect(row).to_be_visible()
    row.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "large-text-new-message-result.png")

    assert split_words(page, "#new-message-results") == []
    who, action = (row.locator(part).bounding_box() for part in (".member-result-who", ".member-result-action"))
    assert action["y"] >= who["y"] + who["height"] - 1, f"Message sits beside the name: {who} {action}"
    field = page.locator(".new-message-field").bounding_box()
    assert search.bounding_box()["width"] >= 0.8 * field["width"], "the search box is squeezed beside its button"
    assert_no_horizontal_overflow(page)


def test_headings_and_names_keep_their_words_whole_and_no_page_is_wider_than_the_phone(browsing, server, artifacts):
    """"Join WhiteBa / lloon", a request's "Saturda / y?" and Settings 5 px wider than the screen (a
    residents' building's tester); a name of 60 letters without a space still fits."""
    from wb.extensions import db
    from wb.models import Comment, HelpRequest, User

    alice = server.create_member("alice", display_name="Alice Okafor-Lindqvist")
    long_name = server.create_member("long", display_name="M" * 60)
    with server.app.app_context():
        request = HelpRequest(author=User.by_username(alice), title="Borrow a ladder this Saturday?", body="For the gutters.")
        db.session.add(request)
        db.session.flush()
        db.session.add(Comment(request=request, author=User.by_username(long_name), body="I have one."))
        db.session.commit()
        request_id = request.id

    visitor = browsing.new_page(**ZOOMED_PHONE)
    visitor.goto("/register")
    expect(visitor.get_by_role("heading", name="Join WhiteBalloon")).to_be_visible()
    assert split_words(visitor) == []
    assert_no_horizontal_overflow(visitor)
    visitor.screenshot(path=artifacts / "large-text-register.png")

    page = sign_in_zoomed(browsing, alice)
    for path in ("/settings", f"/requests/{request_id}", f"/people/{alice}", f"/people/{long_name}", "/members"):
        page.goto(path)
        assert split_words(page) == [], path
        assert_no_horizontal_overflow(page)
    page.goto(f"/requests/{request_id}")
    page.screenshot(path=artifacts / "large-text-request.png")


def test_a_long_name_in_why_one_cant_write_stays_on_the_phone(browsing, start_server, artifacts):
    """"...and Margarethe Wolfeschlegelsteinhausen isn't in any of yours" ran past the card, and the
    profile scrolled sideways at 200 % (a residents' building's tester)."""
    from wb.circles import service as circles
    from wb.messaging.rule_changes import set_reach
    from wb.models import User

    live = start_server()
    live.set_messaging(True)
    alice = live.create_member("alice")
    far = live.create_member("margarethe", display_name="Margarethe Wolfeschlegelsteinhausenbergerdorff")
    with live.app.app_context():
        circles.add_members(circles.create("Elm Street"), [alice])
        assert User.by_username(far) is not None
        set_reach(True)
    page = sign_in_zoomed(browsing, alice, server=live)
    page.goto(f"/people/{far}")
    expect(page.locator(".message-refusal").first).to_be_visible()
    page.screenshot(path=artifacts / "large-text-refusal-long-name.png")
    assert_no_horizontal_overflow(page)


def test_admin_tables_keep_their_values_and_forms_on_the_phone(browsing, server, artifacts):
    """Members' "Add to circle" and Messaging's values (its database path, "No backup has been taken
    yet") ran past the card at 200 % (a residents' building's tester)."""
    from wb.circles import service as circles

    admin = server.create_member("root", role="admin")
    with server.app.app_context():
        circles.create(f"Coordinators of {admin}")
    page = sign_in_zoomed(browsing, admin)
    width = page.viewport_size["width"]
    for path, cells in (("/admin/members", ".table-stack td form, .table-stack td select, .table-stack td button"),
                        ("/admin/messaging", ".table tr:has(> th[scope=row]) > td")):
        page.goto(path)
        rights = page.locator(cells).evaluate_all("cells => cells.map(c => Math.round(c.getBoundingClientRect().right))")
        assert rights and max(rights) <= width, (path, max(rights), width)
    page.screenshot(path=artifacts / "large-text-admin-messaging.png")


def test_a_thread_on_a_phone_with_large_text_gives_the_messages_room(browsing, server, artifacts):
    """A phone with its text at 24 px (as 390 x 844 at 150 %: 260 x 563 CSS px) showed the thread's arrow,
    name and actions on three rows and the messages a third of the screen, about one message (a
    residents' building's tester). The name sits beside the arrow, and the messages get half of it or more."""
    from .conftest import PASSWORD
    from .test_thread_pane_e2e import seed_conversation

    alice, carol = server.create_member("alice"), server.create_member("carol", display_name="Carol Lind")
    conversation_id = seed_conversation(server, carol, alice, "Could we borrow a ladder for the bunting?")
    page = browsing.new_page(viewport={"width": 260, "height": 563}, device_scale_factor=1.5, is_mobile=True,
                             has_touch=True)
    page.goto("/login")
    page.get_by_label("Username").fill(alice)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/messages/{conversation_id}")
    arrow, name = page.locator(".thread-head .back-link").bounding_box(), page.locator(".thread-head h2").bounding_box()
    assert abs((arrow["y"] + arrow["height"] / 2) - (name["y"] + name["height"] / 2)) < 8, (arrow, name)  # one row
    assert page.locator(".thread-scroll").bounding_box()["height"] >= 563 / 2
    assert split_words(page, ".thread-head") == []
    assert_no_horizontal_overflow(page)
    page.screenshot(path=artifacts / "large-text-thread.png")


LARGE_TEXT = "document.documentElement.style.fontSize = '24px'"  # what a 24 px default size does to a page


def test_boxes_and_rounds_grow_with_large_text(browsing, server, artifacts):
    """With the browser's text at 24 px, a checkbox and a radio button stayed 13 px, beside words
    twice their height (an outside tester); they grow with the text."""
    page = browsing.sign_in(server.create_member("root", role="admin"))
    page.goto("/settings")
    page.evaluate(LARGE_TEXT)
    box = page.get_by_role("checkbox", name="Let others see when I've read their messages").bounding_box()
    assert box["height"] >= 24 and box["width"] >= 24, box
    page.goto("/invites")
    page.evaluate(LARGE_TEXT)
    assert page.get_by_role("radio", name="wait for an admin's approval").bounding_box()["height"] >= 24
    page.screenshot(path=artifacts / "large-text-boxes.png")


@pytest.mark.parametrize("whose", ["mine", "theirs"])
def test_a_messages_menu_stays_on_a_phone_with_large_text(browsing, server, artifacts, whose):
    """Under a short message of one's own, with 200 % text on a 320 px phone, the ⋯ menu ran off the
    thread's left edge: "elete for both", "emove for me" (a residents' building's tester). The ⋯ sits
    on the thread's outer edge and its menu opens inward, never wider than the thread."""
    from .test_thread_pane_e2e import seed_conversation

    alice, carol = server.create_member("alice"), server.create_member("carol", display_name="Carol Lind")
    sender = alice if whose == "mine" else carol
    conversation_id = seed_conversation(server, sender, carol if whose == "mine" else alice, "ok")
    page = browsing.sign_in(alice)
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(f"/messages/{conversation_id}")
    page.evaluate("document.documentElement.style.fontSize = '32px'")
    message = page.locator(f".message.{whose}").last
    message.locator(".message-actions summary").click()
    menu = message.locator(".message-actions-menu")
    expect(menu.get_by_role("button", name="Remove for me")).to_be_visible()
    thread = page.locator("#thread-messages").bounding_box()
    for box in (menu.bounding_box(), message.locator("time").bounding_box()):
        assert box["x"] >= thread["x"] and box["x"] + box["width"] <= thread["x"] + thread["width"], (box, thread)
    page.screenshot(path=artifacts / f"large-text-menu-{whose}.png")
