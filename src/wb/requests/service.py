"""Rules for help requests and comments."""
from ..extensions import db
from ..models import CONTROL_CHARACTERS, CONTROL_CHARACTERS_MESSAGE, Comment, HelpRequest

TITLE_MAX = 120
BODY_MAX = 5000


def create_request(author, title: str, body: str) -> tuple[HelpRequest | None, dict]:
    """A new help request, or the field errors that stopped it."""
    title, body = (title or "").strip(), (body or "").strip()
    errors = {}
    if not title:
        errors["title"] = "Give your request a short title."
    elif len(title) > TITLE_MAX:
        errors["title"] = f"Titles can be at most {TITLE_MAX} characters."
    if not body:
        errors["body"] = "Say what you need help with."
    elif len(body) > BODY_MAX:
        errors["body"] = f"Requests can be at most {BODY_MAX:,} characters."
    for field, value in (("title", title), ("body", body)):
        if CONTROL_CHARACTERS.search(value):
            errors.setdefault(field, CONTROL_CHARACTERS_MESSAGE)
    if errors:
        return None, errors
    help_request = HelpRequest(author_id=author.id, title=title, body=body)
    db.session.add(help_request)
    db.session.commit()
    return help_request, {}


def add_comment(author, help_request: HelpRequest, body: str) -> tuple[Comment | None, dict]:
    """A new comment, or the error that stopped it."""
    body = (body or "").strip()
    if not body:
        return None, {"body": "Write something before posting."}
    if len(body) > BODY_MAX:
        return None, {"body": f"Comments can be at most {BODY_MAX:,} characters."}
    if CONTROL_CHARACTERS.search(body):
        return None, {"body": CONTROL_CHARACTERS_MESSAGE}
    comment = Comment(author_id=author.id, request_id=help_request.id, body=body)
    db.session.add(comment)
    db.session.commit()
    return comment, {}
