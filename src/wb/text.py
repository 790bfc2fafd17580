"""The one rule for text a member types: line breaks folded, control characters refused, a length limit."""
import re

BODY_MAX = 5000  # the longest message, help request or comment
# Everything below space except tab and newline, and DEL: never meant in text, and PostgreSQL
# can't store NUL at all (the query fails). Carriage returns are folded into newlines first.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Direction controls reorder the text around them ("Bob\u202ekcilA" shows as "BobAlick"), so a
# display name holding one could pass for someone else's. Names in right-to-left scripts need none.
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
CONTROL_CHARACTERS_MESSAGE = "Use text only; remove the control characters and try again."
TOO_LONG = "{label} can be at most {max_length:,} characters."


class TextRefused(ValueError):
    """Text that can't be stored; its message says why, in words for the member."""

    @property
    def message(self) -> str:
        return str(self)


def fold_newlines(raw) -> str:
    """raw with "\\r\\n" and "\\r" as "\\n" (a textarea sends "\\r\\n"); None as ""."""
    return (raw or "").replace("\r\n", "\n").replace("\r", "\n")


def has_control_characters(raw) -> bool:
    """True when raw holds a character the rule refuses (line breaks of any kind are fine)."""
    return CONTROL_CHARACTERS.search(fold_newlines(raw)) is not None


def clean_text(raw, max_length: int, field_label: str, *, required: str | None = None,
               too_long: str = TOO_LONG, control: str = CONTROL_CHARACTERS_MESSAGE) -> str:
    """raw folded and trimmed, or TextRefused: empty (when `required` says why not), too long, or control characters.

    field_label names the field in the default too-long message ("Bios can be at most...");
    `too_long` may use {label}, {max_length} and {length}.
    """
    folded = fold_newlines(raw)
    text = folded.strip()
    if not text and required:
        raise TextRefused(required)
    if len(text) > max_length:
        raise TextRefused(too_long.format(label=field_label, max_length=max_length, length=len(text)))
    # Checked before trimming: strip() would quietly drop a trailing "\x1f" or "\x0b".
    if CONTROL_CHARACTERS.search(folded):
        raise TextRefused(control)
    return text

