"""A flaky connection and a failing server, as a keyboard-only newcomer on a phone met them: a send, a
delete, a conversation picked in the inbox and the New message search that get no answer, a late one
or an error page. The page keeps what was written and where the member was, says in words what didn't
happen, and a message sent again after its answer was lost is stored once (an outside tester)."""
import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips these tests (or fails them when WB_REQUIRE_BROWSER=1)
    expect = None

from .conftest import THREAD_WAIT_MS
from .test_messaging_e2e import compose_box, open_conversation, send

pytestmark = pytest.mark.browser

SEND = re.compile(r".*/messages/\d+(\?.*)?$")  # a send posts to the thread's own address
POLL = re.compile(r".*/messages/\d+/poll\?.*")
# What the browser and htmx log for a request that failed or was answered with an error, on purpose here.
FAILED_REQUEST_LINES = re.compile(
    r"Failed to load resource|Response Status Error Code|htmx:(sendError|afterRequest|timeout)|net::ERR|ERR_")
# The app's own error fragments (errors/_error.html), as the server draws them for htmx, and a proxy's page.
MESSAGES_UNAVAILABLE = (
    '<div class="error-box" role="alert" data-status="503"><h2>Messages unavailable</h2><p>Messages can\'t be '
    "shown right now: their database isn't answering as it should. Nothing else is affected, and the admins "
    "can see why in Admin → Messaging.</p></div>")
SOMETHING_WENT_WRONG = (
    '<div class="error-box" role="alert" data-status="500"><h2>Something went wrong</h2><p>We hit an error on '
    "our side. It has been logged; please try again.</p></div>")
PROXY_BAD_GATEWAY = ("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
                     "</center><hr><center>nginx</center></body></html>")
STILL_HERE = "Your message is still here; send it again in a moment."


def expect_failures(browsing):
    browsing.allow_console_error(FAILED_REQUEST_LINES)
    browsing.allow_server_error(re.compile(r"^5\d\d for POST .*/messages/\d+"))


def only_sends(handle):
    """A route handler that handles the thread's sends (POST) with handle and lets everything else through."""
    def route_it(route):
        if route.request.method == "POST":
            handle(route)
        else:
            route.continue_()
    return route_it


def stored_bodies(server, conversation_id) -> list[str]:
    """The messages the server's database holds in the conversation, oldest first."""
    from sqlalchemy import select

    from wb.extensions import db
    from wb.messaging.models import Message

    with server.app.app_context():
        rows = db.session.scalars(select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id))
        return ["(deleted)" if row.deleted_at else row.body for row in rows]


def conversation_id(page) -> int:
    return int(page.url.rsplit("/", 1)[1].split("?")[0])


def alice_writing_to_bob(browsing, server):
    alice, bob = server.create_member("alice"), server.create_member("bob")
    page = browsing.sign_in(alice)
    open_conversation(page, bob, "Bob")
    return page


@pytest.mark.parametrize("status, answer, words", [
    (503, MESSAGES_UNAVAILABLE, "Not sent: messages can't be stored right now. " + STILL_HERE),
    (500, SOMETHING_WENT_WRONG, "Not sent: something went wrong on the server. " + STILL_HERE),
    (502, PROXY_BAD_GATEWAY, "Not sent: the server couldn't be reached. " + STILL_HERE),
], ids=["messages-unavailable", "server-error", "proxy-bad-gateway"])
def test_a_send_answered_with_an_error_keeps_the_box_and_its_text(browsing, server, status, answer, words):
    """The error box took the compose form's place, and the message typed in it; focus fell to <body>."""
    expect_failures(browsing)
    page = alice_writing_to_bob(browsing, server)
    page.route(SEND, only_sends(lambda route: route.fulfill(status=status, body=answer, content_type="text/html")))
    box = compose_box(page)
    box.fill("Can you feed the cat on Sunday?")
    box.press("Enter")

    error = page.locator("#compose .compose-error")
    expect(error).to_have_text(words)
    expect(error).to_have_attribute("role", "alert")
    expect(box).to_have_value("Can you feed the cat on Sunday?")
    expect(box).to_be_focused()
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    expect(page.locator("#thread .error-box")).to_have_count(0)
    expect(page.locator("#compose-sending")).to_have_count(0)

    page.unroute(SEND)
    box.press("Enter")  # the same message, again: it goes now
    expect(page.locator("#thread-messages li.message.mine .body")).to_have_text(["Can you feed the cat on Sunday?"],
                                                                              timeout=THREAD_WAIT_MS)
    expect(error).to_have_count(0)
    expect(box).to_have_value("")
    assert stored_bodies(server, conversation_id(page)) == ["Can you feed the cat on Sunday?"]


def test_a_stalled_send_says_sending_and_a_timeout_gives_the_text_back(browsing, server):
    """The box emptied at once and nothing said "Sending…"; when the request then timed out nothing
    was said and the text never came back."""
    expect_failures(browsing)
    page = alice_writing_to_bob(browsing, server)
    stalled = []
    page.route(SEND, only_sends(stalled.append))
    box = compose_box(page)
    box.fill("Running late, there in ten")
    box.press("Enter")

    sending = page.locator("#compose-sending")
    expect(sending).to_have_attribute("role", "status")
    expect(sending).to_have_text("Sending “Running late, there in ten”…")
    assert len(stalled) == 1
    stalled[0].abort("timedout")

    expect(page.locator("#compose .compose-error")).to_have_text(
        "Not sent: the server took too long to answer. " + STILL_HERE)
    expect(box).to_have_value("Running late, there in ten")
    expect(sending).to_have_count(0)
    page.unroute(SEND)
    box.press("Enter")
    expect(page.locator("#thread-messages li.message.mine .body")).to_have_text(["Running late, there in ten"],
                                                                              timeout=THREAD_WAIT_MS)
    assert stored_bodies(server, conversation_id(page)) == ["Running late, there in ten"]


def test_a_send_the_page_gives_up_waiting_for_says_so_and_gives_the_text_back(browsing, server):
    """htmx's own timeout (the page waits 20 s; this one a second and a half)."""
    expect_failures(browsing)
    page = alice_writing_to_bob(browsing, server)
    page.route(SEND, only_sends(lambda route: None))  # never answered
    page.locator("#compose").evaluate("""form => form.setAttribute("hx-request", '{"timeout": 1500}')""")
    send(page, "Is the hall booked?")
    expect(page.locator("#compose .compose-error")).to_have_text(
        "Not sent: the server took too long to answer. " + STILL_HERE)
    expect(compose_box(page)).to_have_value("Is the hall booked?")


def test_a_page_left_while_its_send_is_on_its_way_keeps_the_text(browsing, server):
    """Leaving while a send stalled lost the text: it was in no box and no draft."""
    expect_failures(browsing)
    page = alice_writing_to_bob(browsing, server)
    page.route(SEND, only_sends(lambda route: None))  # never answered, never stored
    send(page, "Don't lose me")
    expect(page.locator("#compose-sending")).to_have_count(1)
    page.reload()
    expect(compose_box(page)).to_have_value("Don't lose me")
    assert stored_bodies(server, conversation_id(page)) == []


def test_a_send_whose_answer_was_lost_is_stored_once_when_sent_again(browsing, server):
    """The server stored the message, the connection dropped before the answer came: the page said
    "Not sent", and sending it again stored it twice."""
    expect_failures(browsing)
    page = alice_writing_to_bob(browsing, server)
    page.route(POLL, lambda route: None)  # nothing else tells the page the message is there meanwhile
    lost = []

    def store_then_drop(route):
        lost.append(route.fetch())  # the server answers; the page never hears it
        route.abort("connectionreset")

    page.route(SEND, only_sends(store_then_drop))
    box = compose_box(page)
    box.fill("Keys are under the mat")
    box.press("Enter")
    expect(page.locator("#compose .compose-error")).to_contain_text("Not sent")
    expect(box).to_have_value("Keys are under the mat")
    assert lost[0].status == 200
    assert stored_bodies(server, conversation_id(page)) == ["Keys are under the mat"]

    page.unroute(SEND)  # (the poll stays held: let go, it would bring the message, and the page take back its "Not sent")
    box.press("Enter")  # the member does as told
    mine = page.locator("#thread-messages li.message.mine .body")
    expect(mine).to_have_text(["Keys are under the mat"], timeout=THREAD_WAIT_MS)
    expect(page.locator("#compose .compose-error")).to_have_count(0)
    expect(box).to_have_value("")
    assert stored_bodies(server, conversation_id(page)) == ["Keys are under the mat"]
    # A new message with the same words is a message of its own.
    send(page, "Keys are under the mat")
    expect(mine).to_have_count(2, timeout=THREAD_WAIT_MS)
    assert stored_bodies(server, conversation_id(page)) == ["Keys are under the mat"] * 2


def test_a_lost_answer_is_taken_back_once_the_message_shows_in_the_thread(browsing, server):
    """The page said "Not sent" beside the message the thread then showed, and kept its text in the box."""
    expect_failures(browsing)
    page = alice_writing_to_bob(browsing, server)

    def store_then_drop(route):
        route.fetch()
        route.abort("connectionreset")

    page.route(SEND, only_sends(store_then_drop))
    box = compose_box(page)
    box.fill("See you at the market")
    box.press("Enter")
    # The thread asks what is new, and the message is there: the alert and the box's copy go.
    expect(page.locator("#thread-messages li.message.mine .body")).to_have_text(["See you at the market"],
                                                                              timeout=THREAD_WAIT_MS)
    expect(page.locator("#compose .compose-error")).to_have_count(0)
    expect(box).to_have_value("")
    page.unroute(SEND)
    page.reload()  # and no draft of it waits in the box
    expect(compose_box(page)).to_have_value("")
    assert stored_bodies(server, conversation_id(page)) == ["See you at the market"]


@pytest.mark.parametrize("action, status, words", [
    ("Delete for both", 503, "Not deleted: messages can't be changed right now. The message is as it was; try again in a moment."),
    ("Remove for me", 500, "Not removed: something went wrong on the server. The message is as it was; try again in a moment."),
])
def test_a_delete_that_fails_on_the_server_leaves_the_message_and_says_so(browsing, server, action, status, words):
    """The message and its ⋯ menu were replaced by the "Messages unavailable" box, though nothing was deleted."""
    expect_failures(browsing)
    page = alice_writing_to_bob(browsing, server)
    send(page, "Wrong thread, sorry")
    mine = page.locator("#thread-messages li.message.mine")
    expect(mine).to_have_count(1, timeout=THREAD_WAIT_MS)
    answer = MESSAGES_UNAVAILABLE if status == 503 else SOMETHING_WENT_WRONG
    verb = re.compile(r".*/messages/\d+/messages/\d+/(delete|remove)$")
    page.route(verb, lambda route: route.fulfill(status=status, body=answer, content_type="text/html"))
    page.on("dialog", lambda dialog: dialog.accept())
    page.set_viewport_size({"width": 375, "height": 600})  # a phone, the thread short

    mine.locator("summary").focus()
    page.keyboard.press("Enter")
    button = mine.get_by_role("button", name=action)
    button.focus()
    page.keyboard.press("Enter")

    alert = mine.locator(".message-actions-menu [role=alert]")
    expect(alert).to_have_text(words)
    expect(mine.locator(".body")).to_have_text("Wrong thread, sorry")
    expect(page.locator("#thread .error-box")).to_have_count(0)
    expect(button).to_be_focused()
    # in sight: under the newest message the alert pushed the menu below the thread (a re-check tester)
    expect(alert).to_be_in_viewport()
    expect(button).to_be_in_viewport()
    assert stored_bodies(server, conversation_id(page)) == ["Wrong thread, sorry"]

    page.unroute(verb)
    page.keyboard.press("Enter")  # again: it goes through now
    if action == "Delete for both":
        expect(mine.locator(".body")).to_have_text("Message deleted")
        expect(alert).to_have_count(0)
    else:
        expect(mine).to_have_count(0)


def test_offline_a_conversation_picked_in_the_inbox_says_it_could_not_load(browsing, server):
    """Enter on a conversation in the list did nothing, and said nothing, while the phone was offline."""
    browsing.allow_console_error(FAILED_REQUEST_LINES)
    alice, bob, carol = server.create_member("alice"), server.create_member("bob"), server.create_member("carol")
    page = browsing.sign_in(alice)
    for name, username in (("Bob", bob), ("Carol", carol)):
        open_conversation(page, username, name)
        send(page, f"Hello {name}")
        expect(page.locator("#thread-messages li.message.mine")).to_have_count(1, timeout=THREAD_WAIT_MS)
    page.goto("/messages")
    page.wait_for_load_state("load")
    row = page.locator("#conversation-list li.conversation a", has_text="Bob")

    page.context.set_offline(True)
    row.focus()
    page.keyboard.press("Enter")
    alert = page.locator(".inbox-list [role=alert]")
    expect(alert).to_have_text(PICKED_OFFLINE)
    expect(row).to_be_focused()

    page.context.set_offline(False)  # it opens by itself
    expect(page.locator("#thread h2")).to_contain_text("Bob")
    expect(alert).to_have_count(0)


PICKED_OFFLINE = "Couldn't open it: you're offline. It opens once you're back online."


def test_a_conversation_picked_offline_after_a_failed_send_opens_once_back_online(browsing, server):
    """A send failed offline in Dave's conversation, then Carol was picked in the list: back online the
    message went, but "Couldn't load: you're offline. Try again in a moment." stayed above the list
    for good and Carol's conversation never opened (an older neighbours' re-check tester)."""
    expect_failures(browsing)
    alice = server.create_member("alice")
    dave = server.create_member("dave", display_name="Dave Pennywhistle")  # one server for all tests
    carol = server.create_member("carol", display_name="Carol Marchbank")
    page = browsing.sign_in(alice)
    open_conversation(page, carol, "Carol Marchbank")
    send(page, "Morning Carol")
    expect(page.locator("#thread-messages li.message.mine")).to_have_count(1, timeout=THREAD_WAIT_MS)
    carol_url = page.url
    open_conversation(page, dave, "Dave Pennywhistle")
    dave_id = conversation_id(page)
    keys = sends_seen(page)

    page.context.set_offline(True)
    box = compose_box(page)
    box.fill("Your parcel is on my step")
    box.press("Enter")
    expect(page.locator("#compose .compose-error")).to_have_text(OFFLINE_NOTE)
    page.locator("#conversation-list li.conversation a", has_text="Carol Marchbank").click()
    alert = page.locator(".inbox-list [role=alert]")
    expect(alert).to_have_text(PICKED_OFFLINE)
    expect(page.locator("#thread h2")).to_contain_text("Dave Pennywhistle")

    page.context.set_offline(False)
    expect(page.locator("#thread h2")).to_contain_text("Carol Marchbank", timeout=THREAD_WAIT_MS)
    expect(page.locator("#thread-messages li.message.mine .body")).to_have_text(["Morning Carol"])
    expect(page).to_have_url(carol_url)
    expect(alert).to_have_count(0)
    expect(page.locator(".inbox-list [role=alert], #thread-pane [role=alert]")).to_have_count(0)
    assert len(keys) == 2 and keys[0] == keys[1]  # the failed send went again by itself, once
    assert stored_bodies(server, dave_id) == ["Your parcel is on my step"]


def test_a_conversation_that_failed_on_the_server_says_so_until_a_pick_opens(browsing, server):
    """A 503 isn't being offline: it keeps its own words, and goes once another pick opens."""
    expect_failures(browsing)
    browsing.allow_server_error(re.compile(r"^503 for GET .*/messages/\d+"))
    alice = server.create_member("alice")
    erin = server.create_member("erin", display_name="Erin Halloway")
    frank = server.create_member("frank", display_name="Frank Tollemache")
    page = browsing.sign_in(alice)
    for username, name in ((erin, "Erin Halloway"), (frank, "Frank Tollemache")):
        open_conversation(page, username, name)
        send(page, f"Hello {name}")
        expect(page.locator("#thread-messages li.message.mine")).to_have_count(1, timeout=THREAD_WAIT_MS)
    page.goto("/messages")
    page.wait_for_load_state("load")
    erin_row = page.locator("#conversation-list li.conversation a", has_text="Erin Halloway")
    erin_thread = re.compile(".*" + re.escape(erin_row.get_attribute("href").split("?")[0]) + r"(\?.*)?$")
    page.route(erin_thread, lambda route: route.fulfill(status=503, body=MESSAGES_UNAVAILABLE, content_type="text/html"))

    erin_row.click()
    alert = page.locator(".inbox-list [role=alert]")
    expect(alert).to_have_text("Couldn't load: messages can't be shown right now. Try again in a moment.")
    page.locator("#conversation-list li.conversation a", has_text="Frank Tollemache").click()
    expect(page.locator("#thread h2")).to_contain_text("Frank Tollemache")
    expect(alert).to_have_count(0)


def test_offline_the_new_message_search_says_it_could_not_search_and_searches_again_online(browsing, server):
    """Typing offline left "Type at least 2 letters…" in the results' live region, and coming back
    online searched nothing."""
    browsing.allow_console_error(FAILED_REQUEST_LINES)
    alice = server.create_member("alice")
    bob = server.create_member("bob", display_name="Bob Quillfeather")  # another test's Bob may share the server
    page = browsing.sign_in(alice)
    page.goto("/messages")
    page.wait_for_load_state("load")
    page.locator("details.new-message summary").click()
    search = page.get_by_label("Find a member by name or username")
    results = page.locator("#new-message-results")

    page.context.set_offline(True)
    search.press_sequentially("quillf", delay=30)
    expect(results).to_have_text("Couldn't search: you're offline. It searches again once you're back online.")
    expect(results).to_have_attribute("aria-live", "polite")

    page.context.set_offline(False)
    expect(results.get_by_role("button", name=f"Message Bob Quillfeather @{bob}")).to_be_visible()


def test_a_late_answer_to_a_send_changes_nothing_in_a_conversation_opened_since(browsing, server):
    """A send still on its way when another conversation was picked in the list came back into that
    one: Carol's thread showed Alice's message to Dave, and its poller followed Dave's conversation
    from then on (a re-check tester). An answer to a box no longer on the page is not drawn."""
    expect_failures(browsing)
    alice, bob, carol = server.create_member("alice"), server.create_member("bob"), server.create_member("carol")
    page = browsing.sign_in(alice)
    ids = {}
    for name, username in (("Carol", carol), ("Bob", bob)):
        open_conversation(page, username, name)
        send(page, f"Hello {name}")
        expect(page.locator("#thread-messages li.message.mine")).to_have_count(1, timeout=THREAD_WAIT_MS)
        ids[name] = conversation_id(page)
    stalled = []
    page.route(SEND, only_sends(stalled.append))
    box = compose_box(page)
    box.fill("For Bob only")
    box.press("Enter")
    expect(page.locator("#compose-sending")).to_have_text("Sending “For Bob only”…")
    page.locator("#conversation-list li.conversation a", has_text="Carol").click()
    expect(page.locator("#thread h2 a")).to_have_text("Carol")
    late = stalled[0]
    late.fulfill(response=late.fetch())  # stored, its answer coming only now

    page.wait_for_timeout(1500)
    expect(page.locator("#thread h2 a")).to_have_text("Carol")
    expect(page.locator("#thread-messages li.message .body")).to_have_text(["Hello Carol"])
    assert f"/messages/{ids['Carol']}/" in page.locator("#poller").get_attribute("hx-get")
    assert stored_bodies(server, ids["Bob"]) == ["Hello Bob", "For Bob only"]
    page.unroute(SEND)
    page.locator("#conversation-list li.conversation a", has_text="Bob").click()
    expect(page.locator("#thread-messages li.message.mine .body")).to_have_text(["Hello Bob", "For Bob only"],
                                                                              timeout=THREAD_WAIT_MS)


# --- a double tap, a menu opened offline, back online (an older neighbour on a phone) ----------------

@pytest.mark.parametrize("answered", ["between-the-taps", "after-both-taps"])
def test_send_tapped_twice_stores_once_and_says_nothing_is_missing(browsing, server, answered):
    """A double tap on Send stored the message once, then said "Write something before sending." under
    the box it had just emptied."""
    from .test_conversation_ui_e2e import PHONE_CONTEXT

    expect_failures(browsing)
    alice, bob = server.create_member("alice"), server.create_member("bob")
    page = browsing.sign_in(alice, **PHONE_CONTEXT)
    open_conversation(page, bob, "Bob")
    held = []
    if answered == "after-both-taps":
        page.route(SEND, only_sends(held.append))
    box, button = compose_box(page), page.get_by_role("button", name="Send")
    box.fill("Thank you for the soup")
    button.tap()
    if answered == "between-the-taps":
        expect(page.locator("#thread-messages li.message.mine")).to_have_count(1, timeout=THREAD_WAIT_MS)
    page.wait_for_timeout(250)
    button.tap()
    if held:
        assert len(held) == 1
        held[0].fulfill(response=held[0].fetch())
        page.unroute(SEND)
    mine = page.locator("#thread-messages li.message.mine .body")
    expect(mine).to_have_text(["Thank you for the soup"], timeout=THREAD_WAIT_MS)
    page.wait_for_timeout(800)
    expect(page.locator("#compose .compose-error")).to_have_count(0)
    expect(box).not_to_have_attribute("aria-invalid", "true")
    assert stored_bodies(server, conversation_id(page)) == ["Thank you for the soup"]

    page.wait_for_timeout(1000)  # a press of its own, later, on an empty box: still told
    button.tap()
    expect(page.locator("#compose .compose-error")).to_have_text("Write something before sending.")
    assert stored_bodies(server, conversation_id(page)) == ["Thank you for the soup"]


def test_enter_pressed_again_while_a_send_is_on_its_way_says_nothing_is_missing(browsing, server):
    """At a keyboard the same: a second Enter on the box the send had emptied said "Write something"."""
    expect_failures(browsing)
    page = alice_writing_to_bob(browsing, server)
    held = []
    page.route(SEND, only_sends(held.append))
    box = compose_box(page)
    box.fill("Happy birthday, Bob")
    box.press("Enter")
    expect(page.locator("#compose-sending")).to_have_count(1)
    box.press("Enter")
    page.wait_for_timeout(300)
    expect(page.locator("#compose .compose-error")).to_have_count(0)
    held[0].fulfill(response=held[0].fetch())
    page.unroute(SEND)
    expect(page.locator("#thread-messages li.message.mine .body")).to_have_text(["Happy birthday, Bob"],
                                                                              timeout=THREAD_WAIT_MS)
    box.press("Enter")  # straight after it was stored: nothing said either
    page.wait_for_timeout(300)
    expect(page.locator("#compose .compose-error")).to_have_count(0)
    assert len(held) == 1 and stored_bodies(server, conversation_id(page)) == ["Happy birthday, Bob"]


def test_a_message_menu_opened_offline_says_it_could_not_load_and_loads_back_online(browsing, server):
    """Offline, the ⋯ menu showed only "Delete or remove…", which led to the browser's offline page, and
    stayed so once back online."""
    expect_failures(browsing)
    page = alice_writing_to_bob(browsing, server)
    send(page, "Is the gate fixed?")
    mine = page.locator("#thread-messages li.message.mine")
    expect(mine).to_have_count(1, timeout=THREAD_WAIT_MS)
    thread_url = page.url

    page.context.set_offline(True)
    mine.locator("summary").click()
    alert = mine.locator(".message-actions-menu [role=alert]")
    expect(alert).to_have_text("Couldn't load: you're offline. It loads once you're back online.")
    expect(mine.get_by_role("link", name="Delete or remove…")).to_have_count(0)
    mine.locator("summary").click()  # closed, and opened again: still offline, still said
    mine.locator("summary").click()
    expect(alert).to_have_text("Couldn't load: you're offline. It loads once you're back online.")
    assert page.url == thread_url

    page.context.set_offline(False)  # open as the signal comes back: it loads
    expect(mine.get_by_role("button", name="Delete for both")).to_be_visible()
    expect(alert).to_have_count(0)
    assert page.url == thread_url


def test_a_message_menu_opened_offline_on_a_zoomed_phone_shows_all_it_says(browsing, server):
    """At 200 % zoom the ⋯ of the newest message showed "Couldn't load: you're offline." and the rest
    of its words were below the screen's foot: a menu that loads is scrolled into view, this one wasn't
    (a screen-reader newcomer's re-check tester)."""
    expect_failures(browsing)
    alice = server.create_member("alice")
    bob = server.create_member("bob", display_name="Bob Thistlewood")
    page = browsing.sign_in(alice, device_scale_factor=4)  # signed in at desktop width, then the phone
    open_conversation(page, bob, "Bob Thistlewood")
    for words in ("Are the bins out?", "The blue one too"):
        send(page, words)
    mine = page.locator("#thread-messages li.message.mine")
    expect(mine).to_have_count(2, timeout=THREAD_WAIT_MS)
    page.set_viewport_size({"width": 195, "height": 422})
    newest = mine.last
    newest.scroll_into_view_if_needed()

    page.context.set_offline(True)
    newest.locator("summary").click()
    alert = newest.locator(".message-actions-menu [role=alert]")
    expect(alert).to_have_text("Couldn't load: you're offline. It loads once you're back online.")
    expect(alert).to_be_in_viewport(ratio=1)
    box = alert.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 422, box


def test_a_message_menu_that_failed_loads_when_opened_again(browsing, server):
    """The menu's own trigger fires once: a failed load stayed failed."""
    expect_failures(browsing)
    browsing.allow_server_error(re.compile(r"^503 for GET .*/actions$"))
    page = alice_writing_to_bob(browsing, server)
    send(page, "Bins go out tonight")
    mine = page.locator("#thread-messages li.message.mine")
    expect(mine).to_have_count(1, timeout=THREAD_WAIT_MS)
    actions = re.compile(r".*/messages/\d+/messages/\d+/actions$")
    page.route(actions, lambda route: route.fulfill(status=503, body=MESSAGES_UNAVAILABLE, content_type="text/html"))

    mine.locator("summary").click()
    expect(mine.locator(".message-actions-menu [role=alert]")).to_have_text(
        "Couldn't load: messages can't be shown right now. Try again in a moment.")
    page.unroute(actions)
    mine.locator("summary").click()
    mine.locator("summary").click()
    expect(mine.get_by_role("button", name="Remove for me")).to_be_visible()
    expect(mine.locator(".message-actions-menu [role=alert]")).to_have_count(0)


OFFLINE_NOTE = "Not sent: you're offline. " + STILL_HERE


def sends_seen(page) -> list[str]:
    """The Idempotency-Key of each send the page made (one made offline too)."""
    keys = []
    page.on("request", lambda request: keys.append(request.headers.get("idempotency-key"))
            if request.method == "POST" and SEND.match(request.url) else None)
    return keys


def test_a_send_that_failed_offline_goes_by_itself_once_back_online(browsing, server):
    """Back online, "Not sent: you're offline" stayed for good and nothing was sent."""
    expect_failures(browsing)
    page = alice_writing_to_bob(browsing, server)
    keys = sends_seen(page)
    box = compose_box(page)
    page.context.set_offline(True)
    box.fill("I'll bring the ladder round at six")
    box.press("Enter")
    error = page.locator("#compose .compose-error")
    expect(error).to_have_text(OFFLINE_NOTE)
    expect(box).to_have_value("I'll bring the ladder round at six")

    page.context.set_offline(False)
    mine = page.locator("#thread-messages li.message.mine .body")
    expect(mine).to_have_text(["I'll bring the ladder round at six"], timeout=THREAD_WAIT_MS)
    expect(error).to_have_count(0)
    expect(page.locator("#compose .compose-ready")).to_have_count(0)
    expect(box).to_have_value("")
    page.wait_for_timeout(1500)  # the thread's poll answers too: it sends nothing more
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0]  # once offline, once again with its key
    assert stored_bodies(server, conversation_id(page)) == ["I'll bring the ladder round at six"]


def test_a_send_that_reached_the_server_before_the_page_went_offline_is_stored_once(browsing, server):
    """Sent again by itself with the key it had, the message the server already has isn't stored twice."""
    expect_failures(browsing)
    page = alice_writing_to_bob(browsing, server)
    page.route(POLL, lambda route: None)  # only the send again brings it to the thread
    keys = sends_seen(page)

    def store_then_go_offline(route):
        route.fetch()  # stored; then the signal goes before the answer comes
        page.context.set_offline(True)
        route.abort("internetdisconnected")

    page.route(SEND, only_sends(store_then_go_offline))
    box = compose_box(page)
    box.fill("The parcel is with me")
    box.press("Enter")
    expect(page.locator("#compose .compose-error")).to_have_text(OFFLINE_NOTE)
    assert stored_bodies(server, conversation_id(page)) == ["The parcel is with me"]

    page.unroute(SEND)
    page.context.set_offline(False)
    expect(page.locator("#thread-messages li.message.mine .body")).to_have_text(["The parcel is with me"],
                                                                              timeout=THREAD_WAIT_MS)
    expect(page.locator("#compose .compose-error")).to_have_count(0)
    expect(box).to_have_value("")
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0]
    assert stored_bodies(server, conversation_id(page)) == ["The parcel is with me"]


def test_back_online_words_changed_since_wait_for_send_and_the_note_says_so(browsing, server):
    """The page sends only what failed; other words are the member's to send, and no "Not sent" stays beside them."""
    expect_failures(browsing)
    page = alice_writing_to_bob(browsing, server)
    keys = sends_seen(page)
    box = compose_box(page)
    page.context.set_offline(True)
    box.fill("See you Tuesday")
    box.press("Enter")
    expect(page.locator("#compose .compose-error")).to_have_text(OFFLINE_NOTE)
    box.fill("See you Wednesday instead")

    page.context.set_offline(False)
    note = page.locator("#compose .compose-ready")
    expect(note).to_have_text("You're back online. Press Send to send your message.")
    expect(note).to_have_attribute("role", "status")
    expect(page.locator("#compose .compose-error")).to_have_count(0)
    expect(box).not_to_have_attribute("aria-invalid", "true")
    page.wait_for_timeout(1500)
    assert len(keys) == 1 and stored_bodies(server, conversation_id(page)) == []  # only the send made offline

    box.press("Enter")
    expect(page.locator("#thread-messages li.message.mine .body")).to_have_text(["See you Wednesday instead"],
                                                                              timeout=THREAD_WAIT_MS)
    expect(note).to_have_count(0)
    expect(page.locator("#compose .compose-error")).to_have_count(0)
    assert stored_bodies(server, conversation_id(page)) == ["See you Wednesday instead"]

