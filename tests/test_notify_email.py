"""Emails about unread messages: sent by `./wb messaging notify` to a real SMTP server, never with text."""
import logging
import os
import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from messaging_helpers import membership_of, messages_in
from messaging_ops_helpers import converse
from notify_helpers import BASE_URL, MAIL_FROM, body_text, notices, notify, opt_in
from wb.extensions import db
from wb.flags import set_flag
from wb.messaging import safety, writes
from wb.messaging.reconcile import reconcile
from wb.models import utcnow
from wb.notifications.claims import claim_due
from wb.notifications.delivery import deliver_pending
from wb.notifications.models import EmailSettings
from wb.notifications.notify import run_notify

FIRST = "Zebra-lantern 4471: the spare key is under the blue flowerpot"
SECOND = "Quokka-violin 9902: my phone number is 0612345678"


@pytest.fixture
def bob_wrote_alice(app, alice, bob, messaging_on):
    """Alice asked to hear soon; Bob wrote her two messages she hasn't read."""
    address = opt_in(alice, "soon")
    conversation = converse(bob, alice, [FIRST, SECOND])
    return address, conversation


def test_an_unread_conversation_is_emailed_once_after_the_delay(app, smtp, bob_wrote_alice):
    address, conversation = bob_wrote_alice
    assert notify(app, minutes_later=0).exit_code == 0
    assert smtp.received == []  # not due yet: the delay is 10 minutes
    result = notify(app, minutes_later=11)
    assert result.exit_code == 0, result.output
    assert "1 email(s) sent" in result.output
    [message] = smtp.messages
    assert message["From"] == MAIL_FROM and message["To"] == address
    assert message["Subject"] == "2 unread messages on WhiteBalloon"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = message["List-Unsubscribe"].strip()  # a long value is folded onto its own line
    assert re.fullmatch(rf"<{re.escape(BASE_URL)}/email/unsubscribe/[\w.-]+>", unsubscribe)
    [notice] = notices()
    assert re.fullmatch(r"<[0-9a-f]{32}@wb\.example\.org>", message["Message-ID"])
    text = body_text(message)
    assert "Bob: 2 new messages" in text
    # The link opens the conversation that is due, not the inbox.
    assert f"Bob: 2 new messages\n    Read and reply: {BASE_URL}/messages/{conversation.id}\n" in text
    assert f"All your conversations: {BASE_URL}/messages\n" in text
    assert unsubscribe[1:-1] in text
    assert smtp.received[0].rcpt_tos == [address]
    # Never the text: not in the raw bytes, not in the decoded body.
    for secret in ("Zebra", "lantern", "4471", "flowerpot", "Quokka", "0612345678"):
        assert secret.encode() not in smtp.raw[0] and secret not in text
    assert notice.status == "sent"

    again = notify(app, minutes_later=30)
    assert again.exit_code == 0 and len(smtp.received) == 1  # nothing new, nothing sent twice


def test_a_member_whose_name_another_has_too_is_greeted_without_the_mark(app, smtp, alice, bob, make_user, messaging_on):
    """Alice's name is another member's too (she took it second): others read "Alice (@alice)", but an
    email greeted her so, telling her someone else goes by her name (a re-check tester)."""
    from wb.models import User

    make_user("alice2", display_name="Alice")
    account = db.session.get(User, alice.id)
    account.note_name_shared()
    db.session.commit()
    assert account.name_shared and account.name == "Alice (@alice)"  # as others read it
    opt_in(alice, "soon")
    converse(bob, alice, [FIRST])
    assert notify(app, minutes_later=11).exit_code == 0
    [message] = smtp.messages
    text = body_text(message)
    assert text.startswith("Hello Alice,") and "(@alice)" not in text


def test_a_member_who_chose_not_to_name_writers_gets_counts_and_links_only(app, smtp, alice, bob, login, messaging_on):
    # For an inbox someone else may read (a therapy client's shared address, found by an outside tester).
    opt_in(alice, "soon")
    client = login(alice)
    assert "Don't name who wrote" in client.get("/settings").get_data(as_text=True)
    saved = client.post("/settings/email/frequency", data={"frequency": "soon", "discreet": "yes"}, follow_redirects=True)
    assert "soon after a message arrives, without naming who wrote." in saved.get_data(as_text=True)
    assert re.search(r'name="discreet" value="yes"[^>]* checked', saved.get_data(as_text=True))
    conversation = converse(bob, alice, [FIRST, SECOND])
    assert notify(app, minutes_later=11).exit_code == 0
    [message] = smtp.messages
    text = body_text(message)
    assert f"  - A conversation: 2 new messages\n    Read and reply: {BASE_URL}/messages/{conversation.id}\n" in text
    assert "You chose emails that don't name who wrote." in text
    for secret in ("Bob", "bob", "Zebra", "Quokka"):
        assert secret.encode() not in smtp.raw[0] and secret not in text and secret not in message["Subject"]

    # Leaving the tick out (the form unticked, or an older form without it) names them again.
    assert db.session.get(EmailSettings, alice.id).name_writers is False
    assert client.post("/settings/email/frequency", data={"frequency": "soon"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(EmailSettings, alice.id).name_writers is True


def test_one_email_covers_every_conversation_that_became_due(app, smtp, alice, bob, make_user, messaging_on):
    carol = make_user("carol")
    opt_in(alice, "soon")
    from_bob = converse(bob, alice, ["one from bob"])
    from_carol = converse(carol, alice, ["one from carol", "two from carol", "three from carol"])
    notify(app, minutes_later=11)
    [message] = smtp.messages
    text = body_text(message)
    assert "Carol: 3 new messages" in text and "Bob: 1 new message\n" in text
    assert f"{BASE_URL}/messages/{from_carol.id}\n" in text and f"{BASE_URL}/messages/{from_bob.id}\n" in text
    assert text.index("Carol") < text.index("Bob")  # most unread first
    assert message["Subject"] == "4 unread messages on WhiteBalloon"


def test_message_ids_count_nothing_and_name_no_notice(app, smtp, alice, bob, make_user, messaging_on):
    """"Message-ID: <wb-notice-5-...>" counted every notice the community sent: comparing two of them told a
    practice's client how many went to others (an outside tester). Each is random to a reader, and a
    notice sent again after a crash keeps its own, so a receiving server can fold the two."""
    carol = make_user("carol")
    opt_in(alice, "soon", address="alice@mail.example")
    opt_in(carol, "soon", address="carol@mail.example")
    converse(bob, alice, ["one for alice"])
    converse(bob, carol, ["one for carol"])
    assert notify(app, minutes_later=11).exit_code == 0
    ids = {message["To"]: message["Message-ID"] for message in smtp.messages}
    locals_ = [re.fullmatch(r"<([0-9a-f]{32})@wb\.example\.org>", ids[to]).group(1)
               for to in ("alice@mail.example", "carol@mail.example")]
    assert locals_[0] != locals_[1]
    # Nothing but 32 hex digits, and no shared stem or tail around a count (the notices' ids are 1 apart).
    assert len(os.path.commonprefix(locals_)) < 8
    assert len(os.path.commonprefix([local[::-1] for local in locals_])) < 8

    # A process that died after the mail server took the email leaves it pending: sent again, the same id.
    [first, *_] = notices()
    first.status, first.sent_at, first.lease_until = "pending", None, None
    db.session.commit()
    assert deliver_pending(utcnow() + timedelta(minutes=12)).sent == 1
    assert smtp.messages[-1]["Message-ID"] == ids[smtp.messages[-1]["To"]]


def test_conversations_that_start_seconds_apart_share_one_email(app, smtp, alice, bob, make_user, messaging_on):
    """Two "soon" emails reached one member 51 s apart: each conversation's clock ran out on its own."""
    carol = make_user("carol")
    opt_in(alice, "soon")
    from_bob = converse(bob, alice, ["one from bob"])
    from_carol = converse(carol, alice, ["one from carol"])
    bob_started = utcnow() - timedelta(minutes=10, seconds=30)
    membership_of(alice, from_bob.id).unread_since = bob_started
    membership_of(alice, from_carol.id).unread_since = bob_started + timedelta(seconds=51)
    db.session.commit()

    notify(app, minutes_later=0)  # Bob's clock has run out, Carol's has 21 s to go
    [message] = smtp.messages
    text = body_text(message)
    assert "Bob: 1 new message" in text and "Carol: 1 new message" in text
    notify(app, minutes_later=1)
    assert len(smtp.received) == 1, "a second email for the conversation that started 51 s later"
    assert membership_of(alice, from_carol.id).unread_since is None


def test_a_new_message_after_a_notice_gets_its_own_notice_later(app, smtp, bob_wrote_alice, alice, bob):
    _address, conversation = bob_wrote_alice
    notify(app, minutes_later=11)
    assert membership_of(alice, conversation.id).unread_since is None  # told: the clock is stopped
    writes.send_message(bob, conversation, "and a third")
    notify(app, minutes_later=5)
    assert len(smtp.received) == 1  # the third message's clock started just now
    notify(app, minutes_later=11)
    assert len(smtp.received) == 2
    assert "Bob: 3 new messages" in body_text(smtp.messages[1])


def test_a_later_email_tells_of_everything_still_unread_not_only_what_is_new(app, smtp, alice, bob, make_user,
                                                                               messaging_on):
    """Told of Bob's 2 messages, then Carol writes: "1 unread message" from Carol read as if Bob's had
    gone (an outside tester). The next email is sent for Carol's and tells of both."""
    carol = make_user("carol")
    opt_in(alice, "soon")
    from_bob = converse(bob, alice, ["one from bob", "two from bob"])
    notify(app, minutes_later=11)
    assert smtp.messages[0]["Subject"] == "2 unread messages on WhiteBalloon"
    converse(carol, alice, ["one from carol"])
    notify(app, minutes_later=11)
    assert len(smtp.messages) == 2
    second = smtp.messages[1]
    assert second["Subject"] == "3 unread messages on WhiteBalloon"
    text = body_text(second)
    assert "Bob: 2 new messages" in text and "Carol: 1 new message" in text
    assert f"{BASE_URL}/messages/{from_bob.id}\n" in text
    notify(app, minutes_later=30)
    assert len(smtp.messages) == 2  # nothing new: no third email about the same messages
    # Muted since, Bob's conversation is left out as it is from the first email.
    membership_of(alice, from_bob.id).muted = True
    db.session.commit()
    converse(carol, alice, ["two from carol"])
    notify(app, minutes_later=11)
    assert "Bob" not in body_text(smtp.messages[2]) and "Carol: 2 new messages" in body_text(smtp.messages[2])


def test_messages_read_before_the_delay_are_not_emailed(app, smtp, bob_wrote_alice, login, alice):
    _address, conversation = bob_wrote_alice
    assert login(alice).post(f"/messages/{conversation.id}/read").status_code in (200, 204, 302)
    assert membership_of(alice, conversation.id).unread_since is None
    notify(app, minutes_later=60)
    assert smtp.received == [] and notices() == []


def test_a_deleted_message_leaves_nothing_to_email(app, smtp, alice, bob, messaging_on):
    opt_in(alice, "soon")
    conversation = converse(bob, alice, ["oops, wrong person"])
    writes.delete_message(bob, conversation, messages_in(conversation.id)[0].id)
    notify(app, minutes_later=60)
    assert smtp.received == []


@pytest.mark.parametrize("who_blocks", ["recipient", "sender"])
def test_no_email_about_a_blocked_member_either_way(app, smtp, bob_wrote_alice, alice, bob, who_blocks):
    _address, conversation = bob_wrote_alice
    if who_blocks == "recipient":
        safety.block(alice, bob)
    else:
        safety.block(bob, alice)
    notify(app, minutes_later=60)
    assert smtp.received == [] and notices() == []
    # and lifting the block later doesn't bring up the old messages
    safety.unblock(alice, bob) if who_blocks == "recipient" else safety.unblock(bob, alice)
    notify(app, minutes_later=120)
    assert smtp.received == []


def test_no_email_while_messaging_is_switched_off(app, smtp, bob_wrote_alice):
    set_flag("direct_messaging", False)
    result = notify(app, minutes_later=60)
    assert result.exit_code == 0 and "switched off" in result.output
    assert smtp.received == [] and notices() == []


def test_switching_messaging_off_drops_a_notice_claimed_before(app, smtp, bob_wrote_alice):
    assert claim_due(utcnow() + timedelta(minutes=11)) == 1
    set_flag("direct_messaging", False)
    run_notify()
    assert smtp.received == [] and [n.status for n in notices()] == ["dropped"]


@pytest.mark.parametrize("status, deleted", [("suspended", False), ("pending", False), ("active", True)])
def test_no_email_to_suspended_pending_or_departed_members(app, smtp, bob_wrote_alice, alice, status, deleted):
    alice.status = status
    alice.deleted_at = utcnow() if deleted else None
    db.session.commit()
    notify(app, minutes_later=60)
    assert smtp.received == []


def test_no_email_to_an_unconfirmed_address(app, smtp, alice, bob, messaging_on):
    opt_in(alice, "soon", confirmed=False)
    converse(bob, alice, ["hello?"])
    notify(app, minutes_later=60)
    assert smtp.received == []


def test_no_email_for_members_who_chose_never(app, smtp, alice, bob, messaging_on):
    opt_in(alice, "never")
    converse(bob, alice, ["hello?"])
    notify(app, minutes_later=60)
    assert smtp.received == []


def test_unread_since_is_cleared_when_read_and_kept_by_reconcile(app, bob_wrote_alice, alice):
    _address, conversation = bob_wrote_alice
    started = membership_of(alice, conversation.id).unread_since
    assert started is not None
    reconcile()
    assert membership_of(alice, conversation.id).unread_since == started  # agreeing metadata: untouched
    writes.mark_read(alice, conversation)
    assert membership_of(alice, conversation.id).unread_since is None


def test_reconcile_starts_the_clock_for_messages_a_failed_metadata_write_missed(app, alice, bob, messaging_on):
    conversation = converse(bob, alice, ["one"])
    row = membership_of(alice, conversation.id)
    row.unread_count, row.unread_since = 0, None  # as if record_send had never run
    db.session.commit()
    reconcile()
    row = membership_of(alice, conversation.id)
    assert row.unread_count == 1 and row.unread_since is not None


def test_the_daily_digest_goes_once_a_day(app, smtp, alice, bob, messaging_on):
    opt_in(alice, "daily")
    conversation = converse(bob, alice, ["first"])
    notify(app, minutes_later=11)
    [digest] = smtp.messages
    assert digest["Subject"] == "Your daily WhiteBalloon digest: 1 unread message on WhiteBalloon"
    assert "You have an unread message on WhiteBalloon:" in body_text(digest)  # as the subject says (a tester)
    writes.send_message(bob, conversation, "second")
    notify(app, minutes_later=60)
    notify(app, minutes_later=23 * 60)
    assert len(smtp.received) == 1  # still the same day
    notify(app, minutes_later=24 * 60 + 12)
    assert len(smtp.received) == 2
    assert "Bob: 2 new messages" in body_text(smtp.messages[1])
    assert "You have unread messages on WhiteBalloon:" in body_text(smtp.messages[1])


def test_an_unreachable_mail_server_is_logged_without_addresses_and_retried(app, smtp, bob_wrote_alice, caplog):
    from notify_helpers import free_port

    address, _conversation = bob_wrote_alice
    working_port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = free_port()  # nobody listens there
    caplog.set_level(logging.INFO, logger="wb")
    failed = notify(app, minutes_later=11)
    assert failed.exit_code == 1 and "stay queued" in failed.output
    [notice] = notices()
    assert notice.status == "pending" and notice.last_error == "ConnectionRefusedError"
    [line] = [record for record in caplog.records if record.getMessage().startswith("notice delivery failed")]
    assert line.notice_id == notice.id and line.error == "ConnectionRefusedError"
    assert address not in caplog.text and "alice" not in caplog.text.lower()
    assert FIRST not in caplog.text and SECOND not in caplog.text

    app.config["MAIL_PORT"] = working_port
    retried = notify(app, minutes_later=12)
    assert retried.exit_code == 0
    assert len(smtp.received) == 1 and notices()[0].status == "sent"
    assert notify(app, minutes_later=13).exit_code == 0 and len(smtp.received) == 1


def test_a_notice_held_by_another_process_waits_for_its_lease(app, smtp, bob_wrote_alice):
    now = utcnow() + timedelta(minutes=11)
    assert claim_due(now) == 1
    [notice] = notices()
    notice.lease_until = now + timedelta(minutes=10)  # as a process that died while sending leaves it
    db.session.commit()
    assert deliver_pending(now).sent == 0 and smtp.received == []
    assert deliver_pending(now + timedelta(minutes=11)).sent == 1 and len(smtp.received) == 1


def test_no_message_text_in_logs_or_the_main_database(app, smtp, bob_wrote_alice, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    notify(app, minutes_later=11)
    captured = capfd.readouterr()
    for secret in (FIRST, SECOND):
        assert secret not in caplog.text and secret not in captured.out + captured.err
    assert notify(app, minutes_later=12).exit_code == 0
    assert app.test_cli_runner().invoke(args=["messaging", "verify"]).exit_code == 0


def test_old_runs_and_finished_notices_are_forgotten_after_a_month(app, smtp, bob_wrote_alice):
    from wb.notifications.models import NotifyRun

    notify(app, minutes_later=11)
    assert len(notices()) == 1
    notify(app, minutes_later=31 * 24 * 60)
    assert notices() == [] and db.session.query(NotifyRun).count() == 1  # only the run just now


def test_an_address_the_server_refuses_for_good_is_not_retried_forever(app, smtp, bob_wrote_alice, caplog):
    address, _conversation = bob_wrote_alice
    smtp.unknown.add(address)
    caplog.set_level(logging.INFO, logger="wb")
    assert notify(app, minutes_later=11).exit_code == 1
    [notice] = notices()
    assert notice.status == "refused" and notice.last_error == "SMTPRecipientsRefused"
    assert address not in caplog.text
    assert notify(app, minutes_later=12).exit_code == 0  # not tried again
    assert smtp.received == [] and notices()[0].attempts == 1


def test_an_email_counts_what_the_badge_counts_not_a_hidden_conversation(app, smtp, alice, bob, make_user, messaging_on):
    """A conversation hidden with unread messages in it is out of the badge; the email said one more
    (38 against the badge's 37, an outside tester)."""
    from wb.messaging.inbox import unread_total

    carol = make_user("carol")
    opt_in(alice, "soon")
    hidden = converse(bob, alice, ["Bob's words", "and more"])
    writes.hide_conversation(alice, hidden)
    converse(carol, alice, ["Carol's words"])

    notify(app, minutes_later=11)
    [email] = smtp.messages
    text = body_text(email)
    assert "Carol" in text and "Bob" not in text and "3 new" not in text
    assert unread_total(alice) == 1


def test_a_community_whose_emails_name_nobody_starts_each_members_choices_so(app, smtp, alice, bob, make_user, admin,
                                                                              login, messaging_on):
    """"Alice Moreno: 1 new message" tells whoever reads a client's inbox that they see a therapist (a therapy
    practice's tester): the admin's switch has every member's email choices start with "Don't name who wrote"
    ticked; a member who chose already keeps their choice, and any member may change theirs."""
    carol = make_user("carol")
    opt_in(carol, "soon")  # carol chose before the switch: her emails go on naming who wrote
    admin_client = login(admin)
    settings = admin_client.get("/admin/settings").get_data(as_text=True)
    assert 'id="flag-emails_name_who_wrote"' in settings
    assert admin_client.post("/admin/settings/emails_name_who_wrote", data={"enabled": "0"}).status_code == 302

    client = login(alice)
    assert re.search(r'name="discreet" value="yes"[^>]* checked', client.get("/settings").get_data(as_text=True))
    assert client.post("/settings/email", data={"email": "alice@mail.example.org"}).status_code == 302
    # Ravi added his address while emails named who wrote, and chose nothing: he follows the switch too
    # (his box stayed unticked after the admin switched naming off: a re-check tester).
    ravi = make_user("ravi")
    db.session.add(EmailSettings(user_id=ravi.id, address="ravi@mail.example.org"))
    db.session.commit()
    assert re.search(r'name="discreet" value="yes"[^>]* checked', login(ravi).get("/settings").get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(EmailSettings, alice.id).name_writers is None  # unmade: the switch says
    db.session.execute(update(EmailSettings).values(confirmed_at=utcnow(), frequency="soon"))
    db.session.execute(update(EmailSettings).where(EmailSettings.user_id == carol.id).values(name_writers=True))  # chose
    db.session.commit()

    converse(bob, alice, [FIRST])
    converse(bob, carol, [SECOND])
    converse(bob, ravi, ["Hello Ravi"])
    assert notify(app, minutes_later=11).exit_code == 0
    by_address = {message["To"]: body_text(message) for message in smtp.messages}
    for discreet in ("alice@mail.example.org", "ravi@mail.example.org"):
        assert "  - A conversation: 1 new message\n" in by_address[discreet] and "Bob" not in by_address[discreet]
        assert "This community's emails don't name who wrote; your email settings can change that." in by_address[discreet]
    assert "Bob" in by_address["carol@mail.example.org"]

    # a member who then chooses naming gets it, whatever the switch says
    assert client.post("/settings/email/frequency", data={"frequency": "soon"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(EmailSettings, alice.id).name_writers is True
