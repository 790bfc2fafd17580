"""Forms of the people pages (Flask-WTF)."""
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.validators import InputRequired

from ..messaging.rules import MESSAGE_FROM


class MessageFromForm(FlaskForm):
    """A member's own "who can start a conversation with me"."""

    message_from = RadioField(
        "Who can start a conversation with me",
        choices=list(MESSAGE_FROM.items()),
        validators=[InputRequired("Choose who can start a conversation with you.")],
    )
