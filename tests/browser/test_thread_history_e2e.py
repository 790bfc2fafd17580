""""Show older messages" across days, in a real Chromium (issue 13): one separator per day, the
reader kept where they were, every message in order."""
from datetime import datetime, time, timedelta

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips these tests (or fails them when WB_REQUIRE_BROWSER=1)
    expect = None

pytestmark = pytest.mark.browser

PER_PAGE = 8
# Short enough that a page of messages scrolls.
SHORT = {"width": 1280, "height": 560}


@pytest.fixture(scope="module")
def paged_server(start_server, browser):
    """A server with small pages, so "Show older" needs a handful of messages, not fifty."""
    live = start_server(MESSAGES_PER_PAGE=PER_PAGE, MESSAGE_RATE_LIMIT="1000 per minute")
    live.set_messaging(True)
    return live


def seed_days(server, alice: str, bob: str, days: list[tuple[datetime, int]]) -> tuple[int, list[int]]:
    """Alice and Bob take turns writing count messages on each (start, count) day, 20 minutes
    apart; returns the conversation's id and its message ids, oldest first."""
    from wb.extensions import db
    from wb.messaging import writes
    from wb.messaging.models import Message
    from wb.models import User

    with server.app.app_context():
        members = User.by_username(alice), User.by_username(bob)
        conversation, _created = writes.open_conversation(*members)
        moments = [start + timedelta(minutes=20 * n) for start, count in days for n in range(count)]
        for number in range(len(moments)):
            writes.send_message(members[number % 2], conversation, f"message {number + 1}")
        messages = db.session.scalars(
            db.select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id)
        ).all()
        for message, moment in zip(messages, moments):
            message.created_at = moment
        db.session.commit()
        return conversation.id, [message.id for message in messages]


def thread_items(page) -> list[str]:
    """The thread as the reader sees it, top to bottom: separators by their label, messages by their text."""
    return page.locator("#thread-messages > li.day-separator, #thread-messages > li.message").evaluate_all(
        "items => items.map(item => item.matches('.day-separator') ? '| ' + item.textContent.trim()"
        " : item.querySelector('.body').textContent.trim())"
    )


def offset_in_thread(page, message_id: int) -> float:
    """Where a message sits in the thread's visible area, in pixels from its top."""
    return page.evaluate(
        """id => document.getElementById("message-" + id).getBoundingClientRect().top
                - document.getElementById("thread-messages").getBoundingClientRect().top""",
        message_id,
    )


def test_show_older_joins_the_days_at_the_seam_and_keeps_the_reader_in_place(browsing, paged_server):
    alice, bob = paged_server.create_member("alice"), paged_server.create_member("bob")
    midnight = datetime.combine(datetime.utcnow().date(), time())
    long_ago = midnight - timedelta(days=40)
    # 16 messages: 4 long ago, 6 yesterday, 6 today. The first page (8) shows 2 of yesterday's
    # and today's; "Show older" brings long ago and yesterday's first 4.
    today_start = max(midnight, datetime.utcnow() - timedelta(hours=2))
    conversation_id, ids = seed_days(paged_server, alice, bob, [
        (long_ago + timedelta(hours=9), 4), (midnight - timedelta(hours=12), 6), (today_start, 6),
    ])
    text = {number: f"message {number}" for number in range(1, 17)}

    page = browsing.sign_in(alice, viewport=SHORT, server=paged_server)
    page.goto(f"/messages/{conversation_id}")
    page.wait_for_load_state("load")
    expect(page.locator("#thread-messages li.message")).to_have_count(PER_PAGE)
    assert thread_items(page) == ["| Yesterday", text[9], text[10], "| Today", *[text[n] for n in range(11, 17)]]

    # The reader scrolls up to the top of the page they have and asks for more.
    page.evaluate('document.getElementById("thread-messages").scrollTop = 0')
    first_seen = ids[8]
    before = offset_in_thread(page, first_seen)
    page.get_by_role("link", name="Show older messages").click()
    expect(page.locator("#thread-messages li.message")).to_have_count(2 * PER_PAGE)
    expect(page.locator("#thread-messages li.day-separator")).to_have_count(3)

    long_ago_label = page.locator("#thread-messages li.day-separator").first
    expect(long_ago_label).not_to_have_text("Yesterday")
    assert thread_items(page) == [
        f"| {long_ago_label.text_content().strip()}", *[text[n] for n in range(1, 5)],
        "| Yesterday", *[text[n] for n in range(5, 11)],
        "| Today", *[text[n] for n in range(11, 17)],
    ]
    assert long_ago_label.text_content().strip() not in ("Today", "Yesterday")
    # In order: ids rise top to bottom, and the older page has no "Show older" of its own.
    shown = page.locator("#thread-messages li.message").evaluate_all("items => items.map(i => +i.dataset.id)")
    assert shown == ids
    expect(page.get_by_role("link", name="Show older messages")).to_have_count(0)
    # The thread is a live region for new messages again (silent only while the older page landed).
    expect(page.locator("#thread-messages")).to_have_attribute("aria-live", "polite")
    # The message that was at the top is where it was: the older ones came in above it.
    assert abs(offset_in_thread(page, first_seen) - before) <= 2, (before, offset_in_thread(page, first_seen))


def test_news_elsewhere_leaves_a_reader_who_scrolled_up_where_they_are(browsing, paged_server):
    """A message in another conversation redraws the list and the badge, not the open thread:
    the reader who scrolled up to read older messages stays there."""
    from wb.messaging import writes
    from wb.models import User

    alice, bob, carol = (paged_server.create_member(name) for name in ("alice", "bob", "carol"))
    now = datetime.utcnow() - timedelta(hours=3)
    conversation_id, ids = seed_days(paged_server, alice, bob, [(now, PER_PAGE)])
    page = browsing.sign_in(alice, viewport=SHORT, server=paged_server)
    page.goto(f"/messages/{conversation_id}")
    page.wait_for_load_state("load")
    expect(page.locator("#thread-messages li.message")).to_have_count(PER_PAGE)
    # Settled: the thread has been read and the list and badge know it.
    expect(page.locator("#inbox-badge .badge")).to_have_count(0)
    page.evaluate('document.getElementById("thread-messages").scrollTop = 0')
    top = offset_in_thread(page, ids[0])

    with paged_server.app.app_context():
        writer = User.by_username(carol)
        conversation, _created = writes.open_conversation(writer, User.by_username(alice))
        writes.send_message(writer, conversation, "Carol here, about the bake sale")
    expect(page.locator("#inbox-badge .badge")).to_have_text("1", timeout=5000)
    expect(page.locator("#conversation-list li.conversation").first).to_contain_text("bake sale", timeout=5000)
    assert page.evaluate('document.getElementById("thread-messages").scrollTop') == 0
    assert offset_in_thread(page, ids[0]) == top


def test_a_reader_who_scrolls_up_while_a_message_lands_stays_where_they_scrolled(browsing, paged_server):
    """htmx settles a swap a moment after making it: a reader at the bottom when a new message's
    swap began, who scrolled up before it settled, is not pulled back down to the end."""
    from wb.extensions import db
    from wb.messaging import writes
    from wb.messaging.models import Conversation
    from wb.models import User

    alice, bob = (paged_server.create_member(name) for name in ("alice", "bob"))
    conversation_id, ids = seed_days(paged_server, alice, bob, [(datetime.utcnow() - timedelta(hours=3), PER_PAGE)])
    page = browsing.sign_in(alice, viewport=SHORT, server=paged_server)
    page.goto(f"/messages/{conversation_id}")
    expect(page.locator("#thread-messages li.message")).to_have_count(PER_PAGE)
    expect(page.locator("#inbox-badge .badge")).to_have_count(0)
    page.wait_for_timeout(500)  # the page's own first answers are in
    # The reader scrolls to the top just as a swap in the thread begins (after app.js has seen
    # them at the bottom).
    page.evaluate("""document.addEventListener("htmx:beforeSwap", function (event) {
        if (!event.detail.target.closest("#thread")) return;
        document.getElementById("thread-messages").scrollTop = 0;
        window.scrolledDuringSwap = true;
    })""")

    with paged_server.app.app_context():
        writer = User.by_username(bob)
        writes.send_message(writer, db.session.get(Conversation, conversation_id),
                            "Are you reading the old ones?")
    expect(page.locator("#thread-messages li.message").last).to_contain_text("old ones", timeout=5000)
    page.wait_for_timeout(300)  # well past the settle
    assert page.evaluate("window.scrolledDuringSwap") is True
    assert page.evaluate('document.getElementById("thread-messages").scrollTop') == 0
