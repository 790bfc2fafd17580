"""After signing in or switching a setting, `next` only ever leads to a page on this site."""
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import PASSWORD
from wb.extensions import db
from wb.models import FeatureFlag, User
from messaging_helpers import visible_text

# Each as it appears, percent-encoded, in a query string or a form body.
ELSEWHERE = [
    "/%09/evil.example",      # Werkzeug drops the tab: Location would be //evil.example
    "/%0A/x", "/%0D/x", "/%0D%0A/x",  # a line break in a header was a 500, after the sign-in
    "%09//evil.example", "%20//evil.example", "/%E2%80%A8/evil.example", "/%C2%85/evil.example",
    "//evil", "///evil", "https://evil", "http:/evil", "https:evil", "javascript:alert(1)",
    "/%5Cevil", "%5C%5Cevil", "/%2F/evil", "%2F%2Fevil", "evil.example/x", "",
]


def is_same_site_path(location: str) -> bool:
    """What a browser would stay on this site for: a plain path, no scheme, no host."""
    parts = urlsplit(location)
    return (location.startswith("/") and not location.startswith(("//", "/\\"))
            and not parts.scheme and not parts.netloc
            and not any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in location))


def sign_in(client, next_query):
    return client.post(f"/login?next={next_query}", data={"username": "alice", "password": PASSWORD})


def toggle(admin_client, next_form_value):
    body = f"enabled=1&next={next_form_value}"
    return admin_client.post("/admin/settings/direct_messaging", data=body,
                             content_type="application/x-www-form-urlencoded")


@pytest.fixture
def admin_client(admin, login):
    return login(admin)


@pytest.mark.parametrize("target", ELSEWHERE)
def test_signing_in_never_leaves_the_site(client, alice, target):
    response = sign_in(client, target)

    assert response.status_code == 302
    assert response.location == "/"
    with client.session_transaction() as session:
        assert session["_user_id"] == alice.get_id()  # signed in as Alice


@pytest.mark.parametrize("target", ELSEWHERE)
def test_switching_a_setting_never_leaves_the_site(admin_client, target):
    response = toggle(admin_client, target)

    assert response.status_code == 302
    assert response.location == "/admin/settings"
    db.session.expire_all()
    assert db.session.get(FeatureFlag, "direct_messaging").enabled is True


@pytest.mark.parametrize("target", ["/%252F/evil", "/%2509/x", "/members?x=//evil"])
def test_encoded_lookalikes_stay_paths_on_this_site(client, alice, target):
    response = sign_in(client, target)

    assert response.status_code == 302
    assert is_same_site_path(response.location), response.location


@pytest.mark.parametrize("target, location", [("/messages%3Ffilter%3Dunread", "/messages?filter=unread"),
                                              ("/members", "/members"), ("/requests/1%23comment-2", "/requests/1#comment-2")])
def test_a_page_on_this_site_is_still_where_signing_in_leads(client, alice, target, location):
    response = sign_in(client, target)

    assert response.status_code == 302
    assert response.location == location


def test_a_page_on_this_site_is_still_where_a_setting_switch_leads(admin_client):
    response = toggle(admin_client, "/messages%3Ffilter%3Dunread")

    assert response.status_code == 302
    assert response.location == "/messages?filter=unread"


def test_an_htmx_setting_switch_keeps_no_foreign_next_in_its_fallback_form(admin_client):
    response = admin_client.htmx("POST", "/admin/settings/direct_messaging", data={"enabled": "1", "next": "/\t/evil"})

    assert response.status_code == 200
    assert "evil" not in response.get_data(as_text=True)


@pytest.mark.parametrize("page, back_to", [
    ("http://localhost/messages/7?page=2", "/messages/7?page=2"),
    ("https://evil.example/phish", "/phish"),  # only the path of the page is kept
    ("http://localhost//evil.example", "/"),
    ("", "/"),
])
def test_a_part_of_a_page_whose_session_ended_sends_the_whole_page_to_sign_in(app, client, messaging_on, page, back_to):
    """htmx follows a redirect and would draw the sign-in page inside the part that asked (the
    thread, the compose box): a 401 with HX-Redirect takes the whole page instead, and its `next`
    is the page, never another site."""
    response = client.get("/messages/badge", headers={"HX-Request": "true", "HX-Current-URL": page})
    assert response.status_code == 401
    location = response.headers["HX-Redirect"]
    assert location.startswith("/login?next=")
    from urllib.parse import parse_qs
    assert parse_qs(urlsplit(location).query)["next"] == [back_to]
    assert is_same_site_path(location)


def test_an_htmx_post_whose_session_is_gone_goes_to_sign_in_not_a_form_expired_page(app, client, messaging_on):
    """No session cookie at all (the browser was closed meanwhile): the CSRF check fails first."""
    response = client.post("/messages/1", data={"body": "kept by the page"},
                           headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/messages/1"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/messages/1&ended=1"
    page = client.get(response.headers["HX-Redirect"]).get_data(as_text=True)
    # It can't tell why: a cleared cookie read "signed out on another device, by a password change or by
    # an admin" (which alarmed a residents' building's tester).
    assert "This browser is no longer signed in (signed out in another tab, or its sign-in was cleared or ran out)." \
        in " ".join(page.split())
    assert "another device" not in page
    assert "no longer signed in" not in client.get("/login?next=/messages/1").get_data(as_text=True)


@pytest.mark.parametrize("ending, why, words", [
    ("closed", "closed", "This account is closed, so it can't be signed in to again."),
    ("erased", "closed", "This account is closed, so it can't be signed in to again."),
    ("suspended", "suspended", "An admin suspended this account, so it was signed out. Contact an admin outside WhiteBalloon (the member who invited you can reach them)"),
    ("signed out elsewhere", "elsewhere", "You were signed out from another device, or by a change of password."),
])
def test_an_open_page_whose_account_ended_is_told_why_on_the_sign_in_page(login, alice, admin, messaging_on,
                                                                          ending, why, words):
    """A closed, erased or suspended member's open tab went to a sign-in page that told them to sign in
    again, which they never can (outside testers). The tab's live ask is sent there with the reason."""
    from wb.auth import service
    from wb.extensions import db
    from wb.people import leaving

    client = login(alice)
    member = db.session.get(User, alice.id)
    if ending == "closed":
        leaving.close_account(member)
    elif ending == "erased":
        leaving.erase_member(member, actor=admin)
    elif ending == "suspended":
        service.set_status(member, "suspended")
        db.session.commit()
    else:
        service.end_sessions(member, "signed_out")
    live = client.get("/messages/live?since=0")  # live.js's fetch: not an htmx request
    assert live.status_code == 302
    query = parse_qs(urlsplit(live.location).query)
    assert query.get("ended") == ([why] if why else None)
    part = client.get("/messages/badge", headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/messages"})
    assert parse_qs(urlsplit(part.headers["HX-Redirect"]).query)["ended"] == [why or "1"]
    page = client.get(f"/login?next=/messages&ended={why or 1}")
    assert words in visible_text(page)


@pytest.mark.parametrize("why, words", [
    ("elsewhere", "signed out from another device"), ("closed", "This account is closed"),
    ("suspended", "An admin suspended this account"),
])
def test_a_link_made_to_say_why_says_nothing_the_session_doesnt(client, alice, why, words):
    """A crafted /login?ended=elsewhere alarmed a member who was never signed in (a re-check tester);
    "closed" would have had the page forget the tab's drafts."""
    page = client.get(f"/login?ended={why}").get_data(as_text=True)
    assert words not in page and "data-forget-drafts" not in page
