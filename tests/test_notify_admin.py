"""/admin/messaging shows how email notifications are doing: counts only, never addresses or content."""
import re

from messaging_helpers import visible_text
from messaging_ops_helpers import converse
from notify_helpers import free_port, notify, opt_in


def figure(page, name) -> str:
    match = re.search(rf'data-figure="{name}">(.*?)</td>', page, re.S)
    assert match, name
    return visible_text(match.group(1))


def test_health_before_any_run_says_how_to_run_it(app, admin, login, messaging_on):
    page = login(admin).get("/admin/messaging").get_data(as_text=True)
    assert "never" in figure(page, "notify_last_run") and "./wb messaging notify" in figure(page, "notify_last_run")
    assert figure(page, "notify_sent_last_day") == "0"


def test_health_counts_sent_failed_and_waiting_without_addresses(app, smtp, admin, alice, bob, make_user, login,
                                                                 messaging_on):
    address = opt_in(alice, "soon", address="alice.secret@mail.example.org")
    opt_in(bob, "soon", address="bob.secret@mail.example.org")
    carol = make_user("carol")
    converse(carol, alice, ["Pelican-marmalade 5521 is the gate code"])
    converse(carol, bob, ["and yours is 7788"])
    working_port, app.config["MAIL_PORT"] = app.config["MAIL_PORT"], free_port()  # the server is down
    assert notify(app, minutes_later=11).exit_code == 1
    page = login(admin).get("/admin/messaging").get_data(as_text=True)
    assert figure(page, "notify_failures_last_day") == "2" and figure(page, "notify_pending") == "2"
    assert figure(page, "notify_sent_last_day") == "0"
    app.config["MAIL_PORT"] = working_port
    assert notify(app, minutes_later=12).exit_code == 0
    page = login(admin).get("/admin/messaging").get_data(as_text=True)
    assert figure(page, "notify_sent_last_day") == "2" and figure(page, "notify_pending") == "0"
    assert "never" not in figure(page, "notify_last_run")
    for secret in (address, "bob.secret", "Pelican", "5521", "7788"):
        assert secret not in page


def test_emails_sent_still_count_after_the_member_is_erased(app, smtp, admin, alice, make_user, login, messaging_on):
    from wb.extensions import db
    from wb.models import User
    from wb.people import leaving

    opt_in(alice, "soon")
    converse(make_user("carol"), alice, ["hello"])
    assert notify(app, minutes_later=11).exit_code == 0 and len(smtp.received) == 1
    leaving.erase_member(db.session.get(User, alice.id), actor=admin)  # her notices go with her
    page = login(admin).get("/admin/messaging").get_data(as_text=True)
    assert figure(page, "notify_sent_last_day") == "1"
