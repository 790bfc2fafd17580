"""Small helpers any test file may use."""
import re

from wb.extensions import db


def text(response) -> str:
    """The response body as text."""
    return response.get_data(as_text=True)


def reload(model, key):
    """The row as the database holds it now, not as this session last saw it."""
    db.session.expire_all()
    return db.session.get(model, key)


def post_requests_and_comments(requests, comments):
    """Help requests, each (author, title, body), and comments, each (index of its request, author, body),
    committed; returns the requests."""
    from wb.models import Comment, HelpRequest

    made = [HelpRequest(author_id=author.id, title=title, body=body) for author, title, body in requests]
    db.session.add_all(made)
    db.session.flush()
    db.session.add_all([Comment(request_id=made[index].id, author_id=author.id, body=body) for index, author, body in comments])
    db.session.commit()
    return made


ADMIN_LINK = re.compile(r'<a id="admin-link" href="(?P<href>[^"]*)"[^>]*>(?P<text>Admin.*?)</a>', re.S)


def admin_link(page: str) -> tuple[str, str] | None:
    """The header's Admin link in a page: (where it goes, what it holds, as HTML), or None."""
    found = ADMIN_LINK.search(page)
    return (found["href"], found["text"]) if found else None
