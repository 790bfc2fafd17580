"""Admin → Reports names each member so an admin can tell who is who: the @username beside a name
(a look-alike "ADMlN" read as the admin), and "former member", unlinked, for one who left (their
profile is a 404). Admin → Members' recent member actions say so too."""
import re

import pytest

from helpers import text
from messaging_helpers import visible_text
from wb.extensions import db
from wb.messaging.models import Report
from wb.people import leaving


@pytest.fixture
def admin_client(admin, login, messaging_on):
    return login(admin)


def file_report(reporter, reported, reason="spam", note=""):
    report = Report(reporter_id=reporter.id, reported_id=reported.id, reason=reason, note=note)
    db.session.add(report)
    db.session.commit()
    return report


def report_row(page: str, report) -> str:
    return re.search(rf'<tr id="report-{report.id}">.*?</tr>', page, re.S).group(0)


def cell(row: str, label: str) -> str:
    return re.search(rf'<td data-label="{label}"[^>]*>(.*?)</td>', row, re.S).group(1)


def test_reports_show_the_username_beside_a_look_alike_name(admin_client, admin, make_user):
    """A member named "ADMlN" (a small L) reported by another: both columns say whose account it is."""
    impostor = make_user("admln", display_name="ADMlN")
    carol = make_user("carol", display_name="Carol")
    report = file_report(carol, impostor)

    row = report_row(text(admin_client.get("/admin/reports")), report)

    reported, by = cell(row, "Reported"), cell(row, "By")
    assert '<a href="/people/admln"><bdi>ADMlN</bdi></a> <bdi class="muted">@admln</bdi>' in reported
    assert '<a href="/people/carol"><bdi>Carol</bdi></a> <bdi class="muted">@carol</bdi>' in by
    assert "Their row in Members" in reported


@pytest.mark.parametrize("how", ["closed", "erased"])
def test_a_reporter_who_left_is_a_former_member_without_a_link(admin_client, make_user, how):
    """A reporter who closed their account (or was erased) was shown by their old name, linked to a 404."""
    dora = make_user("dora", display_name="Dora Dee")
    eve = make_user("eve", display_name="Eve Evans")
    report = file_report(dora, eve, note="sells fake tickets")
    leaving.erase_member(dora) if how == "erased" else leaving.close_account(dora)

    page = text(admin_client.get("/admin/reports"))
    row = report_row(page, report)

    assert cell(row, "By").startswith('<span class="muted">former member</span><ul class="report-facts">')
    assert "Dora Dee" not in page and "/people/dora" not in page and "/people/erased-" not in page
    assert "Eve Evans" in cell(row, "Reported")  # the member reported still is who they are
    assert db.session.get(Report, report.id).reporter_id == dora.id  # the report stays, as filed


def test_a_reported_member_who_left_is_a_former_member_without_links(admin_client, make_user):
    frank = make_user("frank", display_name="Frank Fox")
    gina = make_user("gina", display_name="Gina")
    report = file_report(gina, frank)
    leaving.close_account(frank)

    page = text(admin_client.get("/admin/reports"))
    row = report_row(page, report)

    assert cell(row, "Reported") == '<span class="muted">former member</span>'
    assert "/people/frank" not in page and "#member-frank" not in page  # no profile, no row in Members
    assert "the report about <bdi>a former member</bdi>" in row  # what Mark resolved reads out
    assert "Frank Fox" not in page


def test_recent_member_actions_call_a_member_who_left_a_former_member(admin_client, admin, make_user):
    hal = make_user("hal", display_name="Hal Hope")
    admin_client.post("/admin/members/hal/suspend", data={"confirmed": "1"})
    leaving.close_account(hal)

    listed = text(admin_client.get("/admin/members")).split("Recent member actions", 1)[1]

    assert '<span class="muted">former member</span>' in listed and "Hal Hope" not in listed
    assert "@hal" not in listed and "/people/hal" not in listed  # as Reports names them


def test_an_erased_admin_and_member_are_former_members_on_every_admin_page(admin_client, make_user, login):
    """After `./wb members erase`, Settings' and Messaging's recent changes, the rules' changes, Members'
    "Who" and "Member" columns and Circles' changes said "erased-1", and a resolved report "by a former
    admin" (an outside admin tester): each says "former member", as Reports does for a reporter."""
    dave = make_user("dave", role="admin", display_name="Dave Dunn")
    gina, carol = make_user("gina", display_name="Gina Gale"), make_user("carol", display_name="Carol")
    report = file_report(carol, gina)
    as_dave = login(dave)
    as_dave.post("/admin/settings/direct_messaging", data={"enabled": "0", "confirmed": "1"})
    as_dave.post("/admin/settings/direct_messaging", data={"enabled": "1"})
    as_dave.post("/admin/settings/rules/reach", data={"reach": "shared-circle", "confirmed": "1"})
    as_dave.post("/admin/members/gina/suspend", data={"confirmed": "1"})
    as_dave.post(f"/admin/reports/{report.id}/resolve")
    as_dave.post("/admin/circles", data={"name": "Elm Street"})
    leaving.erase_member(dave)
    leaving.erase_member(gina)

    pages = {path: visible_text(admin_client.get(path)) for path in (
        "/admin/settings", "/admin/messaging", "/admin/members", "/admin/reports?status=resolved", "/admin/circles")}

    for path, page in pages.items():
        assert "erased-" not in page and "Dave" not in page and "Gina" not in page, path
    settings = pages["/admin/settings"]
    assert "Last changed off → on by a former member , just now" in settings  # (tags read as spaces)
    rule_changes = settings.split("Changes to the rules", 1)[1].split("Recent changes", 1)[0]
    assert "members who share a circle former member" in rule_changes  # Change, then Who
    assert "off → on former member" in settings.split("Recent changes", 1)[1]
    assert "off → on former member" in pages["/admin/messaging"].split("Recent changes", 1)[1]
    actions = pages["/admin/members"].split("Recent member actions", 1)[1]
    assert "former member Erased: sent text erased command line" in actions  # Member: gina, by the server
    assert f"former member Report about them resolved: report {report.id} former member" in actions  # gina, by dave
    assert "former member Suspended: active → suspended former member" in actions
    assert "by a former member , just now" in pages["/admin/reports?status=resolved"]
    assert "created: Elm Street former member" in pages["/admin/circles"]
