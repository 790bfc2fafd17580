"""Suspending a spammer can remove what they wrote: their requests and comments stayed atop everyone's
home page until an admin removed them one by one (outside testers). Off unless ticked; the words are
deleted, as removing each one deletes them, and the removal is listed in Admin → Members with counts."""
import re

import pytest
from sqlalchemy import func, select

from helpers import reload, text
from messaging_helpers import visible_text
from wb.extensions import db
from wb.models import AuditEvent, Comment, HelpRequest, User


@pytest.fixture
def admin_client(admin, login):
    return login(admin)


@pytest.fixture
def spam(make_user, alice, help_request):
    """Sam's two requests and his comment under Alice's; Alice's comment under one of his."""
    sam = make_user("sam", display_name="Sam Spam")
    first = HelpRequest(author_id=sam.id, title="Cheap watches", body="Visit my shop for deals")
    second = HelpRequest(author_id=sam.id, title="Crypto tips", body="Double your coins")
    db.session.add_all([first, second])
    db.session.flush()
    db.session.add_all([Comment(request_id=help_request.id, author_id=sam.id, body="Buy a ladder at my shop"),
                        Comment(request_id=first.id, author_id=alice.id, body="Is this a scam?")])
    db.session.commit()
    return sam


def count(model, *where):
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_the_suspend_page_offers_to_remove_their_posts_unticked(admin_client, spam):
    members = text(admin_client.get("/admin/members"))
    suspend_form = re.search(r'<form[^>]*action="/admin/members/sam/suspend"[^>]*>', members).group(0)
    assert "data-confirm" not in suspend_form  # a dialog couldn't offer the choice: the page asks

    asked = admin_client.post("/admin/members/sam/suspend")
    page = text(asked)

    box = re.search(r'<input type="checkbox" name="remove_posts"[^>]*>', page).group(0)
    assert 'value="1"' in box and "checked" not in box
    assert "Also remove their requests and comments" in page
    assert "(2 requests and 1 comment;" in visible_text(asked)
    assert reload(User, spam.id).status == "active"


def test_suspending_without_the_option_keeps_their_posts(admin_client, spam, help_request):
    response = admin_client.post("/admin/members/sam/suspend", data={"confirmed": "1"})

    assert response.status_code == 302 and reload(User, spam.id).status == "suspended"
    assert count(HelpRequest, HelpRequest.author_id == spam.id) == 2
    assert count(Comment, Comment.author_id == spam.id) == 1
    assert "Cheap watches" in text(admin_client.get("/"))


def test_suspending_with_the_option_removes_their_requests_and_comments(admin_client, admin, spam, alice,
                                                                        help_request, login):
    response = admin_client.post("/admin/members/sam/suspend", data={"confirmed": "1", "remove_posts": "1"})

    assert response.status_code == 302 and reload(User, spam.id).status == "suspended"
    # Gone, text and all, with the comments others left under his requests (as removing a request does).
    assert count(HelpRequest, HelpRequest.author_id == spam.id) == 0
    assert count(Comment, Comment.author_id == spam.id) == 0
    assert count(Comment, Comment.body == "Is this a scam?") == 0
    assert reload(HelpRequest, help_request.id) is not None  # Alice's request stays
    home = text(login(alice).get("/"))
    assert "Cheap watches" not in home and "Crypto tips" not in home and "Borrow a ladder" in home
    assert "Buy a ladder at my shop" not in text(login(alice).get(f"/requests/{help_request.id}"))
    # Recorded once, with how many (never the words), and listed beside the suspension.
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.subject == f"user:{spam.id}")
                                .order_by(AuditEvent.id)).all()
    assert [(event.action, event.actor_id, event.new_value) for event in events] == [
        ("member.suspended", admin.id, "suspended"), ("member.posts_removed", admin.id, "2 requests, 1 comment")]
    page = text(admin_client.get(response.location))
    assert "Removed 2 of their requests and 1 of their comments." in page
    listed = page.split("Recent member actions", 1)[1]
    rows = listed.split("<tr>")[2:]
    assert "Requests and comments removed: <bdi>2 requests, 1 comment</bdi>" in rows[0] and "Sam Spam</bdi> <bdi class=\"muted\">@sam" in rows[0]
    assert "Suspended" in rows[1]
    assert "watches" not in listed and "shop" not in listed


def test_the_option_removes_nothing_of_anyone_else(admin_client, spam, make_user, alice, help_request):
    quiet = make_user("quiet")
    done = admin_client.post("/admin/members/quiet/suspend", data={"confirmed": "1", "remove_posts": "1"})

    assert "They had no requests or comments to remove." in text(admin_client.get(done.location))

    assert reload(User, quiet.id).status == "suspended"
    assert count(HelpRequest) == 3 and count(Comment) == 2
    assert count(AuditEvent, AuditEvent.action == "member.posts_removed") == 0  # nothing removed, nothing listed
