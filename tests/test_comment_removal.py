"""Removing comments and requests, and a block that covers comments on the blocker's requests."""
import html

import pytest
from sqlalchemy import func, select

from wb.extensions import db
from wb.messaging.models import Block
from wb.models import AuditEvent, Comment, HelpRequest

PHONE = "Call me on 555 0199 about the ladder."


def text(response) -> str:
    """The page as a reader sees its words (an error page escapes the apostrophe in "can't")."""
    return html.unescape(response.get_data(as_text=True))


def comments_saying(words: str) -> int:
    """How many rows of the comments table still hold these words."""
    return db.session.scalar(select(func.count(Comment.id)).where(Comment.body.contains(words)))


@pytest.fixture
def carol(make_user):
    return make_user("carol")


@pytest.fixture
def bobs_comment(help_request, bob):
    """Bob's comment on Alice's request, with his phone number in it."""
    item = Comment(request_id=help_request.id, author_id=bob.id, body=PHONE)
    db.session.add(item)
    db.session.commit()
    return item


def remove_path(comment) -> str:
    return f"/requests/{comment.request_id}/comments/{comment.id}/remove"


# --- who may remove a comment ---------------------------------------------------------------------

@pytest.mark.parametrize("remover", ["bob", "alice", "admin"])
def test_author_request_author_and_admin_remove_a_comment(remover, request, login, bobs_comment):
    """Bob takes his phone number down; Alice clears her request; an admin removes anything. The
    text is gone from the database, not hidden, and the page says so."""
    member = login(request.getfixturevalue(remover))
    request_id, comment_id = bobs_comment.request_id, bobs_comment.id

    response = member.post(remove_path(bobs_comment), data={"confirmed": "1"})

    assert response.status_code == 302 and response.location == f"/requests/{request_id}#comments"
    assert db.session.scalar(select(func.count(Comment.id)).where(Comment.id == comment_id)) == 0
    assert comments_saying("555 0199") == 0
    page = text(member.get(f"/requests/{request_id}"))
    assert "Comment removed." in page and "555 0199" not in page


def test_other_members_get_403_and_the_comment_stays(login, bobs_comment, carol, make_user):
    for member in (carol, make_user("penny", status="pending")):
        response = login(member).post(remove_path(bobs_comment), data={"confirmed": "1"})
        assert response.status_code == 403
    assert comments_saying("555 0199") == 1


def test_a_request_author_cant_remove_comments_on_another_members_request(login, bobs_comment, carol):
    """Carol's own request doesn't make her a moderator of Alice's."""
    db.session.add(HelpRequest(author_id=carol.id, title="Carol's", body="x"))
    db.session.commit()
    assert login(carol).post(remove_path(bobs_comment), data={"confirmed": "1"}).status_code == 403
    assert comments_saying("555 0199") == 1


def test_unknown_comment_or_one_on_another_request_is_404(login, bobs_comment, alice, bob):
    other = HelpRequest(author_id=bob.id, title="Bob's", body="x")
    db.session.add(other)
    db.session.commit()
    member = login(alice)
    assert member.post(f"/requests/{bobs_comment.request_id}/comments/999999/remove",
                       data={"confirmed": "1"}).status_code == 404
    assert member.post(f"/requests/{other.id}/comments/{bobs_comment.id}/remove",
                       data={"confirmed": "1"}).status_code == 404
    assert comments_saying("555 0199") == 1
    assert member.post(remove_path(bobs_comment), data={"confirmed": "1"}).status_code == 302  # its own address


def test_removal_needs_the_csrf_token(login, bobs_comment, bob):
    response = login(bob).post(remove_path(bobs_comment), data={"confirmed": "1"}, csrf=False)
    assert response.status_code == 400
    assert comments_saying("555 0199") == 1


def test_without_javascript_a_page_asks_first(login, bobs_comment, bob):
    """A plain form (no dialog answered: confirmed empty) gets a page with the question, the comment,
    a button that posts again confirmed, and a way back; nothing is removed yet."""
    response = login(bob).post(remove_path(bobs_comment), data={"confirmed": ""})
    assert response.status_code == 200
    page = text(response)
    assert "Remove this comment?" in page and PHONE in page
    assert f'action="{remove_path(bobs_comment)}"' in page
    assert 'name="confirmed" value="1"' in page and 'name="csrf_token"' in page
    assert f'href="/requests/{bobs_comment.request_id}#comment-{bobs_comment.id}"' in page
    assert comments_saying("555 0199") == 1


def test_the_page_offers_remove_only_to_who_may(login, bobs_comment, alice, bob, carol):
    """Each may see a Remove button asking first with a dialog (data-confirm) where they may use it."""
    form = f'action="{remove_path(bobs_comment)}"'
    for member, offered in ((bob, True), (alice, True), (carol, False)):
        page = text(login(member).get(f"/requests/{bobs_comment.request_id}"))
        assert (form in page) is offered, member.username
        if offered:
            assert 'data-confirm="Remove this comment?' in page
            assert 'name="confirmed" value=""' in page


def test_an_admins_removal_of_anothers_comment_is_audited_with_ids_only(login, bobs_comment, admin, bob):
    request_id, comment_id = bobs_comment.request_id, bobs_comment.id
    member = login(admin)
    member.post(remove_path(bobs_comment), data={"confirmed": "1"})

    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "comment.removed"))
    assert event.actor_id == admin.id and event.subject == f"user:{bob.id}"
    assert event.new_value == f"comment {comment_id} on request {request_id}"
    assert "555" not in (event.old_value or "") + event.new_value
    page = text(member.get("/admin/members"))
    assert f"Comment removed: <bdi>comment {comment_id} on request {request_id}</bdi>" in page


def test_a_member_removing_their_own_comment_is_not_audited(login, bobs_comment, bob):
    assert login(bob).post(remove_path(bobs_comment), data={"confirmed": "1"}).status_code == 302
    assert comments_saying("555 0199") == 0
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "comment.removed")) == 0


# --- a block covers comments on the blocker's requests --------------------------------------------

@pytest.fixture
def alice_blocked_bob(alice, bob):
    db.session.add(Block(blocker_id=alice.id, blocked_id=bob.id))
    db.session.commit()


def test_a_blocked_member_sees_no_comment_form_and_no_word_of_a_block(login, help_request, bob, alice_blocked_bob):
    page = text(login(bob).get(f"/requests/{help_request.id}"))
    assert 'name="body"' not in page
    assert "You can't comment on this request." in page
    assert "block" not in page.lower()


def test_a_blocked_members_comment_is_refused(login, help_request, bob, carol, alice_blocked_bob):
    """Refused on Alice's request only: Bob still comments on Carol's."""
    member = login(bob)
    response = member.post(f"/requests/{help_request.id}/comments",
                               data={"body": "Why won't you answer my messages Alice?"})
    assert response.status_code == 403
    assert "You can't comment on this request." in text(response)
    assert "block" not in text(response).lower()
    assert comments_saying("answer my messages") == 0
    # on the request's page, with what was typed to copy: a bare 403 page took it (a street's tester)
    assert "<h1><bdi>Borrow a ladder</bdi></h1>" in text(response)
    assert "What you were writing, not posted; copy it if you want to keep it:" in text(response)
    # said where the eye and a screen reader are: the top of a long page went unseen (a re-check tester)
    raw = response.get_data(as_text=True)
    assert '<p class="notice" role="alert">' in raw and "readonly autofocus>" in raw and 'data-copy="comment-unsent"' in raw
    assert ">Why won't you answer my messages Alice?</textarea>" in text(response)
    escaped = member.post(f"/requests/{help_request.id}/comments", data={"body": "<i>Answer</i>"})
    assert ">&lt;i&gt;Answer&lt;/i&gt;</textarea>" in escaped.get_data(as_text=True)  # text() unescapes

    carols = HelpRequest(author_id=carol.id, title="Carol's", body="x")
    db.session.add(carols)
    db.session.commit()
    assert member.post(f"/requests/{carols.id}/comments", data={"body": "Happy to help"}).status_code == 302
    assert comments_saying("Happy to help") == 1


def test_comments_from_before_the_block_stay_and_the_blocker_may_remove_them(login, bobs_comment, alice,
                                                                             alice_blocked_bob):
    member = login(alice)
    assert PHONE in text(member.get(f"/requests/{bobs_comment.request_id}"))
    assert member.post(remove_path(bobs_comment), data={"confirmed": "1"}).status_code == 302
    assert comments_saying("555 0199") == 0


# --- a request's author removes the request -------------------------------------------------------

def test_a_requests_author_removes_it_with_its_comments_after_confirming(login, bobs_comment, alice):
    request_id = bobs_comment.request_id
    member = login(alice)
    assert 'data-confirm="Remove your request' in text(member.get(f"/requests/{request_id}"))

    asked = member.post(f"/requests/{request_id}/remove", data={"confirmed": ""})
    assert asked.status_code == 200 and "Remove your request?" in text(asked)
    assert db.session.get(HelpRequest, request_id) is not None

    response = member.post(f"/requests/{request_id}/remove", data={"confirmed": "1"})
    assert response.status_code == 302 and response.location == "/requests"
    db.session.expire_all()
    assert db.session.get(HelpRequest, request_id) is None
    assert comments_saying("555 0199") == 0
    assert member.get(f"/requests/{request_id}").status_code == 404


def test_only_a_requests_author_or_an_admin_removes_it(login, bobs_comment, bob, admin, alice):
    """Admins remove a scam listing too (a marketplace tester), and it is audited with ids only."""
    request_id = bobs_comment.request_id
    page = text(login(bob).get(f"/requests/{request_id}"))
    assert f'action="/requests/{request_id}/remove"' not in page
    assert login(bob).post(f"/requests/{request_id}/remove", data={"confirmed": "1"}).status_code == 403
    assert login(bob).post(f"/requests/{request_id}/remove", data={"confirmed": "1"}, csrf=False).status_code == 400
    assert db.session.get(HelpRequest, request_id) is not None
    staff = login(admin)
    assert 'data-confirm="Remove this request' in text(staff.get(f"/requests/{request_id}"))
    asked = staff.post(f"/requests/{request_id}/remove", data={"confirmed": ""})
    assert asked.status_code == 200 and "Remove this request?" in text(asked)
    assert staff.post(f"/requests/{request_id}/remove", data={"confirmed": "1"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(HelpRequest, request_id) is None and comments_saying("555 0199") == 0
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "request.removed"))
    assert (event.actor_id, event.subject, event.new_value) == (admin.id, f"user:{alice.id}", f"request {request_id}")
    assert f"Request removed: <bdi>request {request_id}</bdi>" in text(staff.get("/admin/members"))


def test_each_remove_button_says_whose_comment_to_a_screen_reader(login, bobs_comment, alice):
    """Two identical "Remove comment" buttons had no name telling them apart (a re-check tester)."""
    page = text(login(alice).get(f"/requests/{bobs_comment.request_id}"))
    assert 'aria-label="Remove comment: the comment by Bob, “' in page


def test_an_erased_comments_remove_button_says_so_to_a_screen_reader(login, admin, bobs_comment, bob):
    """Erased, its button read ": the comment by a former member, “”" (an outside admin tester)."""
    from wb.people import leaving

    leaving.erase_member(bob)
    page = text(login(admin).get(f"/requests/{bobs_comment.request_id}"))
    assert 'aria-label="Remove comment: the erased comment by a former member">Remove comment</button>' in page
    assert "“”" not in page


# --- ids are never handed out twice ---------------------------------------------------------------

def comment_id_of(location: str) -> int:
    """The id in a new comment's address: /requests/<id>#comment-<comment id>."""
    return int(location.rsplit("#comment-", 1)[1])


def test_a_removed_comments_link_and_confirmation_never_reach_a_newer_comment(login, help_request, alice, bob):
    """On SQLite a removed comment's id went to the next comment posted: its old link
    (#comment-<id>) opened the new one, and a confirmation page still open for the removed comment
    removed the new one (a re-check tester)."""
    bobs, alices = login(bob), login(alice)
    removed = comment_id_of(bobs.post(f"/requests/{help_request.id}/comments",
                                      data={"body": PHONE}).location)
    old_path = f"/requests/{help_request.id}/comments/{removed}/remove"
    assert alices.post(old_path, data={"confirmed": ""}).status_code == 200  # Alice is asked first...
    assert bobs.post(old_path, data={"confirmed": "1"}).status_code == 302  # ...while Bob removes it

    newer = bobs.post(f"/requests/{help_request.id}/comments", data={"body": "Happy to help"}).location

    assert comment_id_of(newer) > removed
    page = text(bobs.get(f"/requests/{help_request.id}"))
    assert f'id="comment-{comment_id_of(newer)}"' in page and f'id="comment-{removed}"' not in page
    # Alice answers the question she was asked: it was about the removed comment, not the new one
    assert alices.post(old_path, data={"confirmed": "1"}).status_code == 404
    assert alices.post(old_path, data={"confirmed": ""}).status_code == 404
    assert comments_saying("Happy to help") == 1


def test_the_migration_keeps_every_comment_and_ids_stay_unused(app, login, help_request, alice, bob):
    """Upgrading a community: the comments table is rebuilt on SQLite; every comment stays as it
    was, and from then on a removed comment's id is never handed out again. Downgrade keeps them too."""
    from datetime import datetime

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text as sql

    def rows():
        return db.session.execute(sql("SELECT * FROM comments ORDER BY id")).all()

    request_id, alice_id, bob_id = help_request.id, alice.id, bob.id
    db.session.remove()
    downgrade(revision="69eb2cbb98d7")
    db.engine.dispose()
    comments = [Comment(request_id=request_id, author_id=bob_id, body="Mine is long.",
                        created_at=datetime(2026, 3, 1, 10, 0, 0, 654321)),
                Comment(request_id=request_id, author_id=alice_id, body="Thanks!"),
                Comment(request_id=request_id, author_id=bob_id, body=PHONE)]
    db.session.add_all(comments)
    db.session.commit()
    before, newest = rows(), comments[2].id
    assert len(before) == 3
    db.session.remove()

    upgrade()
    db.engine.dispose()

    assert rows() == before
    if db.engine.dialect.name == "sqlite":
        assert "AUTOINCREMENT" in db.session.scalar(sql("SELECT sql FROM sqlite_master WHERE name = 'comments'"))
        indexes = db.session.scalars(sql("SELECT name FROM sqlite_master WHERE tbl_name = 'comments' AND type = 'index'"))
        assert "ix_comments_request_id" in list(indexes)
    bobs = login(db.session.get(type(bob), bob_id))
    assert bobs.post(f"/requests/{request_id}/comments/{newest}/remove", data={"confirmed": "1"}).status_code == 302
    posted = bobs.post(f"/requests/{request_id}/comments", data={"body": "Happy to help"}).location
    assert comment_id_of(posted) > newest
    assert bobs.post(f"/requests/{request_id}/comments/{newest}/remove", data={"confirmed": "1"}).status_code == 404
    after_posting = rows()
    assert [comment.body for comment in after_posting] == ["Mine is long.", "Thanks!", "Happy to help"]
    db.session.remove()

    downgrade(revision="69eb2cbb98d7")
    db.engine.dispose()
    assert rows() == after_posting
    if db.engine.dialect.name == "sqlite":
        assert "AUTOINCREMENT" not in db.session.scalar(sql("SELECT sql FROM sqlite_master WHERE name = 'comments'"))
    db.session.remove()
    upgrade()
    db.engine.dispose()
    assert rows() == after_posting
