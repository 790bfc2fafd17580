"""Writes for help requests and comments (their forms in forms.py checked the text)."""
from ..extensions import db
from ..models import Comment, HelpRequest


def create_request(author, title: str, body: str) -> HelpRequest:
    """Post a new help request."""
    help_request = HelpRequest(author_id=author.id, title=title, body=body)
    db.session.add(help_request)
    db.session.commit()
    return help_request


def add_comment(author, help_request: HelpRequest, body: str) -> Comment:
    """Post a comment under a help request."""
    comment = Comment(author_id=author.id, request_id=help_request.id, body=body)
    db.session.add(comment)
    db.session.commit()
    return comment
