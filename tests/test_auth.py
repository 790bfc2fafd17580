"""Signing in and out: the login form, suspended and pending members, rate limits, cookies."""
import contextlib
import html
import os
import re

import pytest
from werkzeug.security import check_password_hash

from conftest import PASSWORD
from wb import ratelimits
from wb.extensions import db
from wb.models import User
from helpers import admin_link


def text(response) -> str:
    return response.get_data(as_text=True)


def signed_in_user_id(client):
    """The member id in the client's session cookie, or None."""
    with client.session_transaction() as session:
        signed_in = session.get("_user_id")  # "id:generation", see User.get_id
        return signed_in.partition(":")[0] if signed_in else None


# --- signing in -----------------------------------------------------------------------------------

def test_member_signs_in_and_the_nav_shows_who_they_are(client, alice):
    response = client.post("/login", data={"username": "alice", "password": PASSWORD})

    assert response.status_code == 302
    assert response.location == "/"
    assert signed_in_user_id(client) == str(alice.id)
    page = text(client.get("/"))
    assert 'class="whoami"><bdi>Alice</bdi></a>' in page
    assert "Welcome back, Alice." in page
    assert "Sign out" in page


def test_username_is_matched_in_any_case(client, alice):
    response = client.post("/login", data={"username": "  ALICE ", "password": PASSWORD})

    assert response.status_code == 302
    assert signed_in_user_id(client) == str(alice.id)


def test_password_is_stored_as_a_salted_hash(alice):
    stored = db.session.get(User, alice.id).password_hash
    assert PASSWORD not in stored
    assert stored.startswith(("pbkdf2:", "scrypt:"))
    assert alice.check_password(PASSWORD)
    assert not alice.check_password(PASSWORD.upper())


def test_wrong_password_shows_a_message_on_the_form(client, alice):
    response = client.post("/login", data={"username": "alice", "password": "not the password"})

    assert response.status_code == 400
    page = text(response)
    assert "That username and password don&#39;t match." in page
    assert '<form method="post"' in page
    assert 'value="alice"' in page  # the username is kept, the password is not
    assert "not the password" not in page
    assert signed_in_user_id(client) is None


def test_a_refused_sign_in_marks_the_fields_and_puts_the_focus_on_the_password(client, alice):
    """The username's autofocus took the focus back, so a screen reader said nothing of the error, which
    described no field (an outside tester): the error describes both, and the password is where one types."""
    page = text(client.post("/login", data={"username": "alice", "password": "not the password"}))

    assert '<p class="form-error" role="alert" id="login-error">' in page
    assert ('<input id="username" name="username" value="alice" autocomplete="username" required'
            ' aria-describedby="login-error" aria-invalid="true">') in page
    assert ('<input id="password" name="password" type="password" autocomplete="current-password" required'
            ' aria-describedby="login-error" aria-invalid="true" autofocus>') in page
    assert page.count("autofocus") == 1


def test_an_empty_field_is_the_one_marked_and_focused(client, alice):
    page = text(client.post("/login", data={"username": "", "password": PASSWORD}))

    assert 'autocomplete="username" required aria-describedby="login-error" aria-invalid="true" autofocus>' in page
    assert 'autocomplete="current-password" required aria-describedby="login-error">' in page


def test_the_sign_in_page_marks_nothing_before_a_try(client):
    page = text(client.get("/login"))

    assert 'autocomplete="username" required autofocus>' in page
    assert "aria-invalid" not in page and "aria-describedby" not in page


def test_unknown_username_gets_the_same_message_as_a_wrong_password(client, alice):
    response = client.post("/login", data={"username": "nobody", "password": PASSWORD})

    assert response.status_code == 400
    assert "That username and password don&#39;t match." in text(response)
    assert signed_in_user_id(client) is None


def _login_error(response) -> str:
    """The sign-in page's one error paragraph."""
    return re.search(r'<p class="form-error" role="alert" id="login-error">.*?</p>', text(response), re.S).group(0)


@pytest.fixture
def hash_checks(app, monkeypatch):
    """The method part ("pbkdf2:sha256:1000") of every hash a password is checked against."""
    checked = []

    def counting(pwhash, password):
        checked.append(pwhash.split("$", 1)[0])
        return check_password_hash(pwhash, password)

    monkeypatch.setattr("wb.models.check_password_hash", counting)
    return checked


@pytest.mark.parametrize("username", ["nobody", "alice", "erased"])
def test_an_unknown_username_costs_the_same_hash_check_as_a_wrong_password(client, alice, admin, hash_checks, username):
    """A wrong password for a member took scrypt's 200-1000 ms, an unknown name ~10 ms: the time told
    anyone who has an account (a therapy practice's tester). Every refusal checks one hash, made the
    way real ones are, and says the same."""
    from wb.people import leaving

    if username == "erased":
        gone = db.session.get(User, alice.id)
        leaving.erase_member(gone, actor=admin)
        username = gone.username  # erased-<id>, with the password hash "!"
    response = client.post("/login", data={"username": username, "password": "not the password"})

    assert response.status_code == 400
    assert _login_error(response) == ('<p class="form-error" role="alert" id="login-error">'
                                      "That username and password don&#39;t match.</p>")
    assert hash_checks == [client.application.config["PASSWORD_HASH_METHOD"]]
    assert signed_in_user_id(client) is None


@pytest.mark.parametrize(
    "form",
    [
        {"username": "", "password": ""},
        {"username": "alice", "password": ""},
        {"username": "", "password": PASSWORD},
        {"username": "   ", "password": PASSWORD},
        {},
    ],
)
def test_empty_fields_ask_for_username_and_password(client, alice, form):
    response = client.post("/login", data=form)

    assert response.status_code == 400
    assert "Enter your username and password." in text(response)
    assert signed_in_user_id(client) is None


def test_suspended_member_cannot_sign_in(client, make_user):
    carol = make_user("carol", status="suspended")

    response = client.post("/login", data={"username": "carol", "password": PASSWORD})

    assert response.status_code == 403
    assert ("This account is suspended. Contact an admin outside WhiteBalloon (the member who invited you can reach "
            "them).") in html.unescape(text(response))
    assert signed_in_user_id(client) is None
    assert db.session.get(User, carol.id).status == "suspended"
    # Its username and password were right: not marked wrong, but the error is read with the field.
    assert 'autocomplete="username" required aria-describedby="login-error" autofocus>' in text(response)
    assert "aria-invalid" not in text(response)


def test_suspending_a_signed_in_member_signs_them_out(client, alice, admin, login):
    client.login("alice")
    assert "Hello, <bdi>Alice</bdi>" in text(client.get("/"))

    login(admin).post("/admin/members/alice/suspend", data={"confirmed": "1"})

    page = text(client.get("/"))
    assert "Hello, <bdi>Alice</bdi>" not in page
    assert "Sign in" in page
    response = client.get("/members")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_pending_member_can_sign_in_and_sees_the_pending_tag(client, make_user):
    make_user("penny", status="pending")

    client.login("penny")

    page = text(client.get("/"))
    assert "Hello, <bdi>Penny</bdi>" in page
    assert '<span class="tag tag-pending">Waiting for approval</span>' in page
    assert "waiting for an admin's approval" in page


def test_active_member_has_no_pending_tag_and_admin_has_admin_tag(client, alice, admin, login):
    client.login("alice")
    page = text(client.get("/"))
    assert "Waiting for approval" not in page
    assert 'href="/admin/settings"' not in page

    # One "Admin" in the navigation: the link (a tag beside the name said it a second time).
    admin_page = text(login(admin).get("/"))
    nav = admin_page.split("</nav>")[0]
    assert admin_link(nav) == ("/admin/settings", "Admin") and nav.count("Admin") == 1


def test_login_follows_a_local_next_page(client, alice):
    response = client.post("/login?next=/members", data={"username": "alice", "password": PASSWORD})
    assert response.location == "/members"


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"])
def test_login_ignores_next_pages_on_other_sites(client, alice, target):
    response = client.post("/login", query_string={"next": target},
                           data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert response.location == "/"


def test_protected_page_sends_visitor_to_login_and_back(client, alice):
    response = client.get("/members")
    assert response.status_code == 302
    assert response.location == "/login?next=/members"

    login_page = text(client.get(response.location))
    assert 'action="/login?next=/members"' in login_page
    assert client.post("/login?next=/members", data={"username": "alice", "password": PASSWORD}).location == "/members"


def test_login_page_sends_signed_in_member_home(client, alice):
    client.login("alice")
    response = client.get("/login")
    assert response.status_code == 302
    assert response.location == "/"


# --- signing out ----------------------------------------------------------------------------------

def test_logout_is_a_post_that_signs_out(client, alice):
    client.login("alice")

    response = client.post("/logout")

    assert response.status_code == 302
    assert response.location == "/login"
    assert signed_in_user_id(client) is None
    assert "You are signed out." in text(client.get("/login"))
    assert "Hello, <bdi>Alice</bdi>" not in text(client.get("/"))


def test_logout_by_get_is_not_allowed(client, alice):
    client.login("alice")

    response = client.get("/logout")

    assert response.status_code == 405
    assert response.headers["Allow"].split(", ").count("POST") == 1
    assert "GET" not in response.headers["Allow"]
    assert signed_in_user_id(client) == str(alice.id)


def test_logout_without_csrf_token_keeps_the_member_signed_in(client, alice):
    client.login("alice")

    response = client.post("/logout", csrf=False)

    assert response.status_code == 400
    assert signed_in_user_id(client) == str(alice.id)


# --- rate limit -----------------------------------------------------------------------------------

@pytest.fixture
def limited_app(app_config, request):
    """An app whose login form takes three attempts a minute per address."""
    app_config["LOGIN_RATE_LIMIT"] = "3 per minute"
    return request.getfixturevalue("app")


def test_login_is_rate_limited_per_address_with_its_own_page(limited_app, make_user):
    make_user("alice")
    client = limited_app.test_client()
    for _ in range(3):
        assert client.post("/login", data={"username": "alice", "password": "wrong-password"}).status_code == 400

    blocked = client.post("/login", data={"username": "alice", "password": PASSWORD})

    assert blocked.status_code == 429
    page = text(blocked)
    assert "Too many sign-in attempts" in page
    assert "paused sign-ins from this internet connection" in page
    assert '<nav class="nav"' in page
    assert signed_in_user_id(client) is None  # even the right password waits
    assert int(blocked.headers["Retry-After"]) > 0
    partial = client.htmx("POST", "/login", data={"username": "alice", "password": PASSWORD})
    assert partial.status_code == 429
    assert "<html" not in text(partial) and "Too many sign-in attempts" in text(partial)
    assert client.get("/login").status_code == 200  # the form itself still loads

    elsewhere = limited_app.test_client()
    response = elsewhere.post("/login", data={"username": "alice", "password": PASSWORD},
                              environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 302


@pytest.mark.parametrize("proxies", [0, 1])
def test_behind_a_proxy_the_limit_counts_per_visitor_not_per_proxy(app_config, request, proxies):
    """nginx connects from 127.0.0.1 for everyone: with WB_PROXIES=1 the visitor's address is the one
    nginx adds to X-Forwarded-For; without it the header is not believed (a visitor could name any)."""
    app_config.update(LOGIN_RATE_LIMIT="2 per minute", PROXIES=proxies)
    app = request.getfixturevalue("app")
    request.getfixturevalue("make_user")("alice")

    def attempt(visitor, claimed=None):
        forwarded = f"{claimed}, {visitor}" if claimed else visitor  # nginx appends the address it saw
        return app.test_client().post("/login", data={"username": "alice", "password": "wrong-password"},
                                      environ_base={"REMOTE_ADDR": "127.0.0.1"},
                                      headers={"X-Forwarded-For": forwarded}).status_code

    assert [attempt("198.51.100.7"), attempt("198.51.100.7"), attempt("198.51.100.7")] == [400, 400, 429]
    # Another visitor behind the same proxy, even one who claims to be someone else:
    expected = 400 if proxies else 429
    assert attempt("203.0.113.9") == expected
    assert attempt("203.0.113.10", claimed="198.51.100.99") == expected


def test_rate_limit_counts_attempts_not_members(limited_app, make_user):
    """Guessing at different usernames from one address shares one budget."""
    for name in ("alice", "bob", "carol", "dave"):
        make_user(name)
    client = limited_app.test_client()
    statuses = [client.post("/login", data={"username": name, "password": "nope-nope"}).status_code
                for name in ("alice", "bob", "carol", "dave")]
    assert statuses == [400, 400, 400, 429]


# --- the sign-in limit counts failed sign-ins only ---------------------------------------------------

SIGN_IN_LIMIT = "10 per minute"  # the default (config.py); the test suite's own is far higher
ADDRESS = "addr:127.0.0.1"  # the test client's


@pytest.fixture(params=["database://", "memory://", "redis"])
def sign_in_limited_app(request, app_config, monkeypatch):
    """An app with the default sign-in limit, counted in each storage: the main database (the default),
    one process's memory, and Redis where this run has one (CI's second pass names it)."""
    storage = request.param
    if storage == "redis":
        storage = os.environ.get("WB_TEST_RATELIMIT_STORAGE_URL", "")
        if not storage.startswith(("redis://", "rediss://")):
            pytest.skip("no Redis in this run (WB_TEST_RATELIMIT_STORAGE_URL)")
    monkeypatch.setenv("WB_TEST_RATELIMIT_STORAGE_URL", storage)
    app_config["LOGIN_RATE_LIMIT"] = SIGN_IN_LIMIT
    return request.getfixturevalue("app")


def sign_in_from_the_building(app, username, password=PASSWORD):
    """A neighbour's own browser on the building's Wi-Fi: a new client, the same address."""
    client = app.test_client()
    return client, client.post("/login", data={"username": username, "password": password})


def test_thirteen_neighbours_signing_in_from_one_address_all_get_in(sign_in_limited_app, make_user):
    """13 residents signing in correctly on one building's Wi-Fi: the 11th was refused (a residents'
    building's tester). A sign-in that succeeds counts nothing."""
    for neighbour in [make_user(f"resident{number}") for number in range(13)]:
        client, response = sign_in_from_the_building(sign_in_limited_app, neighbour.username)
        assert response.status_code == 302, (neighbour.username, response.status_code)
        assert signed_in_user_id(client) == str(neighbour.id)
    assert ratelimits.remaining("login", SIGN_IN_LIMIT, ADDRESS) == 10


def test_ten_wrong_passwords_still_lock_out_the_eleventh_attempt_even_the_right_one(sign_in_limited_app, make_user):
    make_user("alice")
    for number in range(9):
        assert sign_in_from_the_building(sign_in_limited_app, "alice", f"guess {number}")[1].status_code == 400
    # a neighbour's sign-in between the guesses counts nothing, and neither locks nor frees the address
    _client, response = sign_in_from_the_building(sign_in_limited_app, make_user("bob").username)
    assert response.status_code == 302
    assert ratelimits.remaining("login", SIGN_IN_LIMIT, ADDRESS) == 1
    assert sign_in_from_the_building(sign_in_limited_app, "nobody-here", "guess 9")[1].status_code == 400

    client, locked = sign_in_from_the_building(sign_in_limited_app, "alice")

    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert "Too many sign-in attempts" in text(locked)
    assert signed_in_user_id(client) is None
    assert sign_in_from_the_building(sign_in_limited_app, "alice", "guess 10")[1].status_code == 429
    assert ratelimits.remaining("login", SIGN_IN_LIMIT, ADDRESS) == 0


def test_a_guess_checked_while_other_guesses_fill_the_limit_learns_nothing(limited_app, make_user, monkeypatch):
    """Guesses sent at the same moment all pass the first look at the limit. Those whose failure comes past
    the limit answer as refused, not as wrong, and a right one waits too: a burst learns no more than the
    limit allows, as when every attempt counted before its password was checked."""
    from wb.auth.forms import LoginForm

    make_user("alice")
    check_password = LoginForm.validate

    def while_three_other_guesses_fail(form, *args, **kwargs):
        for _ in range(3):  # limited_app's limit: 3 a minute
            with contextlib.suppress(ratelimits.LimitReached):
                ratelimits.take("login", "3 per minute", ADDRESS)
        return check_password(form, *args, **kwargs)

    monkeypatch.setattr(LoginForm, "validate", while_three_other_guesses_fail)
    client, wrong = sign_in_from_the_building(limited_app, "alice", "guess")
    assert wrong.status_code == 429 and "That username and password don&#39;t match" not in text(wrong)
    ratelimits.reset()
    client, right = sign_in_from_the_building(limited_app, "alice")
    assert right.status_code == 429 and signed_in_user_id(client) is None


# --- cookies --------------------------------------------------------------------------------------

def session_cookie_header(response) -> str:
    cookies = [value for value in response.headers.getlist("Set-Cookie") if value.startswith("session=")]
    assert cookies, response.headers
    return cookies[-1]


def test_session_cookie_is_httponly_and_samesite_lax(client, alice):
    cookie = session_cookie_header(client.post("/login", data={"username": "alice", "password": PASSWORD}))

    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


@pytest.fixture
def secure_app(app_config, request):
    app_config["SESSION_COOKIE_SECURE"] = True
    return request.getfixturevalue("app")


def test_session_cookie_is_secure_when_configured(secure_app, make_user):
    make_user("alice")
    client = secure_app.test_client()

    cookie = session_cookie_header(client.post("/login", data={"username": "alice", "password": PASSWORD},
                                               base_url="https://localhost"))

    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert secure_app.config["REMEMBER_COOKIE_SECURE"] is True


def test_an_app_wide_limit_configured_by_an_operator_applies(tmp_path, database_urls, app):
    """An operator's RATELIMIT_DEFAULT in instance/config.py limits every route, in the real server."""
    from served import Member, Server

    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text('RATELIMIT_DEFAULT = "2 per minute"\n')
    with Server(tmp_path, {**database_urls, "INSTANCE_PATH": str(instance)}, workers=1) as server:
        visitor = Member(server.url)
        assert [visitor.get("/").status for _ in range(3)] == [200, 200, 429]
