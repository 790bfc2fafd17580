"""An admin's change to a member tells the open pages it changes, as a pause, a block or a rule change
does: whom it concerns hear of it on their live channel, and the page drawn again shows it."""
import re

import pytest
from sqlalchemy import select

from helpers import reload
from messaging_helpers import open_conversation, send, visible_text
from wb.extensions import db
from wb.messaging import live
from wb.messaging.models import LiveEvent
from wb.models import User

CLOSED_BOX = re.compile(r'<div id="compose" class="compose compose-closed".*?</div>', re.S)
SUSPENDED_WORDS = "This member's account is suspended, so they can't receive messages."


@pytest.fixture
def admin_client(admin, login):
    return login(admin)


def events_since(newest_id: int) -> list[tuple]:
    """(member, kind, conversation) of every live event recorded after newest_id, oldest first."""
    db.session.expire_all()
    return [tuple(row) for row in db.session.execute(
        select(LiveEvent.member_id, LiveEvent.kind, LiveEvent.conversation_id)
        .where(LiveEvent.id > newest_id).order_by(LiveEvent.id))]


def told(client, since) -> list[tuple]:
    """(kind, conversation) of what the member's live channel answers since their cursor."""
    answer = client.get(f"/messages/live?since={since}").get_json()
    return [(event["kind"], event["conversation"]) for event in answer["events"]]


# --- suspending, reinstating, approving -------------------------------------------------------------


def test_suspending_and_reinstating_a_member_tells_the_open_threads_of_whoever_writes_with_them(
        admin_client, make_user, login, messaging_on):
    """Erin had her thread with Frank open when the admin suspended him: her box stayed, and only Send
    said he was suspended; reinstated, her thread said so until reloaded (a residents' building's tester)."""
    erin, frank, gina = make_user("erin"), make_user("frank"), make_user("gina")
    erin_client, gina_client = login(erin), login(gina)
    cid = open_conversation(erin_client, "frank")
    assert send(erin_client, cid, "Is the parcel still downstairs?").status_code == 200
    other = open_conversation(gina_client, "erin")  # Erin's conversation without Frank: nothing to tell
    assert send(gina_client, other, "Lift on the blink again?").status_code == 200
    since, newest = live.newest_for(erin.id), live.newest_id()

    assert admin_client.post("/admin/members/frank/suspend", data={"confirmed": "1"}).status_code == 302

    assert reload(User, frank.id).status == "suspended"
    assert (erin.id, "compose", cid) in events_since(newest)
    assert {event[0] for event in events_since(newest)} == {erin.id, frank.id}  # Frank's own: his sessions end
    assert (erin.id, "compose", other) not in events_since(newest) and (gina.id, "compose", other) not in events_since(newest)
    assert told(erin_client, since) == [("compose", cid)]
    thread = erin_client.get(f"/messages/{cid}").get_data(as_text=True)  # as the tab draws it again
    assert 'id="compose-body"' not in thread
    assert visible_text(CLOSED_BOX.search(thread).group(0)) == SUSPENDED_WORDS

    since, newest = live.newest_for(erin.id), live.newest_id()
    assert admin_client.post("/admin/members/frank/reinstate").status_code == 302

    assert reload(User, frank.id).status == "active"
    assert events_since(newest) == [(erin.id, "compose", cid)]
    assert told(erin_client, since) == [("compose", cid)]
    thread = erin_client.get(f"/messages/{cid}").get_data(as_text=True)
    assert 'id="compose-body"' in thread and SUSPENDED_WORDS not in thread


def test_the_command_lines_approval_tells_the_open_threads_as_the_admin_page_does(runner, make_user, login,
                                                                                 messaging_on):
    """`./wb approve` goes through the same change: an open draft to a member waiting for approval opens its box."""
    erin, ivy = make_user("erin"), make_user("ivy")
    erin_client = login(erin)
    cid = open_conversation(erin_client, "ivy")  # Erin's draft, opened before Ivy's account went back to pending
    ivy.status = "pending"
    db.session.commit()
    assert 'id="compose-body"' not in erin_client.get(f"/messages/{cid}").get_data(as_text=True)
    since, newest = live.newest_for(erin.id), live.newest_id()

    result = runner.invoke(args=["approve", "ivy"])

    assert result.exit_code == 0, result.output
    assert reload(User, ivy.id).status == "active"
    assert events_since(newest) == [(erin.id, "compose", cid)]
    assert told(erin_client, since) == [("compose", cid)]
    assert 'id="compose-body"' in erin_client.get(f"/messages/{cid}").get_data(as_text=True)
