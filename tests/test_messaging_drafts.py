"""An empty conversation is the draft of whoever opened it: the other member sees nothing of it
(list, badge, thread address, API, search, notifications) until its first message."""
import re

import pytest
from sqlalchemy import select

from api_helpers import api_as, assert_problem  # noqa: F401
from helpers import text
from messaging_helpers import conversation_count, open_conversation, send, visible_text
from wb.extensions import db
from wb.messaging.models import ConversationMembership
from wb.messaging.reconcile import reconcile
from wb.notifications.claims import claim_due


@pytest.fixture
def drafted(app, alice, bob, login, messaging_on):
    """Alice pressed "Message" on Bob's profile and wrote nothing: (alice_client, bob_client, id)."""
    alice_client, bob_client = login(alice), login(bob)
    return alice_client, bob_client, open_conversation(alice_client, "bob")


def listed(client):
    return re.findall(r'class="conversation-name"><bdi>([^<]+)</bdi>', text(client.get("/messages")))


def test_the_other_member_sees_nothing_of_an_empty_conversation(drafted, alice):
    alice_client, bob_client, cid = drafted
    assert listed(alice_client) == ["Bob"]  # Alice's own draft
    assert listed(bob_client) == []
    assert visible_text(bob_client.get("/messages/badge")) == "Messages"
    thread = bob_client.get(f"/messages/{cid}")
    unknown = bob_client.get(f"/messages/{cid + 1000}")
    assert thread.status_code == unknown.status_code == 404
    assert visible_text(thread) == visible_text(unknown)  # the same page as for an id that never existed
    assert bob_client.get(f"/messages/{cid}/poll?after=0&seen=0").status_code == 404
    assert send(bob_client, cid, "sneaking in", htmx=False).status_code == 404
    assert db.session.scalars(select(ConversationMembership.user_id)).all() == [alice.id]  # no row of Bob's


def test_muting_hiding_or_reading_a_draft_hands_the_other_member_nothing(drafted, api_as, alice, bob):
    """Muting a draft made a row for both: the other member's inbox and API listed it, "4 min ago" telling
    when it was opened, its address answered 200 and, with the directory off, the opener's profile
    opened to them (a re-check tester)."""
    alice_client, bob_client, cid = drafted
    assert alice_client.post(f"/messages/{cid}/mute", data={"muted": "1"}).status_code == 302
    alice_api = api_as(alice)
    assert alice_api.put(f"/api/v1/conversations/{cid}/mute").status_code in (200, 204)
    assert alice_api.post(f"/api/v1/conversations/{cid}/hide").status_code in (200, 204)
    alice_client.post(f"/messages/{cid}/read", headers={"HX-Request": "true"})
    assert db.session.scalars(select(ConversationMembership.user_id)).all() == [alice.id]  # no row of Bob's
    assert listed(bob_client) == []
    assert bob_client.get(f"/messages/{cid}").status_code == 404
    assert api_as(bob).get("/api/v1/conversations").get_json()["conversations"] == []


def test_the_api_tells_the_other_member_nothing_of_it(drafted, api_as, alice, bob):
    _, _, cid = drafted
    bob_api = api_as(bob)
    assert bob_api.get("/api/v1/conversations").get_json()["conversations"] == []
    assert bob_api.get("/api/v1/unread-count").get_json() == {"unread_total": 0}
    assert assert_problem(bob_api.get(f"/api/v1/conversations/{cid}"), 404) == assert_problem(
        bob_api.get(f"/api/v1/conversations/{cid + 1000}"), 404)
    assert_problem(bob_api.get(f"/api/v1/conversations/{cid}/messages"), 404)
    # Bob starting one himself gets the pair's one conversation, new to him: 201, as for any new one
    # ...and nothing in it says when Alice started her draft (an hour ago, say): his row starts now.
    from datetime import timedelta

    from wb.messaging.models import Conversation
    from wb.models import utcnow

    an_hour_ago = utcnow() - timedelta(hours=1)
    db.session.execute(Conversation.__table__.update().values(created_at=an_hour_ago),
                       bind_arguments={"bind": db.engines["messaging"]})
    db.session.execute(ConversationMembership.__table__.update().values(last_activity_at=an_hour_ago))
    db.session.commit()
    opened = utcnow()
    response = bob_api.post("/api/v1/conversations", json={"with": "alice"})
    assert response.status_code == 201 and response.get_json()["id"] == cid
    assert conversation_count() == 1
    bobs = response.get_json()["last_activity_at"]
    assert bobs >= opened.isoformat()[:19], (bobs, an_hour_ago)
    assert reconcile(dry_run=True) == []  # and that is what reconcile keeps


def test_the_first_message_brings_it_to_the_other_member(drafted):
    alice_client, bob_client, cid = drafted
    assert send(alice_client, cid, "Hello Bob").status_code == 200
    assert listed(bob_client) == ["Alice"]
    assert "Hello Bob" in text(bob_client.get(f"/messages/{cid}"))
    assert 'aria-label="1 unread"' in text(bob_client.get("/messages/badge"))


def test_an_empty_draft_is_never_notified_nor_rebuilt_for_the_other_member(drafted, alice, bob):
    from datetime import timedelta

    from wb.models import utcnow

    _, _, cid = drafted
    assert claim_due(utcnow() + timedelta(days=2)) == 0
    reconcile()
    db.session.commit()
    rows = db.session.scalars(select(ConversationMembership.user_id).where(ConversationMembership.conversation_id == cid))
    assert list(rows) == [alice.id]  # reconcile gives nobody else a row for an empty conversation


def test_the_search_and_the_profile_stay_as_they_were_for_the_other_member(drafted, bob):
    _, bob_client, cid = drafted
    assert 'action="/messages/with/alice"' in text(bob_client.get("/people/alice"))
    results = text(bob_client.get("/messages/new?q=ali", headers={"HX-Request": "true"}))
    assert 'action="/messages/with/alice"' in results and f"/messages/{cid}" not in results


# --- the migration: empty conversations opened before drafts -------------------------------------


def test_the_migration_leaves_an_empty_conversation_from_before_drafts_to_nobody(app, alice, bob, make_user, login,
                                                                                  messaging_on):
    from flask_migrate import downgrade, upgrade

    from messaging_ops_helpers import converse
    from wb.messaging.conversations import ensure_memberships
    from wb.messaging.models import Conversation

    carol, dave = make_user("carol"), make_user("dave")
    alice_client, bob_client, carol_client, dave_client = login(alice), login(bob), login(carol), login(dave)
    # As the code before drafts left it: Alice pressed "Message" and both members got a row.
    empty = open_conversation(alice_client, "bob")
    ensure_memberships(db.session.get(Conversation, empty))
    # A written conversation whose metadata lagged the send (both rows know of no message yet).
    lagged = converse(carol, alice, ["hello Alice"]).id
    db.session.execute(ConversationMembership.__table__.update()
                       .where(ConversationMembership.conversation_id == lagged).values(last_message_id=None))
    db.session.commit()
    # Dave's draft to Carol, made after the change: only his row.
    draft = open_conversation(dave_client, "carol")
    assert listed(bob_client) == ["Alice"] and sorted(listed(alice_client)) == ["Bob", "Carol"]  # the bug
    carol, dave, alice_id = carol.id, dave.id, alice.id
    db.session.remove()

    downgrade(revision="f7b2d9e4c1a8")
    upgrade()

    assert listed(bob_client) == [] and listed(alice_client) == ["Carol"]
    assert bob_client.get(f"/messages/{empty}").status_code == 404
    assert alice_client.get(f"/messages/{empty}").status_code == 404  # nobody's draft now
    assert listed(carol_client) == ["Alice"] and listed(dave_client) == ["Carol"]
    rows = db.session.execute(select(ConversationMembership.conversation_id, ConversationMembership.user_id)).all()
    assert sorted(rows) == sorted([(lagged, carol), (lagged, alice_id), (draft, dave)])
    # Pressing "Message" again gives the pair's one conversation back, as the presser's own draft.
    assert open_conversation(alice_client, "bob") == empty
    assert sorted(listed(alice_client)) == ["Bob", "Carol"] and listed(bob_client) == []
    assert send(alice_client, empty, "Hello at last").status_code == 200
    assert listed(bob_client) == ["Alice"] and conversation_count() == 3


def test_the_migration_takes_a_draft_muted_before_this_release_from_both(drafted, alice, bob, login):
    """Muting a draft gave the other member a row too (a re-check tester): the migration after it takes
    both rows of an empty conversation listed for both, as the one that brought drafts did."""
    from flask_migrate import downgrade, upgrade

    from wb.messaging.conversations import ensure_memberships
    from wb.messaging.models import Conversation

    alice_client, bob_client, cid = drafted
    ensure_memberships(db.session.get(Conversation, cid))  # what muting it did
    written = open_conversation(bob_client, "alice")
    assert written == cid and listed(bob_client) == ["Alice"]  # the bug: Bob has Alice's draft
    db.session.remove()

    downgrade(revision="666955dfd1c4")
    upgrade()

    assert listed(bob_client) == [] and listed(alice_client) == []
    assert bob_client.get(f"/messages/{cid}").status_code == 404
    assert open_conversation(alice_client, "bob") == cid and listed(alice_client) == ["Bob"]  # hers again


def test_a_conversation_id_tells_nothing_of_when_it_was_made(drafted, make_user, login, monkeypatch):
    """Ids counted up: Bob, opening a conversation with Alice, got her old draft's id, lower than
    conversations made since, and knew she had started one to him and roughly when (an API tester);
    they also counted the community's conversations. A new one's id is drawn at random."""
    from wb.messaging import conversations, models

    _, bob_client, draft = drafted
    carol_client = login(make_user("carol"))
    later = [open_conversation(carol_client, name) for name in ("alice", "bob")]
    made = [draft, *later]
    low, high = conversations.CONVERSATION_IDS
    assert all(low <= cid < high for cid in made)
    assert any(b - a != 1 for a, b in zip(made, made[1:]))  # not counted up
    assert open_conversation(bob_client, "alice") == draft  # the pair's one conversation, as ever

    # An id already taken is drawn again, never shared.
    draws = iter([later[0] - low, later[0] - low, 123])
    monkeypatch.setattr(models.secrets, "randbelow", lambda _: next(draws))
    fresh = open_conversation(login(make_user("dave")), "alice")
    assert fresh == low + 123
