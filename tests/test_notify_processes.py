"""Real notify processes: two at once send each notice once; one killed mid-send loses nothing and repeats nothing."""
import re
import socket
import time

import pytest

from messaging_ops_helpers import converse
from notify_helpers import SmtpServer, notices, notify, notify_process, opt_in

RECIPIENTS = 6


@pytest.fixture
def many_waiting(app, make_user, messaging_on):
    """Several members asked to hear soon, and each has an unread message from the same sender."""
    app.config["NEW_CONVERSATION_RATE_LIMIT"] = "1000 per day"
    sender = make_user("sender")
    addresses = []
    for index in range(RECIPIENTS):
        member = make_user(f"member{index}")
        addresses.append(opt_in(member, "soon"))
        converse(sender, member, [f"a private word for member {index}"])
    return addresses


def test_two_notify_processes_at_once_send_each_email_exactly_once(app, database_urls, many_waiting):
    with SmtpServer(seconds_per_email=0.3) as server:
        runs = [notify_process(database_urls, server.port, minutes_later=11) for _ in range(2)]
        outputs = [run.communicate(timeout=120) for run in runs]
        assert [run.returncode for run in runs] == [0, 0], outputs
        received = sorted(envelope.rcpt_tos[0] for envelope in server.inbox.received)
    assert received == sorted(many_waiting)
    # What each process says it did adds up: every notice claimed once and sent once, between them
    # (the slow server keeps the first busy, so the second usually takes a share of the sending).
    said = [re.search(r"(\d+) new notice\(s\) queued; (\d+) email\(s\) sent", out).groups() for out, _err in outputs]
    assert [sum(int(numbers[i]) for numbers in said) for i in (0, 1)] == [RECIPIENTS, RECIPIENTS]
    assert [notice.status for notice in notices()] == ["sent"] * RECIPIENTS
    assert all(notice.attempts == 1 for notice in notices())


def test_a_process_killed_while_sending_leaves_the_notice_for_a_later_run(app, smtp, database_urls, alice, bob,
                                                                         messaging_on):
    address = opt_in(alice, "soon")
    converse(bob, alice, ["the door code is 4-4-7-1"])
    with socket.socket() as silent:  # accepts connections and never answers: the process hangs in SMTP
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        run = notify_process(database_urls, silent.getsockname()[1], minutes_later=11)
        try:
            leased = _wait_for(lambda: [n.attempts for n in notices()] == [1])
        finally:
            run.kill()
            run.communicate(timeout=30)
    assert leased, "the notify process never claimed and leased the notice"
    [notice] = notices()
    assert notice.status == "pending" and notice.lease_until is not None and notice.sent_at is None

    assert notify(app, minutes_later=12).exit_code == 0
    assert smtp.received == []  # its lease still holds: the dead process might have been sending
    assert notify(app, minutes_later=11 + 10 + 1).exit_code == 0
    assert [envelope.rcpt_tos for envelope in smtp.received] == [[address]]
    assert notify(app, minutes_later=40).exit_code == 0 and len(smtp.received) == 1
    assert [n.status for n in notices()] == ["sent"]


def _wait_for(condition, seconds=60) -> bool:
    """Poll for what another process does (not a clock: the notify times are given with --now)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False
