"""The email address in /settings: confirmed by a signed link sent by the notify command; unsubscribe."""
import re

import pytest
from itsdangerous import TimestampSigner, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import update

from messaging_helpers import visible_text
from messaging_ops_helpers import converse
from notify_helpers import BASE_URL, body_text, notices, notify, opt_in
from wb.extensions import db
from wb.notifications.models import EmailSettings
from wb.models import utcnow
from wb.notifications.tokens import CONFIRM_SALT, UNSUBSCRIBE_SALT

CONFIRM_LINK = re.compile(rf"{re.escape(BASE_URL)}(/settings/email/confirm/[\w.-]+)")


def settings_row(user) -> EmailSettings | None:
    db.session.expire_all()
    return db.session.get(EmailSettings, user.id)


def add_address(client, address):
    return client.post("/settings/email", data={"email": address})


def confirmation_path(message) -> str:
    return CONFIRM_LINK.search(body_text(message)).group(1)


def test_settings_page_has_the_email_section(app, alice, login, messaging_on):
    page = login(alice).get("/settings").get_data(as_text=True)
    assert 'id="email"' in page and "Email me about unread messages" in page
    assert 'value="never" checked' in page  # the default


def test_adding_an_address_queues_its_confirmation_for_the_notify_command(app, smtp, alice, login):
    client = login(alice)
    response = add_address(client, "Alice@Mail.Example.ORG")
    assert response.status_code == 302 and response.location.endswith("/settings#email")
    page = visible_text(client.get("/settings"))
    assert "within a minute" in page and page.count("within a minute") == 1  # said once, not in the note as well
    assert "Saved Alice@mail.example.org" in page
    assert smtp.received == []  # nothing is sent inside the request
    row = settings_row(alice)
    assert row.address == "Alice@mail.example.org" and row.confirmed_at is None
    assert [n.kind for n in notices(status="pending")] == ["confirm"]

    assert notify(app).exit_code == 0
    [message] = smtp.messages
    assert message["To"] == "Alice@mail.example.org"
    assert message["Subject"] == "Confirm your email address for WhiteBalloon"
    assert "List-Unsubscribe" not in message
    # The link ends up in access logs (ours, a proxy's): its token names the address by a digest only.
    import base64
    token = confirmation_path(message).rsplit("/", 1)[1]
    payload = base64.urlsafe_b64decode(token.split(".")[0] + "==").decode()
    assert "@" not in payload and "mail.example" not in payload.lower() and "alice" not in payload.lower()
    confirmed = app.test_client().get(confirmation_path(message))  # works without signing in
    assert confirmed.status_code == 200 and "is confirmed" in confirmed.get_data(as_text=True)
    assert settings_row(alice).confirmed_at is not None
    assert notify(app).exit_code == 0 and len(smtp.received) == 1


def test_a_tampered_confirmation_link_is_refused(app, smtp, alice, login):
    add_address(login(alice), "alice@mail.example.org")
    notify(app)
    path = confirmation_path(smtp.messages[0])
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    response = app.test_client().get(tampered)
    assert response.status_code == 400 and "isn't valid" in visible_text(response)
    assert settings_row(alice).confirmed_at is None


def test_an_expired_confirmation_link_is_refused(app, alice, login):
    add_address(login(alice), "alice@mail.example.org")

    class ThreeDaysAgo(TimestampSigner):
        def get_timestamp(self):
            return super().get_timestamp() - 3 * 24 * 3600

    token = URLSafeTimedSerializer(app.secret_key, salt=CONFIRM_SALT, signer=ThreeDaysAgo).dumps(
        [alice.id, "alice@mail.example.org"])
    response = app.test_client().get(f"/settings/email/confirm/{token}")
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)
    assert settings_row(alice).confirmed_at is None


def test_changing_the_address_needs_confirming_again_and_voids_the_old_link(app, smtp, alice, bob, login,
                                                                           messaging_on):
    client = login(alice)
    add_address(client, "old@mail.example.org")
    notify(app)
    old_link = confirmation_path(smtp.messages[0])
    assert app.test_client().get(old_link).status_code == 200
    client.post("/settings/email/frequency", data={"frequency": "soon"})

    add_address(client, "new@mail.example.org")
    row = settings_row(alice)
    assert row.address == "new@mail.example.org" and row.confirmed_at is None
    converse(bob, alice, ["are you there?"])
    notify(app, minutes_later=11)
    # only the new address's confirmation: no notice goes to an unconfirmed address
    assert [m["Subject"] for m in smtp.messages[1:]] == ["Confirm your email address for WhiteBalloon"]
    assert smtp.messages[1]["To"] == "new@mail.example.org"
    refused = app.test_client().get(old_link)
    assert refused.status_code == 400 and "since been changed" in refused.get_data(as_text=True)
    assert app.test_client().get(confirmation_path(smtp.messages[1])).status_code == 200
    assert settings_row(alice).confirmed


def test_only_the_newest_confirmation_is_sent_after_quick_changes(app, smtp, alice, login):
    client = login(alice)
    add_address(client, "first@mail.example.org")
    add_address(client, "second@mail.example.org")
    notify(app)
    assert [m["To"] for m in smtp.messages] == ["second@mail.example.org"]


@pytest.mark.parametrize("address", ["", "not-an-address", "a b@example.org", "x@localhost", "a@@example.org",
                                     "alice@example.org\nBcc: eve@example.org", "a" * 250 + "@example.org"])
def test_a_bad_address_is_refused_with_the_form_again(app, alice, login, address):
    response = add_address(login(alice), address)
    assert response.status_code == 400
    assert 'id="email-error"' in response.get_data(as_text=True)
    assert settings_row(alice) is None or settings_row(alice).address is None


def test_confirmation_emails_are_rate_limited(app, alice, login):
    app.config["EMAIL_CHANGE_RATE_LIMIT"] = "2 per day"
    client = login(alice)
    assert add_address(client, "one@mail.example.org").status_code == 302
    assert add_address(client, "two@mail.example.org").status_code == 302
    response = add_address(client, "three@mail.example.org")
    assert response.status_code == 429 and settings_row(alice).address == "two@mail.example.org"


def test_choosing_emails_before_an_address_is_confirmed_says_nothing_is_sent_yet(app, alice, login):
    client = login(alice)
    page = client.post("/settings/email/frequency", data={"frequency": "daily"}, follow_redirects=True)
    assert "Email about unread messages: in a daily digest. Nothing is sent until you confirm an email address." \
        in visible_text(page)
    db.session.execute(update(EmailSettings).where(EmailSettings.user_id == alice.id)
                       .values(address="alice@mail.example.org", confirmed_at=utcnow()))  # confirmed now
    db.session.commit()
    page = client.post("/settings/email/frequency", data={"frequency": "soon"}, follow_redirects=True)
    assert "Email about unread messages: soon after a message arrives." in visible_text(page)
    assert "Nothing is sent until" not in visible_text(page)


def email_form_of(page) -> str:
    """The Email card's form that holds the address box (either of its buttons sends all it holds)."""
    forms = re.findall(r"<form\b.*?</form>", page.split('id="email"', 1)[1], re.S)
    [form] = [form for form in forms if 'id="email-address"' in form]
    return form


def test_save_email_choices_also_saves_the_address_typed_above_them(app, smtp, alice, login, messaging_on):
    """A new member typed an address, ticked "Soon" and pressed Save email choices, the big button at the
    card's foot: the note said nothing is sent until an address is confirmed, and the address was gone
    (an outside tester; it needed the Add address button)."""
    client = login(alice)
    card = email_form_of(client.get("/settings").get_data(as_text=True))
    assert 'name="frequency"' in card and 'name="discreet"' in card  # one form: the browser sends the box too
    assert re.search(r'<button type="submit" class="button" formaction="/settings/email/frequency">'
                     r"Save email choices</button>", card)
    assert card.index("Add address") < card.index('name="frequency"')  # Enter in the box still adds the address

    saved = client.post("/settings/email/frequency", data={"email": "margaret@example.org", "frequency": "soon"})
    assert saved.status_code == 302 and saved.location.endswith("/settings#email")
    page = visible_text(client.get("/settings"))
    assert ("Saved margaret@example.org: look in that inbox for our link. Email about unread messages: soon after "
            "a message arrives. Nothing is sent until you confirm an email address.") in page
    assert "margaret@example.org : waiting for confirmation." in page
    row = settings_row(alice)
    assert (row.address, row.confirmed_at, row.frequency, row.name_writers) == \
        ("margaret@example.org", None, "soon", True)
    assert [n.kind for n in notices(status="pending")] == ["confirm"]  # as Add address queues it
    notify(app)
    assert [m["To"] for m in smtp.messages] == ["margaret@example.org"]

    # the box left empty, the choices alone are saved and the address stays
    client.post("/settings/email/frequency", data={"email": "", "frequency": "daily", "discreet": "yes"})
    row = settings_row(alice)
    assert (row.address, row.frequency, row.name_writers) == ("margaret@example.org", "daily", False)
    assert len(notices(kind="confirm")) == 1


def test_add_address_also_saves_the_choices_the_card_shows(app, alice, login, messaging_on):
    client = login(alice)
    client.post("/settings/email", data={"email": "margaret@example.org", "frequency": "daily"})
    page = visible_text(client.get("/settings"))
    assert "Saved margaret@example.org: look in that inbox for our link. Email about unread messages: in a " \
           "daily digest." in page
    assert (settings_row(alice).address, settings_row(alice).frequency) == ("margaret@example.org", "daily")
    client.post("/settings/email", data={"email": "maggie@example.org", "frequency": "daily"})
    page = visible_text(client.get("/settings"))
    assert "Saved maggie@example.org: look in that inbox for our link." in page
    assert "Email about unread messages" not in page  # unchanged choices: the note is about the address
    response = client.post("/settings/email", data={"email": "", "frequency": "soon"})
    assert response.status_code == 400 and "Enter an email address." in visible_text(response)
    assert (settings_row(alice).address, settings_row(alice).frequency) == ("maggie@example.org", "daily")


@pytest.mark.parametrize("typed", ["margaret@example", "margaret example.org"])
def test_an_address_the_choices_cant_save_saves_nothing_and_keeps_all_that_was_typed(app, alice, login, messaging_on,
                                                                                    typed):
    response = login(alice).post("/settings/email/frequency",
                                 data={"email": typed, "frequency": "soon", "discreet": "yes"})
    assert response.status_code == 400
    page, said = response.get_data(as_text=True), visible_text(response)
    assert "Nothing was saved. Correct the address, or empty this box to save just your email choices, then " \
           "press Save email choices again." in said
    assert f'value="{typed}" aria-invalid="true" aria-describedby="email-error" autofocus' in page
    card = email_form_of(page)
    assert 'value="soon" checked' in card and 'value="never" checked' not in card
    assert re.search(r'name="discreet" value="yes"[^>]*checked', card)
    assert settings_row(alice) is None  # neither the address nor the choices


def test_choices_with_an_address_past_the_days_confirmations_save_nothing_and_say_what_to_press(app, alice, login,
                                                                                                messaging_on):
    app.config["EMAIL_CHANGE_RATE_LIMIT"] = "1 per day"
    client = login(alice)
    client.post("/settings/email", data={"email": "one@example.org"})
    response = client.post("/settings/email/frequency", data={"email": "two@example.org", "frequency": "soon"})
    assert response.status_code == 429
    assert ("You've asked for several confirmation emails today. Try again tomorrow. Nothing was saved. To save "
            "just your email choices, empty this box and press Save email choices again.") in visible_text(response)
    assert 'value="two@example.org"' in response.get_data(as_text=True)
    assert (settings_row(alice).address, settings_row(alice).frequency) == ("one@example.org", "never")


def test_a_bad_frequency_is_refused(app, alice, login):
    response = login(alice).post("/settings/email/frequency", data={"frequency": "hourly"})
    assert response.status_code == 400


@pytest.mark.parametrize("path, field, message", [
    ("/settings/email", "email", "That doesn't look like an email address (name@example.org)."),
    ("/settings/email/frequency", "frequency", "Choose how often to hear about unread messages."),
])
@pytest.mark.parametrize("junk", ["\x00", "\u202e", "٣", "x" * 5000, None])
def test_junk_in_the_email_forms_is_a_clear_400(app, alice, login, path, field, message, junk, messaging_on):
    response = login(alice).post(path, data={} if junk is None else {field: junk})
    assert response.status_code == 400
    said = visible_text(response)
    assert any(words in said for words in (message, "Enter an email address.", "at most 254 characters",
                                            "no spaces or control characters")), said
    assert settings_row(alice) is None


@pytest.mark.parametrize("path, data", [("/settings/email", {"email": "alice@mail.example.org"}),
                                        ("/settings/email/frequency", {"frequency": "daily"}),
                                        ("/settings/email/remove", {})])
def test_the_email_forms_without_a_csrf_token_get_the_form_expired_page(app, alice, login, path, data):
    client = login(alice)
    add_address(client, "old@mail.example.org")
    response = client.post(path, data=data, csrf=False)
    assert response.status_code == 400 and "Form expired" in visible_text(response)
    row = settings_row(alice)
    assert row.address == "old@mail.example.org" and row.frequency == "never"


def test_removing_the_address_stops_everything(app, smtp, alice, bob, login, messaging_on):
    opt_in(alice, "soon")
    login(alice).post("/settings/email/remove")
    converse(bob, alice, ["hello"])
    notify(app, minutes_later=11)
    assert smtp.received == [] and settings_row(alice).address is None


def test_the_address_is_shown_to_nobody_else(app, alice, bob, admin, login, messaging_on):
    address = opt_in(alice, "soon", address="alice.private@mail.example.org")
    pages = ["/people/alice", "/members", "/"]
    for viewer, extra in ((bob, []), (admin, ["/admin/messaging", "/admin/members", "/admin/settings"])):
        client = login(viewer)
        for path in pages + extra:
            response = client.get(path)
            assert address not in response.get_data(as_text=True), path
    assert address in login(alice).get("/settings").get_data(as_text=True)


# --- unsubscribe -----------------------------------------------------------------


@pytest.fixture
def alice_was_emailed(app, smtp, alice, bob, messaging_on):
    opt_in(alice, "soon")
    converse(bob, alice, ["hello"])
    notify(app, minutes_later=11)
    [message] = smtp.messages
    return message["List-Unsubscribe"].strip()[1:-1].removeprefix(BASE_URL)


def test_the_unsubscribe_link_shows_a_button_and_changes_nothing_by_itself(app, alice, alice_was_emailed):
    page = app.test_client().get(alice_was_emailed)
    assert page.status_code == 200 and "<button" in page.get_data(as_text=True)
    assert settings_row(alice).frequency == "soon"
    assert app.test_client().post(alice_was_emailed, csrf=False).status_code == 200  # the page's button
    assert settings_row(alice).frequency == "never"


def test_one_click_unsubscribe_works_without_a_session_or_csrf_token(app, smtp, alice, bob, alice_was_emailed):
    response = app.test_client().post(alice_was_emailed, csrf=False, data="List-Unsubscribe=One-Click",
                                      content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and "Unsubscribed" in response.get_data(as_text=True)
    assert settings_row(alice).frequency == "never"
    converse(bob, alice, ["still there?"])
    notify(app, minutes_later=11)
    assert len(smtp.received) == 1


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_bad_unsubscribe_signature_is_refused(app, alice, alice_was_emailed, method):
    forged = alice_was_emailed[:-2] + ("xx" if not alice_was_emailed.endswith("xx") else "yy")
    response = app.test_client().open(forged, method=method, data="List-Unsubscribe=One-Click")
    assert response.status_code == 400
    assert settings_row(alice).frequency == "soon"


def test_a_confirmation_token_is_no_unsubscribe_token(app, alice):
    token = URLSafeTimedSerializer(app.secret_key, salt=CONFIRM_SALT).dumps(alice.id)
    opt_in(alice, "soon")
    assert app.test_client().post(f"/email/unsubscribe/{token}", csrf=False).status_code == 400
    assert settings_row(alice).frequency == "soon"


def test_an_unsubscribe_link_stops_working_once_the_address_changes(app, smtp, alice, login, alice_was_emailed):
    client = login(alice)
    assert add_address(client, "alice@new.example.org").status_code == 302
    db.session.execute(update(EmailSettings).where(EmailSettings.user_id == alice.id)
                       .values(confirmed_at=utcnow(), frequency="soon"))  # the new address confirmed
    db.session.commit()

    page = app.test_client().get(alice_was_emailed)
    clicked = app.test_client().post(alice_was_emailed, csrf=False, data="List-Unsubscribe=One-Click",
                                     content_type="application/x-www-form-urlencoded")

    assert page.status_code == 400 and "no longer uses" in visible_text(page)
    assert clicked.status_code == 400 and "no longer uses" in visible_text(clicked)
    assert settings_row(alice).frequency == "soon"  # the new address still hears


def test_a_link_naming_only_the_member_is_refused(app, alice):
    opt_in(alice, "soon")
    token = URLSafeSerializer(app.secret_key, salt=UNSUBSCRIBE_SALT).dumps(alice.id)  # the old kind of link
    assert app.test_client().post(f"/email/unsubscribe/{token}", csrf=False).status_code == 400
    assert settings_row(alice).frequency == "soon"


IP = "not at an IP address"
UNREADABLE = "doesn't look like an email address"


@pytest.mark.parametrize("address, said", [("x@[127.0.0.1]", IP), ("x@127.0.0.1", IP), ("x@[example.org]", IP),
                                           ("x@[IPv6:::1]", UNREADABLE), ("x@10.0.0.1.", UNREADABLE)])
def test_an_address_at_an_ip_is_refused(app, alice, login, address, said):
    response = add_address(login(alice), address)
    assert response.status_code == 400 and said in visible_text(response)
    assert settings_row(alice) is None


def test_the_migration_keeps_naming_writers_for_members_who_already_had_emails(app, alice, bob):
    """Upgrading a community: every stored email setting keeps naming who wrote; down and up again works."""
    from types import SimpleNamespace

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect, text

    opt_in(alice, "soon")
    alice, bob = (SimpleNamespace(id=member.id) for member in (alice, bob))  # the session is about to go
    db.session.remove()
    downgrade(revision="c6f1a8e2d4b7")
    db.engine.dispose()
    assert "name_writers" not in {c["name"] for c in inspect(db.engine).get_columns("email_settings")}
    with db.engine.begin() as connection:  # a member who chose daily emails before the column existed
        connection.execute(text("INSERT INTO email_settings (user_id, address, frequency, updated_at)"
                                " VALUES (:id, 'bob@mail.example.org', 'daily', CURRENT_TIMESTAMP)"), {"id": bob.id})
    upgrade()
    db.engine.dispose()
    assert db.session.get(EmailSettings, alice.id).name_writers is True
    assert db.session.get(EmailSettings, bob.id).name_writers is True
