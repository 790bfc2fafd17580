"""Structured log lines: the message, then key=value pairs of metadata (never message text)."""
import logging
import os
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


# What reaches the terminal: INFO for a server's log; a command a person runs prints its own
# words, so its log shows only warnings and errors (WB_LOG_LEVEL=INFO shows everything).
_console_level = logging.INFO


def quiet_for_people() -> None:
    """Called by `./wb`: the command's own output isn't interleaved with INFO log lines."""
    global _console_level
    _console_level = logging.getLevelName(os.environ.get("WB_LOG_LEVEL", "WARNING").upper())
    if not isinstance(_console_level, int):
        _console_level = logging.WARNING
    logging.getLogger("wb").setLevel(_console_level)


def init_app(app) -> None:
    """Send the wb.* loggers to stderr once per process."""
    logger = logging.getLogger("wb")
    logger.setLevel(_console_level)
    if not any(getattr(h, "_wb", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(KeyValueFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        handler._wb = True
        logger.addHandler(handler)
