"""The report form (the send box is not a form: a refused send is a policy Refusal)."""
from wtforms import StringField, TextAreaField
from wtforms.validators import AnyOf

from ..forms import CleanText, Form
from .models import REPORT_NOTE_MAX, REPORT_REASONS


class ReportForm(Form):
    """Why a member is reported, and an optional note for the admins."""

    reason = StringField(validators=[AnyOf(list(REPORT_REASONS), message="Choose a reason for the report.")])
    note = TextAreaField(
        validators=[CleanText(REPORT_NOTE_MAX, "Notes", too_long="Keep the note under {max_length:,} characters.")]
    )
