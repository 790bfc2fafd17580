"""The tab's live channel: what changed since a cursor, held until something does, ended cleanly."""
import json
import re
import sqlite3
import threading
import time

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.engine import Engine

from conftest import PASSWORD
from messaging_helpers import membership_of, open_conversation, send, visible_text
from wb.flags import set_flag
from wb.extensions import db
from wb.messaging import live
from wb.messaging.models import LiveEvent, Message
from wb.models import utcnow

LIVE_CURSOR = re.compile(r'data-live-cursor="(\d+)"')


@pytest.fixture
def app_config():
    return {"LIVE_HOLD_SECONDS": 20}


def cursor_of(client, path="/messages") -> int:
    """The cursor a page starts its live channel from."""
    match = LIVE_CURSOR.search(client.get(path).get_data(as_text=True))
    assert match, "the page has no live channel"
    return int(match.group(1))


def ask(client, since):
    response = client.get(f"/messages/live?since={since}")
    assert response.status_code == 200, response.status_code
    return response.get_json()


def cursors_now(*members) -> dict:
    """Each member's cursor now, by id: a cursor counts its own member's news, so each asks from theirs."""
    return {member.id: live.newest_for(member.id) for member in members}


def kinds(answer, conversation_id=None):
    return [e["kind"] for e in answer["events"] if conversation_id is None or e["conversation"] == conversation_id]


class Held:
    """A live request held in a thread of its own, as a browser tab's is."""

    def __init__(self, app, client, since, tab=None):
        self.app, self.response = app, None
        self.thread = threading.Thread(target=self._ask, args=(client, since, tab), daemon=True)
        self.thread.start()

    def _ask(self, client, since, tab):
        self.response = client.get(f"/messages/live?since={since}", headers={"X-WB-Tab": tab} if tab else {})

    def holding(self, count=1) -> bool:
        """Wait until `count` requests wait with their database connections released."""
        hub = self.app.extensions["wb.live"]
        for _ in range(400):
            if hub.holding_count() >= count:
                return True
            self.thread.join(0.025)
        return False

    def answer(self):
        self.thread.join(15)
        assert not self.thread.is_alive(), "the held request never ended"
        return self.response


def test_a_page_starts_its_channel_from_the_newest_change(chat):
    alice_client, bob_client, cid = chat
    before = cursor_of(bob_client)
    send(alice_client, cid, "Hello Bob")
    assert cursor_of(bob_client) > before
    answer = ask(bob_client, before)
    assert kinds(answer, cid) == ["message"]
    assert answer["cursor"] == cursor_of(bob_client)
    assert answer["refresh"] is False and answer["retry"] == 0


def test_only_my_changes_come_and_never_any_text(chat, make_user, login):
    alice_client, bob_client, cid = chat
    carol = make_user("carol")
    carol_client = login(carol)
    since = cursor_of(carol_client)
    send(alice_client, cid, "A secret for Bob only")
    answer = ask(bob_client, since)
    assert kinds(answer) == ["message"]
    assert "secret" not in str(answer)
    message = db.session.scalar(select(Message))
    assert answer["events"] == [{"kind": "message", "conversation": cid, "message": message.id, "unread": True, "list": True, "tab": None}]
    # Carol isn't in the conversation: nothing for her (her request would wait; ask without holding)
    assert live.changes_since(carol.id, since).events == []


TAB = "0123456789abcdef"  # a tab id as static/js/live.js makes one
LIST_ALONG = re.compile(r'<div id="conversation-list" hx-swap-oob="innerHTML"(?: data-list-rows=\'([^\']*)\')?>(.*?)</div>',
                        re.S)
ROW = re.compile(r'<li class="conversation[^"]*" data-conversation-id="(\d+)"')


def drawn_along(answer) -> tuple[list[int], list | None]:
    """The list a live answer brings: the rows it draws, and the order and times of the page's
    rows when it draws only those that changed (None: the whole list)."""
    found = LIST_ALONG.search(answer["list"])
    return [int(row) for row in ROW.findall(found.group(2))], None if found.group(1) is None else json.loads(found.group(1))


def test_on_the_inbox_the_answer_brings_the_list_when_it_changed(chat, alice, bob):
    """A tab showing the list (live.js sends its query, and the open thread, as X-WB-List) gets it
    drawn with the answer, with the nav badge, when an event moves it: no /messages/list to ask.
    "Seen" moves no list; the tab's own events don't count (their answers brought it)."""
    alice_client, bob_client, cid = chat
    since = cursor_of(bob_client)
    send(alice_client, cid, "Lunch at one?")
    answer = bob_client.get(f"/messages/live?since={since}", headers={"X-WB-List": "page=1&active=0"}).get_json()
    assert [e["list"] for e in answer["events"]] == [True]
    rows = LIST_ALONG.search(answer["list"]).group(2)
    assert f'data-conversation-id="{cid}"' in rows and "Lunch at one?" in rows and 'aria-label="1 unread"' in rows
    assert 'id="inbox-badge"' in answer["list"] and 'hx-swap-oob="true"' in answer["list"]
    opened = bob_client.get(f"/messages/live?since={since}", headers={"X-WB-List": f"active={cid}"}).get_json()
    assert 'class="conversation active"' in opened["list"] and "unread" not in LIST_ALONG.search(opened["list"]).group(2)
    # Without the header (a page without the list) or with a malformed one: the page asks for it.
    assert ask(bob_client, since)["list"] is None
    assert bob_client.get(f"/messages/live?since={since}", headers={"X-WB-List": "active=x"}).get_json()["list"] is None
    # Bob reads it: Alice hears "seen", which moves no list of hers.
    since = cursor_of(alice_client)
    bob_client.post(f"/messages/{cid}/read", headers={"HX-Request": "true"})
    seen = alice_client.get(f"/messages/live?since={since}", headers={"X-WB-List": "page=1"}).get_json()
    assert [(e["kind"], e["list"]) for e in seen["events"]] == [("seen", False)] and seen["list"] is None


def test_the_answer_draws_only_the_rows_that_changed(chat, alice, bob, make_user, login):
    """A tab keeps the rows it shows: the answer draws the ones its events name, and every row's
    conversation and time in the list's order (app.js merges them). A change that names no
    conversation (a block), or a tab away too long, gets the whole list."""
    alice_client, bob_client, with_alice = chat
    carol_client = login(make_user("carol"))
    with_carol = open_conversation(carol_client, "bob")
    send(alice_client, with_alice, "Lunch at one?")
    since = cursor_of(bob_client)
    send(carol_client, with_carol, "Parcel for you downstairs")
    answer = bob_client.get(f"/messages/live?since={since}", headers={"X-WB-List": "page=1&active=0"}).get_json()
    drawn, order = drawn_along(answer)
    assert drawn == [with_carol] and "Parcel for you downstairs" in answer["list"]
    assert "Lunch at one?" not in answer["list"]  # Alice's row is kept as the page shows it
    assert order == [[with_carol, "just now", "Carol"], [with_alice, "just now", "Alice"]]
    # Alice changes her name: no event tells Bob's tab, but the next answer's order carries every
    # row's name, so the row it keeps shows the new one (app.js).
    alice_client.post("/settings", data={"display_name": "Alice B.", "bio": ""})
    send(carol_client, with_carol, "And a letter")
    renamed = bob_client.get(f"/messages/live?since={answer['cursor']}", headers={"X-WB-List": "page=1&active=0"}).get_json()
    assert drawn_along(renamed) == ([with_carol], [[with_carol, "just now", "Carol"], [with_alice, "just now", "Alice B."]])
    # The list says the newest change it shows at least: the answer's cursor (app.js orders lists by it).
    assert f'data-list-cursor="{answer["cursor"]}"' in answer["list"]
    # Bob blocks Carol: her row leaves the list, which comes whole.
    since = answer["cursor"]
    bob_client.post("/people/carol/block", data={"confirmed": "1"})
    blocked = bob_client.get(f"/messages/live?since={since}", headers={"X-WB-List": "page=1&active=0"}).get_json()
    assert drawn_along(blocked) == ([with_alice], None) and "Lunch at one?" in blocked["list"]


def test_a_tabs_own_change_brings_no_list_to_it(app, chat, alice):
    app.config["LIVE_HOLD_SECONDS"] = 0.3  # its own event alone leaves the tab waiting: the hold ends it
    alice_client, _bob_client, cid = chat
    since = cursor_of(alice_client)
    alice_client.post(f"/messages/{cid}", data={"body": "Hello"}, headers={"HX-Request": "true", "X-WB-Tab": TAB})
    mine = alice_client.get(f"/messages/live?since={since}", headers={"X-WB-Tab": TAB, "X-WB-List": "page=1"}).get_json()
    assert [e["tab"] for e in mine["events"]] == [TAB] and mine["list"] is None
    other_tab = alice_client.get(f"/messages/live?since={since}", headers={"X-WB-List": "page=1"}).get_json()
    assert "You: Hello" in visible_text(other_tab["list"])


def test_the_tab_that_sent_is_named_on_its_senders_event_only(chat, alice, bob):
    """The sending tab skips its own event (its answer refreshed its poll and list); the event says the
    send leaves the sender's unread count as it was, so their other tabs skip the badge."""
    alice_client, bob_client, cid = chat
    alice_since, bob_since, newest = cursor_of(alice_client), cursor_of(bob_client), live.newest_id()
    response = alice_client.post(f"/messages/{cid}", data={"body": "Hi"}, headers={"HX-Request": "true", "X-WB-Tab": TAB})
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "wb:poll-now, wb:list-changed"
    message = db.session.scalar(select(Message))
    assert ask(alice_client, alice_since)["events"] == [
        {"kind": "message", "conversation": cid, "message": message.id, "unread": False, "list": True, "tab": TAB}]
    assert ask(bob_client, bob_since)["events"] == [
        {"kind": "message", "conversation": cid, "message": message.id, "unread": True, "list": True, "tab": None}]
    rows = db.session.execute(select(LiveEvent.member_id, LiveEvent.origin, LiveEvent.unread)
                              .where(LiveEvent.id > newest).order_by(LiveEvent.member_id)).all()
    assert sorted(rows) == sorted([(alice.id, TAB, False), (bob.id, None, True)])


def test_a_reply_that_reads_what_came_in_asks_for_the_senders_badge(chat, alice, bob):
    """Replying reads the messages before it: the sender's unread count moves, so their badge is asked for."""
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "Hello")
    assert send(bob_client, cid, "Are you there?").status_code == 200
    assert membership_of(alice, cid).unread_count == 1
    since = live.newest_for(alice.id)
    response = alice_client.post(f"/messages/{cid}", data={"body": "Yes"}, headers={"HX-Request": "true", "X-WB-Tab": TAB})
    assert response.headers["HX-Trigger"] == "wb:poll-now, wb:list-changed, wb:unread-changed"
    assert membership_of(alice, cid).unread_count == 0
    assert [(e["unread"], e["tab"]) for e in ask(alice_client, since)["events"]] == [(True, TAB)]


def test_a_read_names_the_reading_tab_and_not_to_the_other_member(chat, alice, bob):
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "one")
    since = cursors_now(alice, bob)
    bob_client.htmx("POST", f"/messages/{cid}/read", headers={"X-WB-Tab": TAB})
    assert [(e["kind"], e["tab"]) for e in ask(bob_client, since[bob.id])["events"]] == [("read", TAB)]
    assert [(e["kind"], e["tab"]) for e in ask(alice_client, since[alice.id])["events"]] == [("seen", None)]


def test_a_delete_leaves_the_deleters_unread_count_and_a_remove_asks_for_the_badge(chat, alice, bob):
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "one")
    message = db.session.scalar(select(Message))
    since = cursors_now(alice, bob)
    alice_client.htmx("POST", f"/messages/{cid}/messages/{message.id}/delete")
    assert [(e["kind"], e["unread"]) for e in ask(alice_client, since[alice.id])["events"]] == [("deleted", False)]
    assert [(e["kind"], e["unread"]) for e in ask(bob_client, since[bob.id])["events"]] == [("deleted", True)]
    # Removing an unread message from view takes it off the count: the answer asks for the badge.
    removed = bob_client.htmx("POST", f"/messages/{cid}/messages/{message.id}/remove", headers={"X-WB-Tab": TAB})
    assert removed.headers["HX-Trigger"] == "wb:list-changed, wb:unread-changed"


@pytest.mark.parametrize("tab", ["", "abc", TAB.upper(), TAB + "0", TAB[:-1] + "g", "../" + TAB, "x" * 5000,
                                 TAB + " ", " " + TAB, "<script>alert(1)</script>"])
def test_a_malformed_tab_header_is_ignored(chat, alice, tab):
    alice_client, bob_client, cid = chat
    since, newest = cursor_of(alice_client), live.newest_id()
    response = alice_client.post(f"/messages/{cid}", data={"body": "Hi"}, headers={"HX-Request": "true", "X-WB-Tab": tab})
    assert response.status_code == 200
    live_answer = alice_client.get(f"/messages/live?since={since}", headers={"X-WB-Tab": tab})
    assert live_answer.status_code == 200
    assert [(e["kind"], e["tab"]) for e in live_answer.get_json()["events"]] == [("message", None)]
    assert db.session.scalars(select(LiveEvent.origin).where(LiveEvent.id > newest)).all() == [None, None]


def test_every_kind_of_change_reaches_whom_it_concerns(chat, alice, bob):
    alice_client, bob_client, cid = chat
    since = {alice.id: cursor_of(alice_client), bob.id: cursor_of(bob_client)}
    send(alice_client, cid, "one")
    send(alice_client, cid, "two")
    first, second = (m.id for m in db.session.scalars(select(Message).order_by(Message.id)))
    bob_client.htmx("POST", f"/messages/{cid}/read")
    alice_client.htmx("POST", f"/messages/{cid}/messages/{second}/delete")
    bob_client.htmx("POST", f"/messages/{cid}/messages/{first}/remove")
    bob_client.post(f"/messages/{cid}/hide", data={"confirmed": "1"})
    alice_client.post("/people/bob/block", data={"confirmed": "1"})
    mine = lambda member: [(e.kind, e.message_id) for e in live.changes_since(member.id, since[member.id]).events]  # noqa: E731
    assert mine(bob) == [
        ("message", first), ("message", second), ("read", second), ("deleted", second),
        ("removed", first), ("hidden", None), ("compose", None),  # the block, told as a pause is
    ]
    assert mine(alice) == [("message", first), ("message", second), ("seen", second), ("deleted", second),
                           ("blocked", None)]


def test_closing_an_account_wakes_its_held_requests_as_signing_out_everywhere_does(chat, alice, bob):
    """An "account" change for the member: their held requests end now, not when the hold runs out
    (test_served_live's held request ends cleanly on each way out). The other member of each of
    their conversations gets "left" for it (their open thread is drawn again: a former member)."""
    alice_client, bob_client, cid = chat
    since = cursors_now(alice, bob)
    assert bob_client.post("/settings/close", data={"current_password": PASSWORD}).status_code == 302
    assert [e.kind for e in live.changes_since(bob.id, since[bob.id]).events] == ["account"]
    assert [(e.kind, e.conversation_id) for e in live.changes_since(alice.id, since[alice.id]).events] == [("left", cid)]


def test_a_read_is_not_told_when_read_receipts_are_not_shared(chat, alice, bob):
    """Bob hides his reads: Alice's tab is not even woken by them (the wake alone would tell)."""
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "one")
    bob_client.post("/settings/read-receipts", data={})
    since = {member.id: live.newest_for(member.id) for member in (alice, bob)}
    bob_client.htmx("POST", f"/messages/{cid}/read")
    assert [e.kind for e in live.changes_since(bob.id, since[bob.id]).events] == ["read"]
    assert live.changes_since(alice.id, since[alice.id]) == live.Changes(since[alice.id], [], False, newest=live.newest_id())


def test_the_blocked_member_hears_of_the_block_only_what_a_pause_tells(chat, alice, bob):
    """A block is not told: the blocker's own tabs learn of it (their list changes); the blocked
    member's open thread hears "compose" (its box is drawn again), exactly what the blocker's pause
    would tell it."""
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "hi Bob")
    send(bob_client, cid, "hello")
    since = cursors_now(alice, bob)
    alice_client.post("/people/bob/block", data={"confirmed": "1"})
    alice_client.post("/people/bob/unblock")
    assert [e.kind for e in live.changes_since(alice.id, since[alice.id]).events] == ["blocked", "blocked"]
    told = [(e.kind, e.conversation_id) for e in live.changes_since(bob.id, since[bob.id]).events]
    assert told == [("compose", cid), ("compose", cid)]
    since = live.newest_for(bob.id)
    alice_client.post("/settings/messaging/pause", data={"paused": "on"})
    alice_client.post("/settings/messaging/pause", data={"paused": "off"})
    assert [(e.kind, e.conversation_id) for e in live.changes_since(bob.id, since).events] == told


def test_a_waiting_tab_is_woken_by_a_send_and_holds_no_database_connection(app, chat):
    alice_client, bob_client, cid = chat
    since = cursor_of(bob_client)
    held = Held(app, bob_client, since)
    assert held.holding()
    db.session.remove()  # the test's own session (not the request's) lets its connection go too
    # (SQLite's watcher reads with a connection of its own, outside the pool.)
    assert {bind: engine.pool.checkedout() for bind, engine in db.engines.items()} == {None: 0, "messaging": 0}
    send(alice_client, cid, "Are you there?")
    response = held.answer()
    assert response.status_code == 200
    assert kinds(response.get_json(), cid) == ["message"]


def test_a_change_for_someone_else_leaves_the_tab_waiting(app, chat, make_user, login):
    alice_client, bob_client, cid = chat
    carol_client = login(make_user("carol"))
    held = Held(app, carol_client, cursor_of(carol_client))
    assert held.holding()
    send(alice_client, cid, "Not for Carol")
    held.thread.join(0.5)
    assert held.thread.is_alive() and held.response is None
    open_conversation(carol_client, "alice")  # her own change ends the wait
    assert kinds(held.answer().get_json()) == ["listed"]


def test_a_wake_that_finds_nothing_new_leaves_the_tab_waiting(app, chat, bob):
    """Another process's listener (or SQLite's watcher) can hear of a change after the tab has read
    it and asked again: that wake, or one for everyone, finds nothing new and must not answer (the
    tab would ask again for nothing); the next real change still ends the wait."""
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "Already read by the tab")
    held = Held(app, bob_client, cursor_of(bob_client))
    assert held.holding()
    hub = app.extensions["wb.live"]
    hub.wake([bob.id])
    hub.wake_all()
    held.thread.join(0.5)
    assert held.thread.is_alive() and held.response is None
    assert held.holding()
    send(alice_client, cid, "News")
    assert kinds(held.answer().get_json(), cid) == ["message"]


def test_a_tabs_own_change_leaves_it_waiting_and_wakes_the_members_other_tabs(app, chat, alice, monkeypatch):
    """The sending tab's answer (HX-Trigger) already refreshed what its send changed and live.js
    skips the event, so that tab's held request waits on, while the member's other tab is woken;
    the next change from elsewhere answers with both events and a cursor past them."""
    alice_client, bob_client, cid = chat
    since = cursor_of(alice_client)
    woken = []
    monkeypatch.setattr(live.Waiter, "set", lambda waiter: (woken.append(waiter.tab), threading.Event.set(waiter)))
    sending_tab, other_tab = Held(app, alice_client, since, tab=TAB), Held(app, alice_client, since, tab="f" * 16)
    assert sending_tab.holding(2)
    sent = alice_client.post(f"/messages/{cid}", data={"body": "From this tab"}, headers={"HX-Request": "true", "X-WB-Tab": TAB})
    assert sent.status_code == 200
    assert [(e["kind"], e["tab"]) for e in other_tab.answer().get_json()["events"]] == [("message", TAB)]
    sending_tab.thread.join(0.5)
    assert sending_tab.thread.is_alive() and sending_tab.response is None
    # Not even woken to read it: the wake names the tab whose own change it is (a SQLite watcher's
    # read of the same events skips it the same way).
    assert TAB not in woken and "f" * 16 in woken, woken
    send(bob_client, cid, "A reply")
    answer = sending_tab.answer().get_json()
    assert [(e["kind"], e["tab"]) for e in answer["events"]] == [("message", TAB), ("message", None)]
    assert answer["cursor"] == cursor_of(alice_client)


def test_a_wake_names_the_tab_whose_own_change_it_is_and_only_that_tab_sleeps_on(app):
    """What a change's wake says, in-process and through NOTIFY or Redis: each member, and the tab
    that acted when every event of theirs is its own; an account change wakes every tab."""
    other = "f" * 16
    rows = [{"member_id": 1, "kind": "message", "origin": TAB}, {"member_id": 2, "kind": "message", "origin": None}]
    assert live._wakes_of(rows) == {1: TAB, 2: None}
    assert live._wakes_of(rows + [{"member_id": 1, "kind": "read", "origin": other}]) == {1: None, 2: None}
    assert live._wakes_of([{"member_id": 1, "kind": "account", "origin": TAB}]) == {1: None}
    payload = live._payload({2: None, 1: TAB})
    assert payload == f"1,2,1:{TAB}"
    assert live._wakes_from(payload.encode()) == {1: TAB, 2: None}
    # A server from before tabs were named (a rolling deploy) reads the ids alone: every member is there.
    assert [int(part) for part in payload.split(",") if part.strip().isdigit()] == [1, 2]
    assert live._wakes_from("1,1:not-a-tab,x,3") == {1: None, 3: None}  # only ids and well-formed tabs count

    hub = app.extensions["wb.live"]
    with hub.waiting(1, TAB) as acting, hub.waiting(1, other) as elsewhere, hub.waiting(2) as recipient:
        hub.wake({1: TAB, 2: None})
        assert (acting.is_set(), elsewhere.is_set(), recipient.is_set()) == (False, True, True)
        hub.wake([1])  # plain member ids: every tab of theirs
        assert acting.is_set()


def test_a_hold_that_runs_out_answers_the_cursor_without_reading_the_member_again(app, chat, alice, count_queries):
    """Nothing woke the request, so nothing about the member changed (ending a session, a
    suspension, switching messaging off all wake it): the member is read once, at the sign-in
    check, and the changes once, before the wait; the page's next ask is checked again."""
    app.config["LIVE_HOLD_SECONDS"] = 0.3
    _, bob_client, _ = chat
    since = cursor_of(bob_client)
    with count_queries() as statements:
        answer = ask(bob_client, since)
    assert answer["events"] == [] and answer["cursor"] == since
    assert len([s for s in statements if "FROM users" in s]) == 1, statements
    # The request's reads (the watcher's own "max(id)" aside): the newest ids, once; with nothing
    # recorded since the cursor for the member, there are no events to read.
    assert len([s for s in statements if "live_events.id" in s]) == 1, statements

    # A change for someone else tells this member nothing: not even their cursor moves (counted over
    # the whole community, it let any member watch how much everyone wrote and read).
    live.record([alice.id], "listed")
    db.session.commit()
    with count_queries() as statements:
        answer = ask(bob_client, since)
    assert answer["events"] == [] and answer["cursor"] == since
    assert len([s for s in statements if "live_events.id" in s]) == 1, statements


def test_holds_are_spread_from_five_sixths_of_the_hold_time_to_all_of_it(app, chat):
    """Tabs that asked together (after a restart) come back spread over the hold's last sixth, not together."""
    holds = [live.hold_time(30) for _ in range(300)]
    assert all(25 <= hold <= 30 for hold in holds)
    assert min(holds) < 25.5 and max(holds) > 29.5  # spread over the whole range
    app.config["LIVE_HOLD_SECONDS"] = 0.3
    _, bob_client, _ = chat
    since = cursor_of(bob_client)
    started = time.monotonic()
    assert ask(bob_client, since)["events"] == []
    assert time.monotonic() - started >= 0.25  # held at least five sixths of it


@pytest.fixture
def three_connections(app_config):
    """The main database's pool holds three connections (set before the app is made)."""
    app_config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 3, "max_overflow": 0, "pool_timeout": 3}


def test_an_ask_waiting_for_the_listener_to_start_holds_no_pooled_connection(three_connections, app, chat, caplog):
    """A burst of asks reaches a process whose listener hasn't started yet (every tab asks again
    after a restart); each holds a pooled connection while it waits for the listener to start.
    The listener must start without one: SQLite's watcher reads with a connection of its own (from
    the pool, it would wait behind the asks, and every ask would wait out its start-up, 5 s). Here
    the test takes all but one connection, as a burst would, and one ask comes for the last."""
    alice_client, bob_client, cid = chat
    since = cursor_of(bob_client)
    db.session.close()  # this thread's requests' session gives its connection back
    taken = [db.engines[None].connect() for _ in range(2)]
    try:
        held = Held(app, bob_client, since)
        assert held.holding()
        assert "live listener not ready" not in caplog.text
    finally:
        for connection in taken:
            connection.close()
    send(alice_client, cid, "Back again")
    assert kinds(held.answer().get_json(), cid) == ["message"]


def test_signing_out_everywhere_ends_a_held_request(app, chat, bob, login):
    _, bob_client, _ = chat
    held = Held(app, bob_client, cursor_of(bob_client))
    assert held.holding()
    other_browser = login(bob)
    assert other_browser.post("/settings/sign-out-everywhere").status_code == 302
    answer = held.answer()
    assert answer.status_code == 200 and answer.get_json()["events"] == []
    assert bob_client.get("/messages/live?since=0").status_code == 302  # asking again: to sign in


def test_suspension_ends_a_held_request(app, chat, admin, login):
    _, bob_client, _ = chat
    held = Held(app, bob_client, cursor_of(bob_client))
    assert held.holding()
    assert login(admin).post("/admin/members/bob/suspend", data={"confirmed": "1"}).status_code == 302
    answer = held.answer()  # a suspension signs the member out everywhere
    assert answer.status_code == 200 and answer.get_json()["events"] == []
    assert bob_client.get("/messages/live?since=0").status_code == 302  # to sign in


def test_an_ask_from_before_the_switch_off_is_answered_at_once_and_the_next_waits(app, chat, admin, login, monkeypatch):
    """A tab whose ask came between two held ones as messaging was switched off was held until messaging
    came back (25-30 s) and kept its thread meanwhile (CI caught it under load): an ask that hasn't heard
    of the newest change is answered at once, with the cursor to ask from next, whose ask waits."""
    _, bob_client, _ = chat
    since = cursor_of(bob_client)
    admin_client = login(admin)
    assert admin_client.post("/admin/settings/direct_messaging", data={"enabled": "0", "confirmed": "1"}).status_code == 302
    db.session.close()
    with monkeypatch.context() as patched:
        def held(member):
            raise AssertionError("an ask from before the switch was held")
        patched.setattr(live, "wait_while_switched_off", held)
        late = bob_client.get(f"/messages/live?since={since}")
    assert late.status_code == 404 and late.headers["Retry-After"] == "0"
    newest = int(late.headers["X-WB-Cursor"])
    assert newest > since
    waiting = Held(app, bob_client, newest)
    assert waiting.holding()  # from the newest change: it waits for messaging to be back
    assert admin_client.post("/admin/settings/direct_messaging", data={"enabled": "1"}).status_code == 302
    assert waiting.answer().status_code == 200


def test_switching_messaging_off_ends_a_held_request(app, chat, admin, login):
    _, bob_client, _ = chat
    held = Held(app, bob_client, cursor_of(bob_client))
    assert held.holding()
    admin_client = login(admin)
    assert admin_client.post("/admin/settings/direct_messaging", data={"enabled": "0", "confirmed": "1"}).status_code == 302
    answer = held.answer()
    assert answer.status_code == 404 and answer.headers["Retry-After"] == "0"  # ask again at once: it waits

    # Asked again while off, it waits for messaging to be switched on, holding no connection, and
    # then answers as usual with the switch among its events: the page is drawn again at once (it
    # asked every LIVE_RETRY_SECONDS, so "on" took up to ten seconds to arrive; an outside tester).
    page = bob_client.get("/requests").get_data(as_text=True)  # a page drawn while off still has its channel
    assert "data-live-off" in page
    assert "data-live-off" in bob_client.get("/messages").get_data(as_text=True)  # "switched off" too: drawn again when on
    since = int(LIVE_CURSOR.search(page).group(1))
    db.session.close()
    waiting = Held(app, bob_client, since)
    assert waiting.holding()
    assert admin_client.post("/admin/settings/direct_messaging", data={"enabled": "1"}).status_code == 302
    back = waiting.answer()
    assert back.status_code == 200 and [e["kind"] for e in back.get_json()["events"]] == ["messaging"]

    # A wait that runs out while it is still off says so, and to ask again at once.
    admin_client.post("/admin/settings/direct_messaging", data={"enabled": "0", "confirmed": "1"})
    app.config["LIVE_HOLD_SECONDS"] = 0.3
    quiet = bob_client.get(f"/messages/live?since={since}")
    assert quiet.status_code == 404 and quiet.headers["Retry-After"] == "0"
    assert app.test_client().get("/messages/live?since=0").status_code == 302  # a visitor: to sign in, as when on


def test_a_cursor_older_than_what_is_kept_asks_for_a_refresh(app, chat, alice, bob):
    """Events older than LIVE_KEEP_MINUTES go; of each member's, the newest stays as a gap: a tab
    whose cursor is older missed news that is gone, and refreshes. A member whose forgotten events
    were all before their cursor goes on as before."""
    app.config["LIVE_HOLD_SECONDS"] = 0  # an ask with nothing new answers at once (held, four took 70 s)
    alice_client, bob_client, cid = chat
    since, alice_since = cursor_of(bob_client), cursor_of(alice_client)
    for word in ("one", "two", "three"):
        send(alice_client, cid, word)
    alice_since = ask(alice_client, alice_since)["cursor"]  # Alice's tab has heard of her sends
    db.session.execute(update(LiveEvent).values(created_at=utcnow().replace(year=2000)))
    live.prune()
    db.session.commit()
    kept = db.session.execute(select(LiveEvent.member_id, LiveEvent.kind)).all()
    members = [member for member, _ in kept]  # one a member (everyone's, from switching messaging on, too)
    assert {kind for _, kind in kept} == {live.GAP} and len(members) == len(set(members)) and {alice.id, bob.id} <= set(members)
    answer = ask(bob_client, since)
    assert answer["refresh"] is True and answer["events"] == []
    # A tab showing the list gets it whole: it can't know which of its rows changed.
    whole = bob_client.get(f"/messages/live?since={since}", headers={"X-WB-List": "page=1&active=0"}).get_json()
    assert drawn_along(whole) == ([cid], None)
    # From the refreshed cursor, news comes as events again; Alice's tab had heard of all she lost.
    assert ask(alice_client, alice_since) == {**ask(alice_client, alice_since), "refresh": False, "events": []}
    send(alice_client, cid, "four")
    later = ask(bob_client, answer["cursor"])
    assert later["refresh"] is False and [e["kind"] for e in later["events"]] == ["message"]
    # Pruned again: the older gap goes, the newer stays, and no cursor goes back.
    db.session.execute(update(LiveEvent).values(created_at=utcnow().replace(year=2000)))
    live.prune()
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(LiveEvent).where(LiveEvent.member_id == bob.id)) == 1
    assert ask(bob_client, later["cursor"]) == {**ask(bob_client, later["cursor"]), "refresh": False, "events": []}
    # a cursor from the future (another database, say) also refreshes
    assert ask(bob_client, later["cursor"] + 100)["refresh"] is True


def test_a_members_cursor_moves_only_with_their_own_news(app, chat, alice, bob, make_user, login):
    """Another pair's messages, reads and mutes move neither the cursor a page starts from nor the
    one a live answer brings: counted community-wide, they let any member watch how much everyone
    wrote, and see a member with read receipts off read (one event against two: a marketplace's
    tester)."""
    app.config["LIVE_HOLD_SECONDS"] = 0
    alice_client, bob_client, cid = chat
    carol, dave = make_user("carol"), make_user("dave")
    carol_client, dave_client = login(carol), login(dave)
    dave_client.post("/settings/read-receipts", data={})
    other = open_conversation(carol_client, "dave")
    before = cursor_of(bob_client)
    send(carol_client, other, "hello Dave")
    dave_client.htmx("POST", f"/messages/{other}/read")
    dave_client.post(f"/messages/{other}/mute")
    send(dave_client, other, "hi Carol")
    assert cursor_of(bob_client) == before
    assert ask(bob_client, before)["cursor"] == before
    assert ask(bob_client, 0)["cursor"] == before
    send(alice_client, cid, "and you, Bob?")
    assert ask(bob_client, before)["cursor"] > before


def test_a_members_cursor_moves_one_step_for_each_of_their_own_events_whatever_others_do(
        app, chat, alice, bob, make_user, login):
    """A cursor counts the member's own events: what others do between two of them moves it not at
    all. Counted over every event, its jump between Alice's mute and unmute told how much Bob and
    Carol wrote, read and muted meanwhile (an attacker told a block from a pause by it)."""
    app.config["LIVE_HOLD_SECONDS"] = 0
    alice_client, bob_client, cid = chat
    carol_client = login(make_user("carol"))
    theirs = open_conversation(carol_client, "bob")
    before = cursor_of(alice_client)
    alice_client.post(f"/messages/{cid}/mute")
    muted = cursor_of(alice_client)
    for n in range(5):
        send(carol_client if n % 2 == 0 else bob_client, theirs, f"news {n}")
    bob_client.htmx("POST", f"/messages/{theirs}/read")
    bob_client.post(f"/messages/{theirs}/mute")
    alice_client.post(f"/messages/{cid}/mute", data={"muted": "0"})
    unmuted = cursor_of(alice_client)
    answer = ask(alice_client, muted)
    assert kinds(answer) == ["muted"] and answer["cursor"] == unmuted
    alice_client.post(f"/messages/{cid}/mute")  # once more, nobody else doing anything meanwhile
    again = cursor_of(alice_client)
    assert muted - before == unmuted - muted == again - unmuted == live.EVERYONE_STEP


def test_a_change_for_everyone_moves_every_members_cursor_by_one_everyone_step(app, chat, alice, bob, make_user):
    """A change for everyone (the rules, messaging switched, a restore) is the one kind of news
    every cursor shares: each moves by exactly one, however much the member did before."""
    alice_client, bob_client, cid = chat
    carol = make_user("carol")
    send(alice_client, cid, "one")
    send(bob_client, cid, "two")
    before = cursors_now(alice, bob, carol)
    live.record_for_everyone("rules")
    db.session.commit()
    assert {member: cursor - before[member] for member, cursor in cursors_now(alice, bob, carol).items()} == {
        alice.id: 1, bob.id: 1, carol.id: 1}
    assert [e.kind for e in live.changes_since(carol.id, before[carol.id]).events] == ["rules"]
    answer = ask(bob_client, before[bob.id])
    assert kinds(answer) == ["rules"] and answer["cursor"] == before[bob.id] + 1


def test_each_members_events_are_numbered_without_gaps_however_many_write_at_once(app, alice, bob, caplog):
    """Writers in several processes record events at the same moment (here threads, each on a
    connection of its own, as processes are): each member's seqs, everyone's too, stay 1, 2, 3...
    in id order, none taken twice, none skipped, no event lost. On PostgreSQL a writer that read
    its member's newest seq from the snapshot its statement took before it waited for the order
    lock would number an event the writer before it had just committed, and lose it."""
    members, writers, changes = (alice.id, bob.id, live.EVERYONE), 6, 8
    start, failures = threading.Barrier(writers), []

    def write():
        try:
            with app.app_context():
                start.wait()
                for _ in range(changes):
                    live.record(members, "listed")
                    live.record([alice.id], "muted")  # a second event for Alice in the same change
                    db.session.commit()
                db.session.remove()
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == [] and not any(thread.is_alive() for thread in threads)
    assert "live events not recorded" not in caplog.text
    rows = db.session.execute(select(LiveEvent.member_id, LiveEvent.seq).order_by(LiveEvent.id)).all()
    numbered = {member: [seq for of, seq in rows if of == member] for member in members}
    assert {member: len(seqs) for member, seqs in numbered.items()} == {
        alice.id: 2 * writers * changes, bob.id: writers * changes, live.EVERYONE: writers * changes}
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in numbered.values()), numbered


def test_a_cursor_from_before_cursors_counted_seqs_or_made_up_refreshes(app, chat, alice, bob, make_user, login):
    """A page drawn before this release holds an event id (the newest of the member's or everyone's);
    a tab may send any number. Whatever it is, the answer is a refresh with the member's cursor, or
    an ordinary answer, never an error."""
    alice_client, bob_client, cid = chat
    carol_client = login(make_user("carol"))
    send(carol_client, open_conversation(carol_client, "alice"), "news for Alice")
    send(alice_client, cid, "hi Bob")
    old_cursor = db.session.scalar(select(func.max(LiveEvent.id)).where(LiveEvent.member_id.in_((bob.id, live.EVERYONE))))
    now = cursor_of(bob_client)
    for since in (old_cursor, live.newest_id(), now + 1, now + live.EVERYONE_STEP, 2 ** 53, 2 ** 63 - 1):
        answer = ask(bob_client, since)
        assert (answer["refresh"], answer["events"], answer["cursor"]) == (True, [], now), since
    assert bob_client.get(f"/messages/live?since={2 ** 64}").status_code == 400  # not a number a cursor can be
    # While messaging is off too: answered at once with the member's cursor, which the next ask waits from.
    set_flag("direct_messaging", False)
    started = time.monotonic()
    off = bob_client.get(f"/messages/live?since={old_cursor}")
    assert off.status_code == 404 and off.headers["X-WB-Cursor"] == str(live.newest_for(bob.id))
    assert time.monotonic() - started < 5  # not held (the hold is 20 s)


def test_pruning_never_takes_a_cursor_back(app, chat, alice, bob):
    """Pruning forgets old events but keeps each member's newest, and everyone's: no count goes
    back, and the next event is the next step on."""
    alice_client, bob_client, cid = chat
    for word in ("one", "two", "three"):
        send(alice_client, cid, word)
    live.record_for_everyone("rules")
    db.session.commit()
    before = cursors_now(alice, bob)
    db.session.execute(update(LiveEvent).values(created_at=utcnow().replace(year=2000)))
    live.prune()
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(LiveEvent)) == 3  # a gap each: Alice, Bob, everyone
    assert cursors_now(alice, bob) == before
    send(alice_client, cid, "four")
    assert cursors_now(alice, bob) == {member: cursor + live.EVERYONE_STEP for member, cursor in before.items()}
    live.record_for_everyone("rules")
    db.session.commit()
    assert cursors_now(alice, bob) == {member: cursor + live.EVERYONE_STEP + 1 for member, cursor in before.items()}


def test_past_everyones_share_of_a_cursor_it_stays_put_and_tells_nothing_twice(app, chat, alice, bob, monkeypatch):
    """Everyone's count has EVERYONE_STEP - 1 places in a cursor (2**20: no community changes its
    rules that often). Past them a cursor stays where it is for everyone's news, which pages then
    get as they are drawn: it never spills into the member's part, goes back, or brings the same
    news again and again."""
    monkeypatch.setattr(live, "EVERYONE_STEP", 4)
    app.config["LIVE_HOLD_SECONDS"] = 0  # an ask with nothing new answers at once
    alice_client, bob_client, cid = chat
    since = cursor_of(bob_client)
    room = live.EVERYONE_STEP - 1 - since % live.EVERYONE_STEP
    for _ in range(room + 2):
        live.record_for_everyone("rules")
        db.session.commit()
    answer = ask(bob_client, since)
    assert kinds(answer) == ["rules"] * room and answer["cursor"] == since + room
    again = ask(bob_client, answer["cursor"])
    assert (again["events"], again["refresh"], again["cursor"]) == ([], False, answer["cursor"])
    send(alice_client, cid, "still told")
    later = ask(bob_client, answer["cursor"])
    assert kinds(later) == ["message"] and later["cursor"] == answer["cursor"] + live.EVERYONE_STEP


def test_the_migration_numbers_each_members_events_in_id_order_and_hands_out_no_id_twice(app, chat, alice, bob):
    """Upgrading numbers the events kept, each member's and everyone's, 1, 2, 3... in id order; a
    page drawn before it (its cursor an event id) refreshes; ids go on from the highest ever
    handed out (SQLite rebuilds the table)."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text as sql

    alice_client, bob_client, cid = chat
    send(alice_client, cid, "one")
    send(bob_client, cid, "two")
    live.record_for_everyone("rules")
    db.session.commit()
    old_cursor = db.session.scalar(select(func.max(LiveEvent.id)).where(LiveEvent.member_id.in_((bob.id, live.EVERYONE))))
    alice_id, bob_id = alice.id, bob.id
    db.session.remove()
    downgrade(revision="a4c7e2f9d1b6")
    db.engine.dispose()
    with db.engine.begin() as connection:  # the newest event, forgotten: its id is never handed out again
        connection.execute(sql("INSERT INTO live_events (member_id, kind, unread, created_at) VALUES (:m, 'listed', :u, :at)"),
                           {"m": alice_id, "u": True, "at": utcnow()})
        highest = connection.scalar(sql("SELECT max(id) FROM live_events"))
        connection.execute(sql("DELETE FROM live_events WHERE id = :id"), {"id": highest})
        kept = connection.execute(sql("SELECT id, member_id FROM live_events ORDER BY id")).all()
    upgrade()
    db.engine.dispose()

    rows = db.session.execute(select(LiveEvent.id, LiveEvent.member_id, LiveEvent.seq).order_by(LiveEvent.id)).all()
    assert [(row.id, row.member_id) for row in rows] == [tuple(row) for row in kept]
    for member in {row.member_id for row in rows}:
        assert [row.seq for row in rows if row.member_id == member] == list(range(1, 1 + sum(
            row.member_id == member for row in rows)))
    counted = {member: sum(row.member_id == member for row in rows) for member in (alice_id, bob_id, live.EVERYONE)}
    assert cursor_of(bob_client) == counted[bob_id] * live.EVERYONE_STEP + counted[live.EVERYONE]
    assert ask(bob_client, old_cursor)["refresh"] is True
    send(alice_client, cid, "three")
    newest = db.session.execute(select(LiveEvent.id, LiveEvent.seq).where(LiveEvent.member_id == alice_id)
                                .order_by(LiveEvent.id.desc()).limit(1)).one()
    assert newest.id > highest and newest.seq == counted[alice_id] + 1


def test_a_write_that_fails_tells_nobody(chat, bob):
    _, bob_client, cid = chat
    since = cursor_of(bob_client)
    live.record([bob.id], "message", cid, 1)
    db.session.rollback()
    db.session.commit()
    assert live.changes_since(bob.id, since).events == []


def test_without_since_it_answers_the_cursor_at_once(chat):
    _, bob_client, _ = chat
    answer = ask(bob_client, "")
    assert answer["cursor"] == cursor_of(bob_client) and answer["events"] == []


@pytest.mark.parametrize("since", ["abc", "-1", "1.5"])
def test_a_malformed_cursor_is_a_400(chat, since):
    _, bob_client, _ = chat
    response = bob_client.get(f"/messages/live?since={since}")
    assert response.status_code == 400
    assert "cursor" in response.get_data(as_text=True)


def test_the_channel_is_for_signed_in_members_with_messaging_on(app, client, make_user, login, messaging_on):
    """Members waiting for approval hold one too, to hear the approval (and nothing else comes to them)."""
    assert client.get("/messages/live?since=0").status_code == 302  # to sign in
    assert "data-live" not in client.get("/login").get_data(as_text=True)
    pending = login(make_user("newbie", status="pending"))
    since = cursor_of(pending, "/")
    app.config["LIVE_HOLD_SECONDS"] = 0
    answer = pending.get(f"/messages/live?since={since}")
    assert answer.status_code == 200 and answer.get_json()["events"] == []
    assert pending.get("/messages").status_code == 403  # the rest of messaging waits for the approval


def test_pages_draw_no_interval_polls(chat):
    alice_client, _, cid = chat
    page = alice_client.get(f"/messages/{cid}").get_data(as_text=True)
    assert "every " not in " ".join(re.findall(r'hx-trigger="([^"]*)"', page))
    assert 'src="/static/js/live.js"' in page


class TestFallback:
    """A server that can't hold requests (sync workers) answers at once and says when to ask again."""

    @pytest.fixture
    def app_config(self):
        return {"LIVE_HOLD_SECONDS": 0, "LIVE_RETRY_SECONDS": 7}

    def test_it_answers_at_once_with_when_to_ask_again(self, chat):
        alice_client, bob_client, cid = chat
        since = cursor_of(bob_client)
        assert ask(bob_client, since) == {"cursor": since, "events": [], "refresh": False, "list": None, "retry": 7}
        send(alice_client, cid, "hi")
        assert kinds(ask(bob_client, since), cid) == ["message"]

    def test_while_messaging_is_off_it_says_when_to_ask_again(self, chat):
        _, bob_client, _ = chat
        set_flag("direct_messaging", False)
        response = bob_client.get("/messages/live?since=0")
        assert response.status_code == 404 and response.headers["Retry-After"] == "7"


def test_a_page_drawn_before_anything_was_recorded_gets_what_came_since(chat):
    """An empty table (a new instance) gives pages cursor 0, however far its ids have counted."""
    alice_client, bob_client, cid = chat
    db.session.execute(LiveEvent.__table__.delete())
    db.session.commit()
    assert cursor_of(bob_client) == 0
    send(alice_client, cid, "first news")
    answer = ask(bob_client, 0)
    assert answer["refresh"] is False and kinds(answer, cid) == ["message"]


def test_on_postgresql_an_event_takes_its_id_only_once_it_holds_the_order_lock(app):
    """Event ids must commit in order, or a tab whose cursor passed a later id would never see an
    earlier one that commits after it. A second writer waits for the order lock before it takes an
    id: an id taken meanwhile by anyone else is lower than the waiting writer's."""
    from datetime import datetime

    engine = db.engines[None]
    if engine.dialect.name != "postgresql":
        pytest.skip("the order lock is PostgreSQL's (SQLite writes one transaction at a time)")
    event = {"lock": live._ORDER_LOCK, "channel": live.CHANNEL, "payload": "1", "member_ids": [1],
             "kinds": ["listed"], "conversation_ids": [None], "message_ids": [None], "unreads": [True],
             "origins": [None], "created": [datetime(2026, 12, 4)]}
    newest = "SELECT max(id) FROM live_events"
    first = engine.connect()
    first.begin()
    first.execute(live._RECORD_IN_ORDER, event)
    first_id = first.exec_driver_sql(newest).scalar()
    second_id = []

    def second_writer():
        with engine.begin() as connection:
            connection.execute(live._RECORD_IN_ORDER, event)
            second_id.append(connection.exec_driver_sql(newest).scalar())

    waiting = threading.Thread(target=second_writer, daemon=True)
    waiting.start()
    waiting.join(0.5)
    assert waiting.is_alive(), "the second writer didn't wait for the order lock"
    with engine.connect() as other:  # an id taken while the second writer waits
        taken_meanwhile = other.exec_driver_sql("SELECT nextval(pg_get_serial_sequence('live_events', 'id'))").scalar()
    first.commit()
    first.close()
    waiting.join(10)
    assert not waiting.is_alive()
    assert first_id < taken_meanwhile < second_id[0]


def test_on_postgresql_the_order_lock_is_given_back_when_the_events_statement_returns(app, chat):
    """Every write in the community takes the order lock: held across a round trip (until a COMMIT
    sent after the statement's answer) it would also be held while the worker runs its other
    requests. The events go in a transaction of their own, after the change commits: once their
    statement has answered, nobody holds the lock, and the events and the change are both there."""
    from sqlalchemy import event as sa_event

    engine = db.engines[None]
    if engine.dialect.name != "postgresql":
        pytest.skip("the order lock is PostgreSQL's (SQLite writes one transaction at a time)")
    alice_client, _bob_client, cid = chat
    held_after = []
    lock_holders = (
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        f" AND objid = {live._ORDER_LOCK}"
    )

    def after_statement(connection, cursor, statement, *_):
        if "pg_advisory_xact_lock" in statement:
            with engine.connect() as other:
                held_after.append(other.exec_driver_sql(lock_holders).scalar())

    sa_event.listen(engine, "after_cursor_execute", after_statement)
    try:
        since = live.newest_id()
        send(alice_client, cid, "Under the lock only while it runs")
    finally:
        sa_event.remove(engine, "after_cursor_execute", after_statement)
    assert held_after and held_after == [0] * len(held_after), held_after
    [message] = [m for m in db.session.scalars(select(Message).where(Message.conversation_id == cid))
                 if m.body == "Under the lock only while it runs"]
    events = db.session.execute(select(LiveEvent.kind, LiveEvent.message_id).where(LiveEvent.id > since)).all()
    assert ("message", message.id) in events


def test_on_sqlite_reading_the_newest_ids_walks_an_index_not_the_table(app):
    """Every held ask reads the newest event ids: of all, the member's and everyone's. SQLite takes
    a lone max() from an index's end, but a max() over two members reads every event of both, and
    max() and min() in one select scanned every event kept (an hour's), which at a few thousand
    members online made each ask cost milliseconds."""
    engine = db.engines[None]
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL plans each max() from the index (initplans)")
    statement = live._member_newest_statement().params(member_id=1).compile(
        engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as connection:
        plan = [row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}")]
    assert [step for step in plan if step.startswith("SEARCH live_events")] and not [
        step for step in plan if step.startswith("SCAN live_events")], plan


def test_on_sqlite_the_watcher_reads_only_after_a_commit_and_wakes_for_another_process(app, chat, bob):
    """SQLite's watcher asks the database's change counter 20 times a second and reads the events
    only when something was committed since: an idle server reads nothing, and a change another
    process commits (on a connection of its own, so only the watcher can hear of it) still wakes
    the tab that waits for it."""
    engine = db.engines[None]
    if engine.dialect.name != "sqlite":
        pytest.skip("the watcher is SQLite's: PostgreSQL and Redis tell every process themselves")
    alice_client, bob_client, cid = chat
    held = Held(app, bob_client, cursor_of(bob_client))
    assert held.holding()
    reads = []

    def count(connection, cursor, statement, *args):
        if threading.current_thread().name == "wb-live" and "live_events" in statement:
            reads.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        time.sleep(0.2)  # its first read, for the new waiter
        reads.clear()
        time.sleep(0.5)  # ten of its turns, nothing committed
        assert reads == []
        other_process = sqlite3.connect(engine.url.database)
        with other_process:
            other_process.execute(
                "INSERT INTO live_events (member_id, seq, kind, conversation_id, unread, created_at)"
                " SELECT ?, coalesce(max(seq), 0) + 1, 'message', ?, 1, ? FROM live_events WHERE member_id = ?",
                (bob.id, cid, str(utcnow()), bob.id))
        other_process.close()
        answer = held.answer()
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert answer.status_code == 200
    assert kinds(answer.get_json(), cid) == ["message"]
    assert reads, "the watcher never read the committed event"


def test_past_a_members_share_of_held_requests_an_ask_is_answered_at_once(app, chat):
    """One account held 50 live requests at once, each a connection kept open (an attacker): past
    LIVE_MAX_HELD_PER_MEMBER in a process, an ask is answered at once and told to ask again later,
    as where a server can't hold; another member's ask is still held, and so is this one's once a
    held one ends."""
    alice_client, bob_client, cid = chat
    app.config["LIVE_MAX_HELD_PER_MEMBER"] = 2
    since = cursor_of(bob_client)
    first, second = Held(app, bob_client, since), Held(app, bob_client, since)
    assert first.holding(2)
    started = time.monotonic()
    third = ask(bob_client, since)
    assert time.monotonic() - started < 5  # not held (the hold is 20 s)
    assert third["events"] == [] and third["retry"] == app.config["LIVE_RETRY_SECONDS"]
    alices = Held(app, alice_client, cursor_of(alice_client))
    assert alices.holding(3)  # Alice's own share
    send(alice_client, cid, "Hello Bob")  # wakes Bob's two held asks with the news
    assert [kinds(held.answer().get_json(), cid) for held in (first, second)] == [["message"], ["message"]]
    assert alices.answer().status_code == 200


def test_a_member_waiting_for_approval_holds_a_channel_that_hears_the_approval(app, make_user, admin, login, messaging_on):
    """Erin's page said "Waiting for approval" for as long as she left it open after the admin approved
    her (a residents' building's tester): her page holds a live channel too, and the approval wakes it."""
    erin = make_user("erin", status="pending")
    erin_client = login(erin)
    since = cursor_of(erin_client, "/")
    held = Held(app, erin_client, since)
    assert held.holding()
    assert login(admin).post("/admin/members/erin/approve").status_code == 302
    answer = held.answer()
    assert answer.status_code == 200 and kinds(answer.get_json()) == ["approved"]
    assert "Waiting for approval" not in visible_text(erin_client.get("/"))



def test_an_ask_with_wait_0_is_answered_at_once_with_what_changed(app, chat):
    """A tab whose browser's leading tab holds the ask for it asks at once (static/js/live.js):
    nothing new is answered at once, and news is brought as a held ask brings it."""
    alice_client, bob_client, cid = chat
    since = cursor_of(bob_client)
    held = Held(app, bob_client, since)  # the leading tab's
    assert held.holding(1)
    started = time.monotonic()
    quiet = bob_client.get(f"/messages/live?since={since}&wait=0").get_json()
    assert time.monotonic() - started < 5  # not held (the hold is 20 s)
    assert quiet["events"] == [] and quiet["cursor"] == since
    send(alice_client, cid, "Hello Bob")
    assert kinds(held.answer().get_json(), cid) == ["message"]
    news = bob_client.get(f"/messages/live?since={since}&wait=0").get_json()
    assert kinds(news, cid) == ["message"] and news["cursor"] > since
