"""An admin's change to a member tells the open pages it changes, as a pause, a block or a rule change
does: whom it concerns hear of it on their live channel, and the page drawn again shows it."""
import re

import pytest
from sqlalchemy import select

from helpers import reload
from messaging_helpers import open_conversation, send, visible_text
from wb.extensions import db
from wb.messaging import live
from wb.messaging.models import LiveEvent, Report
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
    assert events_since(newest) == [(erin.id, "compose", cid), (ivy.id, "approved", None)]  # Ivy's own pages: drawn again
    assert told(erin_client, since) == [("compose", cid)]
    assert 'id="compose-body"' in erin_client.get(f"/messages/{cid}").get_data(as_text=True)


# --- who is in which circle ---------------------------------------------------------------------------

NO_CIRCLE_WORDS = "and you aren't in one yet. Ask an admin to add you to a circle"
STARTING_NOTE = re.compile(r'<div id="starting-note">(.*?)</div>', re.S)


def starting_note(client) -> str:
    """The inbox's note on whom the member may start with at all, as a reader sees it ("" when none)."""
    return visible_text(STARTING_NOTE.search(client.get("/messages").get_data(as_text=True)).group(1))


def told_everyone(newest_id: int) -> list[str]:
    """The kinds of the events for every member recorded after newest_id."""
    return [kind for member_id, kind, _conversation in events_since(newest_id) if member_id == live.EVERYONE]


@pytest.fixture
def building(make_user, messaging_on):
    """Residents reach only those who share a circle: Gina on Floor 3, Erin in no circle yet."""
    from wb.circles import service as circles
    from wb.messaging.rule_changes import set_reach

    set_reach(True)
    floor = circles.create("Floor 3")
    erin, gina = make_user("erin"), make_user("gina")
    circles.add_members(floor, ["gina"])
    return floor, erin, gina


def test_adding_a_member_to_a_circle_tells_the_open_pages_as_a_change_of_the_rules_does(
        building, admin_client, login, runner):
    """Erin, in no circle, had "Ask an admin to add you to a circle" on her inbox; the admin added her, and it
    stayed until she reloaded (a residents' building's tester)."""
    floor, erin, _gina = building
    erin_client = login(erin)
    assert NO_CIRCLE_WORDS in starting_note(erin_client)
    since, newest = live.newest_for(erin.id), live.newest_id()

    assert admin_client.post(f"/admin/circles/{floor.id}/members", data={"usernames": "erin"}).status_code == 302

    assert told_everyone(newest) == ["rules"]
    assert ("rules", None) in told(erin_client, since)
    assert starting_note(erin_client) == ""  # what the tab draws again
    # adding her again changes nothing, and tells nobody
    newest = live.newest_id()
    assert runner.invoke(args=["circles", "add", "Floor 3", "erin"]).exit_code == 0
    assert events_since(newest) == []


def test_removing_a_member_from_their_circle_closes_their_open_draft_to_its_members(building, login, runner):
    """Erin, removed from her circle, kept an open box to Gina, refused only on Enter (a residents' building's
    tester): the command line tells the open pages as the admin pages do."""
    floor, erin, _gina = building
    runner.invoke(args=["circles", "add", "Floor 3", "erin"])
    erin_client = login(erin)
    cid = open_conversation(erin_client, "gina")  # her draft: a reply would always go, a start may not
    assert 'id="compose-body"' in erin_client.get(f"/messages/{cid}").get_data(as_text=True)
    since, newest = live.newest_for(erin.id), live.newest_id()

    result = runner.invoke(args=["circles", "remove", "Floor 3", "erin"])

    assert result.exit_code == 0, result.output
    assert told_everyone(newest) == ["rules"]
    assert ("rules", None) in told(erin_client, since)
    thread = erin_client.get(f"/messages/{cid}").get_data(as_text=True)
    assert 'id="compose-body"' not in thread
    assert NO_CIRCLE_WORDS in visible_text(CLOSED_BOX.search(thread).group(0))
    assert NO_CIRCLE_WORDS in starting_note(erin_client)


def test_deleting_or_renaming_a_circle_tells_the_open_pages(building, admin_client, login):
    """Its members no longer share it, though no rule named it; a new name changes the rules' words."""
    floor, _erin, gina = building
    gina_client = login(gina)
    newest = live.newest_id()
    assert admin_client.post(f"/admin/circles/{floor.id}/rename", data={"name": "Third Floor"}).status_code == 302
    assert told_everyone(newest) == ["rules"]

    newest = live.newest_id()
    assert admin_client.post(f"/admin/circles/{floor.id}/delete", data={"confirm": "yes"}).status_code == 302
    assert told_everyone(newest) == ["rules"]
    assert NO_CIRCLE_WORDS in starting_note(gina_client)


def test_approving_or_suspending_a_member_of_a_circle_tells_the_open_pages(building, admin_client, login, make_user):
    """To the rules, only active members are in a circle: Gina's inbox said "nobody else is in yours yet"
    after the admin approved the neighbour waiting in her circle, until she reloaded."""
    from wb.circles import service as circles

    floor, _erin, gina = building
    ivy = make_user("ivy", status="pending")
    circles.add_members(floor, ["ivy"])
    gina_client = login(gina)
    assert "nobody else is in yours yet" in starting_note(gina_client)
    since, newest = live.newest_for(gina.id), live.newest_id()

    assert admin_client.post("/admin/members/ivy/approve").status_code == 302

    assert reload(User, ivy.id).status == "active"
    assert told_everyone(newest) == ["rules"]
    assert ("rules", None) in told(gina_client, since)
    assert starting_note(gina_client) == ""

    newest = live.newest_id()
    assert admin_client.post("/admin/members/ivy/suspend", data={"confirmed": "1"}).status_code == 302
    assert told_everyone(newest) == ["rules"]
    assert "nobody else is in yours yet" in starting_note(gina_client)


def test_a_newcomer_joining_a_circle_with_an_invite_tells_the_open_pages_once_active(building, client, make_user):
    """An invite that adds its newcomers to a circle: one approved at once is in it now; one waiting for
    approval is told of with the approval."""
    from wb.models import Invite

    floor, erin, _gina = building
    at_once = Invite.issue(creator=erin, max_uses=1, expires_days=14, auto_approve=True, circle=floor)
    waiting = Invite.issue(creator=erin, max_uses=1, expires_days=14, auto_approve=False, circle=floor)
    db.session.commit()
    newest = live.newest_id()
    form = {"username": "hana", "password": "a long enough passphrase 1", "display_name": ""}
    assert client.post(f"/register?invite={at_once.token}", data={**form, "invite": at_once.token}).status_code == 302
    assert told_everyone(newest) == ["rules"]

    newest = live.newest_id()
    other = client.application.test_client()
    response = other.post(f"/register?invite={waiting.token}",
                          data={**form, "username": "ian", "invite": waiting.token})
    assert response.status_code == 302
    assert reload(User, User.by_username("ian").id).status == "pending"
    assert told_everyone(newest) == []


# --- what waits for the admins ----------------------------------------------------------------------


def admins_told(newest_id: int) -> list[int]:
    """The members told "admin" (the count beside Admin changed) after newest_id."""
    return [member for member, kind, _conversation in events_since(newest_id) if kind == "admin"]


def test_a_report_filed_resolved_or_opened_again_tells_every_admins_open_pages(chat, alice, bob, admin, login, make_user):
    """A report about a threat reached an admin's open page only at their next click: the count beside
    Admin stayed empty (a street's tester)."""
    other_admin, _member = make_user("sam", role="admin"), make_user("tess")
    bob_client, admin_client = login(bob), login(admin)
    admin_since = live.newest_for(admin.id)
    newest = live.newest_id()

    assert bob_client.post("/people/alice/report", data={"reason": "harassment", "note": "threats"}).status_code == 302
    assert sorted(admins_told(newest)) == sorted([admin.id, other_admin.id])  # admins only, each once
    assert ("admin", None) in told(admin_client, admin_since)
    # what the page then asks for: the count, in both its places, out of band
    answer = admin_client.get("/admin/waiting", headers={"HX-Request": "true"})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert 'id="admin-link"' in text and 'id="menu-waiting"' in text and text.count('hx-swap-oob="true"') == 2
    assert '<span class="badge">1</span><span class="visually-hidden"> open report</span>' in text
    assert 'href="/admin/reports"' in text

    newest = live.newest_id()
    assert bob_client.post("/people/alice/report", data={"reason": "harassment", "note": "again"}).status_code == 302
    assert admins_told(newest) == []  # a note joining the open report counts nothing new

    report_id = db.session.scalar(select(Report.id))
    newest = live.newest_id()
    assert admin_client.post(f"/admin/reports/{report_id}/resolve").status_code in (302, 303)
    assert sorted(admins_told(newest)) == sorted([admin.id, other_admin.id])
    assert "badge" not in admin_client.get("/admin/waiting", headers={"HX-Request": "true"}).get_data(as_text=True)


def test_a_report_about_an_admin_tells_only_the_admins_who_read_it(chat, bob, admin, login, make_user):
    """A report about an admin goes to the other admins only: the reported admin's page isn't told either,
    or a change they can't see would tell them of it (a therapy practice's client reporting her therapist)."""
    other_admin = make_user("sam", role="admin")
    newest = live.newest_id()
    assert login(bob).post(f"/people/{admin.username}/report", data={"reason": "harassment"}).status_code == 302
    assert admins_told(newest) == [other_admin.id]
    newest = live.newest_id()
    report_id = db.session.scalar(select(Report.id))
    assert login(other_admin).post(f"/admin/reports/{report_id}/resolve").status_code in (302, 303)
    assert admins_told(newest) == [other_admin.id]


def test_a_member_waiting_for_approval_and_approved_tells_the_admins(admin_client, admin, make_user, client):
    from wb.models import Invite

    invite = Invite.issue(creator=admin, max_uses=1, expires_days=14, auto_approve=False)
    db.session.commit()
    newest = live.newest_id()
    form = {"username": "ian", "password": "a long enough passphrase 1", "display_name": "", "invite": invite.token}
    assert client.post(f"/register?invite={invite.token}", data=form).status_code == 302
    assert admins_told(newest) == [admin.id]
    assert "> member waiting for approval</span>" in admin_client.get("/admin/waiting").get_data(as_text=True)

    newest = live.newest_id()
    assert admin_client.post("/admin/members/ian/approve", data={"confirmed": "1"}).status_code == 302
    assert admins_told(newest) == [admin.id]


def test_the_count_beside_admin_is_for_admins_only(chat, alice, login):
    answer = login(alice).get("/admin/waiting", headers={"HX-Request": "true"})
    assert answer.status_code in (403, 404) and "badge" not in answer.get_data(as_text=True)
