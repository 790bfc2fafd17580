"""Personal access tokens: the settings page, Bearer sign-in, revocation, and the browser session as the other way in."""
import html
import logging
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import inspect, select

from api_helpers import ApiClient, alice_api, api_as, assert_problem, expire, token_for  # noqa: F401
from wb.api.models import AccessToken
from wb.api.tokens import LIFETIME_REFUSED, PREFIX, hash_token
from wb.extensions import db
from wb.models import utcnow

TOKEN_SHOWN = re.compile(r'class="token-value" readonly value="(wbpat_[A-Za-z0-9_-]+)"')


def _create(client, name="My phone", expires=None):
    """Create a token through the page; expires=None leaves the choice out (a script written before it)."""
    return client.post("/settings/tokens", data={"name": name} | ({} if expires is None else {"expires": expires}))


def test_settings_links_to_the_tokens_page(login, alice):
    page = login(alice).get("/settings").get_data(as_text=True)
    assert 'href="/settings/tokens"' in page


def test_tokens_page_needs_sign_in(client):
    response = client.get("/settings/tokens")
    assert response.status_code == 302 and "/login" in response.location


def test_a_new_token_is_shown_once_and_only_its_hash_is_stored(login, alice, messaging_on):
    client = login(alice)
    response = _create(client)
    assert response.status_code == 201
    token = TOKEN_SHOWN.search(response.get_data(as_text=True)).group(1)
    assert token.startswith(PREFIX) and len(token) > 40
    [row] = db.session.scalars(select(AccessToken)).all()
    assert row.name == "My phone" and row.token_hash == hash_token(token) and token not in row.token_hash
    later = client.get("/settings/tokens").get_data(as_text=True)
    assert token not in later and "My phone" in later and "never used" in later
    assert ApiClient(client.application.test_client(), token).get("/api/v1/me").status_code == 200


def test_creating_a_token_needs_the_csrf_token_and_a_name(login, alice):
    client = login(alice)
    assert client.post("/settings/tokens", data={"name": "x"}, csrf=False).status_code == 400
    response = _create(client, name="   ")
    assert response.status_code == 400 and "Give the token a name" in response.get_data(as_text=True)
    assert db.session.scalars(select(AccessToken)).all() == []


@pytest.mark.parametrize("junk, said", [("x" * 5000, "Token names"), (None, "Give the token a name"),
                                         ("\n\t ", "Give the token a name")])
def test_junk_token_names_are_a_clear_400(login, alice, junk, said):
    response = login(alice).post("/settings/tokens", data={} if junk is None else {"name": junk})
    assert response.status_code == 400
    assert said in response.get_data(as_text=True) and 'id="name-error"' in response.get_data(as_text=True)
    assert db.session.scalars(select(AccessToken)).all() == []


def test_a_second_token_of_the_same_name_is_refused_at_its_name(login, alice):
    """Two "seller helper script" tokens read alike in the list, and the right one couldn't be revoked (a
    marketplace's tester)."""
    client = login(alice)
    assert _create(client, name="Seller helper script").status_code == 201
    response = _create(client, name="seller helper SCRIPT")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "You already have a token called \u201cseller helper SCRIPT\u201d" in page and 'id="name-error"' in page
    assert [row.name for row in db.session.scalars(select(AccessToken))] == ["Seller helper script"]
    [row] = db.session.scalars(select(AccessToken)).all()
    client.post(f"/settings/tokens/{row.id}/revoke")
    assert _create(client, name="Seller helper script").status_code == 201  # a revoked one's name is free again


@pytest.mark.parametrize("junk", ["\x00", "a\x00b", "\u202egnp.exe", "٣", ["a", "b"]])
def test_odd_token_names_never_make_a_500(login, alice, junk):
    assert login(alice).post("/settings/tokens", data={"name": junk}).status_code in (201, 400)


def test_revoking_needs_the_csrf_token(login, alice, app, messaging_on):
    client = login(alice)
    token = TOKEN_SHOWN.search(_create(client).get_data(as_text=True)).group(1)
    row = db.session.scalars(select(AccessToken)).one()
    response = client.post(f"/settings/tokens/{row.id}/revoke", csrf=False)
    assert response.status_code == 400 and "Form expired" in response.get_data(as_text=True)
    assert ApiClient(app.test_client(), token).get("/api/v1/me").status_code == 200


def test_revoking_asks_first_and_then_the_token_stops_working(login, alice, app, messaging_on):
    client = login(alice)
    token = TOKEN_SHOWN.search(_create(client).get_data(as_text=True)).group(1)
    row = db.session.scalars(select(AccessToken)).one()
    confirm = client.get(f"/settings/tokens/{row.id}/revoke")
    assert confirm.status_code == 200 and "stops working at once" in confirm.get_data(as_text=True)
    assert client.post(f"/settings/tokens/{row.id}/revoke").status_code == 302
    assert_problem(ApiClient(app.test_client(), token).get("/api/v1/me"), 401)
    page = client.get("/settings/tokens").get_data(as_text=True)
    assert "revoked: it no longer works" in page and "You have no tokens" in page


def test_nobody_revokes_someone_elses_token(login, alice, bob, app, messaging_on):
    token = token_for(alice)
    row = db.session.scalars(select(AccessToken)).one()
    bob_client = login(bob)
    assert bob_client.get(f"/settings/tokens/{row.id}/revoke").status_code == 404
    assert bob_client.post(f"/settings/tokens/{row.id}/revoke").status_code == 404
    assert ApiClient(app.test_client(), token).get("/api/v1/me").status_code == 200


# --- expiry ---------------------------------------------------------------------------------------


def test_the_form_offers_when_the_token_expires_90_days_by_default(login, alice):
    page = login(alice).get("/settings/tokens").get_data(as_text=True)
    assert '<label for="token-expires">Expires</label>' in page and 'id="token-expires" name="expires"' in page
    offered = re.findall(r'<option value="([^"]+)"( selected)?>([^<]+)</option>', page)
    assert offered == [("30", "", "In 30 days"), ("90", " selected", "In 90 days"), ("365", "", "In 1 year"),
                       ("never", "", "Never")]


@pytest.mark.parametrize("choice, days", [("30", 30), ("90", 90), ("365", 365), ("never", None), (None, 90)],
                         ids=["30-days", "90-days", "1-year", "never", "not-sent-is-90-days"])
def test_the_expiry_chosen_is_stored(login, alice, choice, days):
    assert _create(login(alice), expires=choice).status_code == 201
    row = db.session.scalars(select(AccessToken)).one()
    assert (row.expires_at is None) if days is None else (row.expires_at - row.created_at == timedelta(days=days))


@pytest.mark.parametrize("junk", ["", "7", "forever", "NEVER", "٣٠", " 30", "x" * 5000, ["x", "30"]])
def test_an_expiry_not_offered_is_a_clear_400_and_makes_nothing(login, alice, junk):
    response = _create(login(alice), expires=junk)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and LIFETIME_REFUSED in page and 'id="expires-error"' in page
    assert 'aria-invalid="true"' in page and "My phone" in page  # what was typed stays
    assert db.session.scalars(select(AccessToken)).all() == []


def test_an_expired_token_is_refused_with_the_day_it_expired(app, alice_api):
    row = db.session.scalars(select(AccessToken)).one()
    row.expires_at = datetime(2026, 12, 2, 10, 0)
    db.session.commit()
    response = alice_api.get("/api/v1/me")
    problem = assert_problem(response, 401)
    assert problem["detail"] == "This token expired on 2 Dec 2026. Make a new one in Settings \u2192 API tokens."
    assert response.headers["WWW-Authenticate"] == INVALID_TOKEN and "Set-Cookie" not in response.headers
    assert_problem(alice_api.post("/api/v1/conversations", json={"with": "bob"}), 401)  # writes too
    expire()
    row = db.session.scalars(select(AccessToken)).one()
    assert row.last_used_at is None  # never signed in with it
    row.revoked_at = utcnow()
    db.session.commit()
    assert assert_problem(alice_api.get("/api/v1/me"), 401)["detail"] == (  # revoked too: said as before
        "That token doesn't work: it is unknown or was revoked.")


def test_a_token_that_never_expires_works_as_do_those_made_before_expiry(login, alice, app, messaging_on):
    client = login(alice)
    token = TOKEN_SHOWN.search(_create(client, expires="never").get_data(as_text=True)).group(1)
    assert db.session.scalars(select(AccessToken)).one().expires_at is None
    assert ApiClient(app.test_client(), token).get("/api/v1/me").status_code == 200
    nearly = db.session.scalars(select(AccessToken)).one()
    nearly.expires_at = utcnow() + timedelta(minutes=1)  # not yet
    db.session.commit()
    assert ApiClient(app.test_client(), token).get("/api/v1/me").status_code == 200


def test_the_list_says_when_each_token_expires(login, alice):
    client = login(alice)
    for name, expires in (("Phone", "90"), ("Laptop", "never"), ("Old script", "30")):
        assert _create(client, name=name, expires=expires).status_code == 201
    rows = {row.name: row for row in db.session.scalars(select(AccessToken))}
    rows["Phone"].expires_at = datetime(2099, 3, 6, 12, 0)
    rows["Old script"].expires_at = datetime(2026, 12, 2, 10, 0)
    db.session.commit()
    page = " ".join(client.get("/settings/tokens").get_data(as_text=True).split())
    assert re.search(r"<bdi>Phone</bdi> ·[^<]*(<time[^>]*>[^<]*</time>[^<]*)*expires 6 Mar 2099</span>", page)
    assert re.search(r"<bdi>Laptop</bdi> ·[^<]*(<time[^>]*>[^<]*</time>[^<]*)*never expires</span>", page)
    assert re.search(r"<bdi>Old script</bdi> ·[^<]*(<time[^>]*>[^<]*</time>[^<]*)*<strong>expired 2 Dec 2026</strong>",
                     page)
    # An expired token is only taken off the list: "Revoke" promised to stop what had stopped (a tester).
    assert 'Remove…<span class="visually-hidden"> the token <bdi>Old script</bdi></span></a>' in page
    assert 'Revoke…<span class="visually-hidden"> the token <bdi>Phone</bdi></span></a>' in page
    asked = client.get(f"/settings/tokens/{rows['Old script'].id}/revoke")
    assert "It expired on 2 Dec 2026: no app can use it any more." in html.unescape(asked.get_data(as_text=True))
    done = client.post(f"/settings/tokens/{rows['Old script'].id}/revoke", follow_redirects=True)
    assert "Token \u201cOld script\u201d removed." in html.unescape(done.get_data(as_text=True))


def test_expired_tokens_leave_room_for_new_ones(login, alice, monkeypatch):
    from wb.api import tokens
    monkeypatch.setattr(tokens, "TOKENS_PER_MEMBER", 2)
    client = login(alice)
    assert _create(client, name="a").status_code == 201 and _create(client, name="b").status_code == 201
    refused = _create(client, name="c")
    assert refused.status_code == 400 and "at most 2 tokens" in refused.get_data(as_text=True)
    db.session.scalars(select(AccessToken)).first().expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert _create(client, name="c").status_code == 201


def test_the_migration_keeps_tokens_made_before_expiry_working(sqlite_app):
    from flask_migrate import downgrade, upgrade

    from wb.models import User

    columns = lambda: {c["name"] for c in inspect(db.engine).get_columns("api_tokens")}  # noqa: E731
    alice = User(username="alice", display_name="Alice", status="active")
    alice.set_password("a long password")
    db.session.add(alice)
    db.session.commit()
    token = token_for(alice)
    db.session.remove()
    downgrade(revision="a7c3e5f9b2d1")
    db.engine.dispose()
    assert "expires_at" not in columns()
    upgrade()
    db.engine.dispose()
    assert "expires_at" in columns()
    assert db.session.scalars(select(AccessToken)).one().expires_at is None
    assert ApiClient(sqlite_app.test_client(), token).get("/api/v1/me").status_code == 200


def test_last_used_is_noted_at_most_once_a_minute(alice_api):
    assert alice_api.get("/api/v1/me").status_code == 200
    expire()
    row = db.session.scalars(select(AccessToken)).one()
    first = row.last_used_at
    assert first is not None and (utcnow() - first).total_seconds() < 5
    assert alice_api.get("/api/v1/unread-count").status_code == 200
    expire()
    assert db.session.scalars(select(AccessToken)).one().last_used_at == first


def test_a_token_in_the_address_is_refused_even_beside_a_good_header(app, alice_api):
    """It was ignored when the header was good: a client leaking its token into URLs heard nothing
    (an API tester)."""
    token = alice_api.token
    problem = assert_problem(alice_api.get(f"/api/v1/me?access_token={token}"), 400)
    assert "Authorization header" in problem["detail"] and "Revoke" in problem["detail"]
    assert_problem(app.test_client().get(f"/api/v1/me?access_token={token}"), 400)  # alone, as before: refused
    # under any other name too (?api_key= went through: a therapy practice's tester)
    for query in (f"api_key={token}", f"x=1&foo_token={token}", f"q=a&q={token}", token, f"a%3D{token}",
                  f"x=Bearer%20{token}"):
        problem = assert_problem(alice_api.get(f"/api/v1/me?{query}"), 400)
        assert "Authorization header" in problem["detail"]
    assert alice_api.get("/api/v1/me?x=wbpa").status_code == 200


CHALLENGE = 'Bearer realm="WhiteBalloon API"'
INVALID_TOKEN = 'Bearer realm="WhiteBalloon API", error="invalid_token"'


@pytest.mark.parametrize("header, challenge", [
    (None, CHALLENGE), ("Bearer", CHALLENGE), ("Basic YWxpY2U6cHc=", CHALLENGE),
    ("Bearer wbpat_nottherealtoken", INVALID_TOKEN), ("Bearer " + "x" * 5000, INVALID_TOKEN)])
def test_missing_or_wrong_tokens_are_a_401_problem(app, messaging_on, alice, header, challenge):
    """A token sent and refused says so in its challenge, error="invalid_token"; no token, none (RFC 6750 3.1:
    an API tester's client couldn't tell "sign in" from "your token is bad")."""
    headers = {"Authorization": header} if header is not None else {}
    response = app.test_client().get("/api/v1/conversations", headers=headers)
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == challenge


@pytest.mark.parametrize("change", ["suspended", "deleted"])
def test_a_suspended_or_departed_owner_s_token_stops_working(alice_api, alice, change):
    if change == "suspended":
        alice.status = "suspended"
    else:
        alice.deleted_at = utcnow()
    db.session.commit()
    response = alice_api.get("/api/v1/me")
    problem = assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == INVALID_TOKEN
    # said as signing in says it (an outside tester read "unknown or was revoked" and revoked it)
    assert problem["detail"] == ("That token's account is suspended: its tokens work again if an admin reinstates it."
                                 if change == "suspended" else "That token doesn't work: it is unknown or was revoked.")
    if change == "suspended":
        alice.status = "active"
        db.session.commit()
        assert alice_api.get("/api/v1/me").status_code == 200


def test_a_pending_member_reads_why_but_cannot_message(api_as, make_user):
    pending = api_as(make_user("penny", status="pending"))
    me = pending.get("/api/v1/me").get_json()
    assert me["may_message"] is False and "waiting for an admin" in me["why_not"]
    assert "waiting for an admin" in assert_problem(pending.get("/api/v1/conversations"), 403)["detail"]


def test_tokens_never_reach_the_logs(app, alice_api, caplog):
    caplog.set_level(logging.DEBUG)
    alice_api.get("/api/v1/me")
    alice_api.post("/api/v1/conversations", json={"with": "nobody-here"})
    ApiClient(app.test_client(), alice_api.token + "x").get("/api/v1/me")
    assert alice_api.token not in caplog.text and alice_api.token[len(PREFIX):][:20] not in caplog.text


def test_a_token_request_sets_no_cookie(alice_api):
    assert "Set-Cookie" not in alice_api.get("/api/v1/me").headers


# --- the browser session -------------------------------------------------------------------------


def test_the_browser_session_reads_the_api(login, alice, bob, messaging_on):
    client = login(alice)
    me = client.get("/api/v1/me").get_json()
    assert me["username"] == "alice" and me["authenticated_by"] == "session"


def test_session_writes_need_the_csrf_header_token_writes_do_not(login, alice, bob, alice_api):
    client = login(alice)
    refused = client.post("/api/v1/conversations", json={"with": "bob"}, csrf=False)
    assert "X-CSRFToken" in assert_problem(refused, 403)["detail"]
    forged = client.post("/api/v1/conversations", json={"with": "bob"}, headers={"X-CSRFToken": "forged"}, csrf=False)
    assert "missing or no longer valid" in assert_problem(forged, 403)["detail"]  # sent, but not valid
    assert client.post("/api/v1/conversations", json={"with": "bob"}).status_code == 201
    assert alice_api.post("/api/v1/conversations", json={"with": "bob"}).status_code == 200
