"""The email settings' form; the address and frequency rules stay in addresses.py, which the form calls."""
from wtforms import BooleanField, StringField

from ..forms import Cleaned, Form
from . import addresses


class EmailForm(Form):
    """The Email card: an address, how often to email and (ticked) without naming who wrote.

    Either button sends the whole card, so nothing typed in it is dropped (an address typed above
    "Save email choices" was: an outside tester). address_required: "Add address" was pressed. A post
    without a frequency (an older page, a script) leaves the choices as they are; an empty address box
    leaves the address as it is.
    """

    email = StringField()
    frequency = StringField()
    # A tick that takes something away, so a form that leaves it out keeps the names.
    discreet = BooleanField(false_values=("", "no", "false", "0"))

    def __init__(self, address_required: bool, **kwargs):
        super().__init__(**kwargs)
        self.address_required = address_required

    def validate_email(self, field):
        typed = field.data.strip() if isinstance(field.data, str) else ""
        if not typed and not self.address_required:
            field.data = None
            return
        Cleaned(addresses.clean_address, addresses.AddressRefused)(self, field)

    def validate_frequency(self, field):
        if not field.raw_data and self.address_required:
            field.data = None
            return
        Cleaned(addresses.clean_frequency, addresses.AddressRefused)(self, field)

    @property
    def choices_sent(self) -> bool:
        """Whether the post carried the choices (the card does wherever messaging is on)."""
        return bool(self.frequency.raw_data)
