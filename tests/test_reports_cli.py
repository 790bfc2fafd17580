"""`./wb reports list|resolve`, and what Admin → Reports says of reports an admin can't see.

A therapy practice's tester: while Ada was the only admin, a client reported her ("your report waits
until there is another"); Ada then made Ben an admin. The report is hidden from her and from the
admins she made, so both Reports pages said "Nothing to review", while both were refused reset
links and erasures because of it, and `./wb` had no way to read or resolve it.
"""
import html
import re

import pytest
from sqlalchemy import select

from helpers import text
from wb.extensions import db
from wb.messaging.models import Report
from wb.messaging.safety import REPORT_RESOLVED
from wb.models import AuditEvent, User

NOTE = "My therapist asked to meet outside sessions"


def page_text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"</?code>", "", text(response)))).split())


@pytest.fixture
def ada(make_user):
    return make_user("ada", role="admin", display_name="Ada Lind")


@pytest.fixture
def practice(ada, make_user, login, messaging_on):
    """The client reported Ada, the only admin; then Ada made Ben an admin. (ada, ben, client) clients."""
    make_user("ben", display_name="Ben Ward")
    make_user("client", display_name="Cleo Client")
    client = login(db.session.scalar(select(User).where(User.username == "client")))
    filed = client.post("/people/ada/report", data={"reason": "harassment", "note": NOTE}, follow_redirects=True)
    assert "Ada Lind is the only admin here, so your report waits until there is another" in page_text(filed)
    ada_client = login(ada)
    assert ada_client.post("/admin/members/ben/make-admin", data={"confirmed": "1"}).status_code == 302
    return ada_client, login(db.session.scalar(select(User).where(User.username == "ben"))), client


def the_report() -> Report:
    db.session.expire_all()
    return db.session.scalar(select(Report))


def test_the_admins_reports_pages_say_a_report_nobody_here_can_see_waits_for_the_server(practice):
    for admin in practice[:2]:
        page = page_text(admin.get("/admin/reports"))
        assert "Nothing to review" in page
        assert ("A report you can't see is open (about you, or an admin who made you one), and no admin here can see "
                "it: whoever runs the server resolves it (./wb reports list, then ./wb reports resolve ID). Until "
                "then you make no password reset links and erase nobody.") in page
        # never what it is, nor who filed it
        assert "Cleo" not in page and "client" not in page and NOTE not in page and "harassment" not in page.lower()


NOBODY_SEES_IT = ("A report you can't see is open (about you, or an admin who made you one), and no admin here can "
                  "see it: only whoever runs the server can resolve it (./wb reports list, then ./wb reports resolve "
                  "ID). Until then no admin can ")


def test_the_refusals_say_only_the_server_resolves_it_and_acts_meanwhile(practice):
    """Both were told "until another admin ... has resolved it, the other admins ... make password reset
    links": neither can see it, nor make links (a re-check tester)."""
    for admin in practice[:2]:
        refused = admin.post("/admin/members/client/reset-link", data={"confirmed": "1"})
        assert refused.status_code == 400 and "/reset/" not in text(refused)
        assert (NOBODY_SEES_IT + "make password reset links; whoever runs the server can "
                "(./wb members reset-link client).") in page_text(refused)
        erase = admin.post("/admin/members/client/erase", data={"confirm_username": "client"})
        assert erase.status_code == 400
        assert NOBODY_SEES_IT + "erase members; whoever runs the server can (./wb members erase client)." in page_text(erase)
        asked = page_text(admin.post("/admin/members/client/suspend"))
        assert NOBODY_SEES_IT + "remove a member's requests and comments." in asked  # no command does
        for page in (page_text(refused), page_text(erase), asked):
            assert "another admin" not in page and "other admins" not in page
    assert db.session.get(User, db.session.scalar(select(User.id).where(User.username == "client"))).deleted_at is None


def test_reports_they_cant_see_are_counted_and_those_no_admin_can(practice):
    """Reported again once Ben is an admin: Ben sees the new one; Ada sees neither, and only the first
    waits for the server. Neither makes links while the first is open."""
    ada, ben, client = practice
    assert client.post("/people/ada/report", data={"reason": "spam", "note": ""}).status_code == 302
    refused = page_text(ada.post("/admin/members/client/reset-link", data={"confirmed": "1"}))
    assert ("2 reports you can't see are open (about you, or an admin who made you one), and no admin here can see "
            "1 of them: only whoever runs the server can resolve it (./wb reports list, then ./wb reports resolve "
            "ID). Until then no admin can make password reset links;") in refused
    refused = page_text(ben.post("/admin/members/client/reset-link", data={"confirmed": "1"}))
    assert NOBODY_SEES_IT + "make password reset links;" in refused


def test_the_server_lists_and_resolves_it_and_the_admins_hands_come_back(practice, runner, ada):
    _ada, ben, _client = practice
    report = the_report()
    listed = runner.invoke(args=["reports", "list"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert re.fullmatch(rf"#{report.id}  \d{{4}}-\d\d-\d\d \d\d:\d\d UTC \(just now\)  about ada \(admin\), by client: "
                        r"Harassment or bullying  \[no admin can see it\]", lines[0]), lines[0]
    assert lines[1] == f"    {NOTE}"  # the reporter's own words, as Admin → Reports shows them
    assert lines[-1] == "1 open. Resolve one with `./wb reports resolve ID`."

    resolved = runner.invoke(args=["reports", "resolve", str(report.id)])
    assert resolved.exit_code == 0, resolved.output
    assert resolved.output == f"Report #{report.id} about ada (admin) is resolved.\n"
    report = the_report()
    assert report.status == "resolved" and report.resolved_at is not None and report.resolved_by_id is None
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == REPORT_RESOLVED))
    assert (event.actor_id, event.subject, event.new_value) == (None, f"user:{ada.id}", f"report {report.id}")

    assert "No open reports." in runner.invoke(args=["reports", "list"]).output
    page = page_text(ben.get("/admin/reports"))
    assert "you can't see" not in page and "Nothing to review" in page
    assert ben.post("/admin/members/client/reset-link", data={"confirmed": "1"}).status_code == 200
    # Recent member actions names the command line as who resolved it
    assert "Report about them resolved" in page_text(ben.get("/admin/members"))
    again = runner.invoke(args=["reports", "resolve", str(report.id)])
    assert again.exit_code == 0 and again.output == f"Report #{report.id} about ada (admin) was resolved already.\n"


def test_resolving_a_report_by_something_not_an_id_is_refused_as_a_report_id(runner):
    """`./wb reports resolve abc` said "isn't a whole number from 1 to 9,223,372,036,854,775,807"
    (a residents' building's tester): it says what a report id is, and where to find one."""
    result = runner.invoke(args=["reports", "resolve", "abc"])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == ("Error: Invalid value for 'ID': 'abc' isn't a report id; report ids are "
                                              "whole numbers from 1, as `./wb reports list` shows them.")
    assert "9,223,372,036,854,775,807" not in result.output


def test_a_report_another_admin_can_see_is_theirs_to_resolve(app, admin, alice, bob, login, runner, messaging_on):
    """Alice, made an admin by the founding admin (root), was reported after: root sees it, Alice is
    told another admin resolves it; the listing doesn't mark it."""
    root = login(admin)
    assert root.post("/admin/members/alice/make-admin", data={"confirmed": "1"}).status_code == 302
    assert login(bob).post("/people/alice/report", data={"reason": "spam", "note": ""}).status_code == 302
    page = page_text(login(alice).get("/admin/reports"))
    assert ("A report you can't see is open (about you, or an admin who made you one): another admin resolves it, or "
            "whoever runs the server (./wb reports list). Until then") in page
    assert "you can't see" not in page_text(root.get("/admin/reports"))
    listed = runner.invoke(args=["reports", "list"]).output
    assert "about alice (admin), by bob: Spam or advertising" in listed and "no admin can see it" not in listed
    # her refusals say so too: root resolves it, or makes the link meanwhile
    seen_by_another = ("A report you can't see is open (about you, or an admin who made you one): another admin can "
                       "resolve it, or whoever runs the server (./wb reports list, then ./wb reports resolve ID). Until "
                       "then another admin, or whoever runs the server")
    refused = login(alice).post("/admin/members/bob/reset-link", data={"confirmed": "1"})
    assert refused.status_code == 400
    assert seen_by_another + " (./wb members reset-link bob), can make password reset links." in page_text(refused)
    erase = login(alice).post("/admin/members/bob/erase", data={"confirm_username": "bob"})
    assert erase.status_code == 400
    assert seen_by_another + " (./wb members erase bob), can erase members." in page_text(erase)
    assert root.post("/admin/members/bob/reset-link", data={"confirmed": "1"}).status_code == 200


def test_admins_reported_each_by_the_other_s_view_resolve_each_other_s_first(app, admin, alice, bob, login, messaging_on):
    """Root made Alice an admin; then Bob reported both. Each sees the report about the other, and is
    held back by the one about them: another admin resolves it, but no admin makes links meanwhile."""
    root = login(admin)
    assert root.post("/admin/members/alice/make-admin", data={"confirmed": "1"}).status_code == 302
    bobs = login(bob)
    for reported in ("root", "alice"):
        assert bobs.post(f"/people/{reported}/report", data={"reason": "spam", "note": ""}).status_code == 302
    for refused in (root.post("/admin/members/bob/reset-link", data={"confirmed": "1"}),
                    login(alice).post("/admin/members/bob/reset-link", data={"confirmed": "1"})):
        assert refused.status_code == 400
        assert ("A report you can't see is open (about you, or an admin who made you one): another admin can resolve "
                "it, or whoever runs the server (./wb reports list, then ./wb reports resolve ID). Until then no admin "
                "can make password reset links; whoever runs the server can (./wb members reset-link bob).") \
            in page_text(refused)


def test_a_reported_only_admin_is_not_told(app, ada, bob, login, messaging_on):
    """The reporter was told "they aren't told about it": while Ada is the only admin, nothing holds
    her hand back, and her Reports page says nothing of it."""
    assert login(bob).post("/people/ada/report", data={"reason": "spam", "note": ""}).status_code == 302
    assert "you can't see" not in page_text(login(ada).get("/admin/reports"))


def test_the_listing_never_shows_a_message(app, alice, bob, login, runner, messaging_on):
    from messaging_helpers import open_conversation, send

    alice_client = login(alice)
    send(alice_client, open_conversation(alice_client, "bob"), "my secret address is 12 Elm St")
    assert login(bob).post("/people/alice/report", data={"reason": "scam", "note": "asked for money"}).status_code == 302
    listed = runner.invoke(args=["reports", "list"]).output
    assert "about alice, by bob: Scam or fraud" in listed and "    asked for money" in listed
    assert "Elm St" not in listed


def test_an_unknown_report_is_one_error_line(app, runner):
    assert runner.invoke(args=["reports", "list"]).output == "No open reports.\n"
    unknown = runner.invoke(args=["reports", "resolve", "99"])
    assert unknown.exit_code == 1
    assert unknown.output == "Error: No report has the id 99; `./wb reports list` shows the open ones.\n"
