"""The email settings' forms; the address and frequency rules stay in addresses.py, which the forms call."""
from wtforms import StringField

from ..forms import Cleaned, Form
from . import addresses


class AddressForm(Form):
    """The address to email about unread messages."""

    email = StringField(validators=[Cleaned(addresses.clean_address, addresses.AddressRefused)])


class FrequencyForm(Form):
    """How often to email: never, soon or daily."""

    frequency = StringField(validators=[Cleaned(addresses.clean_frequency, addresses.AddressRefused)])
