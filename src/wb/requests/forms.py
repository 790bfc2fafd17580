"""The help request and comment forms."""
from wtforms import StringField, TextAreaField

from ..forms import CleanText, Form
from ..text import BODY_MAX

TITLE_MAX = 120


class RequestForm(Form):
    """A new help request: a short title and what is needed."""

    title = StringField(validators=[CleanText(TITLE_MAX, "Titles", required="Give your request a short title.")])
    body = TextAreaField(validators=[CleanText(BODY_MAX, "Requests", required="Say what you need help with.")])


class CommentForm(Form):
    """A comment under a help request."""

    body = TextAreaField(validators=[CleanText(BODY_MAX, "Comments", required="Write something before posting.")])
