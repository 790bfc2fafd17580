"""Forms of the people pages (Flask-WTF)."""
from wtforms import RadioField
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


class PauseForm(Form):
    """A member's own "Pause messages": on (nobody but staff may write to them) or off."""

    paused = RadioField(
        "Pause messages",
        choices=[SelectChoice("on", "Paused"), SelectChoice("off", "Not paused")],
        validators=[InputRequired("Choose whether to pause messages.")],
    )
