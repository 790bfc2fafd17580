"""Read receipts by choice: "Seen" only between two members who both let others see their reads."""
from types import SimpleNamespace

import pytest

from api_helpers import ApiClient, token_for
from messaging_helpers import membership_of, poll_cursors, send, visible_text
from wb.extensions import db
from wb.models import User


def set_receipts(client, on: bool):
    response = client.post("/settings/read-receipts", data={"read_receipts": "y"} if on else {})
    assert response.status_code == 302


def receipts_of(user) -> bool:
    db.session.expire_all()
    return db.session.get(User, user.id).read_receipts


def bob_reads(bob_client, cid):
    bob_client.get(f"/messages/{cid}")
    assert bob_client.post(f"/messages/{cid}/read", headers={"HX-Request": "true"}).status_code in (200, 204)


def seen_everywhere(app, client, user, cid) -> dict:
    """How far the other member has read, as the thread page, its poll and the API tell user."""
    _after, page_seen = poll_cursors(client.get(f"/messages/{cid}").get_data(as_text=True))
    poll = client.get(f"/messages/{cid}/poll?after=0&seen=0", headers={"HX-Request": "true"})
    poll_seen = poll_cursors(poll.get_data(as_text=True))[1] if poll.status_code == 200 else 0
    api = ApiClient(app.test_client(), token_for(user))
    listed = api.get("/api/v1/conversations").get_json()["conversations"][0]["other_last_read_message_id"]
    one = api.get(f"/api/v1/conversations/{cid}").get_json()["other_last_read_message_id"]
    messages = api.get(f"/api/v1/conversations/{cid}/messages").get_json()["other_last_read_message_id"]
    return {"page": page_seen, "poll": poll_seen, "list": listed or 0, "one": one or 0, "messages": messages or 0}


def test_receipts_are_on_by_default_and_settings_explain_they_are_reciprocal(client, alice, login, messaging_on):
    page = visible_text(login(alice).get("/settings"))
    assert receipts_of(alice) is True
    assert "Let others see when I've read their messages" in page
    assert "if you turn it off, nobody sees when you have read, and you don't see when others have read yours" in page


def test_with_receipts_on_both_sides_the_writer_sees_seen_everywhere(app, chat, alice):
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "Are you there?")
    newest = membership_of(alice, cid).last_message_id
    bob_reads(bob_client, cid)

    assert seen_everywhere(app, alice_client, alice, cid) == dict.fromkeys(
        ("page", "poll", "list", "one", "messages"), newest)


@pytest.mark.parametrize("who_hides", ["reader", "writer"])
def test_hiding_receipts_either_side_shows_no_seen_anywhere(app, chat, alice, bob, who_hides):
    alice_client, bob_client, cid = chat
    set_receipts(bob_client if who_hides == "reader" else alice_client, False)
    send(alice_client, cid, "Are you there?")
    bob_reads(bob_client, cid)

    assert membership_of(bob, cid).unread_count == 0  # Bob's own reading still counts for him
    assert membership_of(bob, cid).last_read_message_id == membership_of(alice, cid).last_message_id
    assert seen_everywhere(app, alice_client, alice, cid) == dict.fromkeys(
        ("page", "poll", "list", "one", "messages"), 0)


def test_a_poll_stays_idle_when_a_hidden_read_happens(chat):
    alice_client, bob_client, cid = chat
    set_receipts(bob_client, False)
    send(alice_client, cid, "Are you there?")
    after, seen = poll_cursors(alice_client.get(f"/messages/{cid}").get_data(as_text=True))
    bob_reads(bob_client, cid)

    assert alice_client.get(f"/messages/{cid}/poll?after={after}&seen={seen}").status_code == 204


def test_turning_receipts_back_on_leaves_what_was_read_meanwhile_unsaid(app, chat, alice):
    """Bob read with his receipts off: turning them back on doesn't tell Alice so (found by an
    outside tester); his next read with them on does, as far as he has read then."""
    alice_client, bob_client, cid = chat
    set_receipts(bob_client, False)
    send(alice_client, cid, "Are you there?")
    bob_reads(bob_client, cid)
    set_receipts(bob_client, True)
    assert seen_everywhere(app, alice_client, alice, cid) == dict.fromkeys(
        ("page", "poll", "list", "one", "messages"), 0)

    send(alice_client, cid, "Still there?")
    bob_reads(bob_client, cid)
    assert seen_everywhere(app, alice_client, alice, cid) == dict.fromkeys(
        ("page", "poll", "list", "one", "messages"), membership_of(alice, cid).last_message_id)


def test_a_reply_with_receipts_off_tells_nothing_either(app, chat, alice, bob):
    """Replying reads what came before: with receipts off that read stays unsaid too."""
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "Are you there?")
    set_receipts(bob_client, False)
    send(bob_client, cid, "Yes")
    set_receipts(bob_client, True)
    assert membership_of(bob, cid).seen_message_id is None
    assert seen_everywhere(app, alice_client, alice, cid)["page"] == 0


def test_the_migration_keeps_seen_for_members_who_share_their_reads(app, chat, alice, bob):
    """Upgrading a community: a member with receipts on keeps showing how far they have read; one
    with them off starts with nothing to show."""
    from flask_migrate import downgrade, upgrade

    alice_client, bob_client, cid = chat
    send(alice_client, cid, "Are you there?")
    bob_reads(bob_client, cid)
    send(bob_client, cid, "Yes")
    set_receipts(alice_client, False)
    alice_reads_up_to = membership_of(alice, cid).last_read_message_id
    newest_alice = membership_of(bob, cid).last_read_message_id
    alice, bob = (SimpleNamespace(id=member.id) for member in (alice, bob))  # the session is about to go
    db.session.remove()

    downgrade(revision="b9e3d5a7c2f4")
    upgrade()

    assert membership_of(bob, cid).seen_message_id == newest_alice
    assert membership_of(alice, cid).seen_message_id is None and alice_reads_up_to
    set_receipts(alice_client, True)
    assert seen_everywhere(app, alice_client, db.session.get(User, alice.id), cid)["page"] == newest_alice


def test_turning_receipts_off_tells_nobody_of_a_draft(app, login, alice, bob, messaging_on):
    """Bob's live channel heard "seen" for a draft Alice opened with him and never wrote in: its id and
    when she opened it (an outside attacker). Whoever has the conversation still hears."""
    from sqlalchemy import select

    from messaging_helpers import open_conversation
    from wb.messaging.models import LiveEvent

    alice_client = login(alice)
    draft = open_conversation(alice_client, "bob")
    set_receipts(alice_client, False)
    told = db.session.execute(select(LiveEvent.member_id, LiveEvent.conversation_id)
                              .where(LiveEvent.kind == "seen")).all()
    assert told == []
    send(alice_client, draft, "Now it's a conversation")
    set_receipts(alice_client, True)
    told = db.session.execute(select(LiveEvent.member_id, LiveEvent.conversation_id)
                              .where(LiveEvent.kind == "seen")).all()
    assert [tuple(row) for row in told] == [(bob.id, draft)]


@pytest.mark.parametrize("blocker", ["reader", "writer"])
def test_a_read_across_a_block_tells_the_other_member_nothing(app, chat, alice, bob, blocker):
    """Bob blocked Alice and still read her old messages: "Seen" moved under them, telling Alice that
    Bob was still reading (an outside tester). Across a block (either way) a read moves no "Seen", wakes
    nobody with one, and stays unsaid when the block is lifted."""
    from sqlalchemy import select

    from wb.messaging.models import LiveEvent

    alice_client, bob_client, cid = chat
    send(alice_client, cid, "Are you there?")
    blocker_client, blocked = (bob_client, "alice") if blocker == "reader" else (alice_client, "bob")
    assert blocker_client.post(f"/people/{blocked}/block", data={"confirmed": "1"}).status_code == 302
    bob_reads(bob_client, cid)

    assert membership_of(bob, cid).unread_count == 0  # Bob's own reading still counts for him
    assert membership_of(bob, cid).seen_message_id is None
    assert db.session.scalars(select(LiveEvent.member_id).where(LiveEvent.kind == "seen")).all() == []
    if blocker == "reader":
        assert seen_everywhere(app, alice_client, alice, cid) == dict.fromkeys(
            ("page", "poll", "list", "one", "messages"), 0)
    assert blocker_client.post(f"/people/{blocked}/unblock").status_code == 302
    assert seen_everywhere(app, alice_client, alice, cid) == dict.fromkeys(
        ("page", "poll", "list", "one", "messages"), 0)


def test_a_toggle_tells_the_other_member_only_when_it_changes_what_they_see(app, alice, make_user, login, messaging_on):
    """With Alice's receipts off, Carol turning hers on still woke Alice's thread with "seen": Alice
    learnt Carol had changed the setting (a re-check tester). "Seen" shows only when both share, so
    a toggle tells the other member only when they share theirs; both ending up sharing is told."""
    from messaging_helpers import open_conversation
    from wb.messaging import live

    carol = make_user("carol")
    alice_client, carol_client = login(alice), login(carol)
    cid = open_conversation(carol_client, "alice")
    send(carol_client, cid, "Hello Alice")
    set_receipts(alice_client, False)

    def told(member, since):
        changes = live.changes_since(member.id, since)
        assert changes.refresh is False
        return [(event.kind, event.conversation_id) for event in changes.events]

    alice_since = live.newest_for(alice.id)
    set_receipts(carol_client, False)
    set_receipts(carol_client, True)
    set_receipts(carol_client, True)  # saved again unchanged
    assert told(alice, alice_since) == []

    set_receipts(carol_client, False)
    carol_since = live.newest_for(carol.id)
    set_receipts(alice_client, True)  # Carol's are off: nothing she is shown changes
    assert told(carol, carol_since) == []

    alice_since = live.newest_for(alice.id)
    set_receipts(carol_client, True)  # now both share: Alice's thread shows "Seen"
    assert told(alice, alice_since) == [("seen", cid)]
    alice_since = live.newest_for(alice.id)
    set_receipts(carol_client, False)  # and it goes again
    assert told(alice, alice_since) == [("seen", cid)]
