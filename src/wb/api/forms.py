"""/settings/tokens' form (the JSON API's own requests are pydantic schemas, in schemas.py)."""
from wtforms import StringField

from ..forms import Cleaned, Form
from . import tokens


class TokenForm(Form):
    """A new token's name; the rule is tokens.clean_name."""

    name = StringField(validators=[Cleaned(tokens.clean_name, tokens.TokenRefused)])
