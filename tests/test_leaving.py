"""Leaving: closing one's own account (keeping or erasing the text one sent) and erasure on request,
end to end: the member's sessions and tokens, the other member's view, the API, the audit log, verify."""
import logging

import pytest
from sqlalchemy import func, select

from api_helpers import ApiClient, token_for
from helpers import post_requests_and_comments
from messaging_helpers import membership_of, messages_in, visible_text
from messaging_ops_helpers import converse, invoke
from notify_helpers import opt_in
from conftest import PASSWORD
from wb.api.models import AccessToken
from wb.extensions import db
from wb.messaging.models import Message
from wb.messaging.ops.database import messaging_engine
from wb.models import AuditEvent, User
from wb.notifications.models import EmailSettings
from wb.requests.service import POSTS_REMOVED

SECRET = "Octopus-harmonica 5521: the gate code is 7788"


@pytest.fixture
def alice_wrote_bob(app, alice, bob, login, messaging_on):
    """Alice wrote Bob two messages (one secret) he hasn't read; (alice's client, bob's client, conversation id)."""
    conversation = converse(alice, bob, [SECRET, "See you on Friday at the market"])
    converse(bob, alice, ["Bob's own reply stays his"])
    converse(alice, bob, ["and one more from Alice"])
    return login(alice), login(bob), conversation.id


def reloaded(user) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def close(client, password=PASSWORD, erase=False, remove_posts=False):
    data = {"current_password": password}
    if erase:
        data["erase_text"] = "y"
    if remove_posts:
        data["remove_posts"] = "y"
    return client.post("/settings/close", data=data)


def audit_rows(action):
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_settings_link_to_a_page_that_says_what_closing_does(alice, login):
    client = login(alice)
    assert "Close my account" in visible_text(client.get("/settings"))
    page = visible_text(client.get("/settings/close"))
    assert "signed out on every browser and device" in page
    assert 'Other members see you as "former member"' in page
    assert "Your conversations stay readable to the other member" in page
    assert "Also erase the text of the messages I sent" in page


def test_the_close_page_says_what_stays_behind_and_who_can_erase_it(alice, login):
    """It said what goes and nothing of what stays (an outside tester): the profile's words and
    one's requests and comments stay, hidden or under "former member", until an erasure on request."""
    page = visible_text(login(alice).get("/settings/close"))
    assert ('Your username, display name and bio stay in WhiteBalloon\'s database, hidden: others see "former member".'
            in page)
    assert 'Your help requests and comments stay too, with their words, under "former member", unless you tick' in page
    assert "ask an admin or whoever runs the server to erase you (tell them your username, @alice" in page
    assert ("erasure removes your name and bio, the words of your requests and comments, and the text of every "
            "message you sent.") in page


def test_closing_may_remove_ones_requests_and_comments_too(alice, bob, login):
    """A resident moving out left "Free: sofa and bookshelf, flat 3.2 / Moving out Friday" on the board for
    good, and nothing on the close page offered to take it down (a residents' building's tester)."""
    from wb.models import Comment, HelpRequest

    post_requests_and_comments([(alice, "Free: sofa, flat 3.2", "Moving out Friday"),
                                (bob, "Plants need water", "While I'm away")],
                               [(1, alice, "I have a spare watering can"), (1, bob, "Thanks!")])
    client = login(alice)
    refused = client.post("/settings/close", data={"current_password": "wrong", "remove_posts": "y"})
    assert refused.status_code == 400 and 'name="remove_posts" value="y" checked' in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(HelpRequest)) == 2  # nothing yet
    assert close(client, remove_posts=True).status_code == 302
    db.session.expire_all()
    assert [r.title for r in db.session.scalars(select(HelpRequest))] == ["Plants need water"]
    assert [c.body for c in db.session.scalars(select(Comment))] == ["Thanks!"]
    assert reloaded(alice).deleted_at is not None
    [removed] = audit_rows(POSTS_REMOVED)
    assert removed.actor_id == alice.id and removed.new_value == "1 request, 1 comment"


def test_a_wrong_password_closes_nothing(alice, login):
    client = login(alice)
    response = close(client, password="not my password")
    assert response.status_code == 400
    assert "That isn't your current password." in visible_text(response)
    assert reloaded(alice).deleted_at is None
    assert client.get("/settings").status_code == 200


def test_closing_signs_out_everywhere_and_keeps_the_conversation_for_the_other_member(app, alice, bob, alice_wrote_bob, login):
    from wb.models import HelpRequest

    alice_client, bob_client, cid = alice_wrote_bob
    db.session.add(HelpRequest(author_id=alice.id, title="Ladder wanted", body="For the gutters"))
    db.session.commit()
    other_browser = login(alice)
    alice_token = token_for(alice)
    opt_in(alice)

    response = close(alice_client)

    assert response.status_code == 302 and response.location.endswith("/login")
    for client in (alice_client, other_browser):
        assert client.get("/settings").status_code == 302  # signed out, every browser
    assert ApiClient(app.test_client(), alice_token).get("/api/v1/me").status_code == 401
    refused = app.test_client().post("/login", data={"username": "alice", "password": PASSWORD})
    assert refused.status_code == 403 and "This account is closed." in visible_text(refused)
    assert reloaded(alice).deleted_at is not None
    home = visible_text(bob_client.get("/"))  # the latest requests name nobody who left
    assert "Ladder wanted by former member" in home and "Alice" not in home
    assert db.session.scalar(select(func.count()).select_from(EmailSettings).where(EmailSettings.user_id == alice.id)) == 0

    thread = visible_text(bob_client.get(f"/messages/{cid}"))
    assert "former member" in thread and SECRET in thread and "Message deleted" not in thread
    assert "has left WhiteBalloon, so you can't reply" in thread
    api = ApiClient(app.test_client(), token_for(bob))
    assert api.get(f"/api/v1/conversations/{cid}").get_json()["other_member"] == {
        "username": None, "display_name": "former member", "former": True}
    bodies = [m["body"] for m in api.get(f"/api/v1/conversations/{cid}/messages").get_json()["messages"]]
    assert SECRET in bodies
    assert bob_client.get("/people/alice").status_code == 404

    [event] = audit_rows("member.closed")
    assert (event.actor_id, event.subject, event.new_value) == (alice.id, f"user:{alice.id}", "sent text kept")
    assert invoke(app, "verify").exit_code == 0


def test_closing_with_erase_wipes_what_they_sent_and_the_other_member_sees_message_deleted(
        app, alice, bob, alice_wrote_bob, make_user, caplog):
    alice_client, bob_client, cid = alice_wrote_bob
    from wb.messaging import writes
    writes.open_conversation(alice, make_user("carol"))  # Alice's draft: Carol knows nothing of it
    assert membership_of(bob, cid).unread_count == 1  # his reply read what came before
    caplog.set_level(logging.INFO)

    close(alice_client, erase=True)

    rows = messages_in(cid)
    assert [m.body for m in rows if m.sender_id == alice.id] == ["", "", ""]
    assert all(m.deleted_at is not None for m in rows if m.sender_id == alice.id)
    assert [m.body for m in rows if m.sender_id == bob.id] == ["Bob's own reply stays his"]
    assert membership_of(bob, cid).unread_count == 0  # nothing left to read
    # Bob's open tabs hear of it (and draw the thread again): ids and a kind, never text.
    from wb.messaging.models import LiveEvent
    events = db.session.execute(select(LiveEvent.member_id, LiveEvent.kind, LiveEvent.conversation_id)
                                .where(LiveEvent.kind == "left")).all()
    assert [tuple(event) for event in events] == [(bob.id, "left", cid)]  # not carol: a draft is nothing to her
    page = bob_client.get(f"/messages/{cid}").get_data(as_text=True)
    assert page.count('<p class="body deleted-text">Message deleted</p>') == 3
    assert SECRET not in page and "Bob&#39;s own reply stays his" in page
    api = ApiClient(app.test_client(), token_for(bob))
    messages = api.get(f"/api/v1/conversations/{cid}/messages").get_json()["messages"]
    assert [(m["body"], m["deleted"]) for m in messages if not m["from_me"]] == [(None, True)] * 3
    [event] = audit_rows("member.closed")
    assert event.new_value == "sent text erased"
    assert SECRET not in caplog.text and "gate code" not in caplog.text
    result = invoke(app, "verify")
    assert result.exit_code == 0, result.output
    assert "erasure: looked for text left of the 1 member(s)" in result.output


@pytest.mark.parametrize("act", ["block", "report"])
def test_closing_with_erase_leaves_a_member_who_blocked_or_reported_them_their_copy(
        app, alice, bob, alice_wrote_bob, make_user, login, act):
    """A reported, blocked scammer closed his account with "erase" and wiped his victim's copy, the
    evidence "Delete for both" now keeps (a re-check tester). An erasure on request still takes it."""
    alice_client, bob_client, cid = alice_wrote_bob
    carol = make_user("carol")
    carol_client = login(carol)
    from messaging_helpers import open_conversation, send
    other = open_conversation(alice_client, "carol")
    send(alice_client, other, "to carol, who did nothing")
    data = {"confirmed": "1"} if act == "block" else {"reason": "scam"}
    assert bob_client.post(f"/people/alice/{act}", data=data).status_code == 302
    assert "except where a member blocked or reported you" in visible_text(alice_client.get("/settings/close"))

    close(alice_client, erase=True)

    assert [m.body for m in messages_in(cid) if m.sender_id == alice.id] == [  # Bob keeps his copy
        SECRET, "See you on Friday at the market", "and one more from Alice"]
    assert [m.body for m in messages_in(other)] == [""]  # Carol's is wiped, as Alice asked
    assert SECRET in visible_text(bob_client.get(f"/messages/{cid}"))
    result = invoke(app, "verify")
    assert result.exit_code == 0, result.output  # what was kept is no leftover
    # the operator's erasure on request takes it all the same
    assert app.test_cli_runner().invoke(args=["members", "erase", "alice", "--yes"]).exit_code == 0
    assert [m.body for m in messages_in(cid) if m.sender_id == alice.id] == ["", "", ""]
    assert invoke(app, "verify").exit_code == 0


def test_the_only_admin_cannot_close_their_account(admin, login):
    client = login(admin)
    assert "only admin" in visible_text(client.get("/settings/close"))
    assert close(client).status_code == 403
    assert reloaded(admin).deleted_at is None


def test_the_command_line_erases_a_member_on_request(app, alice, bob, alice_wrote_bob):
    _alice_client, bob_client, cid = alice_wrote_bob
    opt_in(alice)
    token_for(alice)
    db.session.execute(User.__table__.update().where(User.id == alice.id).values(bio="Lives at 12 Elm Street"))
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["members", "erase", "alice", "--yes"])

    assert result.exit_code == 0, result.output
    assert "text of 3 message(s) wiped" in result.output and SECRET not in result.output
    assert f"Erased alice (member {alice.id}, now erased-{alice.id})" in result.output
    assert "Backups made before now still hold their text" in result.output
    on_postgres = "postgresql" in (db.engine.dialect.name, messaging_engine().dialect.name)
    assert ("VACUUM FULL" in result.output) == on_postgres
    erased = reloaded(alice)
    assert (erased.username, erased.display_name, erased.bio) == (f"erased-{alice.id}", "", "")
    assert erased.deleted_at is not None and not erased.check_password(PASSWORD)
    for model in (EmailSettings, AccessToken):
        assert db.session.scalar(select(func.count()).select_from(model).where(model.user_id == alice.id)) == 0
    assert db.session.scalar(select(func.count()).select_from(Message).where(
        Message.sender_id == alice.id, Message.body != "")) == 0
    page = bob_client.get(f"/messages/{cid}").get_data(as_text=True)
    assert "former member" in page and page.count('<p class="body deleted-text">Message deleted</p>') == 3
    [event] = audit_rows("member.erased")
    assert (event.actor_id, event.subject) == (None, f"user:{alice.id}")
    assert invoke(app, "verify").exit_code == 0
    # run again (as after an interrupted erasure), it says what this run did
    again = app.test_cli_runner().invoke(args=["members", "erase", f"erased-{alice.id}", "--yes"])
    assert again.exit_code == 0 and f"erased-{alice.id} was erased already; text of 0 more message(s)" in again.output


def test_an_erased_members_reading_is_erased_too(app, alice, bob, alice_wrote_bob):
    """After an erasure the other member still saw how far the erased member had read ("Seen", and the
    API's other_last_read_message_id: an API tester): that is theirs, and goes with the rest."""
    _alice_client, bob_client, cid = alice_wrote_bob
    api = ApiClient(bob_client, token_for(bob))
    read_before = api.get(f"/api/v1/conversations/{cid}").json["other_last_read_message_id"]
    assert read_before  # alice's reply read bob's message, and both share read receipts
    assert f'data-seen-id="{read_before}"' in bob_client.get(f"/messages/{cid}").get_data(as_text=True)

    assert app.test_cli_runner().invoke(args=["members", "erase", "alice", "--yes"]).exit_code == 0

    assert api.get(f"/api/v1/conversations/{cid}").json["other_last_read_message_id"] is None
    assert api.get(f"/api/v1/conversations/{cid}/messages").json["other_last_read_message_id"] is None
    assert 'data-seen-id="0"' in bob_client.get(f"/messages/{cid}").get_data(as_text=True)
    assert membership_of(alice, cid).seen_message_id is None


def test_erasing_an_erased_member_again_says_so_at_once_without_asking(app, alice, bob, alice_wrote_bob):
    """It asked "Erase erased-5 for good?", then said it was erased already (an outside tester)."""
    app.test_cli_runner().invoke(args=["members", "erase", "alice", "--yes"])

    again = app.test_cli_runner().invoke(args=["members", "erase", f"erased-{alice.id}"], input="")

    assert again.exit_code == 0, again.output
    assert "for good?" not in again.output and "Aborted" not in again.output
    assert f"erased-{alice.id} was erased already; text of 0 more message(s)" in again.output
    # one erasure in the audit log, however often it is run (each run added a line: a re-check tester)
    assert len(audit_rows("member.erased")) == 1


def test_the_erase_page_of_an_erased_member_says_so_and_changes_nothing(app, alice, bob, admin, login, alice_wrote_bob):
    """It asked "Erase erased-8?" again, and erasing again added an audit line (a re-check tester)."""
    app.test_cli_runner().invoke(args=["members", "erase", "alice", "--yes"])
    client = login(admin)
    for answer in (client.get(f"/admin/members/erased-{alice.id}/erase"),
                   client.post(f"/admin/members/erased-{alice.id}/erase", data={"confirm_username": f"erased-{alice.id}"})):
        assert answer.status_code == 302 and answer.location.endswith(f"#member-erased-{alice.id}")
    page = visible_text(client.get("/admin/members"))
    assert f"erased-{alice.id} was erased already." in page
    assert len(audit_rows("member.erased")) == 1


def test_verify_finds_text_left_of_an_erased_member(app, alice, bob, alice_wrote_bob):
    app.test_cli_runner().invoke(args=["members", "erase", "alice", "--yes"])
    db.session.add(Message(conversation_id=alice_wrote_bob[2], sender_id=alice.id, body="restored from an old backup"))
    db.session.commit()
    result = invoke(app, "verify")
    assert result.exit_code == 1
    assert f"member {alice.id}'s text was erased, yet 1 of their messages still hold text" in result.output
    # the name to type: "erase them again: ./wb members erase" named nobody (an operator tester)
    assert f"(erase them again: `./wb members erase erased-{alice.id}`)" in result.output
    assert "restored from an old backup" not in result.output


def test_verify_finds_a_profile_left_of_an_erased_member(app, alice, bob, alice_wrote_bob):
    app.test_cli_runner().invoke(args=["members", "erase", "alice", "--yes"])
    db.session.execute(User.__table__.update().where(User.id == alice.id).values(bio="Back from a restore"))
    db.session.commit()
    result = invoke(app, "verify")
    assert result.exit_code == 1
    assert f"member {alice.id} was erased, yet their account still holds: bio" in result.output


def test_erasing_an_unknown_member_is_one_error_line(app):
    result = app.test_cli_runner().invoke(args=["members", "erase", "nobody", "--yes"])
    assert result.exit_code != 0 and "No member is called 'nobody'." in result.output and "Traceback" not in result.output


def test_an_admin_erases_a_member_behind_a_typed_confirmation(app, admin, alice, bob, alice_wrote_bob, login):
    admin_client = login(admin)
    assert "Erase…" in visible_text(admin_client.get("/admin/members"))
    page = visible_text(admin_client.get("/admin/members/alice/erase"))
    assert "It can't be undone" in page and "Type alice to confirm" in page
    assert "help requests and comments" in page and "notes of reports they made" in page  # all it takes
    # where the text still lies: "wiped for good" was untrue of backups (an outside tester)
    assert "Backups made before now still hold their text" in page and "wiped for good" not in page
    assert "access log keeps request paths" in page  # the README's caveat, on the page that acts
    # and a reporter's note that quoted them stays theirs (an operator tester found one after erasure)
    assert "Reporters' notes stay (Admin → Reports)" in page
    raw = admin_client.get("/admin/members/alice/erase").get_data(as_text=True)
    assert "<code>./wb messaging backup --keep</code>" in raw and "`" not in raw  # drawn as code, no backticks

    for typed in ("alicia", "Alice"):  # exactly what it asked for: "Dave" erased dave
        wrong = admin_client.post("/admin/members/alice/erase", data={"confirm_username": typed})
        assert wrong.status_code == 400 and "Type alice to confirm." in visible_text(wrong)
    assert reloaded(alice).deleted_at is None

    done = admin_client.post("/admin/members/alice/erase", data={"confirm_username": "alice"})
    assert done.status_code == 302
    note = visible_text(admin_client.get(done.headers["Location"]))
    assert "Alice (@alice) is erased" in note and f"Member {alice.id} is erased" not in note  # whom, in their words
    assert "Backups made before now still hold their text" in note
    assert reloaded(alice).username == f"erased-{alice.id}"
    [event] = audit_rows("member.erased")
    assert event.actor_id == admin.id
    assert invoke(app, "verify").exit_code == 0


def test_members_cannot_erase_and_admins_cannot_erase_themselves(admin, alice, bob, login):
    assert login(bob).post("/admin/members/alice/erase", data={"confirm_username": "alice"}).status_code == 403
    assert login(admin).post("/admin/members/root/erase", data={"confirm_username": "root"}).status_code == 400
    assert reloaded(alice).deleted_at is None and reloaded(admin).deleted_at is None


def test_an_older_account_named_like_an_erased_one_does_not_stop_an_erasure(app, alice, bob, alice_wrote_bob):
    """Names starting with erased- are refused now; one taken before that is passed by."""
    squatter = User(username=f"erased-{alice.id}", display_name="Squatter")
    squatter.set_password(PASSWORD)
    db.session.add(squatter)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["members", "erase", "alice", "--yes"])
    assert result.exit_code == 0, result.output
    assert reloaded(alice).username == f"erased-{alice.id}-2"
    assert reloaded(squatter).username == f"erased-{alice.id}"
    assert invoke(app, "verify").exit_code == 0


def test_the_command_line_will_not_erase_the_only_admin(app, admin, alice):
    result = app.test_cli_runner().invoke(args=["members", "erase", admin.username, "--yes"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert f"{admin.username} is the community's only admin; create another admin first" in result.output
    assert reloaded(admin).deleted_at is None


def test_erasing_while_the_messaging_database_is_unreachable_changes_nothing(sqlite_app, tmp_path):
    """The messaging database is asked first: a half-erased member would be recorded as erased."""
    from messaging_ops_helpers import member
    from wb.messaging.ops.database import messaging_engine, sqlite_path

    ann, ben = member("ann"), member("ben")
    converse(ann, ben, ["ann's words"])
    path = sqlite_path()
    db.session.remove()
    messaging_engine().dispose()
    path.rename(tmp_path / "moved.sqlite3")
    path.mkdir()  # where the file was, something SQLite can't open
    try:
        result = sqlite_app.test_cli_runner().invoke(args=["members", "erase", "ann", "--yes"])
        assert result.exit_code != 0 and "Traceback" not in result.output, result.output
        assert "Can't reach the messaging database" in result.output and "nothing was erased" in result.output
        ann = db.session.get(User, ann.id)
        assert (ann.username, ann.deleted_at) == ("ann", None)
        assert audit_rows("member.erased") == []
    finally:
        messaging_engine().dispose()
        path.rmdir()
        (tmp_path / "moved.sqlite3").rename(path)
    result = sqlite_app.test_cli_runner().invoke(args=["members", "erase", "ann", "--yes"])
    assert result.exit_code == 0, result.output
    assert "text of 1 message(s) wiped" in result.output


@pytest.mark.parametrize("lost, words", [("missing", "doesn't exist"), ("empty", "has no messaging tables"),
                                         ("damaged", "is damaged"), ("index damaged", "is damaged")])
def test_erasing_while_the_messaging_database_is_missing_or_damaged_changes_nothing(sqlite_app, tmp_path, lost, words):
    """A missing file passed for "text of 0 message(s) wiped" (SQLite made an empty one in its place,
    and the text was there when the file came back); a damaged one failed once the account was closed
    and renamed (an operator tester). Both are refused first, changing nothing."""
    from messaging_ops_helpers import assert_one_line_error, damage_pages, member, remove_messaging_file
    from wb.messaging.ops.database import sqlite_path

    ann, ben = member("ann"), member("ben")
    converse(ann, ben, ["ann's words"])
    path, put_back = sqlite_path(), None
    if lost == "damaged":
        assert damage_pages("messages")
    elif lost == "index damaged":  # one the wipe writes: found only once the account was closed (a re-check tester)
        assert damage_pages("ix_messages_deleted_at", keep_header=True)
    else:
        put_back = remove_messaging_file(tmp_path)
        if lost == "empty":
            path.touch()
    try:
        result = sqlite_app.test_cli_runner().invoke(args=["members", "erase", "ann", "--yes"])
        assert_one_line_error(result, words, "nothing was erased")
        if lost != "damaged":
            assert "restore a backup" in result.output
        db.session.expire_all()
        ann = db.session.get(User, ann.id)
        assert (ann.username, ann.deleted_at, ann.display_name) == ("ann", None, "Ann")
        assert audit_rows("member.erased") == []
        assert path.exists() == (lost != "missing")  # no empty database made in its place
    finally:
        if put_back is not None:
            put_back()
    if put_back is not None:  # once it is back, the erasure goes through, wiping the text
        result = sqlite_app.test_cli_runner().invoke(args=["members", "erase", "ann", "--yes"])
        assert result.exit_code == 0 and "text of 1 message(s) wiped" in result.output, result.output


def test_erasing_or_closing_with_erase_on_the_site_while_the_messaging_file_is_missing_changes_nothing(sqlite_app, tmp_path):
    """The admin's erase page and Settings → Close with "erase the text" said it was done too."""
    from conftest import WBClient
    from messaging_ops_helpers import member, remove_messaging_file
    from wb.messaging.ops.database import sqlite_path

    member("boss", role="admin", status="active")
    ann, ben = member("ann", status="active"), member("ben", status="active")
    converse(ann, ben, ["ann's words"])
    ann_id, ben_id = ann.id, ben.id
    sqlite_app.test_client_class = WBClient
    boss, ben_client = sqlite_app.test_client(), sqlite_app.test_client()
    boss.login("boss", "correct horse battery")
    ben_client.login("ben", "correct horse battery")
    put_back = remove_messaging_file(tmp_path)
    try:
        refused = boss.post("/admin/members/ann/erase", data={"confirm_username": "ann"})
        assert refused.status_code == 503, visible_text(refused)[:600]
        page = visible_text(refused)
        assert "Nothing was erased" in page and "doesn't exist" in page and "Traceback" not in page
        closed = ben_client.post("/settings/close", data={"current_password": "correct horse battery", "erase_text": "y"})
        assert closed.status_code == 503 and "Traceback" not in visible_text(closed)
        # it says the account stays open ("Nothing else is affected" didn't: a re-check tester)
        assert "Your account was not closed, and nothing was changed" in visible_text(closed)
        db.session.expire_all()
        assert [(u.username, u.deleted_at) for u in (db.session.get(User, ann_id), db.session.get(User, ben_id))] == [
            ("ann", None), ("ben", None)]
        assert audit_rows("member.erased") == [] and audit_rows("member.closed") == []
        assert not sqlite_path().exists()
    finally:
        put_back()


def test_erasure_takes_their_words_from_requests_comments_reports_and_the_audit_log(app, alice, bob, alice_wrote_bob,
                                                                                   admin, login):
    """Only ids and times stay: their requests and comments keep their place in others' threads,
    without their words; their report notes go; the audit log names them by id."""
    from wb.circles import service as circles
    from wb.messaging import safety
    from wb.messaging.models import Report
    from wb.models import Comment, HelpRequest

    _alice_client, bob_client, _cid = alice_wrote_bob
    theirs, bobs = post_requests_and_comments(
        [(alice, "Ladder at 12 Elm Street", "I live at 12 Elm Street, flat 3"), (bob, "Moving boxes", "Saturday morning")],
        [(1, alice, "I can help, call 555-0134"), (1, bob, "Thanks!")])
    circles.add_members(circles.create("Elm Street"), ["alice"])
    safety.report(alice, bob, "spam", "He keeps sending adverts to my flat")
    alice_id, request_id, bobs_id = alice.id, theirs.id, bobs.id

    result = app.test_cli_runner().invoke(args=["members", "erase", "alice", "--yes"])
    assert result.exit_code == 0, result.output

    db.session.expire_all()
    assert (db.session.get(HelpRequest, request_id).title, db.session.get(HelpRequest, request_id).body) == ("Erased request", "")
    assert [c.body for c in db.session.scalars(select(Comment).order_by(Comment.id))] == ["", "Thanks!"]
    assert [r.note for r in db.session.scalars(select(Report))] == [""]
    named = db.session.scalars(select(AuditEvent.new_value).where(AuditEvent.action == "circle.member_added")).all()
    assert named == [f"user:{alice_id}"]
    history = visible_text(login(admin).get("/admin/circles"))  # it read "added: user:3" (an operator tester)
    assert "added: former member" in history and f"user:{alice_id}" not in history
    everything = " ".join(str(value) for table in (HelpRequest, Comment, Report, AuditEvent)
                          for row in db.session.execute(select(table.__table__)) for value in row)
    for words in ("Elm Street, flat", "555-0134", "adverts", "alice"):
        assert words not in everything
    page = visible_text(bob_client.get(f"/requests/{bobs_id}"))
    assert "former member" in page and "Comment erased at its author's request." in page and "Thanks!" in page
    page = visible_text(bob_client.get(f"/requests/{request_id}"))
    assert "Erased request" in page and "former member" in page and "Elm Street" not in page
    home = visible_text(bob_client.get("/"))  # its latest requests (a tester read "by erased-7")
    assert "Erased request by former member" in home and "erased-" not in home and "Alice" not in home
    assert invoke(app, "verify").exit_code == 0

    db.session.execute(Comment.__table__.update().where(Comment.author_id == alice_id).values(body="back from a backup"))
    db.session.commit()
    result = invoke(app, "verify")
    assert result.exit_code == 1 and f"member {alice_id} was erased, yet their account still holds: comment text" in result.output


def test_an_erased_member_s_words_leave_the_main_database_s_files_too(sqlite_app, tmp_path):
    """Not only its rows: SQLite keeps what an update replaces in the page's free space and old
    pages in its WAL, where anyone with the file could still read an erased profile."""
    from messaging_ops_helpers import member
    from notify_helpers import opt_in
    from wb.models import HelpRequest

    ann, ben = member("ann"), member("ben")
    address = opt_in(ann)
    words = ["Annunziata-Quist", "lives above the bakery at 9 Mill Lane", "flat 4b, ring twice"]
    db.session.execute(User.__table__.update().where(User.id == ann.id).values(display_name=words[0], bio=words[1]))
    db.session.add(HelpRequest(author_id=ann.id, title="Shopping", body=words[2]))
    db.session.commit()
    converse(ann, ben, ["ann's words"])

    result = sqlite_app.test_cli_runner().invoke(args=["members", "erase", "ann", "--yes"])

    assert result.exit_code == 0, result.output
    main = tmp_path / "wb.sqlite3"
    wal = main.with_name(main.name + "-wal")
    on_disk = main.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    for secret in [*words, address]:
        assert secret.encode() not in on_disk, secret
    assert b"ann's words" not in (tmp_path / "messaging.sqlite3").read_bytes()


def test_the_operators_commands_take_a_username_written_with_its_at(app, alice, admin):
    """`./wb members erase @dave` answered "No member is called '@dave'" (a re-check tester)."""
    runner = app.test_cli_runner()
    asked = runner.invoke(args=["members", "erase", "@alice"], input="n\n")
    assert "Erase Alice (@alice) for good?" in asked.output and "No member" not in asked.output
    link = runner.invoke(args=["members", "reset-link", "@alice"])
    assert link.exit_code == 0 and "/reset/" in link.output, link.output
    assert "No member is called '@@alice'" in runner.invoke(args=["members", "erase", "@@alice"]).output


@pytest.mark.parametrize("typed, erased", [("", False), ("n\n", False), ("maybe\nno\n", False), ("y\n", True)])
def test_erasing_from_the_command_line_asks_first(app, alice, bob, admin, typed, erased):
    """Input that ended without an answer left "Aborted!" on the question's line (an operator tester)."""
    result = app.test_cli_runner().invoke(args=["members", "erase", "alice"], input=typed)
    assert "Erase Alice (@alice) for good?" in result.output
    assert (result.exit_code == 0) == erased
    if typed == "":
        assert "[y/N]: \nNothing erased." in result.output
    if not erased:  # it ended with click's "Aborted!", where a restore says "Nothing restored." (a re-check tester)
        assert "Nothing erased." in result.output and "Aborted" not in result.output
    if typed.startswith("maybe"):
        assert "Answer y or n." in result.output
    db.session.expire_all()
    assert (db.session.get(User, alice.id).deleted_at is not None) == erased


def test_before_an_erasure_the_admin_and_the_operator_hear_of_an_admin_and_open_reports(app, admin, alice, bob, make_user,
                                                                                        login, alice_wrote_bob):
    """An operator erased the first admin with one word, told nothing of who it was; an admin erased a
    member whose reported threat went with the erasure, the page silent on reports (an outside admin)."""
    from wb.messaging.models import Report

    make_user("olga", role="admin", display_name="Olga Other")
    db.session.add(Report(reporter_id=bob.id, reported_id=alice.id, reason="harassment", note=""))
    db.session.commit()
    page = visible_text(login(admin).get("/admin/members/alice/erase"))
    assert "1 open report is about them: erasing wipes the messages reported, the reporter's copy too." in page
    asked = app.test_cli_runner().invoke(args=["members", "erase", "alice"], input="n\n")
    assert "1 open report is about them" in asked.output and "Erase Alice (@alice) for good?" in asked.output
    asked = app.test_cli_runner().invoke(args=["members", "erase", "root"], input="n\n")
    assert "root is an admin." in asked.output and "Erase Rita Root (@root) for good?" in asked.output
    assert "about them" not in asked.output
    page = visible_text(login(admin).get("/admin/members/bob/erase"))
    assert "about them" not in page and "is an admin" not in page
    db.session.expire_all()
    assert db.session.get(User, alice.id).deleted_at is None and db.session.get(User, admin.id).deleted_at is None


def test_the_browsers_other_tabs_are_told_the_account_was_closed(alice, bob, login, messaging_on):
    """Closing signs this browser out, so its other tabs' next ask came with no member to ask
    about: their sign-in page said "sign in again" (a re-check tester). The session keeps why."""
    from urllib.parse import parse_qs, urlsplit

    client = login(alice)
    assert close(client).status_code == 302
    ask = client.get("/messages/live?since=0")  # another tab's live channel, the same cookie
    assert parse_qs(urlsplit(ask.location).query)["ended"] == ["closed"]
    client.login("bob")  # someone else signs in on this browser: theirs never ended
    with client.session_transaction() as session:
        assert "wb_ended" not in session


def test_closing_with_erase_while_the_messaging_database_is_unreachable_keeps_the_posts_too(sqlite_app, tmp_path):
    """With *erase the text* and *remove my help requests and comments* both ticked, an unreachable
    messaging database refused the close after the posts were gone: the account stayed open without
    them. Now nothing changes until the messaging database answers."""
    from conftest import WBClient
    from messaging_ops_helpers import member, remove_messaging_file
    from wb.models import HelpRequest

    ann, ben = member("ann", status="active"), member("ben", status="active")
    converse(ann, ben, ["ann's words"])
    post_requests_and_comments([(ann, "Ladder to lend", "Ask me")], [])
    ann_id = ann.id
    sqlite_app.test_client_class = WBClient
    client = sqlite_app.test_client()
    client.login("ann", "correct horse battery")
    put_back = remove_messaging_file(tmp_path)
    try:
        refused = client.post("/settings/close", data={"current_password": "correct horse battery",
                                                       "erase_text": "y", "remove_posts": "y"})
        assert refused.status_code >= 500 and "Traceback" not in refused.get_data(as_text=True), visible_text(refused)[:600]
        assert db.session.get(User, ann_id).deleted_at is None
        assert db.session.scalars(select(HelpRequest.title)).all() == ["Ladder to lend"]
    finally:
        put_back()
    done = client.post("/settings/close", data={"current_password": "correct horse battery",
                                                "erase_text": "y", "remove_posts": "y"})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, ann_id).deleted_at is not None and db.session.scalars(select(HelpRequest.title)).all() == []


def test_members_find_lists_whom_a_request_is_about_by_name_username_or_email(runner, make_user, admin):
    """An erasure request names a person ("Zoë Ødegård, zoe@mail.example.org"); `erase` takes a username,
    and nothing on the command line told it (a residents' building's tester)."""


    zoe = make_user("zoe_o", display_name="Zoë Ødegård")
    make_user("zed", display_name="Zed Other")
    opt_in(zoe, "never", address="Zoe.Private@Mail.Example.org")
    gone = make_user("gone", display_name="Zoe Gone")
    assert runner.invoke(args=["members", "erase", "gone", "--yes"]).exit_code == 0

    for typed in ("zoe", "ODEGARD", "zoe.private@mail", "@zoe_o"):
        result = runner.invoke(args=["members", "find", typed])
        assert result.exit_code == 0, result.output
        assert "zoe_o  Zoë Ødegård  active  joined " in result.output, typed
        assert "Zoe.Private@Mail.Example.org\n" in result.output, typed  # confirmed (opt_in)
        assert "zed" not in result.output
    make_user("una", display_name="Una Unconfirmed")
    opt_in(db.session.get(User, User.by_username("una").id), "never", address="una@mail.example.org", confirmed=False)
    assert "una@mail.example.org (not confirmed)" in runner.invoke(args=["members", "find", "una"]).output
    assert "no email address" in runner.invoke(args=["members", "find", "zed"]).output
    erased = runner.invoke(args=["members", "find", "erased"]).output
    assert f"erased-{gone.id}" in erased and "  erased  " in erased  # what `erase` left: its id, no name, no address
    assert "root  Rita Root  active, admin  joined " in runner.invoke(args=["members", "find", "rita"]).output
    nobody = runner.invoke(args=["members", "find", "50%_off"])
    assert nobody.exit_code == 0 and "No member's name, username or email address holds '50%_off'." in nobody.output
    assert runner.invoke(args=["members", "find", "  "]).exit_code == 1


def test_members_find_says_when_more_match_than_it_lists(runner, make_user):
    from wb.people.cli import FIND_LIMIT

    for n in range(FIND_LIMIT + 1):
        make_user(f"buyer{n:02d}")
    result = runner.invoke(args=["members", "find", "buyer"])
    assert result.output.count("  active  joined ") == FIND_LIMIT
    assert f"More than {FIND_LIMIT} members match: type more of what you look for." in result.output
