"""The email settings' forms; the address and frequency rules stay in addresses.py, which the forms call."""
from wtforms import BooleanField, StringField

from ..forms import Cleaned, Form
from . import addresses


class AddressForm(Form):
    """The address to email about unread messages."""

    email = StringField(validators=[Cleaned(addresses.clean_address, addresses.AddressRefused)])


class FrequencyForm(Form):
    """How often to email: never, soon or daily; and (ticked) without naming who wrote."""

    frequency = StringField(validators=[Cleaned(addresses.clean_frequency, addresses.AddressRefused)])
    # A tick that takes something away, so a form that leaves it out keeps the names.
    discreet = BooleanField(false_values=("", "no", "false", "0"))
