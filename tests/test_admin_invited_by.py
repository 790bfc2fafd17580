"""Admin → Members says who invited whom: a suspended scammer's second account, made with an invite
the scammer created before the suspension, is traced from either row (outside testers)."""
import re

import pytest

from helpers import reload, text
from wb.extensions import db
from wb.models import Invite, User


@pytest.fixture
def admin_client(admin, login):
    return login(admin)


def member_row(page: str, username: str) -> str:
    return re.search(rf'<tr id="member-{username}">.*?</tr>', page, re.S).group(0)


def name_cell(row: str) -> str:
    return re.search(r"<td>(.*?)</td>", row, re.S).group(1)


def join_with_invite_of(app, inviter_client, username, display_name):
    """The inviter makes an invite in /invites; a newcomer registers with it."""
    assert inviter_client.post("/invites").status_code == 302
    invite = db.session.scalars(db.select(Invite).order_by(Invite.id.desc())).first()
    joined = app.test_client().post(f"/register?invite={invite.token}", data={
        "username": username, "display_name": display_name, "password": "long enough pw"})
    assert joined.status_code == 302, text(joined)
    return User.by_username(username)


def test_a_suspended_members_second_account_is_traced_to_them(app, admin_client, make_user, login):
    mallory = make_user("mallory", display_name="Mallory")
    second = join_with_invite_of(app, login(mallory), "helpful_neighbour", "Helpful Neighbour")
    admin_client.post("/admin/members/mallory/suspend", data={"confirmed": "1"})
    assert reload(User, mallory.id).status == "suspended"
    assert reload(User, second.id).invited_by_id == mallory.id  # what the page reads

    page = text(admin_client.get("/admin/members"))

    invited = name_cell(member_row(page, "helpful_neighbour"))
    assert ('<span class="muted">Invited by</span> <a href="/admin/members?q=mallory#member-mallory">'
            '<bdi>Mallory</bdi></a> <bdi class="muted">@mallory</bdi>') in invited
    inviter = name_cell(member_row(page, "mallory"))
    assert ('<span class="muted">Invited:</span> <a href="/admin/members?q=helpful_neighbour#member-helpful_neighbour">'
            '<bdi>Helpful Neighbour</bdi></a> <bdi class="muted">@helpful_neighbour</bdi>') in inviter


def test_members_invited_by_nobody_say_nothing_of_it(admin_client, admin, runner, app):
    assert runner.invoke(args=["create-invite"]).exit_code == 0  # the command line's invite names nobody
    invite = db.session.scalar(db.select(Invite))
    app.test_client().post(f"/register?invite={invite.token}", data={"username": "walkin", "password": "long enough pw"})
    assert User.by_username("walkin").invited_by_id is None

    page = text(admin_client.get("/admin/members"))

    assert "Invited" not in name_cell(member_row(page, "walkin")) and "Invited" not in name_cell(member_row(page, "root"))


def test_an_inviter_who_left_is_a_former_member(admin_client, make_user):
    from wb.people import leaving

    gone = make_user("gone", display_name="Gone Away")
    make_user("stays").invited_by_id = gone.id
    db.session.commit()
    leaving.close_account(gone)

    page = text(admin_client.get("/admin/members"))

    assert 'Invited by</span> <span class="muted">former member</span>' in name_cell(member_row(page, "stays"))
    assert "Gone Away" not in page.split("Recent member actions")[0]


def test_many_invitees_show_five_and_lead_to_the_list_of_all(admin_client, make_user):
    spammer = make_user("spammer", display_name="Spammer")
    for number in range(7):
        make_user(f"sock{number}").invited_by_id = spammer.id
    make_user("unrelated")
    db.session.commit()

    row = name_cell(member_row(text(admin_client.get("/admin/members")), "spammer"))
    assert row.count("#member-sock") == 5 and 'and 2 more (<a href="/admin/members?invited_by=spammer">show all 7</a>)' in row

    listed = text(admin_client.get("/admin/members?invited_by=spammer"))
    assert re.findall(r'<tr id="member-([^"]+)"', listed) == [f"sock{number}" for number in range(7)]
    assert "Members who joined through an invite by" in listed and "@spammer" in listed
    assert "Show everyone" in listed
    assert admin_client.get("/admin/members?invited_by=nobody-here").status_code == 404
    nobody = text(admin_client.get("/admin/members?invited_by=unrelated"))
    assert "Nobody who joined through their invites is here now." in nobody


def test_who_invited_whom_costs_the_same_queries_for_any_number_of_members(admin_client, make_user, count_queries):
    inviter = make_user("inviter")
    make_user("first").invited_by_id = inviter.id
    db.session.commit()
    admin_client.get("/admin/members")  # the flags, read once and kept
    with count_queries() as few:
        admin_client.get("/admin/members")
    for number in range(12):
        make_user(f"m{number:02}").invited_by_id = inviter.id if number % 2 else None
        make_user(f"n{number:02}").invited_by_id = db.session.scalar(db.select(User.id).where(User.username == "first"))
    db.session.commit()
    with count_queries() as many:
        page = text(admin_client.get("/admin/members"))
    assert "Invited by" in page
    # (the flags are read again whenever their process cache runs out: not the page's doing)
    assert len([s for s in many if "feature_flags" not in s]) == len([s for s in few if "feature_flags" not in s])
