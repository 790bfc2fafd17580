"""Structured log lines: the message, then key=value pairs of metadata (never message text)."""
import logging
import sys

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class KeyValueFormatter(logging.Formatter):
    """`time level logger message key=value ...` from the record's extra fields."""

    def format(self, record):
        line = super().format(record)
        extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        if extras:
            line += " " + " ".join(f"{k}={v}" for k, v in sorted(extras.items()))
        return line


def init_app(app) -> None:
    """Send the wb.* loggers to stderr once per process."""
    logger = logging.getLogger("wb")
    logger.setLevel(logging.INFO)
    if not any(getattr(h, "_wb", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(KeyValueFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        handler._wb = True
        logger.addHandler(handler)
