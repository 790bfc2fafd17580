"""The feature flag switch's form."""
from wtforms import StringField
from wtforms.validators import AnyOf

from ..forms import Form


class FlagForm(Form):
    """Switch a flag on ("1") or off ("0"); `next` is the page a plain form post goes back to."""

    enabled = StringField(validators=[AnyOf(["0", "1"], message="Say whether to switch the setting on or off.")])
    next = StringField()
