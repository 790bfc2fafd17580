"""A forgotten password: an admin (or an operator) makes a single-use reset link, the member sets a
new password with it and is signed in; every other session ends, and the link works once."""
import html
import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from helpers import reload, text
from wb.auth.models import PasswordReset
from wb.extensions import db
from wb.logging_setup import redact_credentials
from wb.models import AuditEvent, User, utcnow
from wb.people.leaving import close_account, erase_member

OLD_PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"
LINK = re.compile(r"https?://[^\s\"<]+/reset/([A-Za-z0-9_-]+)")


def page_text(response) -> str:
    """What the page says, tags dropped and entities read."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text(response))).split())


def make_link(admin_client, username="bob") -> str:
    """The token of the link an admin makes on Admin → Members (confirmed, as the dialog does)."""
    response = admin_client.post(f"/admin/members/{username}/reset-link", data={"confirmed": "1"})
    assert response.status_code == 200, text(response)
    return LINK.search(text(response)).group(1)


def set_password(client, token, password=NEW_PASSWORD, again=None):
    return client.post(f"/reset/{token}", data={"new_password": password,
                                                "new_password_again": password if again is None else again})


def resets_of(member) -> list[PasswordReset]:
    db.session.expire_all()
    return list(db.session.scalars(select(PasswordReset).where(PasswordReset.user_id == member.id)
                                   .order_by(PasswordReset.id)))


def signs_in(app, username, password) -> bool:
    return app.test_client().post("/login", data={"username": username, "password": password}).status_code == 302


@pytest.fixture
def admin_client(admin, login):
    return login(admin)


# --- the admin makes a link ----------------------------------------------------------------------

def test_admin_members_offers_a_reset_link_per_member_but_not_for_themselves(admin_client, bob, make_user):
    make_user("penny", status="pending")
    make_user("sam", status="suspended")

    page = text(admin_client.get("/admin/members"))

    assert 'aria-label="Make a password reset link for Bob"' in page
    assert 'aria-label="Make a password reset link for Penny"' in page
    assert "password reset link for Sam" not in page  # suspended: reinstate first
    assert "password reset link for Rita Root" not in page  # their own: Settings → Password
    assert 'data-confirm="Make a password reset link for Bob?' in page


def test_without_javascript_the_admin_is_asked_on_a_page_first(admin_client, bob):
    asked = admin_client.post("/admin/members/bob/reset-link", data={"next": "/admin/members"})

    assert asked.status_code == 200
    assert "Make a password reset link for Bob?" in page_text(asked)
    assert 'name="confirmed" value="1"' in text(asked)
    assert resets_of(bob) == []


def test_the_link_is_shown_once_with_copy_and_only_its_hash_is_stored(admin_client, admin, bob):
    response = admin_client.post("/admin/members/bob/reset-link", data={"confirmed": "1"})

    words = page_text(response)
    assert "Give this link to Bob in person or by a message only they read. It works once, for 24 hours." in words
    assert 'data-copy="reset-link"' in text(response) and "Copy link" in words
    token = LINK.search(text(response)).group(1)
    [row] = resets_of(bob)
    assert token not in row.token_hash and len(row.token_hash) == 64
    assert row.created_by_id == admin.id and row.used_at is None and row.voided_at is None
    assert timedelta(hours=23, minutes=59) < row.expires_at - row.created_at <= timedelta(hours=24)
    assert response.headers["Cache-Control"] == "no-store"
    # Recent member actions says who made it, for whom
    members = page_text(admin_client.get("/admin/members"))
    assert "Password reset link made" in members and "Bob @bob" in members


def test_members_cannot_make_links(bob, alice, login):
    response = login(alice).post("/admin/members/bob/reset-link", data={"confirmed": "1"})
    assert response.status_code == 403
    assert resets_of(bob) == []


def test_making_a_link_needs_the_csrf_token(admin_client, bob):
    response = admin_client.post("/admin/members/bob/reset-link", data={"confirmed": "1"}, csrf=False)
    assert response.status_code == 400
    assert resets_of(bob) == []


def test_no_link_for_their_own_account_or_a_suspended_one(admin_client, make_user):
    make_user("sam", status="suspended")
    own = admin_client.post("/admin/members/root/reset-link", data={"confirmed": "1"})
    assert own.status_code == 400 and "Settings → Password" in page_text(own)
    suspended = admin_client.post("/admin/members/sam/reset-link", data={"confirmed": "1"})
    assert suspended.status_code == 400 and "sam is suspended" in page_text(suspended)
    assert db.session.scalar(select(PasswordReset.id)) is None


@pytest.mark.parametrize("leave, said", [(close_account, "closed their account"), (erase_member, "was erased")])
def test_no_link_for_a_closed_or_erased_account(admin_client, bob, leave, said):
    leave(bob)
    username = reload(User, bob.id).username
    response = admin_client.post(f"/admin/members/{username}/reset-link", data={"confirmed": "1"})
    assert response.status_code == 400 and said in page_text(response)
    assert resets_of(bob) == []


# --- the member uses it --------------------------------------------------------------------------

def test_the_whole_path_sets_the_password_ends_old_sessions_and_signs_in(app, admin_client, bob, login):
    old_session = login(bob)
    assert old_session.get("/settings").status_code == 200
    token = make_link(admin_client)
    visitor = app.test_client()

    form = visitor.get(f"/reset/{token}")
    assert form.status_code == 200
    assert "Choose a new password" in page_text(form) and 'name="new_password_again"' in text(form)
    assert form.headers["Cache-Control"] == "no-store"
    assert form.headers["Referrer-Policy"] in ("same-origin", "no-referrer")

    done = set_password(visitor, token)
    assert done.status_code == 302 and done.location == "/"
    dashboard = visitor.get("/")
    assert "Your new password is set and you are signed in." in page_text(dashboard)
    assert visitor.get("/settings").status_code == 200  # signed in as Bob
    assert old_session.get("/settings").status_code == 302  # the old session is over
    assert not signs_in(app, "bob", OLD_PASSWORD) and signs_in(app, "bob", NEW_PASSWORD)
    [row] = resets_of(bob)
    assert row.used_at is not None
    assert [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))] == [
        "member.reset_link_made", "member.reset_link_used"]
    # spent: a second use is refused with a page that says what to do
    again = app.test_client().get(f"/reset/{token}")
    assert again.status_code == 410 and "used already" in page_text(again)
    assert "Ask an admin for a new password reset link." in page_text(again)
    second = set_password(app.test_client(), token, "yet another passphrase")
    assert second.status_code == 410 and signs_in(app, "bob", NEW_PASSWORD)


def test_a_pending_member_sets_a_password_too(app, admin_client, make_user):
    make_user("penny", status="pending")
    token = make_link(admin_client, "penny")
    assert set_password(app.test_client(), token).status_code == 302
    assert signs_in(app, "penny", NEW_PASSWORD)


def test_the_new_password_follows_the_usual_rules_and_is_typed_twice(app, admin_client, bob):
    token = make_link(admin_client)
    visitor = app.test_client()

    short = set_password(visitor, token, "short")
    assert short.status_code == 400 and "Passwords need at least 8 characters." in page_text(short)
    different = set_password(visitor, token, NEW_PASSWORD, again="another passphrase")
    assert different.status_code == 400 and "The two passwords aren't the same" in page_text(different)
    assert signs_in(app, "bob", OLD_PASSWORD)
    assert resets_of(bob)[0].used_at is None  # not spent by a mistake
    assert set_password(visitor, token).status_code == 302


def test_an_unknown_link_answers_a_page_saying_to_ask_an_admin(client, bob):
    response = client.get("/reset/not-a-real-token")
    assert response.status_code == 404
    assert "This link doesn't work" in page_text(response)
    assert "Ask an admin for a new password reset link." in page_text(response)
    assert set_password(client, "not-a-real-token").status_code == 404


def test_an_expired_link_is_refused(app, admin_client, bob):
    token = make_link(admin_client)
    db.session.execute(PasswordReset.__table__.update().values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()

    page = app.test_client().get(f"/reset/{token}")
    assert page.status_code == 410 and "has expired" in page_text(page)
    assert set_password(app.test_client(), token).status_code == 410
    assert signs_in(app, "bob", OLD_PASSWORD) and not signs_in(app, "bob", NEW_PASSWORD)


def test_a_new_link_voids_the_earlier_one(app, admin_client, bob):
    first = make_link(admin_client)
    second = make_link(admin_client)

    refused = set_password(app.test_client(), first)
    assert refused.status_code == 410 and "no longer works: a newer one was made" in page_text(refused)
    assert signs_in(app, "bob", OLD_PASSWORD)
    old_row, new_row = resets_of(bob)
    assert old_row.voided_at is not None and new_row.voided_at is None
    assert set_password(app.test_client(), second).status_code == 302


def test_a_suspension_ends_a_link_for_good(app, admin_client, bob):
    """A suspension voids the link: reinstating them brought it back (a re-check tester), when it may
    have been the link's reaching the wrong person that got them suspended."""
    token = make_link(admin_client)
    admin_client.post("/admin/members/bob/suspend", data={"confirmed": "1"})
    visitor = app.test_client()
    assert visitor.get(f"/reset/{token}").status_code == 410
    admin_client.post("/admin/members/bob/reinstate")
    assert set_password(visitor, token).status_code == 410
    assert visitor.get("/settings").status_code == 302  # not signed in
    assert reload(User, bob.id).check_password(OLD_PASSWORD) and resets_of(bob)[0].used_at is None


def test_no_admin_makes_a_link_for_another_admin(app, admin_client, admin, make_user, login, runner):
    """With it one admin could sign in as another and read their messages (a re-check tester); the
    operator's command line still makes one."""
    carol = make_user("carol", role="admin")
    page = text(admin_client.get("/admin/members"))
    assert "password reset link for Carol" not in page
    refused = admin_client.post("/admin/members/carol/reset-link", data={"confirmed": "1"})
    assert refused.status_code == 400 and "./wb members reset-link" in page_text(refused)
    assert resets_of(carol) == []
    assert login(carol).post("/admin/members/root/reset-link", data={"confirmed": "1"}).status_code == 400
    made = runner.invoke(args=["members", "reset-link", "carol"])
    assert made.exit_code == 0 and "/reset/" in made.output and len(resets_of(carol)) == 1


def test_removing_an_admins_role_then_making_their_link_is_refused_for_30_days(app, admin_client, make_user):
    """An outside tester took another admin's account so: Remove admin, then Password reset link."""
    carol = make_user("carol", role="admin")
    assert admin_client.post("/admin/members/carol/remove-admin", data={"confirmed": "1"}).status_code == 302
    assert 'action="/admin/members/carol/reset-link"' not in text(admin_client.get("/admin/members"))
    refused = admin_client.post("/admin/members/carol/reset-link", data={"confirmed": "1"})
    assert refused.status_code == 400 and "was an admin until recently" in page_text(refused)
    assert resets_of(carol) == []
    # a month on, she is a member like any other
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "member.admin_removed"))
    event.created_at = utcnow() - timedelta(days=31)
    db.session.commit()
    assert 'action="/admin/members/carol/reset-link"' in text(admin_client.get("/admin/members"))
    assert make_link(admin_client, "carol")


def test_a_role_change_voids_an_unused_link(app, admin_client, bob, make_user, login):
    """A link made for a member kept working once they were an admin (an outside tester)."""
    token = make_link(admin_client, "bob")
    assert admin_client.post("/admin/members/bob/make-admin", data={"confirmed": "1"}).status_code == 302
    refused = set_password(app.test_client(), token)
    assert refused.status_code == 410 and "made an admin" in page_text(refused)
    refused = page_text(app.test_client().get(f"/reset/{token}"))  # not "ask an admin": theirs come from the server
    assert "An admin's password reset links come only from whoever runs the server" in refused
    assert "Ask an admin" not in refused
    assert signs_in(app, "bob", OLD_PASSWORD) and not signs_in(app, "bob", NEW_PASSWORD)
    assert [row.voided_at is not None for row in resets_of(bob)] == [True]


def test_recent_member_actions_say_whose_link_set_the_password(app, admin_client, admin, bob):
    """The line read "Password reset link used: password set: Bob", as if Bob did it alone."""
    set_password(app.test_client(), make_link(admin_client, "bob"))
    page = page_text(admin_client.get("/admin/members"))
    assert f"Password reset link used: password set with a link made by {admin.name}" in page


def test_an_erased_admin_leaves_no_name_on_the_lines_of_links_they_made(app, admin_client, admin, bob, make_user, login):
    """"password set with a link made by Ada Admin" stayed on Admin → Members and in the audit log
    after Ada was erased on request (an outside tester)."""
    other = make_user("olga", role="admin", display_name="Olga Other")
    set_password(app.test_client(), make_link(admin_client, "bob"))
    name = admin.name
    erase_member(db.session.get(User, admin.id))
    page = page_text(login(other).get("/admin/members"))
    assert "Password reset link used: password set with a link made by a former member" in page
    assert name not in page
    db.session.expire_all()
    assert not [event.new_value for event in db.session.scalars(select(AuditEvent))
                if name in f"{event.old_value} {event.new_value}"]


def test_an_operator_can_keep_reset_links_off_the_web(app, admin_client, bob, runner):
    """A practice manager made a link for a clinician, opened it and read every client's messages (a
    therapy practice's tester): WB_ADMIN_RESET_LINKS off, only the server makes them."""
    token = make_link(admin_client, "bob")  # made while admins could
    app.config["ADMIN_RESET_LINKS"] = False
    assert 'action="/admin/members/bob/reset-link"' not in text(admin_client.get("/admin/members"))
    refused = admin_client.post("/admin/members/bob/reset-link", data={"confirmed": "1"})
    assert refused.status_code == 400 and "./wb members reset-link" in page_text(refused)
    assert set_password(app.test_client(), token).status_code == 410  # and one made before stops working
    assert signs_in(app, "bob", OLD_PASSWORD)
    made = runner.invoke(args=["members", "reset-link", "bob"])
    assert made.exit_code == 0
    assert set_password(app.test_client(), LINK.search(made.output).group(1)).status_code == 302
    assert signs_in(app, "bob", NEW_PASSWORD)


def test_changing_the_password_ends_an_unused_link(app, admin_client, bob, login):
    """A member told of a link they didn't ask for changes their password: the link is dead."""
    token = make_link(admin_client)
    bob_client = login(bob)
    changed = bob_client.post("/settings/password", data={"current_password": OLD_PASSWORD, "new_password": "another-long-one"})
    assert changed.status_code == 302
    assert reload(User, bob.id).check_password("another-long-one")
    assert set_password(app.test_client(), token).status_code == 410
    assert reload(User, bob.id).check_password("another-long-one")


def test_the_member_is_emailed_when_a_link_is_made_never_the_link(app, smtp, admin_client, bob, make_user, runner):
    from notify_helpers import body_text, notify, opt_in

    address = opt_in(bob, frequency="never")  # what they chose for messages doesn't matter here
    token = make_link(admin_client)
    assert notify(app).exit_code == 0
    [message] = smtp.to(address)
    assert message["Subject"] == "A password reset link was made for your WhiteBalloon account"
    words = body_text(message)
    assert "An admin, Rita Root, made a password reset link for your WhiteBalloon account." in " ".join(words.split())
    assert token not in words and "/reset/" not in words
    assert "/settings#password" in words
    runner.invoke(args=["members", "reset-link", "bob"])
    notify(app)
    assert "Whoever runs your community's server made a password reset link" in " ".join(body_text(smtp.to(address)[-1]).split())
    make_user("dora")  # no address: nothing to send, nothing fails
    assert notify(app).exit_code == 0


@pytest.mark.parametrize("leave", [close_account, erase_member])
def test_a_link_of_an_account_closed_since_is_refused_and_gone(app, admin_client, bob, leave):
    """Closing (or erasing) an account deletes its unused links, as it deletes its API tokens."""
    token = make_link(admin_client)
    leave(bob)
    assert resets_of(bob) == []
    answer = set_password(app.test_client(), token)
    assert answer.status_code == 404 and "ask an admin" in page_text(answer).lower()
    assert not signs_in(app, reload(User, bob.id).username, NEW_PASSWORD)


def test_setting_the_password_needs_the_csrf_token(app, admin_client, bob):
    token = make_link(admin_client)
    response = app.test_client().post(f"/reset/{token}", data={"new_password": NEW_PASSWORD,
                                                               "new_password_again": NEW_PASSWORD}, csrf=False)
    assert response.status_code == 400
    assert signs_in(app, "bob", OLD_PASSWORD) and resets_of(bob)[0].used_at is None


def test_tries_are_limited_per_address(app, admin_client, bob):
    app.config["LOGIN_RATE_LIMIT"] = "2 per minute"
    token = make_link(admin_client)
    visitor = app.test_client()
    assert [set_password(visitor, token, "short").status_code for _ in range(2)] == [400, 400]

    limited = set_password(visitor, token)
    assert limited.status_code == 429 and "Retry-After" in limited.headers
    assert "Too many tries from this internet connection" in page_text(limited)
    assert signs_in(app, "bob", OLD_PASSWORD)


def test_the_token_never_reaches_the_logs(app, admin_client, bob, caplog):
    caplog.set_level(logging.INFO, logger="wb")
    token = make_link(admin_client)
    set_password(app.test_client(), token)

    assert "password reset link made" in caplog.text and "password reset with a link" in caplog.text
    assert token not in caplog.text
    request_line = f'127.0.0.1 - - "GET /reset/{token} HTTP/1.1" 200 -'
    assert redact_credentials(request_line) == '127.0.0.1 - - "GET /reset/[redacted] HTTP/1.1" 200 -'
    assert redact_credentials("POST /admin/members/bob/reset-link") == "POST /admin/members/bob/reset-link"


# --- sign-in page and the command line -----------------------------------------------------------

def test_the_sign_in_page_says_how_to_recover_a_forgotten_password(client, bob):
    assert "Forgot your password? Ask an admin for a password reset link." in page_text(client.get("/login"))
    wrong = client.post("/login", data={"username": "bob", "password": "not his password"})
    assert wrong.status_code == 400
    assert "Forgot your password? Ask an admin for a password reset link." in page_text(wrong)


def test_the_command_line_prints_a_link_that_sets_the_password(app, runner, bob):
    first = runner.invoke(args=["members", "reset-link", "BOB"])
    result = runner.invoke(args=["members", "reset-link", "bob"])

    assert result.exit_code == 0, result.output
    token = LINK.search(result.output).group(1)
    assert result.stdout == f"{app.config['BASE_URL']}/reset/{token}\n"
    [event, _] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "member.reset_link_made"))
    assert (event.actor_id, event.subject) == (None, f"user:{bob.id}")
    assert set_password(app.test_client(), LINK.search(first.output).group(1)).status_code == 410  # voided
    assert set_password(app.test_client(), token).status_code == 302
    assert signs_in(app, "bob", NEW_PASSWORD)


@pytest.mark.parametrize("username, said", [("ghost", "No member is called 'ghost'."),
                                            ("sam", "sam is suspended"),
                                            ("carol", "carol closed their account")])
def test_the_command_line_refuses_unknown_suspended_and_closed_accounts(runner, make_user, username, said):
    make_user("sam", status="suspended")
    close_account(make_user("carol"))

    result = runner.invoke(args=["members", "reset-link", username])

    assert result.exit_code == 1
    assert result.output.count("Error:") == 1 and said in result.output and "Traceback" not in result.output
    assert db.session.scalar(select(PasswordReset.id)) is None


def test_the_command_line_refuses_an_erased_account(runner, bob):
    erase_member(bob)
    result = runner.invoke(args=["members", "reset-link", f"erased-{bob.id}"])
    assert result.exit_code == 1 and f"erased-{bob.id} was erased" in result.output


def test_a_password_set_with_a_link_revokes_every_api_token_and_the_member_is_emailed(app, smtp, admin_client, bob,
                                                                                      messaging_on):
    """A therapy practice's tester took over a client's account with a link, made an API token as
    her, and read every message with it after the client got her account back with a second link."""
    from notify_helpers import body_text, notify, opt_in
    from wb.api.models import AccessToken
    from wb.api.tokens import issue
    from wb.auth.resets import RESET_USED_NOTICE
    from wb.notifications.models import Notice

    assert len(RESET_USED_NOTICE) <= Notice.__table__.c.kind.type.length  # PostgreSQL refuses a longer one

    address = opt_in(bob, frequency="never")
    issue(bob, "Bob's laptop")  # his own, made before: it goes too (he is told)
    visitor = app.test_client()
    set_password(visitor, make_link(admin_client))
    taken = visitor.post("/settings/tokens", data={"name": "Phone", "expires": "never"})
    assert taken.status_code == 201, page_text(taken)
    planted = re.search(r"wbpat_[A-Za-z0-9_-]{20,}", text(taken))
    assert planted, page_text(taken)
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {planted.group(0)}"}
    assert api.get("/api/v1/me", headers=bearer).status_code == 200

    set_password(app.test_client(), make_link(admin_client), "bob takes it back again")
    assert api.get("/api/v1/me", headers=bearer).status_code == 401
    db.session.expire_all()
    assert all(row.revoked_at is not None for row in db.session.scalars(select(AccessToken).where(AccessToken.user_id == bob.id)))
    assert notify(app).exit_code == 0
    told = [m for m in smtp.to(address) if m["Subject"] == "Your WhiteBalloon password was changed with a reset link"]
    assert len(told) == 2
    words = " ".join(body_text(told[-1]).split())
    assert "An admin, Rita Root, made the link." in words
    assert "was signed out (the browser that used the link is signed in)" in words  # not "every device"
    assert "your 1 API token stopped working" in words  # the one planted: Bob's own went with the first link
    assert "stopped working" in " ".join(body_text(told[0]).split())
    assert "/reset/" not in words


def test_a_links_emails_go_to_the_address_confirmed_when_it_was_made_and_used(app, smtp, admin_client, bob):
    """Whoever a link signed in set and confirmed an address of their own, and the emails telling Bob of
    the link went there (a re-check tester)."""
    from notify_helpers import notify, opt_in
    from wb.notifications.models import EmailSettings

    address = opt_in(bob, frequency="never")
    set_password(app.test_client(), make_link(admin_client))
    settings = db.session.get(EmailSettings, bob.id)
    settings.address, settings.confirmed_at = "taker@example.net", utcnow()  # as the taker would, then confirmed
    db.session.commit()
    assert notify(app).exit_code == 0
    subjects = [m["Subject"] for m in smtp.to(address)]
    assert subjects == ["A password reset link was made for your WhiteBalloon account",
                        "Your WhiteBalloon password was changed with a reset link"]
    assert smtp.to("taker@example.net") == []
