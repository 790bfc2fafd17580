"""The admin settings' forms: the feature flag switch and the messaging rules."""
from flask import request
from wtforms import StringField
from wtforms.validators import AnyOf, ValidationError

from ..circles.forms import CircleField, CirclesField, KnownCircles
from ..forms import Form


class FlagForm(Form):
    """Switch a flag on ("1") or off ("0"); `next` is the page a plain form post goes back to."""

    enabled = StringField(validators=[AnyOf(["0", "1"], message="Say whether to switch the setting on or off.")])
    next = StringField()
    confirmed = StringField()  # "1": the admin answered the switch's question (flags.OFF_QUESTIONS)


class StartersForm(Form):
    """Who may start conversations: all active members, or the members of the ticked circles."""

    mode = StringField(validators=[AnyOf(["all", "circles"], message="Say who may start conversations.")])
    circle_id = CirclesField()
    confirmed = StringField()  # "1": the admin answered "Change who may start conversations?"

    def validate_circle_id(self, field):
        """Only a choice of circles reads the ticks (a stale tick beside "all" changes nothing)."""
        if self.mode.data == "circles":
            KnownCircles()(self, field)
            if not field.circles:
                raise ValidationError("Tick at least one circle whose members may start conversations.")


class ReachForm(Form):
    """Whom members may reach."""

    reach = StringField(validators=[AnyOf(["anyone", "shared-circle"], message="Say whom members may reach.")])
    confirmed = StringField()  # "1": the admin answered "Change whom members may reach?"


class ProtectForm(Form):
    """Protect a circle, open to the ticked circles' members, or stop protecting it (action "off").
    `own_members` is "no" from a hidden field and "yes" from the checkbox after it (ticked, both come):
    a post without either keeps what the rule always meant, its own members may start."""

    circle_id = CircleField(message="Choose the circle to protect.")
    action = StringField()
    open_to = CirclesField()
    confirmed = StringField()  # "1": the admin read what protecting it (or no longer) means and said yes

    @property
    def own_members_start(self) -> bool:
        chosen = request.form.getlist("own_members")
        return "yes" in chosen or not chosen

    def validate_open_to(self, field):
        """Stopping protection reads no ticks."""
        if self.action.data != "off":
            KnownCircles()(self, field)
