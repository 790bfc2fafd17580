"""Help requests and comments: reading, posting, bad input, pending members."""
import re

import pytest
from sqlalchemy import func, select

from wb.access import PENDING_EXPLANATION
from wb.extensions import db
from wb.messaging.models import LiveEvent
from wb.models import Comment, HelpRequest


def text(response) -> str:
    return response.get_data(as_text=True)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def penny(make_user):
    return make_user("penny", status="pending")


# --- reading --------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/requests", "/requests/1", "/people/alice", "/people/nobody"])
def test_visitors_are_sent_to_sign_in_for_what_members_wrote(client, help_request, path):
    """An invite-only community: requests, comments and profiles (and whether a name is a member's)
    are for members; a visitor is asked to sign in, and comes back to the page."""
    response = client.get(path)
    assert response.status_code == 302 and response.location == f"/login?next={path}"


def test_a_visitors_home_page_shows_nothing_members_wrote(client, help_request):
    page = text(client.get("/"))
    assert "Sign in" in page and "ask a member you know for an invite link" in page.lower()
    assert "Borrow a ladder" not in page and "Alice" not in page
    # nor a "Requests" link that only leads to the sign-in page (a street's tester)
    assert 'href="/requests"' not in page


def test_members_read_the_list_and_a_request(client, help_request, bob):
    db.session.add(Comment(request_id=help_request.id, author_id=bob.id, body="I have a long one."))
    db.session.commit()
    client.login("bob")

    listing = client.get("/requests")
    assert listing.status_code == 200
    assert "Borrow a ladder" in text(listing)
    assert 'href="/people/alice"><bdi>Alice</bdi></a>' in text(listing)

    page = client.get(f"/requests/{help_request.id}")
    assert page.status_code == 200
    body = text(page)
    assert "Mine is too short for the gutters." in body
    assert "I have a long one." in body
    assert 'name="body"' in body  # an active member comments


def test_empty_list_says_so(client, alice):
    client.login("alice")
    page = text(client.get("/requests"))
    assert "No requests yet." in page
    assert "Be the first to ask." in page


def test_list_is_newest_first_and_paginated(client, alice):
    client.login("alice")
    for n in range(25):
        db.session.add(HelpRequest(author_id=alice.id, title=f"Request number {n:02d}", body="details"))
    db.session.commit()

    first = text(client.get("/requests"))
    assert first.index("Request number 24") < first.index("Request number 05")
    assert "Request number 04" not in first
    assert "Page 1 of 2" in first

    second = text(client.get("/requests?page=2"))
    assert "Request number 04" in second and "Request number 00" in second
    assert "Request number 05" not in second


@pytest.mark.parametrize("page", ["abc", "0", "-3", "99999999999999999999999", ""])
def test_odd_page_numbers_show_the_first_page(client, help_request, page):
    client.login("alice")
    response = client.get(f"/requests?page={page}")
    assert response.status_code == 200
    assert "Borrow a ladder" in text(response)


def test_page_past_the_end_is_empty_not_an_error(client, help_request):
    client.login("alice")
    response = client.get("/requests?page=40")
    assert response.status_code == 200
    assert "Borrow a ladder" not in text(response)


@pytest.mark.parametrize(
    "path",
    ["/requests/abc", "/requests/1.5", "/requests/-1", "/requests/0", "/requests/999999",
     "/requests/9223372036854775808", "/requests/99999999999999999999999999"],
)
def test_missing_or_non_numeric_request_ids_are_404(client, help_request, path):
    client.login("alice")
    response = client.get(path)
    assert response.status_code == 404
    assert "Not found" in text(response)
    assert '<nav class="nav"' in text(response)


@pytest.mark.parametrize("path", ["/requests/abc/comments", "/requests/999999/comments",
                                  "/requests/99999999999999999999999999/comments"])
def test_commenting_on_missing_or_non_numeric_ids_is_404(client, alice, help_request, path):
    client.login("alice")
    response = client.post(path, data={"body": "hello"})
    assert response.status_code == 404
    assert count(Comment) == 0


def test_request_text_is_escaped(client, alice):
    client.login("alice")
    db.session.add(HelpRequest(author_id=alice.id, title="<script>alert(1)</script>", body="<b>bold</b>"))
    db.session.commit()

    listing = text(client.get("/requests"))
    assert "<script>alert(1)</script>" not in listing
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing
    page = text(client.get(f"/requests/{db.session.scalar(select(HelpRequest.id))}"))
    assert "&lt;b&gt;bold&lt;/b&gt;" in page


def data_queries(statements) -> list[str]:
    """The statements that load page data (flag reads are cached and counted elsewhere)."""
    return [statement for statement in statements if "feature_flags" not in statement]


def test_list_query_count_does_not_grow_with_authors(client, make_user, count_queries):
    make_user("reader")
    client.login("reader")
    for n in range(3):
        author = make_user(f"author{n}")
        db.session.add(HelpRequest(author_id=author.id, title=f"t{n}", body="b"))
    db.session.commit()
    with count_queries() as few:
        client.get("/requests")
    for n in range(3, 15):
        author = make_user(f"author{n}")
        db.session.add(HelpRequest(author_id=author.id, title=f"t{n}", body="b"))
    db.session.commit()
    with count_queries() as many:
        assert client.get("/requests").status_code == 200
    assert len(data_queries(many)) == len(data_queries(few))


def test_request_page_query_count_does_not_grow_with_comments(client, help_request, make_user, count_queries):
    client.login("alice")
    commenter = make_user("commenter0")
    db.session.add(Comment(request_id=help_request.id, author_id=commenter.id, body="c0"))
    db.session.commit()
    with count_queries() as few:
        client.get(f"/requests/{help_request.id}")
    for n in range(1, 10):
        commenter = make_user(f"commenter{n}")
        db.session.add(Comment(request_id=help_request.id, author_id=commenter.id, body=f"c{n}"))
    db.session.commit()
    with count_queries() as many:
        client.get(f"/requests/{help_request.id}")
    assert len(data_queries(many)) == len(data_queries(few))


# --- posting --------------------------------------------------------------------------------------

def test_visitor_is_sent_to_login_to_post(client):
    response = client.get("/requests/new")
    assert response.status_code == 302
    assert response.location == "/login?next=/requests/new"
    assert client.post("/requests/new", data={"title": "t", "body": "b"}).status_code == 302
    assert count(HelpRequest) == 0


def test_member_posts_a_request(client, alice):
    client.login("alice")
    form = client.get("/requests/new")
    assert form.status_code == 200
    assert 'name="title"' in text(form)

    response = client.post("/requests/new", data={"title": "  Need a drill  ", "body": "For two shelves."})

    stored = db.session.scalar(select(HelpRequest))
    assert (stored.title, stored.body, stored.author_id, stored.status) == (
        "Need a drill", "For two shelves.", alice.id, "open")
    assert response.status_code == 302
    assert response.location == f"/requests/{stored.id}"
    page = text(client.get(response.location))
    assert "Your request is posted." in page
    assert "Need a drill" in page and "For two shelves." in page
    assert "Need a drill" in text(client.get("/requests"))
    assert "Need a drill" in text(client.get("/people/alice"))


@pytest.mark.parametrize(
    "form, message",
    [
        ({"title": "", "body": "details"}, "Give your request a short title."),
        ({"title": "   ", "body": "details"}, "Give your request a short title."),
        ({"title": "Title", "body": ""}, "Say what you need help with."),
        ({"title": "Title", "body": " \n "}, "Say what you need help with."),
        ({}, "Give your request a short title."),
        ({"title": "t" * 121, "body": "details"}, "Titles can be at most 120 characters."),
        ({"title": "Title", "body": "b" * 5001}, "Requests can be at most 5,000 characters."),
        ({"title": "Lad\x00der", "body": "details"}, "Use text only; remove the control characters and try again."),
        ({"title": "Title", "body": "bell\x07 and nul\x00"}, "Use text only; remove the control characters and try again."),
    ],
)
def test_bad_request_input_is_shown_on_the_form(client, alice, form, message):
    client.login("alice")

    response = client.post("/requests/new", data=form)

    assert response.status_code == 400
    page = text(response)
    assert message in page
    assert '<form method="post" action="/requests/new"' in page
    assert count(HelpRequest) == 0


def test_form_keeps_what_was_typed_after_an_error(client, alice):
    client.login("alice")
    page = text(client.post("/requests/new", data={"title": "", "body": "My careful details"}))
    assert "My careful details</textarea>" in page


def test_line_breaks_and_tabs_are_kept(client, alice):
    client.login("alice")
    client.post("/requests/new", data={"title": "List", "body": "one\r\n\ttwo\nthree"})
    assert db.session.scalar(select(HelpRequest.body)) in ("one\r\n\ttwo\nthree", "one\n\ttwo\nthree")


def test_longest_allowed_request_is_accepted(client, alice):
    client.login("alice")
    response = client.post("/requests/new", data={"title": "t" * 120, "body": "b" * 5000})
    assert response.status_code == 302
    assert count(HelpRequest) == 1


# --- comments -------------------------------------------------------------------------------------

def test_member_comments_on_a_request(client, bob, help_request):
    client.login("bob")
    page = text(client.get(f"/requests/{help_request.id}"))
    assert "No comments yet." in page
    assert f'action="/requests/{help_request.id}/comments"' in page

    response = client.post(f"/requests/{help_request.id}/comments", data={"body": " I can lend mine. "})

    stored = db.session.scalar(select(Comment))
    assert (stored.body, stored.author_id, stored.request_id) == ("I can lend mine.", bob.id, help_request.id)
    assert response.status_code == 302
    assert response.location == f"/requests/{help_request.id}#comment-{stored.id}"
    page = text(client.get(f"/requests/{help_request.id}"))
    assert "Comment posted." in page
    assert f'id="comment-{stored.id}"' in page and "I can lend mine." in page


def test_comments_are_shown_oldest_first(client, alice, bob, help_request):
    client.login("bob")
    for body in ("first comment", "second comment", "third comment"):
        client.post(f"/requests/{help_request.id}/comments", data={"body": body})
    page = text(client.get(f"/requests/{help_request.id}"))
    assert page.index("first comment") < page.index("second comment") < page.index("third comment")


@pytest.mark.parametrize(
    "body, message",
    [("", "Write something before posting."), ("   ", "Write something before posting."),
     ("c" * 5001, "Comments can be at most 5,000 characters."), ("nul\x00byte", "Use text only; remove the control characters and try again.")],
)
def test_bad_comment_is_shown_on_the_request_page(client, bob, help_request, body, message):
    db.session.add(Comment(request_id=help_request.id, author_id=bob.id, body="an earlier comment"))
    db.session.commit()
    client.login("bob")

    response = client.post(f"/requests/{help_request.id}/comments", data={"body": body})

    assert response.status_code == 400
    page = text(response)
    assert message in page
    assert "Borrow a ladder" in page and "an earlier comment" in page
    assert count(Comment) == 1


def test_visitor_cannot_comment(client, help_request):
    response = client.post(f"/requests/{help_request.id}/comments", data={"body": "hi"})
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")
    assert count(Comment) == 0


# --- pending members read but do not post ---------------------------------------------------------

def test_pending_member_can_read_requests(client, penny, help_request):
    client.login("penny")

    listing = client.get("/requests")
    assert listing.status_code == 200
    assert "Borrow a ladder" in text(listing)
    assert "Ask for help" not in text(listing)

    page = client.get(f"/requests/{help_request.id}")
    assert page.status_code == 200
    assert "You can comment once an admin approves your account." in text(page)
    assert 'name="body"' not in text(page)


def test_pending_member_cannot_post_a_request(client, penny):
    client.login("penny")

    for response in (client.get("/requests/new"),
                     client.post("/requests/new", data={"title": "Spam", "body": "Spam"})):
        assert response.status_code == 403
        page = text(response)
        assert "waiting for an admin to approve it" in page
        assert "Waiting for approval" in page  # full page with the nav's tag
    assert count(HelpRequest) == 0


def test_pending_member_cannot_comment(client, penny, help_request):
    client.login("penny")

    response = client.post(f"/requests/{help_request.id}/comments", data={"body": "hello"})

    assert response.status_code == 403
    assert PENDING_EXPLANATION.replace("'", "&#39;") in text(response)
    assert count(Comment) == 0


def test_pending_member_gets_a_partial_403_over_htmx(client, penny, help_request):
    client.login("penny")

    response = client.htmx("POST", f"/requests/{help_request.id}/comments", data={"body": "hello"})

    assert response.status_code == 403
    assert "<html" not in text(response)
    assert "waiting for an admin to approve it" in text(response)
    assert count(Comment) == 0


def test_approved_member_can_post(client, penny, admin, login):
    client.login("penny")
    assert client.get("/requests/new").status_code == 403

    login(admin).post("/admin/members/penny/approve")

    assert client.get("/requests/new").status_code == 200
    assert client.post("/requests/new", data={"title": "Now I can", "body": "ask"}).status_code == 302
    assert count(HelpRequest) == 1


# --- the dashboard --------------------------------------------------------------------------------

def test_dashboard_lists_the_five_latest_requests_with_authors(client, make_user, count_queries):
    def add(n):
        author = make_user(f"author{n}", display_name=f"Author {n}")
        db.session.add(HelpRequest(author_id=author.id, title=f"Dashboard request {n}", body="b"))
        db.session.commit()

    make_user("reader")
    client.login("reader")
    add(0)
    with count_queries() as few:
        client.get("/")
    for n in range(1, 7):
        add(n)
    with count_queries() as many:
        page = text(client.get("/"))

    assert [f"Dashboard request {n}" in page for n in range(7)] == [False, False, True, True, True, True, True]
    assert page.index("Dashboard request 6") < page.index("Dashboard request 2")
    assert re.search(r'by <a href="/people/[^"]+"><bdi>Author 6</bdi></a>', page)  # the profile, as every byline
    assert len(data_queries(many)) == len(data_queries(few))


def test_pending_member_dashboard_has_no_ask_button(client, penny):
    client.login("penny")
    page = text(client.get("/"))
    assert 'href="/requests/new"' not in page
    assert "posting, commenting and messaging open up once you" in page


# --- floods ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("app_config", [{"REQUEST_RATE_LIMIT": "2 per hour"}])
def test_posting_requests_too_fast_is_a_429_that_keeps_what_was_typed(client, alice, app_config):
    client.login("alice")
    for n in range(2):
        assert client.post("/requests/new", data={"title": f"Ladder {n}", "body": "details"}).status_code == 302
    response = client.post("/requests/new", data={"title": "Cheap watches", "body": "Buy now"})
    assert response.status_code == 429 and 3000 < int(response.headers["Retry-After"]) <= 3600
    page = text(response)
    assert "posted 2 requests in a short time" in page and "Try again in 60 minutes" in page
    assert 'value="Cheap watches"' in page and ">Buy now</textarea>" in page
    assert count(HelpRequest) == 2


@pytest.mark.parametrize("app_config", [{"COMMENT_RATE_LIMIT": "2 per hour"}])
def test_commenting_too_fast_is_a_429_that_keeps_what_was_typed(client, bob, help_request, app_config):
    client.login("bob")
    bad = client.post(f"/requests/{help_request.id}/comments", data={"body": ""})  # refused input counts nothing
    assert bad.status_code == 400
    for n in range(2):
        assert client.post(f"/requests/{help_request.id}/comments", data={"body": f"c{n}"}).status_code == 302
    response = client.post(f"/requests/{help_request.id}/comments", data={"body": "Buy now"})
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    page = text(response)
    assert "posted 2 comments in a short time" in page and ">Buy now</textarea>" in page
    assert "Borrow a ladder" in page
    assert count(Comment) == 2


def test_authors_of_requests_and_comments_are_shown_with_their_username(client, make_user, login):
    """A scammer named "Sam Green™" commented under Sam Green's listing "Pay a deposit to hold it", and it
    read as Sam's own reply (a marketplace's tester): names come with their @username, as in the directory."""
    from helpers import post_requests_and_comments
    from messaging_helpers import visible_text

    sam, sammy = make_user("sam", display_name="Sam Green"), make_user("sammy", display_name="Sam Green™")
    listing, = post_requests_and_comments([(sam, "Bike for sale", "Red, 3 gears")],
                                          [(0, sammy, "Update: reserved. Pay a deposit to hold it")])
    viewer = login(make_user("bea"))
    page = visible_text(viewer.get(f"/requests/{listing.id}"))
    assert "by Sam Green @sam" in page and "Sam Green™ @sammy" in page
    assert "Bike for sale by Sam Green @sam" in visible_text(viewer.get("/requests"))


def test_a_post_whose_session_ended_signs_in_back_to_the_form_s_page(client, help_request):
    """A comment posted as the session ended elsewhere went to sign in with next= the post's address, which
    answered 405 after signing in (a re-check tester): next is the page the form was on."""
    response = client.post(f"/requests/{help_request.id}/comments", data={"body": "Soup at 6"},
                           headers={"Referer": f"http://localhost/requests/{help_request.id}"})
    from urllib.parse import parse_qs, urlsplit

    def next_of(answer):
        assert answer.status_code == 302 and urlsplit(answer.location).path == "/login"
        return parse_qs(urlsplit(answer.location).query)["next"]

    assert next_of(response) == [f"/requests/{help_request.id}"]
    other_site = client.post(f"/requests/{help_request.id}/comments", data={"body": "x"},
                             headers={"Referer": "https://evil.example/requests/1"})
    assert next_of(other_site) == ["/"]  # another site's page: the start page


# --- ids are never handed out twice ---------------------------------------------------------------

def request_id_of(location: str) -> int:
    return int(location.rsplit("/", 1)[1])


def test_a_removed_requests_address_never_opens_a_newer_request(client, help_request):
    """On SQLite a removed request's id went to the next one posted, so an old link (pasted in a
    message, bookmarked) opened another member's request (an outside tester)."""
    client.login("alice")
    removed = client.post("/requests/new", data={"title": "Borrow a tent", "body": "For a weekend."}).location
    assert client.post(f"{removed}/remove", data={"confirmed": "1"}).status_code == 302

    newer = client.post("/requests/new", data={"title": "Lend a drill", "body": "Two shelves."}).location

    assert request_id_of(newer) > request_id_of(removed)
    assert client.get(removed).status_code == 404


def test_the_migration_keeps_every_request_and_comment_and_ids_stay_unused(app, client, alice, bob):
    """Upgrading a community: the requests table is rebuilt on SQLite, and dropping the old one
    cascades to comments; every request and comment stays as it was, and from then on a removed
    request's id is never handed out again. Downgrade keeps them too."""
    from datetime import datetime

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text as sql

    def rows():
        return {table: db.session.execute(sql(f"SELECT * FROM {table} ORDER BY id")).all()
                for table in ("help_requests", "comments")}

    alice_id, bob_id = alice.id, bob.id
    db.session.remove()
    downgrade(revision="c3a7e9b1d5f2")
    db.engine.dispose()
    requests = [HelpRequest(author_id=alice_id, title="Borrow a ladder", body="For the gutters.",
                            created_at=datetime(2026, 3, 1, 9, 30, 15, 123456)),
                HelpRequest(author_id=bob_id, title="Soup", body="Anyone?", status="closed"),
                HelpRequest(author_id=alice_id, title="Lend a drill", body="Two shelves.")]
    db.session.add_all(requests)
    db.session.flush()
    db.session.add_all([Comment(request_id=requests[0].id, author_id=bob_id, body="Mine is long.",
                                created_at=datetime(2026, 3, 1, 10, 0, 0, 654321)),
                        Comment(request_id=requests[2].id, author_id=bob_id, body="Here's one."),
                        Comment(request_id=requests[0].id, author_id=alice_id, body="Thanks!")])
    db.session.commit()
    before, newest = rows(), requests[2].id
    assert len(before["comments"]) == 3
    db.session.remove()

    upgrade()
    db.engine.dispose()

    assert rows() == before
    if db.engine.dialect.name == "sqlite":
        assert "AUTOINCREMENT" in db.session.scalar(sql("SELECT sql FROM sqlite_master WHERE name = 'help_requests'"))
    client.login("alice")
    assert client.post(f"/requests/{newest}/remove", data={"confirmed": "1"}).status_code == 302
    posted = client.post("/requests/new", data={"title": "Borrow a tent", "body": "For a weekend."}).location
    assert request_id_of(posted) > newest
    assert client.get(f"/requests/{newest}").status_code == 404
    after_posting = rows()
    # the removed request's comment went with it
    assert [comment.body for comment in after_posting["comments"]] == ["Mine is long.", "Thanks!"]
    db.session.remove()

    downgrade(revision="c3a7e9b1d5f2")
    db.engine.dispose()
    assert rows() == after_posting
    db.session.remove()
    upgrade()
    db.engine.dispose()
    assert rows() == after_posting


def test_a_community_that_only_messages_switches_help_requests_off_and_nothing_posted_is_lost(app, alice, bob, admin,
                                                                                               login):
    """A practice's clients read each other's requests ("Lift to the clinic on Thursdays... My appointments
    are at 10") and learnt that other clients exist (a therapy practice's tester): an admin switches
    requests off; no page shows them, and switched on again they are all there."""
    from helpers import post_requests_and_comments
    from messaging_helpers import visible_text

    [posted] = post_requests_and_comments([(alice, "Lift to the clinic on Thursdays", "My appointments are at 10")],
                                          [(0, bob, "I can drive you")])
    admin_client = login(admin)
    asked = admin_client.post("/admin/settings/help_requests", data={"enabled": "0"})
    assert asked.status_code == 200 and "Turn help requests off?" in visible_text(asked)  # it asks first
    assert admin_client.post("/admin/settings/help_requests", data={"enabled": "0", "confirmed": "1"}).status_code == 302

    bob_client = login(bob)
    told = [event.kind for event in db.session.scalars(select(LiveEvent).order_by(LiveEvent.id.desc()).limit(1))]
    assert told == ["features"]  # open pages are drawn again without requests (live.js)
    for path in ("/", "/people/alice", "/members"):
        page = visible_text(bob_client.get(path))
        assert "Lift to the clinic" not in page and "Requests" not in page and "Ask for help" not in page, path
    for method, path in (("GET", "/requests"), ("GET", "/requests/new"), ("GET", f"/requests/{posted.id}"),
                         ("POST", "/requests/new"), ("POST", f"/requests/{posted.id}/comments")):
        answer = bob_client.post(path, data={"title": "x", "body": "y"}) if method == "POST" else bob_client.get(path)
        assert answer.status_code == 404, path
        assert "Help requests aren't used in this community." in visible_text(answer)
        assert "Back to requests" not in visible_text(answer)
    assert db.session.scalar(select(func.count()).select_from(HelpRequest)) == 1

    assert admin_client.post("/admin/settings/help_requests", data={"enabled": "1"}).status_code == 302
    shown = visible_text(bob_client.get(f"/requests/{posted.id}"))
    assert "Lift to the clinic on Thursdays" in shown and "I can drive you" in shown
    assert "Lift to the clinic on Thursdays" in visible_text(bob_client.get("/"))
