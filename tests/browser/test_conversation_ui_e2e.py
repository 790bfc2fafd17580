"""The conversation as members use it (issue 24): their own long message in view, a time on
every newest message, a ⋯ menu that covers nothing, a phone keyboard that writes lines, and a
thread that works without JavaScript."""
import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips these tests (or fails them when WB_REQUIRE_BROWSER=1)
    expect = None

from .conftest import THREAD_WAIT_MS
from .test_messaging_e2e import PHONE, THREAD_URL, compose_box, open_conversation, press_message, send

pytestmark = pytest.mark.browser

PHONE_CONTEXT = {"viewport": PHONE, "has_touch": True, "is_mobile": True}
SHORT = {"width": 1280, "height": 600}


@pytest.fixture(scope="module")
def ui_server(start_server, browser):
    """Messaging on, and room to seed a long conversation in one go."""
    live = start_server(MESSAGE_RATE_LIMIT="1000 per minute")
    live.set_messaging(True)
    return live


def seed_messages(server, sender: str, recipient: str, texts: list[str]) -> int:
    """sender writes texts to recipient, straight into the server's databases; the conversation's id."""
    from wb.messaging import writes
    from wb.models import User

    with server.app.app_context():
        members = User.by_username(sender), User.by_username(recipient)
        conversation, _created = writes.open_conversation(*members)
        for text in texts:
            writes.send_message(members[0], conversation, text)
        return conversation.id


def bottom_below_thread(page, locator) -> float:
    """How far the element's bottom is below the thread's visible area (<= 0: in view)."""
    return locator.evaluate(
        """el => el.getBoundingClientRect().bottom
                 - document.getElementById("thread-messages").getBoundingClientRect().bottom"""
    )


def test_my_own_long_message_scrolls_into_view_after_sending(browsing, ui_server):
    server = ui_server
    alice, bob = server.create_member("alice"), server.create_member("bob")
    seed_messages(server, bob, alice, [f"Earlier note {n}" for n in range(12)])
    page = browsing.sign_in(alice, server=server, **PHONE_CONTEXT)
    open_conversation(page, bob, "Bob")
    # Alice scrolls up to reread Bob's first notes, then answers.
    page.evaluate('document.getElementById("thread-messages").scrollTop = 0')
    long_text = "\n".join(f"Line {n} of the directions to my place" for n in range(30))
    send(page, long_text)
    mine = page.locator("#thread-messages li.message.mine")
    expect(mine).to_have_count(1, timeout=THREAD_WAIT_MS)
    # Its end (where the time and menu are) is on screen, whatever the list refresh does meanwhile.
    page.wait_for_function(
        """() => {
          const list = document.getElementById("thread-messages");
          const mine = list.querySelector("li.message.mine");
          return mine && mine.getBoundingClientRect().bottom <= list.getBoundingClientRect().bottom + 1;
        }""",
        timeout=THREAD_WAIT_MS,
    )
    # And it stays there: nothing scrolls it away once the list has refreshed too.
    expect(page.locator("li.conversation")).to_have_count(1)
    assert bottom_below_thread(page, mine) <= 1
