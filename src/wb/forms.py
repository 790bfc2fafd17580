"""What every HTML form shares: the base form class, the text rule and services' rules as validators, whole numbers."""
from flask import has_request_context, request
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import StopValidation

from .security import whole_number
from .text import TextRefused, clean_line, clean_text


class Form(FlaskForm):
    """A form on one of our pages. Templates draw `first_errors` beside the fields and what was typed."""

    class Meta:
        # CSRFProtect already checked every POST's token and answers a missing one with the
        # "Form expired" page; a second check here would be a second mechanism and message.
        csrf = False

    def __init__(self, formdata=None, **kwargs):
        # The posted form fields only (FlaskForm would read a JSON body instead, and a JSON list is
        # no form), even when none came, so every field sees "missing" the same way.
        if formdata is None and has_request_context() and request.method == "POST":
            formdata = request.form
        super().__init__(formdata=formdata, **kwargs)

    @property
    def first_errors(self) -> dict[str, str]:
        """Each field's first error by field name, and the form's own under "form"."""
        shown = {field.name: field.errors[0] for field in self if field.errors}
        if self.form_errors:
            shown["form"] = self.form_errors[0]
        return shown


class CleanText:
    """wb.text's one rule as a validator: the field's data becomes the folded, trimmed text,
    or the refusal's words become its error (clean_text's keywords say which words)."""

    rule = staticmethod(clean_text)

    def __init__(self, max_length: int, field_label: str, **wording):
        self.max_length, self.field_label, self.wording = max_length, field_label, wording

    def __call__(self, form, field):
        try:
            field.data = self.rule(field.data, self.max_length, self.field_label, **self.wording)
        except TextRefused as refused:
            raise StopValidation(refused.message) from None


class CleanLine(CleanText):
    """CleanText for one line of text (a name): line breaks and direction controls are refused too."""

    rule = staticmethod(clean_line)


class Cleaned:
    """A service's clean_* function as a validator, so forms and the service's other callers share one rule:
    the data becomes what it returns, a `refused` exception's words (its `message`, else str()) the error."""

    def __init__(self, clean, refused: type[Exception]):
        self.clean, self.refused = clean, refused

    def __call__(self, form, field):
        try:
            field.data = self.clean(field.data)
        except self.refused as refusal:
            raise StopValidation(getattr(refusal, "message", None) or str(refusal)) from None


class WholeNumberField(IntegerField):
    """A whole number in ASCII digits from 1 to `maximum` (int() would read "٣" as 3); empty keeps the default."""

    def __init__(self, label=None, validators=None, *, maximum: int, message: str, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.maximum, self.message = maximum, message

    def process_formdata(self, valuelist):
        typed = valuelist[0].strip() if valuelist else ""
        if not typed:
            return
        self.data = whole_number(typed, maximum=self.maximum)
        if not self.data:
            raise ValueError(self.message)
