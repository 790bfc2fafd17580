"""What the notification tests share: a real SMTP server, members who asked for email, the notify command."""
from __future__ import annotations

import asyncio
import email
import email.policy
import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import select

from wb.extensions import db
from wb.models import utcnow
from wb.notifications.models import EmailSettings, Notice

BASE_URL = "https://wb.example.org"
MAIL_FROM = "WhiteBalloon <noreply@wb.example.org>"
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """An aiosmtpd handler keeping everything it was handed, as raw bytes."""

    def __init__(self, seconds_per_email: float = 0):
        self.received = []
        self.seconds_per_email = seconds_per_email
        self.unknown = set()  # addresses refused for good (550), as for a mailbox that doesn't exist

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.unknown:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.seconds_per_email:  # a slow server keeps a sender busy, so another process overlaps it
            await asyncio.sleep(self.seconds_per_email)
        self.received.append(envelope)
        return "250 Message accepted for delivery"

    @property
    def raw(self) -> list[bytes]:
        return [envelope.original_content or envelope.content for envelope in self.received]

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(raw, policy=email.policy.default) for raw in self.raw]

    def to(self, address) -> list[email.message.EmailMessage]:
        return [message for message in self.messages if message["To"] == address]


class SmtpServer:
    """A real SMTP server on a free loopback port, for as long as a test needs it."""

    def __init__(self, seconds_per_email: float = 0):
        self.inbox = Inbox(seconds_per_email)
        self.port = free_port()
        # A server hostname of its own: without one, aiosmtpd asks DNS for this machine's name on every
        # connection, and a resolver slow to answer held the greeting past the sender's 5 s timeout.
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port,
                                     server_hostname="smtp.test.invalid")

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


def body_text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def opt_in(user, frequency="soon", address=None, confirmed=True) -> str:
    """The member has an address (confirmed unless told) and asked for email at that frequency."""
    address = address or f"{user.username}@mail.example.org"
    db.session.add(EmailSettings(user_id=user.id, address=address, frequency=frequency,
                                 confirmed_at=utcnow() if confirmed else None))
    db.session.commit()
    return address


def minutes_from_now(minutes: float) -> str:
    return (utcnow() + timedelta(minutes=minutes)).isoformat()


def notify(app, minutes_later: float = 0):
    """`./wb messaging notify`, as if `minutes_later` minutes had passed."""
    result = app.test_cli_runner().invoke(args=["messaging", "notify", "--now", minutes_from_now(minutes_later)])
    db.session.expire_all()
    return result


def notices(**where) -> list[Notice]:
    db.session.expire_all()
    query = select(Notice).order_by(Notice.id)
    for name, value in where.items():
        query = query.where(getattr(Notice, name) == value)
    return list(db.session.scalars(query))


def notify_process(database_urls, port: int, minutes_later: float = 0, **popen) -> subprocess.Popen:
    """`python -m wb.cli messaging notify` in a process of its own, on the tests' databases."""
    env = {
        **os.environ,
        "WB_DATABASE_URL": database_urls["SQLALCHEMY_DATABASE_URI"],
        "WB_MESSAGING_DATABASE_URL": database_urls["MESSAGING_DATABASE_URI"],
        "WB_INSTANCE_PATH": database_urls["INSTANCE_PATH"],
        "WB_SECRET_KEY": "test-secret-key",
        "WB_RATELIMIT_STORAGE_URL": "memory://",
        "WB_MAIL_SERVER": "127.0.0.1",
        "WB_MAIL_PORT": str(port),
        "WB_MAIL_FROM": MAIL_FROM,
        "WB_BASE_URL": BASE_URL,
    }
    command = [sys.executable, "-m", "wb.cli", "messaging", "notify", "--now", minutes_from_now(minutes_later)]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **popen)
