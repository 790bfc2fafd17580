"""Ending sessions: a cookie copied before sign-out, a password change or a suspension opens nothing."""
import time

import pytest
from flask import request as flask_request

from conftest import PASSWORD
from messaging_helpers import open_conversation, poll_cursors, send
from wb.extensions import db
from wb.models import User

NEW_PASSWORD = "a longer, newer passphrase"


def text(response) -> str:
    return response.get_data(as_text=True)


def session_cookie(client) -> str:
    """The session cookie as the browser holds it now: what someone could copy and replay."""
    return client.get_cookie("session").value


def replay(app, cookie):
    """Another browser presenting a copied session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief


def generation_of(user) -> int:
    db.session.expire_all()
    return db.session.get(User, user.id).session_generation


def assert_sent_to_sign_in(response):
    assert response.status_code == 302, text(response)
    assert response.location.startswith("/login")


@pytest.fixture
def chat(app, alice, bob, login, messaging_on):
    """Alice and Bob signed in, a conversation between them that Alice's poller is idle on."""
    alice_client, bob_client = login(alice), login(bob)
    cid = open_conversation(bob_client, "alice")
    send(bob_client, cid, "hello Alice")
    alice_client.post(f"/messages/{cid}/read")
    after, seen = poll_cursors(text(alice_client.get(f"/messages/{cid}")))
    return alice_client, bob_client, f"/messages/{cid}/poll?after={after}&seen={seen}"


def assert_cookie_opens_nothing(app, cookie, poll_path):
    """The inbox, the badge and an idle poll all send the cookie's bearer to sign in."""
    stale = replay(app, cookie)
    assert_sent_to_sign_in(stale.get("/messages"))
    assert_sent_to_sign_in(stale.get("/messages/badge"))
    assert_sent_to_sign_in(stale.get(poll_path))
    assert "Hello, Alice" not in text(stale.get("/"))


# --- signing out --------------------------------------------------------------------------------

def test_a_cookie_copied_before_sign_out_opens_nothing_after_it(app, chat):
    alice_client, _bob_client, poll_path = chat
    copied = session_cookie(alice_client)
    assert replay(app, copied).get(poll_path).status_code == 204  # the copy works while she is in

    alice_client.post("/logout")

    assert_cookie_opens_nothing(app, copied, poll_path)


def test_a_member_signs_in_again_after_signing_out(app, chat, alice):
    alice_client, _bob_client, poll_path = chat
    alice_client.post("/logout")

    alice_client.login("alice")

    assert alice_client.get("/messages").status_code == 200
    assert alice_client.get(poll_path).status_code == 204
    assert "hello Alice" in text(alice_client.get("/messages"))


def test_a_cookie_from_before_sessions_had_generations_is_not_accepted(app, chat, alice):
    """Cookies naming only the member id (written before this release) sign in again once."""
    alice_client, _bob_client, poll_path = chat
    with alice_client.session_transaction() as session:
        session["_user_id"] = str(alice.id)
        del session["member"]  # written since: such a cookie has none

    assert_cookie_opens_nothing(app, session_cookie(alice_client), poll_path)


# --- changing the password ----------------------------------------------------------------------

def test_changing_the_password_signs_out_every_other_device(app, chat, alice, login):
    alice_client, _bob_client, poll_path = chat
    copied = session_cookie(alice_client)
    laptop = login(alice)
    before = generation_of(alice)

    response = laptop.post("/settings/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD})

    assert response.status_code == 302 and response.location == "/settings"
    assert "Your password is changed, and every other device is signed out." in text(laptop.get("/settings"))
    assert laptop.get("/messages").status_code == 200  # the device that changed it stays in
    assert generation_of(alice) == before + 1
    assert_cookie_opens_nothing(app, copied, poll_path)
    assert_sent_to_sign_in(alice_client.get("/messages"))
    assert app.test_client().post("/login", data={"username": "alice", "password": PASSWORD}).status_code == 400
    app.test_client().login("alice", NEW_PASSWORD)


def test_a_wrong_current_password_changes_nothing(app, chat, alice, login):
    alice_client, _bob_client, poll_path = chat
    laptop = login(alice)
    before = generation_of(alice)

    response = laptop.post("/settings/password", data={"current_password": "not it", "new_password": NEW_PASSWORD})

    assert response.status_code == 400
    page = text(response)
    assert "That isn&#39;t your current password." in page
    assert 'name="current_password"' in page and "not it" not in page
    assert generation_of(alice) == before
    assert alice_client.get(poll_path).status_code == 204
    app.test_client().login("alice", PASSWORD)


def test_a_new_password_too_short_is_refused_on_the_form(app, alice, login):
    laptop = login(alice)

    response = laptop.post("/settings/password", data={"current_password": PASSWORD, "new_password": "short"})

    assert response.status_code == 400
    assert "Passwords need at least 8 characters." in text(response)
    app.test_client().login("alice", PASSWORD)


# --- suspension ---------------------------------------------------------------------------------

def test_a_suspended_member_stays_signed_out_after_being_reinstated(app, chat, alice, admin, login):
    alice_client, _bob_client, poll_path = chat
    copied = session_cookie(alice_client)
    admin_client = login(admin)

    admin_client.post("/admin/members/alice/suspend")
    admin_client.post("/admin/members/alice/reinstate")

    assert User.by_username("alice").status == "active"
    assert_cookie_opens_nothing(app, copied, poll_path)
    alice_client.login("alice")
    assert alice_client.get(poll_path).status_code == 204


# --- sign out everywhere ------------------------------------------------------------------------

def test_settings_offer_sign_out_everywhere_with_an_explanation(alice, login):
    page = text(login(alice).get("/settings"))

    assert '<form method="post" action="/settings/sign-out-everywhere"' in page
    assert 'name="csrf_token"' in page.split("/settings/sign-out-everywhere", 1)[1].split("</form>", 1)[0]
    assert "Sign out everywhere" in page
    assert "lost or forgotten" in page


def test_sign_out_everywhere_ends_other_devices_and_keeps_this_one(app, chat, alice, login):
    alice_client, _bob_client, poll_path = chat
    phone_cookie = session_cookie(alice_client)
    laptop = login(alice)
    laptop_cookie_before = session_cookie(laptop)
    before = generation_of(alice)

    response = laptop.post("/settings/sign-out-everywhere")

    assert response.status_code == 302 and response.location == "/settings"
    assert "Signed out of every other device." in text(laptop.get("/settings"))
    assert generation_of(alice) == before + 1
    assert laptop.get("/messages").status_code == 200
    assert laptop.get(poll_path).status_code == 204
    assert_cookie_opens_nothing(app, phone_cookie, poll_path)
    assert_cookie_opens_nothing(app, laptop_cookie_before, poll_path)  # this browser's old cookie too


def test_sign_out_everywhere_needs_the_csrf_token(app, chat, alice, login):
    alice_client, _bob_client, poll_path = chat
    laptop = login(alice)
    before = generation_of(alice)

    response = laptop.post("/settings/sign-out-everywhere", csrf=False)

    assert response.status_code == 400
    assert generation_of(alice) == before
    assert alice_client.get(poll_path).status_code == 204


def test_sign_out_everywhere_is_for_signed_in_members(client, alice):
    response = client.post("/settings/sign-out-everywhere")

    assert_sent_to_sign_in(response)
    assert generation_of(alice) == 0


def test_a_remember_me_cookie_from_before_sign_out_opens_nothing(app, chat, alice):
    """The app never sets one, but Flask-Login reads one if sent: it carries the generation too."""
    from flask_login import encode_cookie

    alice_client, _bob_client, poll_path = chat
    kept = encode_cookie(alice.get_id())
    remembered = app.test_client()
    remembered.set_cookie("remember_token", kept)
    assert remembered.get("/messages").status_code == 200  # Flask-Login does honour it while current

    alice_client.post("/logout")

    forgotten = app.test_client()
    forgotten.set_cookie("remember_token", kept)
    assert_sent_to_sign_in(forgotten.get("/messages"))
    assert_sent_to_sign_in(forgotten.get(poll_path))


# --- the session cookie, verified once per process (wb/sessions.py) -------------------------------

def signed_cookie(app, data) -> str:
    """A session cookie as Flask would sign it for data."""
    return app.session_interface.get_signing_serializer(app).dumps(data)


def opened(app, cookie):
    """The session a request carrying cookie opens."""
    with app.test_request_context("/", headers={"Cookie": f"session={cookie}"}):
        return app.session_interface.open_session(app, flask_request)


def test_a_cookie_opens_the_same_session_every_time_it_is_presented(app):
    cookie = signed_cookie(app, {"member": "7:0", "csrf_token": "abc", "_fresh": True})
    sessions = [opened(app, cookie) for _ in range(3)]
    assert all(dict(session) == {"member": "7:0", "csrf_token": "abc", "_fresh": True} for session in sessions)
    assert not any(session.modified for session in sessions)


def test_changing_one_requests_session_leaves_the_next_requests_alone(app):
    plain = signed_cookie(app, {"member": "7:0"})
    first = opened(app, plain)
    first["member"] = "8:0"
    assert opened(app, plain)["member"] == "7:0"
    flashed = signed_cookie(app, {"member": "7:0", "_flashes": [["success", "Saved."]]})
    first = opened(app, flashed)
    first["_flashes"].append(["success", "Changed in place."])  # as flash() does
    assert opened(app, flashed)["_flashes"] == [["success", "Saved."]]


def test_a_tampered_cookie_opens_an_empty_session_even_after_the_real_one_was_seen(app):
    cookie = signed_cookie(app, {"member": "7:0"})
    assert opened(app, cookie)["member"] == "7:0"
    payload, _, signature = cookie.rpartition(".")
    forged = f"{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    assert dict(opened(app, forged)) == {}
    assert dict(opened(app, cookie + "x")) == {}


def test_a_cookie_stops_opening_anything_once_the_secret_key_changes(app, chat):
    alice_client, _bob_client, poll_path = chat
    cookie = session_cookie(alice_client)
    assert replay(app, cookie).get(poll_path).status_code == 204
    app.secret_key = "a different secret key for this test"
    assert dict(opened(app, cookie)) == {}
    assert_sent_to_sign_in(replay(app, cookie).get("/messages"))


def test_a_cookie_expires_when_flask_would_expire_it_even_if_seen_before(app, chat, monkeypatch):
    alice_client, _bob_client, poll_path = chat
    cookie = session_cookie(alice_client)
    assert replay(app, cookie).get(poll_path).status_code == 204
    later = time.time() + app.permanent_session_lifetime.total_seconds() + 5
    monkeypatch.setattr("wb.sessions.time.time", lambda: later)
    assert dict(opened(app, cookie)) == {}
    assert_sent_to_sign_in(replay(app, cookie).get("/messages"))


def test_answers_that_read_the_session_vary_on_the_cookie_once(app, chat):
    """Shared caches must not hand one member's answer to another: every answer that read the
    session says Vary: Cookie (beside HX-Request), once."""
    alice_client, _bob_client, poll_path = chat
    for answer in (alice_client.get(poll_path), alice_client.get("/messages"), alice_client.get("/messages/badge?shown=0")):
        parts = [part.strip() for part in answer.headers.get("Vary", "").split(",")]
        assert parts.count("Cookie") == 1 and "HX-Request" in parts, (answer.request.path, parts)
