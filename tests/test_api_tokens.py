"""Personal access tokens: the settings page, Bearer sign-in, revocation, and the browser session as the other way in."""
import logging
import re

import pytest
from sqlalchemy import select

from api_helpers import ApiClient, alice_api, api_as, assert_problem, expire, token_for  # noqa: F401
from wb.api.models import AccessToken
from wb.api.tokens import PREFIX, hash_token
from wb.extensions import db
from wb.models import utcnow

TOKEN_SHOWN = re.compile(r'class="token-value" readonly value="(wbpat_[A-Za-z0-9_-]+)"')


def _create(client, name="My phone"):
    return client.post("/settings/tokens", data={"name": name})


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


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer wbpat_nottherealtoken", "Basic YWxpY2U6cHc=", "Bearer " + "x" * 5000])
def test_missing_or_wrong_tokens_are_a_401_problem(app, messaging_on, alice, header):
    headers = {"Authorization": header} if header is not None else {}
    response = app.test_client().get("/api/v1/conversations", headers=headers)
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("change", ["suspended", "deleted"])
def test_a_suspended_or_departed_owner_s_token_stops_working(alice_api, alice, change):
    if change == "suspended":
        alice.status = "suspended"
    else:
        alice.deleted_at = utcnow()
    db.session.commit()
    problem = assert_problem(alice_api.get("/api/v1/me"), 401)
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
