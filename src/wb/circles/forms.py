"""Forms of the circle pages, and the circle choices the messaging rules' forms share."""
from wtforms import Field, StringField
from wtforms.validators import AnyOf, StopValidation, ValidationError

from ..extensions import db
from ..forms import Cleaned, Form, WholeNumberField
from ..security import MAX_DATABASE_ID, whole_number
from . import service
from .models import Circle

UNKNOWN_CIRCLES = "One of the chosen circles doesn't exist any more. Reload the page and try again."


class CircleField(WholeNumberField):
    """One circle chosen by id: `circle` is the Circle, or the field's message is its error."""

    circle = None

    def __init__(self, label=None, validators=None, *, message: str, **kwargs):
        super().__init__(label, validators, maximum=MAX_DATABASE_ID, message=message, **kwargs)

    def pre_validate(self, form):
        self.circle = db.session.get(Circle, self.data) if self.data is not None and not self.errors else None
        if self.circle is None:
            raise StopValidation(None if self.errors else self.message)  # a typing error is already said


class CirclesField(Field):
    """Circles ticked in checkboxes, as ids (None for one that isn't a whole number); KnownCircles loads them."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, default=(), **kwargs)
        self.circles: list[Circle] = []

    def process_formdata(self, valuelist):
        self.data = [whole_number(value) for value in valuelist]


class KnownCircles:
    """The ticked circles all exist: `field.circles` holds them, or the form asks for a reload."""

    def __call__(self, form, field):
        chosen = [db.session.get(Circle, i) if i is not None else None for i in field.data]
        if any(circle is None for circle in chosen):
            raise ValidationError(UNKNOWN_CIRCLES)
        field.circles = chosen


class NameForm(Form):
    """A new circle's name, or a circle's new name."""

    name = StringField(validators=[Cleaned(service.clean_name, service.CircleError)])


class DeleteForm(Form):
    """Deleting a circle happens only once the confirmation page's button says so."""

    confirm = StringField(validators=[AnyOf(["yes"])])


class NextForm(Form):
    """A change made from another page (/admin/members) goes back there."""

    next = StringField()


class MembersForm(NextForm):
    """Usernames typed into one box; whether they exist is the service's rule (it serves the CLI too)."""

    usernames = StringField(filters=[service.split_usernames])


class MemberCircleForm(Form):
    """The circle control on a row of /admin/members."""

    circle_id = CircleField(message="Choose a circle to add them to.")
