"""Structured log lines: the message, then key=value pairs of metadata (never message text).

Every line also goes through `redact_credentials`: a token sent in a query string
(`?access_token=...`, refused, but sent all the same) must not live on in a log file, nor
what a member searched for (`?q=...`).
"""
import logging
import os
import re
import sys

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def _parameter(names: str) -> re.Pattern:
    """The query parameters called `names` (a regex), with their values, in a URL, a request line, a
    Referer or a query string alone (first at its start), written plainly or percent-encoded
    ("%3Ftoken%3D...", as in a ?next= link)."""
    return re.compile(
        r"((?:^|[?&;]|%3f|%26|%3b)(?:" + names + r")(?:=|%3d))"
        r"[^&;#\s\"'%]*(?:%(?!26|3b|23|20)[0-9a-f]{2}[^&;#\s\"'%]*)*",
        re.IGNORECASE,
    )


# A query parameter that may carry a credential: token, key, access_token and other names ending
# in _token or _key (api_key, auth-token), apikey, and an invite (it lets whoever holds it register).
CREDENTIAL_PARAMETER = _parameter(r"(?:[a-z]+[_-])?(?:token|key)|apikey|invite")
# What a member typed or chose to find members by: a search (q), who invited whom (an admin's
# invited_by), a circle (its name can say who is in it). "GET /members?q=Carol" told whoever reads
# the log whom a client looked for (a therapy practice's tester).
SEARCH_PARAMETER = _parameter(r"q|invited_by|circle")
# A signed link's token in its path (confirming an email address, unsubscribing), a password reset
# link's (/reset/<token>), and a personal
# access token wherever it is written (api/tokens.py's prefix), under any parameter name.
CREDENTIAL_IN_PATH = re.compile(r"(/settings/email/confirm/|/email/unsubscribe/|/reset/)[^/?#\s\"']+")
ACCESS_TOKEN = re.compile(r"wbpat_[A-Za-z0-9_-]+")
REDACTED = "[redacted]"


def redact_credentials(line: str) -> str:
    """line with the value of every credential and search parameter, signed link token and access token replaced."""
    line = CREDENTIAL_PARAMETER.sub(lambda match: match.group(1) + REDACTED, line)
    line = SEARCH_PARAMETER.sub(lambda match: match.group(1) + REDACTED, line)
    line = CREDENTIAL_IN_PATH.sub(lambda match: match.group(1) + REDACTED, line)
    return ACCESS_TOKEN.sub(REDACTED, line) if "wbpat_" in line else line


class KeyValueFormatter(logging.Formatter):
    """`time level logger message key=value ...` from the record's extra fields, credentials redacted."""

    def format(self, record):
        line = super().format(record)
        extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        if extras:
            line += " " + " ".join(f"{k}={v}" for k, v in sorted(extras.items()))
        return redact_credentials(line)


class RedactCredentials(logging.Filter):
    """A filter for loggers we don't format ourselves (werkzeug's, gunicorn's error log)."""

    def filter(self, record):
        message = record.getMessage()
        redacted = redact_credentials(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


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
    """Send the wb.* loggers to stderr once per process; redact werkzeug's request lines too."""
    logger = logging.getLogger("wb")
    logger.setLevel(_console_level)
    if not any(getattr(h, "_wb", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(KeyValueFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        handler._wb = True
        logger.addHandler(handler)
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactCredentials) for f in werkzeug.filters):
        werkzeug.addFilter(RedactCredentials())
