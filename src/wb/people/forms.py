"""Forms of the people pages (Flask-WTF)."""
from wtforms import BooleanField, RadioField
from wtforms.validators import InputRequired

from ..forms import Form
from ..messaging.rules import MESSAGE_FROM

try:  # WTForms 3.3 names choices this way and deprecates (value, label) tuples
    from wtforms.fields.choices import SelectChoice
except ImportError:  # older WTForms: tuples
    def SelectChoice(value, label):  # noqa: N802
        return (value, label)


class MessageFromForm(Form):
    """A member's own "who can start a conversation with me"."""

    message_from = RadioField(
        "Who can start a conversation with me",
        choices=[SelectChoice(value, label) for value, label in MESSAGE_FROM.items()],
        validators=[InputRequired("Choose who can start a conversation with you.")],
    )


class ReadReceiptsForm(Form):
    """A member's own "let others see when I've read their messages" (an unticked box sends nothing: off)."""

    read_receipts = BooleanField("Let others see when I've read their messages")
