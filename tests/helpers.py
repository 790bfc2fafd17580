"""Small helpers any test file may use."""
from wb.extensions import db


def text(response) -> str:
    """The response body as text."""
    return response.get_data(as_text=True)


def reload(model, key):
    """The row as the database holds it now, not as this session last saw it."""
    db.session.expire_all()
    return db.session.get(model, key)
