"""Forms of the people pages (Flask-WTF)."""
from wtforms import BooleanField, RadioField, StringField, ValidationError
from wtforms.validators import InputRequired

from ..auth.forms import CurrentPasswordForm
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


class CloseAccountForm(CurrentPasswordForm):
    """Closing one's own account: the password to confirm, whether to erase the text one sent, and
    whether to remove one's help requests and comments."""

    erase_text = BooleanField("Also erase the text of the messages I sent")
    remove_posts = BooleanField("Also remove my help requests and comments")


class EraseMemberForm(Form):
    """An admin's typed confirmation of an erasure: the member's username, exactly."""

    confirm_username = StringField()

    def __init__(self, member, **kwargs):
        super().__init__(**kwargs)
        self.member = member

    def validate_confirm_username(self, field):
        if (field.data or "").strip() != self.member.username:
            raise ValidationError(f"Type {self.member.username} to confirm.")


class PauseForm(Form):
    """A member's own "Pause messages": on (nobody but staff may write to them) or off."""

    paused = RadioField(
        "Pause messages",
        choices=[SelectChoice("on", "Paused"), SelectChoice("off", "Not paused")],
        validators=[InputRequired("Choose whether to pause messages.")],
    )
