"""The inbox list keeps up on its own, in a real Chromium (issue 13)."""
import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips these tests (or fails them when WB_REQUIRE_BROWSER=1)
    expect = None

from .conftest import BADGE_WAIT_MS
from .test_thread_pane_e2e import seed_conversation

pytestmark = pytest.mark.browser


def send_as(server, sender: str, conversation_id: int, body: str) -> None:
    from wb.extensions import db
    from wb.messaging import writes
    from wb.messaging.models import Conversation
    from wb.models import User

    with server.app.app_context():
        writes.send_message(User.by_username(sender), db.session.get(Conversation, conversation_id), body)


def read_before(server, member: str, conversation_id: int) -> None:
    from wb.extensions import db
    from wb.messaging import writes
    from wb.messaging.models import Conversation
    from wb.models import User

    with server.app.app_context():
        writes.mark_read(User.by_username(member), db.session.get(Conversation, conversation_id))


def rename(server, member: str, display_name: str) -> None:
    from wb.auth import service as accounts
    from wb.models import User

    with server.app.app_context():
        user = User.by_username(member)
        accounts.update_profile(user, display_name, user.bio)


def test_a_new_message_moves_its_row_to_the_top_while_reading_another(browsing, server):
    alice = server.create_member("alice")
    bob, carol = server.create_member("bob"), server.create_member("carol")
    with_carol = seed_conversation(server, carol, alice, "carol says hi")
    with_bob = seed_conversation(server, bob, alice, "bob says hi")
    read_before(server, alice, with_bob)  # the page reads nothing as it opens: its list is the one drawn with it

    page = browsing.sign_in(alice)
    page.goto(f"/messages/{with_bob}")
    page.wait_for_load_state("load")
    expect(page.locator("#thread-messages")).to_contain_text("bob says hi")
    page.evaluate("window.wbSameDocument = true")
    rows = page.locator("#conversation-list li.conversation")
    expect(rows.first).to_have_attribute("data-conversation-id", str(with_bob))
    bob_row = page.locator(f'#conversation-list li[data-conversation-id="{with_bob}"]')
    bob_row.evaluate("row => { row.wbKept = true; }")
    asked = []
    page.on("request", lambda request: asked.append(request.url) if "/messages/list" in request.url else None)

    rename(server, bob, "Bobby")  # in his settings: no event for Alice's page, her next answer names him
    send_as(server, carol, with_carol, "are you around?")

    expect(rows.first).to_have_attribute("data-conversation-id", str(with_carol), timeout=3 * BADGE_WAIT_MS)
    carol_row = rows.first
    expect(bob_row.locator(".conversation-name")).to_have_text("Bobby")
    expect(carol_row.locator(".badge")).to_have_text("2")
    expect(carol_row).to_contain_text("are you around?")
    # The answer drew Carol's row only: Bob's is the one the page had, moved down.
    assert bob_row.evaluate("row => row.wbKept === true")
    expect(rows).to_have_count(2)
    assert asked == []  # the live answer brought the row
    expect(bob_row).to_have_class(re.compile(r"\bactive\b"))
    expect(bob_row.locator("a")).to_have_attribute("aria-current", "page")
    expect(page.locator("#conversation-list li.active")).to_have_count(1)
    expect(page.locator("#thread-messages")).to_contain_text("bob says hi")
    assert page.evaluate("window.wbSameDocument === true"), "the page was reloaded"

    # Picked in the list, Carol's thread is the open one: the next polls keep it marked.
    carol_row.locator("a").click()
    expect(page.locator("#thread-messages")).to_contain_text("are you around?")
    send_as(server, bob, with_bob, "bob again")
    expect(rows.first).to_have_attribute("data-conversation-id", str(with_bob), timeout=3 * BADGE_WAIT_MS)
    expect(bob_row.locator(".badge")).to_have_text("1")
    expect(page.locator(f'#conversation-list li[data-conversation-id="{with_carol}"]')).to_have_class(re.compile(r"\bactive\b"))
    expect(page.locator(f'#conversation-list li[data-conversation-id="{with_carol}"] .badge')).to_have_count(0)
    expect(page.locator("#conversation-list li.active")).to_have_count(1)
    assert page.evaluate("window.wbSameDocument === true"), "the page was reloaded"
    assert browsing.unexpected_problems() == []


def test_a_list_missing_a_row_the_answer_keeps_asks_for_the_whole_list(browsing, server):
    """An answer that draws only the rows that changed names every row of the page; a list that
    lacks one it didn't draw (drawn before something it never heard of) asks for itself."""
    alice = server.create_member("alice")
    bob, carol = server.create_member("bob"), server.create_member("carol")
    with_carol = seed_conversation(server, carol, alice, "carol says hi")
    with_bob = seed_conversation(server, bob, alice, "bob says hi")
    page = browsing.sign_in(alice)
    page.goto("/messages")
    page.wait_for_load_state("load")
    page.evaluate("window.wbSameDocument = true")
    rows = page.locator("#conversation-list li.conversation")
    expect(rows).to_have_count(2)
    page.locator(f'#conversation-list li[data-conversation-id="{with_bob}"]').evaluate("row => row.remove()")
    expect(rows).to_have_count(1)
    asked = []
    page.on("request", lambda request: asked.append(request.url) if "/messages/list" in request.url else None)

    send_as(server, carol, with_carol, "still there?")

    expect(rows).to_have_count(2, timeout=3 * BADGE_WAIT_MS)
    expect(rows.first).to_contain_text("still there?")
    expect(rows.nth(1)).to_have_attribute("data-conversation-id", str(with_bob))
    expect(rows.nth(1)).to_contain_text("bob says hi")
    assert len(asked) == 1, asked  # the live answer's rows could not be merged: the list asked
    assert page.evaluate("window.wbSameDocument === true"), "the page was reloaded"
    assert browsing.unexpected_problems() == []


def test_the_newest_message_deleted_for_both_changes_the_other_members_preview(browsing, server):
    from wb.extensions import db
    from wb.messaging import writes
    from wb.messaging.models import Conversation, Message
    from wb.models import User

    alice, bob = server.create_member("alice"), server.create_member("bob")
    with_bob = seed_conversation(server, bob, alice, "sent by mistake")
    read_before(server, alice, with_bob)  # the deletion moves no unread count
    page = browsing.sign_in(alice)
    page.goto("/messages")
    page.wait_for_load_state("load")
    preview = page.locator(f'#conversation-list li[data-conversation-id="{with_bob}"] .conversation-preview')
    expect(preview).to_have_text("sent by mistake")

    with server.app.app_context():
        conversation = db.session.get(Conversation, with_bob)
        newest = db.session.scalar(db.select(db.func.max(Message.id)).where(Message.conversation_id == with_bob))
        writes.delete_message(User.by_username(bob), conversation, newest)

    expect(preview).to_have_text("Message deleted", timeout=BADGE_WAIT_MS)


@pytest.mark.parametrize("width", [390, 1280])
def test_a_two_digit_unread_count_is_shown_whole_beside_a_long_preview(browsing, server, width):
    """A long preview squeezed "13" to "1" and half a "3" (an outside tester's marketplace)."""
    from sqlalchemy import update

    from wb.extensions import db
    from wb.messaging.models import ConversationMembership
    from wb.models import User

    alice, bob = server.create_member("alice"), server.create_member("bob")
    conversation_id = seed_conversation(server, bob, alice, "Limited offer: handmade scarves at half price " * 4)
    with server.app.app_context():
        db.session.execute(update(ConversationMembership).where(
            ConversationMembership.conversation_id == conversation_id,
            ConversationMembership.user_id == User.by_username(alice).id).values(unread_count=13))
        db.session.commit()
    page = browsing.sign_in(alice, viewport={"width": width, "height": 800})
    page.goto("/messages")
    badge = page.locator("#conversation-list li.conversation .badge")
    expect(badge).to_have_text("13")
    fits = badge.evaluate("b => [b.scrollWidth, b.clientWidth]")
    assert fits[0] <= fits[1], f"the count is cut: {fits}"
