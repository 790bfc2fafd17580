"""A whole number on the command line, refused in words (click's IntRange says "is not a valid
integer range", which an operator tester found unhelpful): ASCII digits only, as in the app."""
from __future__ import annotations

import click

from .security import ASCII_DIGITS, MAX_DATABASE_ID, whole_number

# The most any option takes when it names no maximum of its own: past this a number only ever
# overflowed something (a date, a C long) or meant nothing more.
LARGEST = 10**18


class WholeNumber(click.ParamType):
    name = "integer"

    def __init__(self, minimum: int = 0, maximum: int | None = None):
        self.minimum, self.maximum = minimum, maximum

    def convert(self, value, param, ctx):
        largest = LARGEST if self.maximum is None else self.maximum
        if isinstance(value, int) and not isinstance(value, bool):
            number, text = value, str(value)
        else:
            text = str(value).strip()
            number = whole_number(text, largest)
        if number is None and ASCII_DIGITS.fullmatch(text) or number is not None and number > largest:
            # A number, only too large: "isn't a whole number" misled an outside tester.
            self.fail(f"{value!r} is too large: at most {largest:,}.", param, ctx)
        if number is None or number < self.minimum:
            self.fail(self._refusal(value), param, ctx)
        return number

    def _refusal(self, value) -> str:
        return f"{value!r} isn't a whole number {self._range()}."

    def _range(self) -> str:
        if self.maximum is None:
            return f"of {self.minimum:,} or more"
        return f"from {self.minimum:,} to {self.maximum:,}"


class DatabaseId(WholeNumber):
    """The id of a `kind` (a report...), refused as that: "'abc' isn't a whole number from 1 to
    9,223,372,036,854,775,807" read as arithmetic, not as the report id it asked for (a residents'
    building's tester). `listed_by` is the command that shows the ids."""

    name = "id"

    def __init__(self, kind: str, listed_by: str):
        super().__init__(1, MAX_DATABASE_ID)
        self.kind, self.listed_by = kind, listed_by

    def _refusal(self, value) -> str:
        return (f"{value!r} isn't a {self.kind} id; {self.kind} ids are whole numbers from 1, as `{self.listed_by}` "
                "shows them.")
