"""Blocks and reports."""
import re
from datetime import datetime

import pytest
from sqlalchemy import func, select

from wb.extensions import db
from wb.messaging.models import RANDOM_IDS, Block, Report
from messaging_helpers import messages_in, open_conversation, send, visible_text
from messaging_ops_helpers import converse, invoke
from helpers import admin_link


@pytest.fixture
def chat(app, alice, bob, login, messaging_on):
    alice_client, bob_client = login(alice), login(bob)
    cid = open_conversation(alice_client, "bob")
    send(alice_client, cid, "hi bob")
    return alice_client, bob_client, cid


def names_in_inbox(client):
    return re.findall(r'class="conversation-name"><bdi>([^<]+)</bdi>', client.get("/messages").get_data(as_text=True))


def test_blocked_member_cannot_send_and_gets_the_neutral_refusal(chat, alice, bob):
    alice_client, bob_client, cid = chat
    response = bob_client.post("/people/alice/block", data={"confirmed": "1"})
    assert response.status_code == 302
    assert db.session.scalar(select(Block).where(Block.blocker_id == bob.id, Block.blocked_id == alice.id))
    response = send(alice_client, cid, "let me in")
    assert response.status_code == 403
    # a block is private: the blocked member reads what Bob's own "Pause messages" says
    assert "Bob isn't accepting messages right now. Only they can change that." in visible_text(response)
    assert "Your message wasn't sent" in visible_text(response) and ">let me in</textarea>" in response.get_data(as_text=True)
    assert "block" not in visible_text(response).lower()
    # Message on Bob's profile opens their conversation, which says why, as for a pause
    response = alice_client.post("/messages/with/bob")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/messages/{cid}")
    thread = alice_client.get(response.headers["Location"]).get_data(as_text=True)
    why = visible_text(re.search(r'<div id="compose" class="compose compose-closed".*?</div>', thread, re.S).group(0))
    assert "Bob isn't accepting messages right now." in why and "block" not in why.lower()
    assert "blocked" not in thread.lower()  # only Alice's own "Block Bob" in its Safety menu
    assert [m.body for m in messages_in(cid)] == ["hi bob"]


def test_blocked_members_refusal_matches_other_not_allowed_cases(chat, alice, make_user, login):
    """Same words whether blocked or refused for another reason, so a block can't be detected."""
    alice_client, bob_client, cid = chat
    bob_client.post("/people/alice/block", data={"confirmed": "1"})
    # Bob's block and another Bob's "Pause messages" read exactly alike: in their conversations, and
    # where a new conversation is refused
    def why(response, box):
        return visible_text(re.search(box, response.get_data(as_text=True), re.S).group(0))

    closed = r'<div id="compose" class="compose compose-closed".*?</div>'
    blocked = alice_client.post("/messages/with/bob", follow_redirects=True)
    dora = make_user("dora", display_name="Bob")
    converse(dora, alice, ["hello from dora"])
    dora.messages_paused = True
    db.session.commit()
    paused = alice_client.post("/messages/with/dora", follow_redirects=True)
    assert blocked.status_code == paused.status_code == 200
    assert why(blocked, closed) == why(paused, closed) == "Bob isn't accepting messages right now. Only they can change that."
    erin = make_user("erin", display_name="Bob")  # no conversation yet: a new one is refused alike
    erin.messages_paused = True
    db.session.commit()
    new_paused = alice_client.post("/messages/with/erin")
    assert new_paused.status_code == 403
    assert why(new_paused, r'<div class="error-box".*?</div>') == (
        "Can't do that Bob isn't accepting messages right now. Only they can change that.")


def test_conversation_leaves_the_blockers_inbox_while_the_block_lasts(chat):
    alice_client, bob_client, cid = chat
    assert names_in_inbox(bob_client) == ["Alice"]
    bob_client.post("/people/alice/block", data={"confirmed": "1"})
    assert names_in_inbox(bob_client) == []
    # the empty list says why, not "No conversations yet" (a tester read it as gone)
    empty = visible_text(bob_client.get("/messages"))
    assert "yours with a member you blocked isn't listed" in empty and "No conversations yet" not in empty
    # the blocker's badge no longer counts the blocked member's messages
    assert visible_text(bob_client.get("/messages/badge")) == "Messages"
    # the blocked member still sees the conversation (nothing reveals the block)
    assert names_in_inbox(alice_client) == ["Bob"]
    bob_client.post("/people/alice/unblock")
    assert names_in_inbox(bob_client) == ["Alice"]


def test_blocker_sees_why_they_cannot_write(chat):
    alice_client, bob_client, cid = chat
    bob_client.post("/people/alice/block", data={"confirmed": "1"})
    page = visible_text(bob_client.get(f"/messages/{cid}"))
    assert "You've blocked Alice. To write to them, unblock them under Safety (on their profile or in your conversation) or in your settings." in page
    assert 'id="compose-body"' not in bob_client.get(f"/messages/{cid}").get_data(as_text=True)
    # the blocked member is told before typing, in the words of a pause: nothing reveals the block
    blocked_side = alice_client.get(f"/messages/{cid}").get_data(as_text=True)
    assert 'id="compose-body"' not in blocked_side and "blocked" not in blocked_side.lower()
    assert "Bob isn't accepting messages right now. Only they can change that." in visible_text(blocked_side)
    bob_client.post("/people/alice/unblock")
    assert 'id="compose-body"' in bob_client.get(f"/messages/{cid}").get_data(as_text=True)


def test_a_thread_with_a_member_awaiting_approval_explains_the_closed_box(chat, bob):
    alice_client, _, cid = chat
    bob.status = "pending"
    db.session.commit()
    page = alice_client.get(f"/messages/{cid}").get_data(as_text=True)
    assert "waiting for approval and can&#39;t receive messages yet" in page
    assert 'id="compose-body"' not in page


def test_blocked_list_in_settings_with_unblock(chat, alice, bob):
    alice_client, bob_client, _ = chat
    bob_client.post("/people/alice/block", data={"confirmed": "1"})
    settings = bob_client.get("/settings").get_data(as_text=True)
    assert 'action="/people/alice/unblock"' in settings
    # the button says whom (a row of "Unblock, Unblock" told a screen reader nothing: a newcomer)
    assert "Unblock Alice" in visible_text(settings)
    response = bob_client.post("/people/alice/unblock", data={"from": "settings"})
    # back at the list, its "You unblocked" in it, as the other settings do (it was the page's top: a street's tester)
    assert response.location == "/settings#blocked"
    assert db.session.scalar(select(Block)) is None
    assert "haven't blocked anyone" in visible_text(bob_client.get("/settings"))
    assert send(alice_client, chat[2], "back again").status_code == 200


def test_cannot_block_yourself_or_unknown_members(app, alice, login):
    client = login(alice)
    assert client.post("/people/alice/block").status_code == 400
    assert client.post("/people/nobody/block").status_code == 404


def test_report_records_who_whom_when_and_conversation_but_never_text(chat, alice, bob, admin, login):
    alice_client, bob_client, cid = chat
    form = bob_client.get("/people/alice/report")
    assert form.status_code == 200 and "Reason" in visible_text(form)
    # admins see no message: the note is what they go on, and the form says what helps (a street's tester)
    assert "Admins see only what you write here, not the messages: say in your own words what they did, since when, and how often." in visible_text(form)
    response = bob_client.post("/people/alice/report", data={"reason": "harassment", "note": "keeps pestering"})
    assert response.status_code == 302
    report = db.session.scalar(select(Report))
    assert (report.reporter_id, report.reported_id, report.conversation_id) == (bob.id, alice.id, cid)
    assert report.reason == "harassment" and report.note == "keeps pestering" and report.created_at
    admin_page = login(admin).get("/admin/reports")
    assert admin_page.status_code == 200
    page = visible_text(admin_page)
    assert "Harassment" in page and "keeps pestering" in page
    assert "hi bob" not in admin_page.get_data(as_text=True)
    assert 'data-label="A conversation between them">Yes</td>' in admin_page.get_data(as_text=True)
    assert f"#{cid}" not in page  # whether they have one, never its number


def test_a_report_about_a_member_one_only_drafted_to_says_no_conversation(app, alice, bob, admin, login, messaging_on):
    """An unsent draft is no conversation between them; the report said "Yes" (an API tester)."""
    from messaging_helpers import open_conversation

    alice_client = login(alice)
    open_conversation(alice_client, "bob")
    assert alice_client.post("/people/bob/report", data={"reason": "spam", "note": ""}).status_code == 302
    assert db.session.scalar(select(Report)).conversation_id is None
    page = login(admin).get("/admin/reports").get_data(as_text=True)
    assert 'data-label="A conversation between them">No</td>' in page


def test_report_needs_a_reason_and_keeps_the_note(chat):
    _, bob_client, _ = chat
    response = bob_client.post("/people/alice/report", data={"reason": "", "note": "my note"})
    assert response.status_code == 400
    assert "Choose a reason" in visible_text(response)
    assert "my note" in response.get_data(as_text=True)
    assert bob_client.post("/people/bob/report", data={"reason": "spam"}).status_code == 400
    assert db.session.scalar(select(Report)) is None


def test_a_note_that_no_longer_fits_the_open_report_is_refused_and_kept(chat):
    _, bob_client, _ = chat
    assert bob_client.post("/people/alice/report", data={"reason": "spam", "note": "n" * 990}).status_code == 302
    response = bob_client.post("/people/alice/report", data={"reason": "spam", "note": "and once more"})
    assert response.status_code == 422
    assert "Shorten this note to at most 8 characters" in visible_text(response)
    assert "holds 990 characters of notes, and a report's notes hold 1,000 at most" in visible_text(response)
    assert "and once more" in response.get_data(as_text=True)
    [report] = db.session.scalars(select(Report)).all()
    assert report.note == "n" * 990


def test_reporting_again_for_the_same_reason_says_it_joins_the_open_report(chat):
    """A second report for the same reason said "Thanks. An admin will look at your report" again, and
    a long third note was refused for "a long note" when the notes were 50 characters (a street's tester)."""
    _, bob_client, _ = chat
    first = bob_client.post("/people/alice/report", data={"reason": "spam", "note": "Sells in every thread"},
                            follow_redirects=True)
    assert "Thanks. An admin will look at your report" in visible_text(first)
    again = bob_client.post("/people/alice/report", data={"reason": "spam", "note": "And again today"},
                            follow_redirects=True)
    said = visible_text(again)
    assert "You reported Alice for this reason already" in said and "your note is added to that report" in said
    assert "Thanks. An admin will look" not in said
    bare = visible_text(bob_client.post("/people/alice/report", data={"reason": "spam"}, follow_redirects=True))
    assert "it stays one report" in bare
    [report] = db.session.scalars(select(Report)).all()
    assert report.note == "Sells in every thread\n\nAnd again today"
    long = bob_client.post("/people/alice/report", data={"reason": "spam", "note": "x" * 990})
    assert long.status_code == 422
    assert "holds 38 characters of notes" in visible_text(long) and "long note" not in visible_text(long)


def test_a_report_filed_on_the_page_gets_an_id_that_tells_nothing(chat, alice, bob, admin, make_user, login):
    """Report ids were counted up, so each told how many reports the community had (an API tester):
    the form's are drawn at random too. The admins' list stays newest first, an older report (filed
    under a counted id) last, and each resolves by its id."""
    alice_client, bob_client, _ = chat
    older = Report(id=2, reporter_id=admin.id, reported_id=bob.id, reason="other",
                   created_at=datetime(2024, 1, 1))
    db.session.add(older)
    db.session.commit()
    carol_client = login(make_user("carol", display_name="Carol"))
    for client, whom, reason in ((bob_client, "alice", "spam"), (carol_client, "alice", "harassment"),
                                 (alice_client, "carol", "scam")):
        assert client.post(f"/people/{whom}/report", data={"reason": reason}).status_code == 302
    rows = db.session.scalars(select(Report).where(Report.id != 2).order_by(Report.created_at)).all()
    ids = [row.id for row in rows]
    assert [row.reason for row in rows] == ["spam", "harassment", "scam"]
    low, high = RANDOM_IDS
    assert all(low <= id_ < high for id_ in ids), ids
    assert all(abs(later - earlier) != 1 for earlier, later in zip(ids, ids[1:])), ids
    admin_client = login(admin)
    page = admin_client.get("/admin/reports").get_data(as_text=True)
    listed = [int(found) for found in re.findall(r'<tr id="report-(\d+)"', page)]
    assert listed == [*reversed(ids), 2]  # newest first, by when it was filed
    for id_ in (ids[0], 2):
        assert admin_client.post(f"/admin/reports/{id_}/resolve").status_code == 302
    db.session.expire_all()
    assert {row.id: row.status for row in db.session.scalars(select(Report))} == {
        ids[0]: "resolved", ids[1]: "open", ids[2]: "open", 2: "resolved"}


def test_admin_resolves_reports_and_members_cannot_see_them(chat, admin, login):
    alice_client, bob_client, _ = chat
    bob_client.post("/people/alice/report", data={"reason": "spam"})
    report = db.session.scalar(select(Report))
    assert alice_client.get("/admin/reports").status_code == 403
    admin_client = login(admin)
    response = admin_client.post(f"/admin/reports/{report.id}/resolve")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Report, report.id).status == "resolved"
    assert "Nothing to review" in visible_text(admin_client.get("/admin/reports"))
    assert "Spam" in visible_text(admin_client.get("/admin/reports?status=resolved"))
    assert admin_client.post("/admin/reports/99999/resolve").status_code == 404


def test_block_and_report_from_a_conversation_return_to_it_and_only_on_this_site(chat, bob):
    _alice_client, bob_client, cid = chat
    thread = bob_client.get(f"/messages/{cid}").get_data(as_text=True)
    header = thread.split('<header class="thread-head">')[1].split("</header>")[0]
    assert 'action="/people/alice/block"' in header and f'name="next" value="/messages/{cid}"' in header
    assert f'href="/people/alice/report?next=/messages/{cid}"' in header

    response = bob_client.post("/people/alice/block", data={"next": f"/messages/{cid}", "confirmed": "1"})
    assert response.location == f"/messages/{cid}"
    response = bob_client.post("/people/alice/unblock", data={"next": "//evil.example/"})
    assert response.location == "/people/alice"
    page = bob_client.get(f"/people/alice/report?next=/messages/{cid}").get_data(as_text=True)
    assert f'<a href="/messages/{cid}">Cancel</a>' in page
    response = bob_client.post("/people/alice/report", data={"reason": "spam", "next": f"/messages/{cid}"})
    assert response.location == f"/messages/{cid}"
    assert db.session.scalar(select(Report).where(Report.reporter_id == bob.id)).reason == "spam"


def test_open_reports_are_counted_on_admin_and_resolving_records_who_and_when(chat, admin, alice, login):
    _alice_client, bob_client, _cid = chat
    admin_client = login(admin)
    assert admin_link(admin_client.get("/").get_data(as_text=True)) == ("/admin/settings", "Admin")
    bob_client.post("/people/alice/report", data={"reason": "spam"})
    page = admin_client.get("/").get_data(as_text=True)
    assert admin_link(page) == ("/admin/reports", 'Admin <span class="badge">1</span><span class="visually-hidden"> open report</span>')
    reports_page = admin_client.get("/admin/reports").get_data(as_text=True)
    assert '<a class="muted" href="/admin/members#member-alice">Their row in Members</a>' in reports_page
    assert 'id="member-alice"' in admin_client.get("/admin/members").get_data(as_text=True)
    assert "Bob" not in bob_client.get("/").get_data(as_text=True).split("</nav>")[0].split("Settings")[1]

    report = db.session.scalar(select(Report))
    admin_client.post(f"/admin/reports/{report.id}/resolve")
    assert admin_link(admin_client.get("/").get_data(as_text=True)) == ("/admin/settings", "Admin")
    resolved = admin_client.get("/admin/reports?status=resolved").get_data(as_text=True)
    assert re.search(r"by <bdi>Rita Root</bdi>, <time [^>]+>just now</time>", resolved)
    db.session.expire_all()
    stored = db.session.get(Report, report.id)
    assert stored.resolved_by_id == admin.id and stored.resolved_at is not None


# --- Block asks first, without JavaScript too ---------------------------------------------------


def blocks():
    db.session.expire_all()
    return db.session.execute(select(Block.blocker_id, Block.blocked_id)).all()


def test_a_plain_block_asks_on_a_page_and_only_the_answer_blocks(chat, alice, bob):
    _, bob_client, cid = chat
    asked = bob_client.post("/people/alice/block", data={"next": f"/messages/{cid}"})
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and blocks() == []  # asking blocks nobody
    assert "<h1>Block <bdi>Alice</bdi>?</h1>" in page
    assert "They won't be able to message you or comment on your requests. They aren't told, though they may notice that they can't write to you. Any conversation with them leaves your inbox until you unblock them, from their profile or your settings." in visible_text(asked)
    assert 'action="/people/alice/block"' in page and 'name="confirmed" value="1"' in page
    assert f'name="next" value="/messages/{cid}"' in page and f'<a href="/messages/{cid}">Cancel, don&#39;t block</a>' in page
    response = bob_client.post("/people/alice/block", data={"next": f"/messages/{cid}", "confirmed": "1"})
    assert response.status_code == 302 and response.location == f"/messages/{cid}"
    assert blocks() == [(bob.id, alice.id)]
    # Asked again once blocked: the same question, and answering changes nothing more.
    assert bob_client.post("/people/alice/block").status_code == 200
    assert bob_client.post("/people/alice/block", data={"confirmed": "1"}).status_code == 302
    assert blocks() == [(bob.id, alice.id)]


def test_the_block_question_never_leads_off_the_site(chat):
    _, bob_client, _ = chat
    page = bob_client.post("/people/alice/block", data={"next": "//evil.example/"}).get_data(as_text=True)
    assert 'name="next" value="/people/alice"' in page and '<a href="/people/alice">Cancel' in page
    assert "evil.example" not in page


@pytest.mark.parametrize("confirmed", ["", "1", "yes", "\x00"])
def test_block_refusals_are_clear_whether_asked_or_answered(chat, alice, bob, confirmed):
    alice_client, bob_client, _ = chat
    data = {"confirmed": confirmed}
    myself = alice_client.post("/people/alice/block", data=data)
    assert myself.status_code == 400 and "You can't block yourself." in visible_text(myself)
    unknown = alice_client.post("/people/nobody/block", data=data)
    assert unknown.status_code == 404 and "No member has that username." in visible_text(unknown)
    overlong = alice_client.post("/people/" + "x" * 5000 + "/block", data=data)
    assert overlong.status_code == 404
    forged = bob_client.post("/people/alice/block", data={**data, "csrf_token": "forged"}, csrf=False)
    assert forged.status_code == 400 and "Traceback" not in forged.get_data(as_text=True)
    assert blocks() == []
    anonymous = alice_client.application.test_client().post("/people/alice/block", data=data)
    assert anonymous.status_code == 302 and anonymous.location.startswith("/login") and blocks() == []


def test_a_member_awaiting_approval_neither_blocks_nor_reports_as_the_api_says(make_user, login, alice, messaging_on):
    """Pending members can read but not act (README); blocking and reporting are acts, as the API
    already answered them: no Safety panel on profiles, 403 on the forms' routes, nothing stored."""
    newcomer = make_user("newcomer", status="pending")
    client = login(newcomer)
    assert "Safety" not in visible_text(client.get("/people/alice"))
    for path, data in (("/people/alice/block", {"confirmed": "1"}), ("/people/alice/unblock", {}),
                       ("/people/alice/report", {"reason": "spam"})):
        response = client.post(path, data=data)
        assert response.status_code == 403, path
        assert "waiting for an admin to approve it" in visible_text(response)
    assert client.get("/people/alice/report").status_code == 403
    assert db.session.scalar(select(Block.id)) is None and db.session.scalar(select(Report.id)) is None


@pytest.fixture
def two_reports_a_day(app_config, request):
    app_config["REPORT_RATE_LIMIT"] = "2 per day"
    return request.getfixturevalue("app")


def test_reports_are_limited_per_member_so_nobody_floods_the_admins(two_reports_a_day, make_user, login, messaging_on):
    from api_helpers import ApiClient, token_for

    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    client = login(alice)
    assert client.post("/people/bob/report", data={"reason": "spam"}).status_code == 302
    assert client.post("/people/carol/report", data={"reason": "spam"}).status_code == 302
    refused = client.post("/people/bob/report", data={"reason": "harassment", "note": "again"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "You've sent 2 reports today, the most one member can." in visible_text(refused)
    api = ApiClient(two_reports_a_day.test_client(), token_for(alice))
    make_user("dave")
    answer = api.post("/api/v1/reports", json={"username": "dave", "reason": "spam"})
    assert answer.status_code == 429 and "Retry-After" in answer.headers
    # a note added to an open report counts nothing: eight of them had spent a day's reports (an API tester)
    for n in range(3):
        assert api.post("/api/v1/reports", json={"username": "carol", "reason": "spam", "note": f"again {n}"}).status_code == 200
    assert db.session.scalar(select(func.count()).select_from(Report)) == 2
    assert "again 2" in db.session.scalar(select(Report.note).where(Report.reported_id == carol.id))
    bobs = login(bob)  # another member's reports are their own
    assert bobs.post("/people/carol/report", data={"reason": "spam"}).status_code == 302


def test_a_report_about_an_admin_goes_to_the_other_admins_only(chat, alice, bob, admin, make_user, login):
    """The README's practice makes a therapist an admin; she read a client's report about her, note
    and name, and could mark it resolved (an outside tester)."""
    _, bob_client, _ = chat
    therapist = make_user("drmaya", role="admin")
    assert bob_client.post("/people/drmaya/report", data={"reason": "harassment", "note": "She pressured me"}).status_code == 302
    assert bob_client.post("/people/alice/report", data={"reason": "spam"}).status_code == 302
    about_her, about_alice = db.session.scalars(select(Report).order_by(Report.created_at, Report.id)).all()

    hers = login(therapist)
    page = visible_text(hers.get("/admin/reports"))
    assert "She pressured me" not in page and "Spam" in page
    assert "pressured" not in visible_text(hers.get("/admin/reports?status=resolved"))
    nav = hers.get("/admin/settings").get_data(as_text=True)
    assert 'Reports <span class="badge">1</span>' in nav  # only the one she handles
    assert hers.post(f"/admin/reports/{about_her.id}/resolve").status_code == 404
    db.session.expire_all()
    assert db.session.get(Report, about_her.id).status == "open"

    other = login(admin)  # another admin sees and resolves it
    assert "She pressured me" in visible_text(other.get("/admin/reports"))
    assert other.post(f"/admin/reports/{about_her.id}/resolve").status_code == 302
    # and she doesn't learn of it from Recent member actions: its time pointed at the client (a tester)
    assert "Report about them resolved" in visible_text(other.get("/admin/members"))
    assert "Report about them" not in visible_text(hers.get("/admin/members"))

    # Not even once she is the only admin (she removed the other, and read it: an outside tester):
    # the report waits for another admin, and the reporter is told so.
    from wb.models import User
    db.session.get(User, admin.id).role = "member"
    db.session.commit()
    filed = bob_client.post("/people/drmaya/report", data={"reason": "spam", "note": "again"}, follow_redirects=True)
    assert "is the only admin here, so your report waits until there is another" in visible_text(filed)
    assert "again" not in visible_text(hers.get("/admin/reports"))
    assert 'Reports <span class="badge">1</span>' in hers.get("/admin/settings").get_data(as_text=True)  # Alice's only
    db.session.get(User, admin.id).role = "admin"
    db.session.commit()
    assert "again" in visible_text(login(admin).get("/admin/reports"))


def test_resolving_a_report_can_be_undone_and_a_resolved_one_reopened(chat, admin, alice, bob, login):
    """One tap on "Mark resolved" had no way back (a residents' building's volunteer admin, an outside
    tester): the page it leads to offers Undo, each resolved report Reopen, both recorded as resolving is;
    the reporter's name leads to their profile, from where the admin can write to them."""
    _alice_client, bob_client, _cid = chat
    bob_client.post("/people/alice/report", data={"reason": "spam", "note": "three adverts"})
    report = db.session.scalar(select(Report))
    admin_client = login(admin)
    listed = admin_client.get("/admin/reports").get_data(as_text=True)
    assert '<a href="/people/bob"><bdi>Bob</bdi></a>' in listed
    assert 'Mark resolved<span class="visually-hidden">: the report about <bdi>Alice</bdi></span></button>' in listed
    done = admin_client.post(f"/admin/reports/{report.id}/resolve")
    assert done.location == f"/admin/reports?resolved={report.id}"
    page = admin_client.get(done.location)
    assert "The report about Alice is resolved. Undo" in visible_text(page)
    assert f'action="/admin/reports/{report.id}/reopen"' in page.get_data(as_text=True)
    assert "Nothing to review" in visible_text(page)

    undone = admin_client.post(f"/admin/reports/{report.id}/reopen")
    # said under the tabs, where Mark resolved's note was, and with no #fragment, whose scroll took the
    # focus from the note to the page (an admin tester)
    assert undone.status_code == 302 and undone.location == f"/admin/reports?reopened={report.id}"
    db.session.expire_all()
    stored = db.session.get(Report, report.id)
    assert (stored.status, stored.resolved_at, stored.resolved_by_id, stored.note) == ("open", None, None, "three adverts")
    reopened = admin_client.get(undone.location).get_data(as_text=True)
    assert reopened.index('aria-label="Admin"') < reopened.index("data-flashes")
    page = visible_text(reopened)
    assert "The report about Alice is open again" in page and "three adverts" in page and "is resolved. Undo" not in page
    assert "is resolved" not in visible_text(admin_client.get(f"/admin/reports?resolved={report.id}"))  # open: no Undo
    assert 'Admin <span class="badge">1</span>' in admin_client.get("/").get_data(as_text=True)

    admin_client.post(f"/admin/reports/{report.id}/resolve")
    resolved = admin_client.get("/admin/reports?status=resolved").get_data(as_text=True)
    assert 'Reopen<span class="visually-hidden"> the report about <bdi>Alice</bdi></span></button>' in resolved
    # Filed again meanwhile, the new one is open: the old one stays resolved rather than doubling it.
    bob_client.post("/people/alice/report", data={"reason": "spam", "note": "a fourth"})
    refused = admin_client.post(f"/admin/reports/{report.id}/reopen")
    assert refused.status_code == 409 and "that one is open" in visible_text(refused)
    assert len(db.session.scalars(select(Report).where(Report.status == "open")).all()) == 1
    members = visible_text(admin_client.get("/admin/members"))
    assert "Report about them reopened" in members and "Report about them resolved" in members
    # Members can't, nor can anyone reopen what isn't there.
    assert bob_client.post(f"/admin/reports/{report.id}/reopen").status_code == 403
    assert admin_client.post("/admin/reports/99999/reopen").status_code == 404


def _menu(response) -> str:
    """A message's menu as its htmx partial, with the page's CSRF token left out (it is per request)."""
    assert response.status_code == 200
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', response.get_data(as_text=True))


def _live_events_for(member_id) -> list:
    from wb.messaging.models import LiveEvent

    return db.session.execute(select(LiveEvent.kind, LiveEvent.message_id).where(LiveEvent.member_id == member_id)
                              .order_by(LiveEvent.id)).all()


@pytest.mark.parametrize("act", [None, "block", "report"])
def test_delete_for_both_looks_the_same_to_a_sender_who_was_blocked_or_reported(chat, alice, bob, act):
    """Once Bob had reported or blocked Alice, her menu dropped "Delete for both" and the delete answered
    403 "the other member keeps their copy", while the report form tells Bob she isn't told (a therapy
    practice's tester). Her menu, her answer and her view are now the same either way; Bob, who reported
    or blocked her, keeps his copy (a reported scammer had wiped his victim's, leaving nothing for an admin),
    and hears nothing of the delete."""
    alice_client, bob_client, cid = chat
    message = messages_in(cid)[0]
    actions = f"/messages/{cid}/messages/{message.id}/actions"
    menu = _menu(alice_client.htmx("GET", actions))
    question = ("Delete this message for both of you? It can&#39;t be undone. A member who has reported or "
                "blocked you keeps their copy.")
    assert f'hx-confirm="{question}"' in menu and ">Delete for both</button>" in menu
    if act is not None:
        data = {"confirmed": "1"} if act == "block" else {"reason": "scam"}
        assert bob_client.post(f"/people/alice/{act}", data=data).status_code == 302
    assert _menu(alice_client.htmx("GET", actions)) == menu
    assert f"<p>{question}</p>" in alice_client.get(actions).get_data(as_text=True)  # the page without JavaScript
    bob_events = _live_events_for(bob.id)

    deleted = alice_client.htmx("POST", f"/messages/{cid}/messages/{message.id}/delete")

    assert deleted.status_code == 200
    answer = deleted.get_data(as_text=True)
    assert '<li class="message mine deleted"' in answer and '<p class="body deleted-text">Message deleted</p>' in answer
    assert "hi bob" not in answer and "Actions for your deleted message of" in answer
    again = alice_client.post(f"/messages/{cid}/messages/{message.id}/delete")  # without JavaScript: the same answer
    assert again.status_code == 302 and "Message deleted." in visible_text(alice_client.get(again.location))
    thread = alice_client.get(f"/messages/{cid}").get_data(as_text=True)
    assert '<p class="body deleted-text">Message deleted</p>' in thread and "hi bob" not in thread
    assert "Message deleted" in visible_text(alice_client.get("/messages"))  # her list's preview
    after = _menu(alice_client.htmx("GET", actions))
    assert "Delete for both" not in after and ">Remove for me</button>" in after
    db.session.expire_all()
    stored = messages_in(cid)[0]
    assert stored.deleted_at is not None
    if act is None:  # deleted for both: its text gone from the messaging database, Bob's view and live channel told
        assert stored.body == ""
        assert "Message deleted" in visible_text(bob_client.get(f"/messages/{cid}"))
        assert _live_events_for(bob.id)[len(bob_events):] == [("deleted", message.id)]
    else:  # Bob keeps his copy, as it was, and his tabs hear nothing
        assert stored.body == "hi bob"
        bob_thread = bob_client.get(f"/messages/{cid}").get_data(as_text=True)
        assert '<p class="body" dir="auto">hi bob</p>' in bob_thread and "Message deleted" not in bob_thread
        assert _live_events_for(bob.id) == bob_events
        if act == "report":  # (a block takes the conversation out of his list while it lasts)
            assert "hi bob" in visible_text(bob_client.get("/messages"))
        # Bob removing it from his view lets its text go: nobody sees it any more.
        assert bob_client.post(f"/messages/{cid}/messages/{message.id}/remove").status_code == 302
        db.session.expire_all()
        assert messages_in(cid)[0].body == ""
    assert alice_client.post(f"/messages/{cid}/messages/{message.id}/remove").status_code == 302
    assert f'id="message-{message.id}"' not in alice_client.get(f"/messages/{cid}").get_data(as_text=True)


def test_a_kept_copy_stays_its_keeper_s_in_counts_export_and_through_purge(app, alice, bob, login, messaging_on):
    """What the sender deleted while Bob keeps his copy is still his everywhere: unread, recounted by
    reconcile, in his download, and past a purge of every deletion; not in hers."""
    import io
    import json
    import zipfile

    from wb.messaging import writes
    from wb.messaging.models import ConversationMembership

    conversation = converse(alice, bob, ["you owe me"])
    alice_client, bob_client = login(alice), login(bob)
    assert bob_client.post("/people/alice/report", data={"reason": "harassment"}).status_code == 302
    (message,) = messages_in(conversation.id)
    writes.delete_message(alice, conversation, message.id)

    assert invoke(app, "reconcile").exit_code == 0
    assert invoke(app, "purge", "--deleted-older-than", "0", "--yes").exit_code == 0
    db.session.expire_all()
    assert [m.body for m in messages_in(conversation.id)] == ["you owe me"]
    assert db.session.scalar(select(ConversationMembership.unread_count).where(
        ConversationMembership.user_id == bob.id)) == 1
    assert 'aria-label="1 unread">1</span>' in bob_client.get("/messages/badge").get_data(as_text=True)

    def exported(client):
        archive = zipfile.ZipFile(io.BytesIO(client.post("/settings/export").get_data()))
        (chat,) = json.loads(archive.read("conversations.json"))["conversations"]
        return [m["body"] for m in chat["messages"]]

    assert exported(bob_client) == ["you owe me"]
    assert exported(alice_client) == []


def test_an_admin_made_after_a_report_by_the_admin_it_is_about_cannot_read_it(chat, admin, make_user, login):
    """A reported practice manager made a new account an admin and read, as it, the report about her,
    who filed it and the note (a therapy practice's tester). An admin made before the report reads it."""
    _, bob_client, _ = chat
    early = make_user("early")
    boss = login(admin)
    assert boss.post("/admin/members/early/make-admin", data={"confirmed": "1"}).status_code == 302
    assert bob_client.post("/people/root/report", data={"reason": "other", "note": "Rude on the phone"}).status_code == 302
    [report] = db.session.scalars(select(Report)).all()
    puppet = make_user("helper")
    assert boss.post("/admin/members/helper/make-admin", data={"confirmed": "1"}).status_code == 302
    puppets = login(puppet)
    for status in ("open", "resolved"):
        assert "Rude on the phone" not in visible_text(puppets.get(f"/admin/reports?status={status}"))
    assert puppets.post(f"/admin/reports/{report.id}/resolve").status_code == 404
    assert 'Reports <span class="badge">' not in puppets.get("/admin/settings").get_data(as_text=True)
    # and one the puppet makes an admin is no way round it
    third = make_user("third")
    assert puppets.post("/admin/members/third/make-admin", data={"confirmed": "1"}).status_code == 302
    assert "Rude on the phone" not in visible_text(login(third).get("/admin/reports"))
    # the admin made before the report handles it
    assert "Rude on the phone" in visible_text(login(early).get("/admin/reports"))


def test_the_thread_header_and_the_report_page_name_the_member_with_their_username(chat, alice, bob):
    """"Sam Green¹" in a thread's header, and "Report Sam GreenⓇ", read as the seller Sam Green (a re-check
    tester): both write the @username beside the name, as bylines and the directory do."""
    alice_client, _bob_client, cid = chat
    assert "Bob @bob" in visible_text(alice_client.get(f"/messages/{cid}"))
    assert "Report Bob @bob" in visible_text(alice_client.get("/people/bob/report"))
