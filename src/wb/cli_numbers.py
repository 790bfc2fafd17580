"""A whole number on the command line, refused in words (click's IntRange says "is not a valid
integer range", which an operator tester found unhelpful): ASCII digits only, as in the app."""
from __future__ import annotations

import click

from .security import whole_number


class WholeNumber(click.ParamType):
    name = "integer"

    def __init__(self, minimum: int = 0, maximum: int | None = None):
        self.minimum, self.maximum = minimum, maximum

    def convert(self, value, param, ctx):
        number = value if isinstance(value, int) and not isinstance(value, bool) else whole_number(str(value).strip(),
                                                                                                   10**18)
        if number is None or number < self.minimum or (self.maximum is not None and number > self.maximum):
            self.fail(f"{value!r} isn't a whole number {self._range()}.", param, ctx)
        return number

    def _range(self) -> str:
        if self.maximum is None:
            return f"of {self.minimum:,} or more"
        return f"from {self.minimum:,} to {self.maximum:,}"
