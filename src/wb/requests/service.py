"""Rules for help requests and comments."""
from ..extensions import db
from ..models import Comment, HelpRequest
from ..text import BODY_MAX, clean_field

TITLE_MAX = 120


def create_request(author, title: str, body: str) -> tuple[HelpRequest | None, dict]:
    """A new help request, or the field errors that stopped it."""
    errors = {}
    title = clean_field(errors, "title", title, TITLE_MAX, "Titles", required="Give your request a short title.")
    body = clean_field(errors, "body", body, BODY_MAX, "Requests", required="Say what you need help with.")
    if errors:
        return None, errors
    help_request = HelpRequest(author_id=author.id, title=title, body=body)
    db.session.add(help_request)
    db.session.commit()
    return help_request, {}


def add_comment(author, help_request: HelpRequest, body: str) -> tuple[Comment | None, dict]:
    """A new comment, or the error that stopped it."""
    errors = {}
    body = clean_field(errors, "body", body, BODY_MAX, "Comments", required="Write something before posting.")
    if errors:
        return None, errors
    comment = Comment(author_id=author.id, request_id=help_request.id, body=body)
    db.session.add(comment)
    db.session.commit()
    return comment, {}
