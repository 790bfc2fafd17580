"""/settings/tokens' form (the JSON API's own requests are pydantic schemas, in schemas.py)."""
from wtforms import StringField
from wtforms.validators import AnyOf

from ..forms import Cleaned, Form
from . import tokens


class TokenForm(Form):
    """A new token's name and how long it works; the rules are tokens.clean_name and tokens.LIFETIMES."""

    name = StringField(validators=[Cleaned(tokens.clean_name, tokens.TokenRefused)])
    # Not posted (a script written before the choice): the page's own default.
    expires = StringField(default=tokens.DEFAULT_LIFETIME,
                          validators=[AnyOf(list(tokens.LIFETIMES), message=tokens.LIFETIME_REFUSED)])
