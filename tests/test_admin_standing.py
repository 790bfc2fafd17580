"""How far an admin's hand reaches (admin/standing.py): not over admins of longer standing, and no
reset links or erasures while a report about them is open. A therapy practice's tester made a
reported clinician an admin; she removed the founding admin's role, took over the client who had
reported her with a reset link, read the complaint and erased the client, blanking the report."""
import html
import re

import pytest
from sqlalchemy import select

from helpers import text
from wb.extensions import db
from wb.messaging.models import Report
from wb.models import User


def page_text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text(response))).split())


def reloaded(member) -> User:
    db.session.expire_all()
    return db.session.get(User, member.id)


@pytest.fixture
def carol(make_user):
    return make_user("carol")


@pytest.fixture
def founder(admin, login):
    return login(admin)


@pytest.fixture
def newer_admin(founder, alice, login):
    """Alice, made an admin by the founding admin (through the page, as it is done)."""
    assert founder.post("/admin/members/alice/make-admin", data={"confirmed": "1"}).status_code == 302
    assert reloaded(alice).is_admin
    return login(alice)


@pytest.mark.parametrize("action", ["remove-admin", "suspend"])
def test_a_newer_admin_cannot_demote_or_suspend_an_admin_of_longer_standing(newer_admin, admin, action):
    refused = newer_admin.post(f"/admin/members/root/{action}", data={"confirmed": "1"})
    assert refused.status_code == 400
    assert ("Rita Root has been an admin longer than you: only an admin of longer standing, or whoever runs the "
            "server (./wb), can") in page_text(refused)
    founder = reloaded(admin)
    assert founder.is_admin and founder.status == "active"


def test_nor_erase_one(newer_admin, admin):
    refused = newer_admin.get("/admin/members/root/erase")
    assert refused.status_code == 400 and "can erase them" in page_text(refused)
    refused = newer_admin.post("/admin/members/root/erase", data={"confirm_username": "root"})
    assert refused.status_code == 400
    assert reloaded(admin).deleted_at is None


def test_members_offers_no_such_buttons_for_an_admin_of_longer_standing(newer_admin, founder):
    page = text(newer_admin.get("/admin/members"))
    row = page.split('id="member-root"', 1)[1].split("</tr>", 1)[0]
    assert "An admin since before you" in row
    for button in ("Suspend", "Remove admin", "Erase"):
        assert f'aria-label="{button} Rita Root' not in row
    # the founding admin still manages the newer one
    row = text(founder.get("/admin/members")).split('id="member-alice"', 1)[1].split("</tr>", 1)[0]
    assert 'aria-label="Remove admin Alice' in row and "An admin since before you" not in row
    assert founder.post("/admin/members/alice/remove-admin", data={"confirmed": "1"}).status_code == 302


def test_the_command_line_still_can(newer_admin, admin, runner):
    result = runner.invoke(args=["members", "reset-link", "alice"])
    assert result.exit_code == 0, result.output


@pytest.fixture
def reported_alice(alice, carol):
    """Carol reported Alice (open)."""
    db.session.add(Report(reporter_id=carol.id, reported_id=alice.id, reason="harassment",
                          note="My therapist asked to meet outside sessions"))
    db.session.commit()


def test_making_a_reported_member_an_admin_says_so_first(founder, reported_alice):
    asked = founder.post("/admin/members/alice/make-admin")
    assert asked.status_code == 200
    assert ("1 open report is about them: as an admin they won't see it, and until it is resolved they make no "
            "password reset links and erase nobody.") in page_text(asked)
    row = html.unescape(text(founder.get("/admin/members"))).split('id="member-alice"', 1)[1].split("</tr>", 1)[0]
    confirm = re.search(r'action="/admin/members/alice/make-admin"[^>]*data-confirm="([^"]*)"', row).group(1)
    assert "1 open report is about them: as an admin they won't see it" in confirm  # the dialog says it too


@pytest.mark.parametrize("target", ["carol", "bob"])
def test_while_a_report_about_them_is_open_an_admin_makes_no_reset_link_and_erases_nobody(
        reported_alice, newer_admin, carol, bob, target):
    words = ("A report you can't see is open (about you, or an admin who made you one): another admin can resolve "
             "it, or whoever runs the server (./wb reports list, then ./wb reports resolve ID). Until then another "
             "admin, or whoever runs the server ")
    link = newer_admin.post(f"/admin/members/{target}/reset-link", data={"confirmed": "1"})
    assert link.status_code == 400
    assert words + f"(./wb members reset-link {target}), can make password reset links." in page_text(link)
    assert "/reset/" not in text(link)
    erase = newer_admin.post(f"/admin/members/{target}/erase", data={"confirm_username": target})
    assert erase.status_code == 400 and words + f"(./wb members erase {target}), can erase members." in page_text(erase)
    assert reloaded(carol).deleted_at is None and reloaded(bob).deleted_at is None
    # it never says who filed it
    # (the command names the member it was asked for, whoever they are)
    assert "Carol" not in page_text(link) and "carol" not in page_text(link).lower().replace(
        f"/{target}/", "").replace(f"reset-link {target})", "")


def test_suspending_stays_theirs_and_once_resolved_the_rest_comes_back(reported_alice, newer_admin, founder, bob):
    assert newer_admin.post("/admin/members/bob/suspend", data={"confirmed": "1"}).status_code == 302
    assert reloaded(bob).status == "suspended"
    assert newer_admin.post("/admin/members/bob/reinstate").status_code == 302
    [report] = db.session.scalars(select(Report))
    assert founder.post(f"/admin/reports/{report.id}/resolve").status_code in (302, 303)
    made = newer_admin.post("/admin/members/bob/reset-link", data={"confirmed": "1"})
    assert made.status_code == 200 and "/reset/" in text(made)


def test_nor_remove_anyones_posts_with_a_suspension(reported_alice, newer_admin, carol):
    """A re-check tester's reported admin suspended her reporter and deleted his posts for good."""
    from wb.models import HelpRequest

    db.session.add(HelpRequest(author_id=carol.id, title="Lifts to the clinic", body="Tuesdays"))
    db.session.commit()
    asked = newer_admin.post("/admin/members/carol/suspend")
    assert asked.status_code == 200
    assert 'name="remove_posts"' not in text(asked)
    assert "Until then another admin can remove a member's requests and comments." in page_text(asked)
    refused = newer_admin.post("/admin/members/carol/suspend", data={"confirmed": "1", "remove_posts": "1"})
    assert refused.status_code == 400
    assert reloaded(carol).status == "active"  # nothing done, the suspension asked with it neither
    assert db.session.scalar(select(HelpRequest.id).where(HelpRequest.author_id == carol.id)) is not None


def test_a_communitys_only_admin_keeps_links_and_erasure_when_reported(admin, founder, bob, carol):
    """Any member's report would otherwise take them from the only admin for good (a re-check tester):
    no other admin could act instead."""
    db.session.add(Report(reporter_id=bob.id, reported_id=admin.id, reason="other", note="I don't like the rules"))
    db.session.commit()
    made = founder.post("/admin/members/carol/reset-link", data={"confirmed": "1"})
    assert made.status_code == 200 and "/reset/" in text(made)
