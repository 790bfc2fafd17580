"""Writes for help requests and comments (their forms in forms.py checked the text), and who may
comment on or remove which: one place that fetches and checks, used by every route."""
import logging

from flask import abort
from sqlalchemy import delete, func, or_, select

from ..extensions import db
from ..models import AuditEvent, Comment, HelpRequest

log = logging.getLogger("wb.requests")

COMMENT_REMOVED = "comment.removed"  # the audit log's names for an admin removing another's comment
REQUEST_REMOVED = "request.removed"  # or request
POSTS_REMOVED = "member.posts_removed"  # or all a member wrote, as a suspension's option
CANT_COMMENT = "You can't comment on this request."


def create_request(author, title: str, body: str) -> HelpRequest:
    """Post a new help request."""
    help_request = HelpRequest(author_id=author.id, title=title, body=body)
    db.session.add(help_request)
    db.session.commit()
    return help_request


def may_comment(member, help_request: HelpRequest) -> bool:
    """Whether member may comment on the request: an active member whom its author hasn't blocked.
    A block reads as "Pause messages" does in messaging: the member is never told why."""
    from ..messaging.safety import has_blocked

    return member.is_active_member and not has_blocked(help_request.author, member)


def check_may_comment(member, help_request: HelpRequest) -> None:
    """403 with words that don't say why, unless member may comment on the request."""
    if not may_comment(member, help_request):
        abort(403, CANT_COMMENT)


def add_comment(author, help_request: HelpRequest, body: str) -> Comment:
    """Post a comment under a help request (403 for a member who may not comment on it)."""
    check_may_comment(author, help_request)
    comment = Comment(author_id=author.id, request_id=help_request.id, body=body)
    db.session.add(comment)
    db.session.commit()
    return comment


def may_remove_comment(member, help_request: HelpRequest, comment: Comment) -> bool:
    """Its author, the request's author and an admin may remove a comment (no query: ids and role)."""
    if not (member.is_authenticated and member.is_active_member):
        return False
    return member.id in (comment.author_id, help_request.author_id) or member.is_admin


def may_remove_request(member, help_request: HelpRequest) -> bool:
    """Its author and an admin may remove a request (a scam listing: a marketplace tester)."""
    if not (member.is_authenticated and member.is_active_member):
        return False
    return member.id == help_request.author_id or member.is_admin


def get_request_for(member, request_id: int, check_remover: bool = False) -> HelpRequest:
    """The request, or 404; with check_remover, 403 unless member may remove it."""
    help_request = db.session.get(HelpRequest, request_id)
    if help_request is None:
        abort(404, "That request doesn't exist.")
    if check_remover and not may_remove_request(member, help_request):
        abort(403, "Only the member who posted a request, or an admin, can remove it.")
    return help_request


def get_comment_for_removal(member, request_id: int, comment_id: int) -> Comment:
    """The comment on that request, if member may remove it; else 404 (no such comment there) or 403."""
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.request_id != request_id:
        abort(404, "That comment doesn't exist.")
    if not may_remove_comment(member, comment.request, comment):
        abort(403, "Only the comment's author, the request's author or an admin can remove it.")
    return comment


def remove_comment(member, comment: Comment) -> None:
    """Delete the comment, its text with it. An admin removing another member's comment is
    recorded in the audit log with ids only (Admin → Members' "Recent member actions")."""
    if member.is_admin and member.id != comment.author_id:
        db.session.add(AuditEvent(actor_id=member.id, action=COMMENT_REMOVED, subject=f"user:{comment.author_id}",
                                  new_value=f"comment {comment.id} on request {comment.request_id}"))
    log.info(COMMENT_REMOVED, extra={"comment_id": comment.id, "request_id": comment.request_id,
                                     "user_id": member.id})
    db.session.delete(comment)
    db.session.commit()


def remove_request(member, help_request: HelpRequest) -> None:
    """Delete a request and every comment on it (checked by get_request_for). An admin removing
    another member's is recorded in the audit log with ids only, as a comment's removal is."""
    if member.id != help_request.author_id:
        db.session.add(AuditEvent(actor_id=member.id, action=REQUEST_REMOVED, subject=f"user:{help_request.author_id}",
                                  new_value=f"request {help_request.id}"))
    log.info(REQUEST_REMOVED, extra={"request_id": help_request.id, "user_id": member.id})
    db.session.delete(help_request)
    db.session.commit()


def posts_count(author) -> tuple[int, int]:
    """How many requests and comments the member wrote (what the suspend page offers to remove)."""
    return (db.session.scalar(select(func.count(HelpRequest.id)).where(HelpRequest.author_id == author.id)),
            db.session.scalar(select(func.count(Comment.id)).where(Comment.author_id == author.id)))


def remove_posts_of(admin, author) -> tuple[int, int]:
    """Delete every request and comment the member wrote, their text with them, as removing each one
    does (a request's comments go with it): a suspended spammer's stayed atop everyone's home page
    until removed one by one (outside testers). Recorded once in the audit log with how many (the ids
    in the log), not one row each, which would push every other action off Recent member actions.
    Returns (requests, comments) removed."""
    request_ids = list(db.session.scalars(select(HelpRequest.id).where(HelpRequest.author_id == author.id)))
    comment_ids = list(db.session.scalars(select(Comment.id).where(Comment.author_id == author.id)))
    if not request_ids and not comment_ids:
        return 0, 0
    db.session.execute(delete(Comment).where(or_(Comment.author_id == author.id, Comment.request_id.in_(request_ids))))
    db.session.execute(delete(HelpRequest).where(HelpRequest.id.in_(request_ids)))
    db.session.add(AuditEvent(actor_id=admin.id, action=POSTS_REMOVED, subject=f"user:{author.id}",
                              new_value=f"{_how_many(len(request_ids), 'request')}, "
                                        f"{_how_many(len(comment_ids), 'comment')}"))
    db.session.commit()
    log.info(POSTS_REMOVED, extra={"user_id": admin.id, "author_id": author.id, "request_ids": request_ids,
                                   "comment_ids": comment_ids})
    return len(request_ids), len(comment_ids)


def _how_many(count: int, thing: str) -> str:
    return f"{count} {thing}{'' if count == 1 else 's'}"
