"""Outgoing mail with the standard library: EmailMessage to build, smtplib to send, or the console.

smtplib and email.message are all a handful of plain-text emails a minute need, with no
extension to configure inside a request that must never send anything anyway.
"""
from __future__ import annotations

import smtplib
import ssl
import sys
from email.message import EmailMessage

from flask import current_app


class MailFailed(Exception):
    """Sending failed; `kind` is what may be logged (an exception's class name, never an address).
    permanent: the server refused the recipient for good (5xx), so trying again can't help."""

    def __init__(self, kind: str, permanent: bool = False):
        super().__init__(kind)
        self.kind = kind
        self.permanent = permanent


def send(message: EmailMessage) -> None:
    """Hand one email to the configured backend, or raise MailFailed."""
    if current_app.config["MAIL_BACKEND"] == "console":
        _print(message)
        return
    try:
        with _connect() as server:
            server.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        permanent = all(code >= 500 for code, _reply in error.recipients.values())
        raise MailFailed(type(error).__name__, permanent) from None
    except (OSError, smtplib.SMTPException) as error:  # unreachable, timed out, busy, misconfigured
        raise MailFailed(type(error).__name__) from None


def _connect() -> smtplib.SMTP:
    config = current_app.config
    host, port, timeout = config["MAIL_SERVER"], int(config["MAIL_PORT"]), config["MAIL_TIMEOUT_SECONDS"]
    if port == 465:
        server = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        server = smtplib.SMTP(host, port, timeout=timeout)
        if config["MAIL_USE_TLS"]:
            server.starttls(context=ssl.create_default_context())
    if config.get("MAIL_USERNAME"):
        server.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    return server


def _print(message: EmailMessage) -> None:
    """WB_MAIL_BACKEND=console: headers and the decoded text on stdout, links whole to copy."""
    rule = "-" * 72
    headers = "".join(f"{name}: {value}\n" for name, value in message.items()
                      if name not in ("Content-Type", "Content-Transfer-Encoding", "MIME-Version"))
    sys.stdout.write(f"{rule}\n{headers}\n{message.get_content()}{rule}\n")
    sys.stdout.flush()
