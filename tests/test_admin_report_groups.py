"""Admin → Reports groups the open reports about one member ("8 open reports about Sam Green @sam
from 2 members") and says beside each report what accounts, invitations and blocks tell about its
reporter: when they joined, who invited whom among those reporting, a block by the member reported
that came first, a name like theirs. Two accounts made minutes before, one inviting the other, filed
eight reports about a seller who had blocked one of them, and the page showed eight loose rows (a
marketplace's tester). Never a message's text."""
import re
from datetime import timedelta

import pytest

from messaging_helpers import open_conversation, send, visible_text
from wb.extensions import db
from wb.messaging import safety
from wb.messaging.models import Block, Report
from wb.models import utcnow

REASONS = ("spam", "harassment", "scam", "safety")


@pytest.fixture
def admin_client(admin, login, messaging_on):
    return login(admin)


@pytest.fixture
def marketplace(make_user):
    """Sam, a seller of two years; scam1 joined 20 minutes ago and invited scam2 (named like Sam) a few
    minutes later. Sam blocked scam1 15 minutes ago, and scam2 only after their reports."""
    now = utcnow()
    sam = make_user("sam", display_name="Sam Green")
    scam1 = make_user("scam1", display_name="Scam One")
    scam2 = make_user("scam2", display_name="Sam Gr33n")
    sam.created_at = now - timedelta(days=800)
    scam1.created_at = now - timedelta(minutes=20)
    scam2.created_at, scam2.invited_by_id = now - timedelta(minutes=16), scam1.id
    db.session.add_all([Block(blocker_id=sam.id, blocked_id=scam1.id, created_at=now - timedelta(minutes=15)),
                        Block(blocker_id=sam.id, blocked_id=scam2.id, created_at=now - timedelta(minutes=1))])
    db.session.commit()
    return sam, scam1, scam2


def file_report(reporter, reported, reason="spam", minutes_ago=0, note="", conversation_id=None):
    report = Report(reporter_id=reporter.id, reported_id=reported.id, reason=reason, note=note,
                    conversation_id=conversation_id, created_at=utcnow() - timedelta(minutes=minutes_ago))
    db.session.add(report)
    db.session.commit()
    return report


def row_text(page: str, report) -> str:
    row = re.search(rf'<tr id="report-{report.id}">.*?</tr>', page, re.S).group(0)
    return visible_text(row)


def facts_of(page: str, report) -> str:
    row = re.search(rf'<tr id="report-{report.id}">.*?</tr>', page, re.S).group(0)
    return visible_text(re.search(r'<ul class="report-facts">(.*?)</ul>', row, re.S).group(1))


def eight_reports(sam, scam1, scam2) -> list:
    """scam1 and scam2 report Sam for four reasons each, 10 to 3 minutes ago, taking turns."""
    reports = []
    for turn, reason in enumerate(REASONS):
        reports.append(file_report(scam1, sam, reason, minutes_ago=10 - 2 * turn))
        reports.append(file_report(scam2, sam, reason, minutes_ago=9 - 2 * turn))
    return reports


def test_open_reports_about_one_member_are_counted_together_newest_group_first(admin_client, marketplace, make_user):
    sam, scam1, scam2 = marketplace
    carol, dora = make_user("carol", display_name="Carol"), make_user("dora", display_name="Dora Dee")
    reports = eight_reports(sam, scam1, scam2)
    about_dora = file_report(carol, dora, minutes_ago=30)

    page = admin_client.get("/admin/reports").get_data(as_text=True)
    seen = visible_text(page)

    assert "8 open reports about Sam Green @sam from 2 members" in seen
    assert "1 open report about Dora Dee @dora" in seen
    # Sam's group (its newest report 3 minutes ago) before Dora's, its rows newest first, then Dora's
    order = [int(found) for found in re.findall(r'<tr id="report-(\d+)">', page)]
    newest_first = sorted(reports, key=lambda report: report.created_at, reverse=True)
    assert order == [report.id for report in newest_first] + [about_dora.id]
    assert seen.index("8 open reports about") < seen.index(row_text(page, newest_first[0]))
    assert seen.index(row_text(page, newest_first[-1])) < seen.index("1 open report about")


def test_each_report_says_when_its_reporter_joined_who_invited_them_and_a_block_first(admin_client, marketplace):
    sam, scam1, scam2 = marketplace
    by_scam1 = file_report(scam1, sam, "scam", minutes_ago=8)
    by_scam2 = file_report(scam2, sam, "scam", minutes_ago=4)

    page = admin_client.get("/admin/reports").get_data(as_text=True)

    assert facts_of(page, by_scam1) == ("Joined 12 minutes before reporting "
                                        "Invited Sam Gr33n @scam2 , who also reported Sam Green "
                                        "Sam Green had blocked this reporter before the report")
    # scam2's block came after the report: not said; their name is like Sam's
    assert facts_of(page, by_scam2) == ("Joined 12 minutes before reporting "
                                        "Invited by Scam One @scam1 , who also reported Sam Green "
                                        "Their name looks like the reported member’s")
    assert "2 open reports about Sam Green @sam from 2 members" in visible_text(page)


def test_a_long_standing_reporter_reads_only_when_they_joined(admin_client, marketplace, make_user):
    sam, _, _ = marketplace
    carol = make_user("carol", display_name="Carol")
    carol.created_at = utcnow() - timedelta(days=800)
    report = file_report(carol, sam)

    page = admin_client.get("/admin/reports").get_data(as_text=True)

    assert facts_of(page, report) == "Joined 2 years before reporting"
    assert "1 open report about Sam Green @sam" in visible_text(page)


def test_a_reporter_invited_by_the_member_they_reported_is_told(admin_client, marketplace, make_user):
    sam, _, _ = marketplace
    erin = make_user("erin", display_name="Erin")
    erin.invited_by_id = sam.id
    db.session.commit()
    report = file_report(erin, sam)

    assert "Invited by the member they reported" in facts_of(admin_client.get("/admin/reports").get_data(as_text=True), report)


def test_a_block_lifted_before_the_admin_looks_is_still_told(admin_client, make_user):
    """The blocks table forgets a lifted block; the audit log keeps that it was made."""
    sam, fred = make_user("sam", display_name="Sam Green"), make_user("fred", display_name="Fred")
    safety.block(sam, fred)
    safety.unblock(sam, fred)
    report = file_report(fred, sam)
    report.created_at = utcnow() + timedelta(seconds=1)  # filed after the block, whatever the clock's grain
    db.session.commit()

    facts = facts_of(admin_client.get("/admin/reports").get_data(as_text=True), report)

    assert "Sam Green had blocked this reporter before the report (unblocked since)" in facts


def test_the_page_shows_no_message_text(admin_client, admin, make_user, login):
    """A report filed from a conversation: the page says there was one, never what was written."""
    sam, gina = make_user("sam", display_name="Sam Green"), make_user("gina", display_name="Gina")
    as_gina, as_sam = login(gina), login(sam)
    conversation_id = open_conversation(as_gina, "sam")
    send(as_gina, conversation_id, "Is the bike still for sale?")
    send(as_sam, conversation_id, "Yes, pay by gift card only")
    safety.block(sam, gina)
    report = file_report(gina, sam, "scam", note="asked for gift cards", conversation_id=conversation_id)
    report.created_at = utcnow() + timedelta(seconds=1)
    db.session.commit()

    page = admin_client.get("/admin/reports").get_data(as_text=True)

    assert "Is the bike still for sale" not in page and "gift card only" not in page
    assert "asked for gift cards" in row_text(page, report)  # the reporter's note, their own words
    assert "Sam Green had blocked this reporter before the report" in facts_of(page, report)


def test_resolved_reports_are_grouped_too(admin_client, marketplace):
    sam, scam1, scam2 = marketplace
    for report in eight_reports(sam, scam1, scam2)[:3]:
        admin_client.post(f"/admin/reports/{report.id}/resolve")

    seen = visible_text(admin_client.get("/admin/reports?status=resolved"))

    assert "3 resolved reports about Sam Green @sam from 2 members" in seen


def test_grouping_and_facts_cost_the_same_queries_for_any_number_of_reports(admin_client, marketplace, make_user,
                                                                             count_queries):
    sam, scam1, scam2 = marketplace
    file_report(scam1, sam, "other", minutes_ago=5)
    admin_client.get("/admin/reports")  # flags and the like read once
    with count_queries() as few:
        admin_client.get("/admin/reports")

    eight_reports(sam, scam1, scam2)
    for index in range(6):
        reporter, reported = make_user(f"r{index}"), make_user(f"d{index}")
        reporter.invited_by_id = scam1.id
        db.session.add(Block(blocker_id=reported.id, blocked_id=reporter.id, created_at=utcnow() - timedelta(hours=1)))
        file_report(reporter, reported)
    with count_queries() as many:
        page = admin_client.get("/admin/reports")

    assert "1 open report about D0 @d0" in visible_text(page)
    assert len(many) == len(few), "\n".join(many)


def test_a_look_alike_name_is_told_by_the_same_test_names_are_chosen_by(admin_client, make_user):
    """"Flat 9" is another number than "Flat 6" (a name may be chosen beside it), so it is no look-alike
    here either; "Fla7 6" reads as Flat 6 (a digit for a letter) and is told."""
    flat6 = make_user("flat6", display_name="Flat 6")
    flat9 = make_user("flat9", display_name="Flat 9")
    report = file_report(flat9, flat6)
    page = admin_client.get("/admin/reports").get_data(as_text=True)
    assert "looks like" not in facts_of(page, report)
    flat_lookalike = make_user("unit4", display_name="Fla7 6")
    told = file_report(flat_lookalike, flat6, reason="other")
    assert "Their name looks like the reported member’s" in facts_of(admin_client.get("/admin/reports").get_data(as_text=True), told)
