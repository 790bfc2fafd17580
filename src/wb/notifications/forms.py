"""The email settings' forms; the address and frequency rules stay in addresses.py, which the forms call."""
from wtforms import StringField
from wtforms.validators import StopValidation

from ..forms import Form
from . import addresses


class Cleaned:
    """One of addresses.py's clean_* functions as a validator: the data becomes what it returns,
    an AddressRefused's words become the field's error."""

    def __init__(self, clean):
        self.clean = clean

    def __call__(self, form, field):
        try:
            field.data = self.clean(field.data)
        except addresses.AddressRefused as refused:
            raise StopValidation(refused.message) from None


class AddressForm(Form):
    """The address to email about unread messages."""

    email = StringField(validators=[Cleaned(addresses.clean_address)])


class FrequencyForm(Form):
    """How often to email: never, soon or daily."""

    frequency = StringField(validators=[Cleaned(addresses.clean_frequency)])
