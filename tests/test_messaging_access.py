"""Who may reach messaging at all, and who may reach which conversation."""
import html
import re

import pytest

from wb.flags import set_flag
from messaging_helpers import open_conversation, send, messages_in

ROUTES_GET = ["/messages", "/messages/{cid}", "/messages/{cid}/poll?after=0", "/messages/badge"]
ROUTES_POST = [
    "/messages/with/bob",
    "/messages/{cid}",
    "/messages/{cid}/read",
    "/messages/{cid}/hide",
    "/messages/{cid}/unhide",
    "/messages/{cid}/messages/{mid}/delete",
    "/messages/{cid}/messages/{mid}/remove",
]


@pytest.fixture
def pair(app, alice, bob, login, messaging_on):
    """Alice and Bob with one conversation and one message from Alice."""
    alice_client = login(alice)
    cid = open_conversation(alice_client, "bob")
    send(alice_client, cid, "Hello Bob")
    mid = messages_in(cid)[0].id
    return alice_client, cid, mid


def test_messaging_is_off_by_default_and_every_route_is_404(app, alice, bob, login):
    client = login(alice)
    for path in ROUTES_GET:
        assert client.get(path.format(cid=1, mid=1)).status_code == 404, path
    assert "Back to your messages" not in client.get("/messages/1").get_data(as_text=True)  # a 404 too
    for path in ROUTES_POST:
        assert client.post(path.format(cid=1, mid=1), data={"body": "x"}).status_code == 404, path


def test_no_message_button_or_badge_while_off(app, alice, bob, login):
    client = login(alice)
    profile = client.get("/people/bob").get_data(as_text=True)
    assert "/messages/with/bob" not in profile
    assert 'id="inbox-badge"' not in client.get("/").get_data(as_text=True)
    assert "/messages/with/bob" not in client.get("/members").get_data(as_text=True)


def test_stored_messages_survive_switching_off_and_back_on(pair, app, login, bob):
    alice_client, cid, _ = pair
    set_flag("direct_messaging", False)
    off = alice_client.get(f"/messages/{cid}")
    assert off.status_code == 404
    # A member's reload says what happened, not "nothing here" (found by an outside tester).
    page = html.unescape(off.get_data(as_text=True))
    assert "Messaging is switched off" in page and "Your conversations are kept" in page
    assert "Hello Bob" not in page and "never existed" not in page
    # Nor a conversation picked in an inbox left open (its pane, over htmx): it said "Not found —
    # There's nothing here" (an operator's tester). The list's own requests still get a plain 404.
    pane = alice_client.get(f"/messages/{cid}", headers={"HX-Request": "true", "HX-Target": "thread-pane"})
    picked = html.unescape(pane.get_data(as_text=True))
    assert pane.status_code == 404 and "Messaging is switched off" in picked and "Your conversations are kept" in picked
    assert "Hello Bob" not in picked and "never existed" not in picked
    assert "switched off" not in alice_client.get("/messages/badge", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert len(messages_in(cid)) == 1
    set_flag("direct_messaging", True)
    page = alice_client.get(f"/messages/{cid}")
    assert page.status_code == 200
    assert "Hello Bob" in page.get_data(as_text=True)


@pytest.mark.parametrize("action", ["hide", "mute"])
def test_an_action_sent_from_a_page_left_open_while_messaging_is_off_says_so(pair, app, action):
    """Hide or Mute pressed in a thread left open when messaging was switched off led to "Not found -
    There's nothing here. It may have been moved or never existed." (a street's tester)."""
    from sqlalchemy import select

    from wb.extensions import db
    from wb.messaging.models import ConversationMembership

    alice_client, cid, _ = pair
    set_flag("direct_messaging", False)
    answer = alice_client.post(f"/messages/{cid}/{action}")
    page = html.unescape(answer.get_data(as_text=True))
    assert answer.status_code == 404
    assert "Messaging is switched off" in page and "Your conversations are kept" in page and "never existed" not in page
    # over htmx too: the page says the server's words where the action was
    said = html.unescape(alice_client.post(f"/messages/{cid}/{action}", headers={"HX-Request": "true"}).get_data(as_text=True))
    assert "Your conversations are kept" in said
    memberships = db.session.scalars(select(ConversationMembership).where(ConversationMembership.conversation_id == cid))
    assert [(m.hidden, m.muted) for m in memberships] in ([], [(False, False)] * 2, [(False, False)])


def test_anonymous_visitors_are_sent_to_login(app, messaging_on, client):
    response = client.get("/messages")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_pending_member_sees_why_they_cannot_message(app, make_user, login, messaging_on, bob):
    pending = make_user("newbie", status="pending")
    client = login(pending)
    response = client.get("/messages")
    assert response.status_code == 403
    assert "waiting for an admin to approve" in response.get_data(as_text=True)
    assert client.post("/messages/with/bob").status_code == 403
    # and no Message button is drawn for them
    assert "/messages/with/bob" not in client.get("/people/bob").get_data(as_text=True)


def test_message_button_on_profile_directory_requests_and_comments(app, alice, bob, login, messaging_on):
    from wb.extensions import db
    from wb.models import Comment, HelpRequest

    request = HelpRequest(author_id=bob.id, title="Need a ladder", body="Tall one")
    db.session.add(request)
    db.session.flush()
    db.session.add(Comment(request_id=request.id, author_id=bob.id, body="Still need it"))
    db.session.commit()
    client = login(alice)
    for path in ["/people/bob", "/members", "/requests", f"/requests/{request.id}"]:
        assert 'action="/messages/with/bob"' in client.get(path).get_data(as_text=True), path
    # never to yourself
    assert "/messages/with/alice" not in client.get("/people/alice").get_data(as_text=True)


def test_non_participant_gets_404_on_every_route(pair, make_user, login):
    """As for an id that doesn't exist: a 403 would tell other members' conversations from drafts
    and unknown ids (see test_another_pair_s_conversation_a_draft_for_you_and_no_conversation_answer_alike)."""
    _, cid, mid = pair
    mallory = login(make_user("mallory"))
    for path in ["/messages/{cid}", "/messages/{cid}/poll?after=0"]:
        assert mallory.get(path.format(cid=cid)).status_code == 404, path
    # the page leads back to one's own messages, not only to the start page (a building's tester)
    assert '<a href="/messages">Back to your messages</a>' in mallory.get(f"/messages/{cid}").get_data(as_text=True)
    for path in ROUTES_POST[1:]:
        response = mallory.post(path.format(cid=cid, mid=mid), data={"body": "sneaky"})
        assert response.status_code == 404, path
        assert "Hello Bob" not in response.get_data(as_text=True)
    assert [m.body for m in messages_in(cid)] == ["Hello Bob"]
    assert messages_in(cid)[0].deleted_at is None


def test_another_pair_s_conversation_a_draft_for_you_and_no_conversation_answer_alike(pair, make_user, login, app):
    """Ids come in order: were another pair's conversation a 403 and a draft addressed to you a 404,
    a member walking the ids would find who opened a conversation with them and never wrote, and
    count everyone's conversations. Pages and the API answer all three the same."""
    from api_helpers import ApiClient, token_for

    _, others, mid = pair  # Alice and Bob's
    carol, dave = make_user("carol"), make_user("dave")
    draft = open_conversation(login(dave), "carol")  # Dave's draft to Carol: nothing sent
    unknown = draft + 1000
    carol_client = login(carol)
    carol_client.get("/messages")  # the sign-in's "Welcome back" shown
    carol_api = ApiClient(app.test_client(), token_for(carol))

    def answers(cid):
        page = carol_client.get(f"/messages/{cid}")
        pane = carol_client.get(f"/messages/{cid}", headers={"HX-Request": "true", "HX-Target": "thread-pane"})
        sent = carol_client.post(f"/messages/{cid}", data={"body": "hi"})
        api = carol_api.get(f"/api/v1/conversations/{cid}")
        api_messages = carol_api.get(f"/api/v1/conversations/{cid}/messages")
        def same_words(response):  # the page's own address and CSRF tokens (dated to the second) set aside
            text = response.get_data(as_text=True).replace(f"/{cid}", "/ID")
            return re.sub(r'(csrf-token" content=|name="csrf_token" value=|"X-CSRFToken": )"[^"]*"', r"\1", text)
        return [(r.status_code, same_words(r)) for r in (page, pane, sent, api, api_messages)]

    assert answers(others) == answers(draft) == answers(unknown)
    assert {status for status, _ in answers(others)} == {404}
    assert messages_in(draft) == [] and [m.body for m in messages_in(others)] == ["Hello Bob"]


def test_unknown_and_malformed_conversation_ids(pair):
    alice_client, cid, _ = pair
    assert alice_client.get(f"/messages/{cid + 999}").status_code == 404
    assert alice_client.get("/messages/abc").status_code == 404
    assert alice_client.post(f"/messages/{cid + 999}", data={"body": "x"}).status_code == 404
    assert alice_client.get(f"/messages/{cid}?before=xyz").status_code == 400
    assert alice_client.get(f"/messages/{cid}/poll?after=-1").status_code == 400


def test_guessed_message_id_from_another_conversation_is_not_found(pair, make_user, login, bob):
    alice_client, cid, mid = pair
    carol = make_user("carol")
    carol_client = login(carol)
    other_cid = open_conversation(carol_client, "bob")
    send(carol_client, other_cid, "carol's message")
    carol_mid = messages_in(other_cid)[0].id
    # Alice uses her own conversation id with Carol's message id
    response = alice_client.post(f"/messages/{cid}/messages/{carol_mid}/delete")
    assert response.status_code == 404
    response = alice_client.post(f"/messages/{cid}/messages/{carol_mid}/remove")
    assert response.status_code == 404
    message = messages_in(other_cid)[0]
    assert message.deleted_at is None and not message.hidden_for_low and not message.hidden_for_high
    assert alice_client.post(f"/messages/{cid}/messages/999999/delete").status_code == 404


def test_missing_csrf_token_is_refused_and_nothing_is_stored(pair):
    alice_client, cid, _ = pair
    response = alice_client.post(f"/messages/{cid}", data={"body": "no token"}, csrf=False)
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    assert [m.body for m in messages_in(cid)] == ["Hello Bob"]


@pytest.fixture
def fresh_instance(tmp_path):
    """A new instance whose main database has its tables and an admin signed in, and whose messaging
    database was never created: (app, admin's client, the messaging file's path)."""
    from conftest import WBClient, _config
    from wb import create_app
    from wb.database import upgrade
    from wb.extensions import db
    from wb.models import User

    urls = {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'main.sqlite3'}",
        "MESSAGING_DATABASE_URI": f"sqlite:///{tmp_path / 'messaging.sqlite3'}",
        "INSTANCE_PATH": str(tmp_path / "instance"),
    }
    fresh = create_app(_config(urls))
    fresh.test_client_class = WBClient
    with fresh.app_context():
        upgrade(["main"])
        admin = User(username="boss", display_name="Boss", role="admin", status="active")
        admin.set_password("correct horse battery")
        db.session.add(admin)
        db.session.commit()
        client = fresh.test_client()
        client.login("boss")
        yield fresh, client, tmp_path / "messaging.sqlite3"
        for engine in db.engines.values():
            engine.dispose()


def test_switching_on_creates_the_messaging_schema_if_missing(fresh_instance):
    """A fresh instance whose messaging database is empty: the admin's switch builds its tables."""
    from sqlalchemy import inspect

    from wb.database import engine_for

    _, client, messaging_file = fresh_instance
    assert not messaging_file.exists()  # only the switch creates it (not a request)
    response = client.post("/admin/settings/direct_messaging", data={"enabled": "1"})
    assert response.status_code == 302
    assert {"conversations", "messages"} <= set(inspect(engine_for("messaging")).get_table_names())
    assert client.get("/messages").status_code == 200


@pytest.mark.parametrize("htmx", [False, True])
def test_switching_on_beside_a_lost_messaging_file_is_refused_and_creates_nothing(fresh_instance, htmx):
    """The main database records conversations but their messaging file is gone: switching messaging
    on created an empty one in its place, so the community's messages looked deleted and a restore
    had to replace a live file (an operator tester). It stays off and says what mends it."""
    from wb.extensions import db
    from wb.flags import is_enabled
    from wb.messaging.models import ConversationMembership
    from wb.models import User

    _, client, messaging_file = fresh_instance
    boss = db.session.scalar(db.select(User).filter_by(username="boss"))
    db.session.add(ConversationMembership(conversation_id=7, user_id=boss.id, other_user_id=boss.id))
    db.session.commit()
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.post("/admin/settings/direct_messaging", data={"enabled": "1"}, headers=headers,
                           follow_redirects=not htmx)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert "Messaging stays off. The messaging database" in page and "./wb messaging restore PATH" in page
    assert "Currently <strong>off</strong>" in page
    assert not messaging_file.exists()
    assert not is_enabled("direct_messaging")


def test_an_admins_open_page_says_messaging_is_off_in_an_admins_words(app, alice, admin, login, messaging_on):
    """The notice a page shows when messaging is switched off told the admin who did it that "the
    community's admins have switched messaging off" (an outside tester)."""
    member_page = html.unescape(login(alice).get("/requests").get_data(as_text=True))
    admin_page = html.unescape(login(admin).get("/requests").get_data(as_text=True))
    notice = re.compile(r'<template id="messaging-switched-off">(.*?)</template>', re.S)
    assert "The community's admins have switched messaging off" in notice.search(member_page).group(1)
    words = notice.search(admin_page).group(1)
    assert "switch it on again in Admin → Settings" in words and "The community's admins" not in words
