"""Members invite people they trust from /invites."""
import re

from sqlalchemy import select

from wb.extensions import db
from wb.models import Invite, User


def test_member_creates_a_single_use_invite_that_registers_someone(app, alice, login, client):
    alice_client = login(alice)
    assert "made any invites yet" in alice_client.get("/invites").get_data(as_text=True)
    response = alice_client.post("/invites")
    assert response.status_code == 302
    page = alice_client.get("/invites").get_data(as_text=True)
    link = re.search(r'value="http://localhost(/register\?invite=[^"]+)"', page).group(1)
    invite = db.session.scalar(select(Invite))
    assert (invite.created_by_id, invite.max_uses, invite.auto_approve) == (alice.id, 1, True)
    assert invite.expires_at is not None
    joined = client.post(link.replace("&amp;", "&"), data={"username": "newcomer", "password": "long enough pw"})
    assert joined.status_code == 302
    newcomer = User.by_username("newcomer")
    assert newcomer.status == "active" and newcomer.invited_by_id == alice.id
    assert "Used or expired" in alice_client.get("/invites").get_data(as_text=True)


def test_members_cannot_hoard_invites_or_choose_admin_options(app, alice, login):
    client = login(alice)
    for _ in range(10):
        assert client.post("/invites", data={"max_uses": "50", "approval": "manual"}).status_code == 302
    response = client.post("/invites")
    assert response.status_code == 400
    assert "10 unused invites already" in response.get_data(as_text=True)
    invites = db.session.scalars(select(Invite)).all()
    assert len(invites) == 10 and all(i.max_uses == 1 and i.auto_approve for i in invites)


def test_admin_chooses_uses_and_approval(app, admin, login):
    client = login(admin)
    assert client.post("/invites", data={"max_uses": "5", "approval": "manual"}).status_code == 302
    invite = db.session.scalar(select(Invite))
    assert (invite.max_uses, invite.auto_approve) == (5, False)
    response = client.post("/invites", data={"max_uses": "zero"})
    assert response.status_code == 400 and "whole number" in response.get_data(as_text=True)


def test_pending_and_anonymous_visitors_cannot_invite(app, make_user, login, client):
    pending = login(make_user("waiting", status="pending"))
    assert pending.get("/invites").status_code == 403
    assert pending.post("/invites").status_code == 403
    assert client.get("/invites").status_code == 302
    assert db.session.scalar(select(Invite)) is None
