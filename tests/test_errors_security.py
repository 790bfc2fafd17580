"""Safety nets: CSRF, security headers, size limits, error pages (full and htmx), health checks."""
import json
import logging
import re

import pytest
from flask import abort
from werkzeug.exceptions import TooManyRequests
from sqlalchemy import func, select

from conftest import CSRF_META
from wb import create_app
from wb.config import TestConfig
from wb.extensions import db
from wb.models import HelpRequest, User
from wb.ratelimits import retry_after_headers

FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S)
CSRF_FIELD = re.compile(r'<input type="hidden" name="csrf_token" value="[^"]+">')


def text(response) -> str:
    return response.get_data(as_text=True)


def request_count() -> int:
    return db.session.scalar(select(func.count(HelpRequest.id)))


@pytest.fixture
def probe_app(app):
    """The app with two extra routes: one that aborts with any status, one that crashes."""

    def aborting(code):
        abort(code)

    def crashing():
        raise RuntimeError("kaboom-secret-detail in /srv/wb/views.py")

    app.add_url_rule("/_probe/abort/<int:code>", "probe_abort", aborting, methods=["GET", "POST"])
    app.add_url_rule("/_probe/crash", "probe_crash", crashing, methods=["GET", "POST"])
    return app


@pytest.fixture
def probe(probe_app, alice):
    """A client signed in as Alice on the probe app."""
    member = probe_app.test_client()
    member.login("alice")
    return member


# --- CSRF -----------------------------------------------------------------------------------------

def test_form_post_without_token_is_a_400_page_with_a_clear_message(client, alice):
    client.login("alice")

    response = client.post("/requests/new", data={"title": "t", "body": "b"}, csrf=False)

    assert response.status_code == 400
    page = text(response)
    assert "<h1>Form expired</h1>" in page
    assert "Your form was missing its security token or it had expired. Reload the page and try again." in page
    assert '<nav class="nav"' in page
    assert request_count() == 0


@pytest.mark.parametrize("path, data", [
    ("/login", {"username": "alice", "password": "whatever"}),
    ("/register", {"username": "newcomer", "password": "long enough"}),
    ("/settings", {"display_name": "Alice", "bio": ""}),
    ("/settings/password", {"current_password": "x", "new_password": "long enough"}),
    ("/invites", {}),
    ("/people/bob/report", {"reason": "spam"}),
])
def test_every_form_without_its_token_gets_the_same_form_expired_page(client, alice, bob, path, data):
    client.login("alice")

    response = client.post(path, data=data, csrf=False)

    assert response.status_code == 400
    assert "<h1>Form expired</h1>" in text(response)
    assert "Your form was missing its security token or it had expired. Reload the page and try again." in text(response)


@pytest.mark.parametrize("body", [[1, 2], 5, "text", {"title": ["a", "b"]}])
@pytest.mark.parametrize("path", ["/login", "/requests/new", "/settings", "/invites"])
def test_a_json_body_sent_to_a_form_is_read_as_no_fields_not_a_500(client, alice, path, body):
    if path != "/login":
        client.login("alice")

    response = client.post(path, json=body)

    assert response.status_code in (302, 400)
    assert request_count() == 0


def test_htmx_post_without_token_is_a_400_partial(client, alice):
    client.login("alice")

    response = client.htmx("POST", "/requests/new", data={"title": "t", "body": "b"}, csrf=False)

    assert response.status_code == 400
    page = text(response)
    assert "<html" not in page
    assert 'data-status="400"' in page
    assert "missing its security token" in page
    assert request_count() == 0


def test_a_send_without_a_valid_token_keeps_its_text_in_the_box(client, alice, bob, messaging_on, make_user):
    """A send refused for its token swapped the "Form expired" page into the box's place, and what
    was typed went with it (a marketplace tester): the box comes back with the text and what to do."""
    from messaging_helpers import messages_in, open_conversation

    client.login("alice")
    cid = open_conversation(client, "bob")
    typed = "A long offer: 40 for the bike, collected Saturday"
    for headers in ({}, {"X-CSRFToken": "forged"}):
        response = client.htmx("POST", f"/messages/{cid}", data={"body": typed}, headers=headers, csrf=False)
        assert response.status_code == 400
        page = text(response)
        assert "<html" not in page and 'id="compose"' in page
        assert f">{typed}</textarea>" in page
        assert "security token has expired, so your message wasn&#39;t sent" in page
    assert messages_in(cid) == []
    # without JavaScript too: the thread's page, the text in its box, a new token in its form
    plain = client.post(f"/messages/{cid}", data={"body": typed, "csrf_token": "stale"}, csrf=False)
    page = text(plain)
    assert plain.status_code == 400 and "<html" in page and f">{typed}</textarea>" in page
    assert "token had expired, so your message wasn&#39;t sent. It is in the box below: send it again." in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(f"/messages/{cid}", data={"body": typed, "csrf_token": token}, csrf=False).status_code == 302
    assert [m.body for m in messages_in(cid)] == [typed]
    # not Alice's conversation: the usual answer, nothing of it shown
    make_user("carol"), make_user("dave")
    other = open_conversation(client, "carol")  # Alice's, with Carol
    client.login("dave")
    refused = client.htmx("POST", f"/messages/{other}", data={"body": typed}, csrf=False)
    assert refused.status_code == 400 and "missing its security token" in text(refused)
    assert typed not in text(refused)


def test_wrong_token_is_refused(client, alice):
    client.login("alice")
    response = client.post("/requests/new", data={"title": "t", "body": "b"},
                           headers={"X-CSRFToken": "forged"})
    assert response.status_code == 400
    assert request_count() == 0


def test_token_in_the_form_field_is_accepted(client, alice):
    client.login("alice")
    token = CSRF_META.search(text(client.get("/requests/new"))).group(1)

    response = client.post("/requests/new", data={"title": "t", "body": "b", "csrf_token": token}, csrf=False)

    assert response.status_code == 302
    assert request_count() == 1


def test_login_form_needs_a_token_too(client, alice):
    response = client.post("/login", data={"username": "alice", "password": "correct horse battery"}, csrf=False)
    assert response.status_code == 400
    with client.session_transaction() as session:
        assert "_user_id" not in session


def pages_for_everyone(admin_client, alice):
    """Every core page an admin can see, with a request and a comment on it."""
    item = HelpRequest(author_id=alice.id, title="Ladder", body="please")
    db.session.add(item)
    db.session.commit()
    paths = ["/", "/requests", f"/requests/{item.id}", "/requests/new", "/members", "/people/alice",
             "/people/root", "/settings", "/admin/settings", "/admin/members"]
    return {path: text(admin_client.get(path)) for path in paths}


@pytest.mark.parametrize("messaging", [False, True])
def test_every_post_form_carries_a_csrf_token_and_htmx_sends_it(app, admin, alice, login, messaging):
    if messaging:
        from wb.flags import set_flag
        set_flag("direct_messaging", True)
    pages = pages_for_everyone(login(admin), alice)
    pages["/login"] = text(app.test_client().get("/login"))

    forms_seen = 0
    for path, page in pages.items():
        assert re.search(r'<body hx-headers=\'\{"X-CSRFToken": "[^"]+"\}\'[^>]*>', page), path
        for form in FORM.findall(page):
            if 'method="post"' in form:
                forms_seen += 1
                assert CSRF_FIELD.search(form), (path, form[:200])
    assert forms_seen >= 10


@pytest.mark.parametrize("messaging", [False, True])
def test_pages_have_no_inline_script_or_style(admin, alice, login, app, messaging):
    """The CSP forbids inline scripts and styles, so the pages must not rely on them."""
    if messaging:
        from wb.flags import set_flag
        set_flag("direct_messaging", True)
    pages = pages_for_everyone(login(admin), alice)
    pages["/login"] = text(app.test_client().get("/login"))

    for path, page in pages.items():
        scripts = re.findall(r"(<script\b[^>]*>)(.*?)</script>", page, re.S)
        assert scripts, path  # htmx and app.js, from files
        for tag, body in scripts:
            assert " src=" in tag and not body.strip(), (path, tag)
        assert not re.search(r"\son[a-z]+\s*=", page), path  # no onclick= and friends
        assert not re.search(r"\sstyle\s*=", page), path
        assert "<style" not in page, path
        assert "javascript:" not in page, path


# --- headers --------------------------------------------------------------------------------------

def csp_directives(response) -> dict:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize("path", ["/", "/login", "/requests", "/no-such-page", "/healthz",
                                  "/static/css/app.css"])
def test_security_headers_on_every_response(client, path):
    response = client.get(path)

    policy = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    directives = csp_directives(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_html_responses_vary_on_hx_request(client, alice):
    for response in (client.get("/"), client.get("/requests"), client.get("/no-such-page"),
                     client.htmx("GET", "/no-such-page")):
        assert "HX-Request" in response.headers.get("Vary", ""), response.request.path
        assert response.headers["Cache-Control"] == "no-store"


def test_security_headers_keep_what_a_response_set_itself(app):
    from flask import Response

    from wb.security import _security_headers

    own = Response("<p>hi</p>", headers={"X-Frame-Options": "SAMEORIGIN", "Cache-Control": "max-age=60",
                                         "Vary": "Accept-Encoding"})
    answered = _security_headers(own).headers
    assert answered.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert answered.getlist("Cache-Control") == ["max-age=60"]
    assert answered.getlist("Vary") == ["Accept-Encoding, HX-Request"]
    assert answered["Referrer-Policy"] == "same-origin"

    again = _security_headers(Response("<p>hi</p>", headers={"Vary": "hx-request"})).headers
    assert again.getlist("Vary") == ["hx-request"]  # said once, in any case
    assert _security_headers(Response("{}", mimetype="application/json")).headers.get("Vary") is None


def test_signed_in_pages_are_not_cached(client, alice):
    client.login("alice")
    assert client.get("/members").headers["Cache-Control"] == "no-store"


# --- size limit -----------------------------------------------------------------------------------

def test_oversized_body_gets_the_413_page(client, alice, app):
    client.login("alice")
    too_big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)

    response = client.post("/requests/new", data={"title": "big", "body": too_big})

    assert response.status_code == 413
    page = text(response)
    assert "<h1>Too large</h1>" in page
    assert "That was more than we accept in one go." in page
    assert '<nav class="nav"' in page
    assert request_count() == 0


def test_oversized_htmx_body_gets_the_413_partial(client, alice, app):
    client.login("alice")
    too_big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)

    response = client.htmx("POST", "/requests/new", data={"title": "big", "body": too_big})

    assert response.status_code == 413
    assert "<html" not in text(response) and 'data-status="413"' in text(response)
    assert request_count() == 0


def test_max_content_length_is_set(app):
    assert 16 * 1024 <= app.config["MAX_CONTENT_LENGTH"] <= 1024 * 1024


# --- error pages ----------------------------------------------------------------------------------

ERROR_TITLES = {400: "Bad request", 403: "Not allowed", 404: "Not found", 405: "Method not allowed",
                413: "Too large", 429: "Slow down", 500: "Something went wrong"}


@pytest.mark.parametrize("code", sorted(ERROR_TITLES))
def test_error_pages_are_full_pages_with_the_site_nav(probe, code):
    response = probe.get(f"/_probe/abort/{code}")

    assert response.status_code == code
    page = text(response)
    assert page.lstrip().startswith("<!doctype html>")
    assert '<nav class="nav"' in page and 'class="whoami"><bdi>Alice</bdi></a>' in page
    assert f'<p class="error-code">Error code {code}</p>' in page
    assert page.index(f"<h1>{ERROR_TITLES[code]}</h1>") < page.index("error-code")  # the words first
    assert f"<h1>{ERROR_TITLES[code]}</h1>" in page
    assert 'href="/">Back to the start page</a>' in page


@pytest.mark.parametrize("code", sorted(ERROR_TITLES))
def test_error_pages_are_partials_for_htmx(probe, code):
    response = probe.htmx("GET", f"/_probe/abort/{code}")

    assert response.status_code == code
    page = text(response)
    assert "<html" not in page and "<nav" not in page
    assert page.lstrip().startswith(f'<div class="error-box" role="alert" data-status="{code}">')
    assert f"<h2>{ERROR_TITLES[code]}</h2>" in page


def test_boosted_htmx_navigation_gets_the_full_page(probe):
    response = probe.get("/_probe/abort/404", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in text(response)


@pytest.mark.parametrize(
    "method, path, code",
    [("GET", "/no-such-page", 404), ("GET", "/logout", 405), ("GET", "/admin/settings", 403),
     ("POST", "/requests/new", 400)],
)
def test_real_errors_render_both_ways(probe, method, path, code):
    kwargs = {"csrf": False} if method == "POST" else {}
    full = probe.open(path, method=method) if method == "GET" else probe.post(path, **kwargs)
    partial = probe.htmx(method, path, **kwargs)

    assert (full.status_code, partial.status_code) == (code, code)
    assert '<nav class="nav"' in text(full)
    assert "<html" not in text(partial) and f'data-status="{code}"' in text(partial)


def test_405_names_the_allowed_methods(client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) <= {"POST", "OPTIONS"}
    assert "POST" in response.headers["Allow"]


def test_unexpected_exception_shows_the_500_page_without_a_traceback(probe, caplog):
    response = probe.get("/_probe/crash")

    assert response.status_code == 500
    page = text(response)
    assert "<h1>Something went wrong</h1>" in page
    assert '<nav class="nav"' in page
    for leak in ("Traceback", "kaboom", "RuntimeError", "/srv/wb", "views.py"):
        assert leak not in page
    assert any(record.name == "wb.errors" and record.levelno == logging.ERROR
               and ("RuntimeError" in record.getMessage() or (record.exc_info or (None,))[0] is RuntimeError)
               for record in caplog.records), "the crash is logged for the operator"


def test_unexpected_exception_over_htmx_is_a_500_partial(probe):
    response = probe.htmx("POST", "/_probe/crash")

    assert response.status_code == 500
    page = text(response)
    assert "<html" not in page and 'data-status="500"' in page
    assert "kaboom" not in page and "Traceback" not in page


def test_error_pages_work_for_visitors_too(client):
    page = text(client.get("/no-such-page"))
    assert "Sign in" in page and "<h1>Not found</h1>" in page


# --- health ---------------------------------------------------------------------------------------

def test_healthz_says_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_checks_both_databases(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready"
    assert set(body["databases"]) == {"main", "messaging"}
    assert all(check["ok"] for check in body["databases"].values())


def ask_a_fresh_app(tmp_path, database_urls, *paths):
    """GET each path from a new app on these databases (nothing set up in them), then let it go."""
    config = {key: value for key, value in vars(TestConfig).items() if key.isupper()}
    config.update(database_urls, INSTANCE_PATH=str(tmp_path / "instance"), RATELIMIT_STORAGE_URI="memory://")
    app = create_app(config)
    try:
        return [app.test_client().get(path) for path in paths]
    finally:
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()


@pytest.mark.parametrize("broken", ["SQLALCHEMY_DATABASE_URI", "MESSAGING_DATABASE_URI"])
def test_readyz_is_503_when_a_database_is_unreachable(database_urls, tmp_path, broken):
    urls = {**database_urls, broken: f"sqlite:///{tmp_path / 'no-such-folder' / 'db.sqlite3'}"}
    response, healthz = ask_a_fresh_app(tmp_path, urls, "/readyz", "/healthz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    down = "main" if broken == "SQLALCHEMY_DATABASE_URI" else "messaging"
    up = "messaging" if down == "main" else "main"
    assert body["databases"][down]["ok"] is False
    assert body["databases"][up]["ok"] is True
    assert "no-such-folder" not in json.dumps(body)  # no paths or URLs leak out
    assert healthz.status_code == 200  # alive, just not ready


def test_users_table_is_untouched_by_error_pages(probe, alice):
    before = db.session.scalar(select(func.count(User.id)))
    probe.get("/_probe/crash")
    assert db.session.scalar(select(func.count(User.id))) == before


# --- input PostgreSQL can't store (NUL): refused, never a 500 ------------------------------------
# Form fields with control characters are refused by each form's validation (see the feature tests).

@pytest.mark.parametrize("path, status", [("/people/%00", 404), ("/people/ali%00ce", 404),
                                          ("/register?invite=%00", 400), ("/requests?page=1%00", 400)])
def test_nul_byte_in_a_url_is_refused_not_a_500(client, alice, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert '<nav class="nav"' in text(response)


def test_nul_byte_in_the_login_form_is_a_plain_mismatch(client, alice):
    response = client.post("/login", data={"username": "ali\x00ce", "password": "correct horse battery"})
    assert response.status_code == 400
    assert "That username and password don&#39;t match." in text(response)
    with client.session_transaction() as session:
        assert "_user_id" not in session


@pytest.fixture
def slowed(app, alice, messaging_on):
    """A signed-in client on the app with a page and an API path that refuse with a 429 and a wait."""

    def slow_down():
        raise TooManyRequests(retry_after=30)

    app.add_url_rule("/_probe/slow-down", "probe_slow_down", slow_down)
    app.add_url_rule("/api/v1/_probe/slow-down", "probe_api_slow_down", slow_down)
    member = app.test_client()
    member.login("alice")
    return member


def test_retry_after_headers_say_when_to_try_again():
    assert retry_after_headers(30) == {"Retry-After": "30"}
    assert retry_after_headers(None) == {} and retry_after_headers(0) == {}


@pytest.mark.parametrize("path, htmx", [("/_probe/slow-down", False), ("/_probe/slow-down", True),
                                        ("/api/v1/_probe/slow-down", False)])
def test_every_429_says_when_to_try_again(slowed, path, htmx):
    response = slowed.htmx("GET", path) if htmx else slowed.get(path)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"


def test_readyz_is_503_on_an_instance_never_initialised(tmp_path):
    """Every page would fail on a main database without its tables (`./wb init` not run): not ready."""
    [response] = ask_a_fresh_app(tmp_path, {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'wb.sqlite3'}",
                                            "MESSAGING_DATABASE_URI": f"sqlite:///{tmp_path / 'messaging.sqlite3'}"},
                                 "/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["databases"]["main"] == {"ok": False, "engine": "sqlite", "error": "NoSchema"}


def test_a_send_too_large_to_take_brings_the_box_back_saying_so(chat, app):
    """The "Too large" box took the message box's place (an operator tester pasted 1 MB)."""
    from messaging_helpers import messages_in

    alice_client, _, cid = chat
    too_big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = alice_client.post(f"/messages/{cid}", data={"body": too_big}, headers={"HX-Request": "true"})
    assert response.status_code == 413
    page = text(response)
    assert 'id="compose-body"' in page and "this one is far longer: nothing was sent" in page
    assert messages_in(cid) == []
    # without htmx, and elsewhere, the usual page
    assert "<h1>Too large</h1>" in text(alice_client.post(f"/messages/{cid}", data={"body": too_big}))
