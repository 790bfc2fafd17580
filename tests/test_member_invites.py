"""Members invite people they trust from /invites."""
import re

from sqlalchemy import func, select

from wb.extensions import db
from wb.models import Invite, User
from helpers import text


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


def test_an_admin_can_let_only_admins_invite_and_members_links_stop_until_it_is_back_on(app, admin, alice, login,
                                                                                       client):
    """A practice doesn't want clients inviting outsiders (an outside tester): the switch in Admin →
    Settings. Links members made stop working while it is off, as a suspended member's do."""
    alice_client, admin_client = login(alice), login(admin)
    assert alice_client.post("/invites").status_code == 302
    alices_link = db.session.scalar(select(Invite).where(Invite.created_by_id == alice.id))
    settings = admin_client.get("/admin/settings").get_data(as_text=True)
    assert 'id="flag-member_invites"' in settings

    asked = admin_client.post("/admin/settings/member_invites", data={"enabled": "0"})  # asks first
    assert asked.status_code == 200 and "Only admins will make invite links" in asked.get_data(as_text=True)
    assert admin_client.post("/admin/settings/member_invites", data={"enabled": "0", "confirmed": "1"}).status_code == 302

    assert 'href="/invites"' not in alice_client.get("/").get_data(as_text=True)  # not offered in the nav
    assert 'href="/invites"' in admin_client.get("/").get_data(as_text=True)
    page = alice_client.get("/invites")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "only admins invite new members" in text and "Create an invite link" not in text
    assert "Stopped while only admins invite" in text
    refused = alice_client.post("/invites")
    assert refused.status_code == 403
    assert db.session.scalar(select(func.count(Invite.id))) == 1
    joining = client.get(f"/register?invite={alices_link.token}")
    assert "here only admins invite new members now" in joining.get_data(as_text=True)
    assert client.post(f"/register?invite={alices_link.token}",
                       data={"username": "outsider", "password": "long enough pw"}).status_code != 302
    assert User.by_username("outsider") is None
    assert admin_client.post("/invites").status_code == 302  # admins still invite

    admin_client.post("/admin/settings/member_invites", data={"enabled": "1"})
    joined = client.post(f"/register?invite={alices_link.token}", data={"username": "outsider", "password": "long enough pw"})
    assert joined.status_code == 302 and User.by_username("outsider") is not None


def test_an_invite_without_an_end_says_so(app, admin, login):
    """The demo's invite showed no date beside the others' "expires 20 Dec" (a tester)."""
    Invite.issue(creator=admin, max_uses=1)  # as ./wb create-invite without --days makes one
    db.session.commit()
    client = login(admin)
    client.post("/invites")
    page = client.get("/invites").get_data(as_text=True)
    assert page.count("never expires") == 1 and page.count("· expires ") == 1


def test_where_members_reach_only_their_circles_the_invite_page_says_a_newcomer_joins_none(app, alice, admin, login,
                                                                                           messaging_on):
    """An outside tester's newcomer could message nobody but the admin, and the member who invited
    them couldn't message them either, without a word of it anywhere."""
    from wb.messaging import rule_changes

    words = "joins no circle: until an admin adds them to one of yours"
    member, boss = login(alice), login(admin)
    assert words not in text(member.get("/invites"))
    rule_changes.set_reach(True)
    assert words in text(member.get("/invites"))
    assert words not in text(boss.get("/invites"))  # an admin chooses the circle newcomers join
    assert 'href="/circles#admins"' in text(member.get("/invites"))
    # Where only some circles may start conversations and she is in none, a shared circle changes
    # nothing for her: the note would promise what isn't so (a re-check tester).
    from wb.circles import service as circles

    coordinators = circles.create("Coordinators")
    rule_changes.set_starters([coordinators])
    assert words not in text(member.get("/invites"))


def test_what_joining_a_circle_lets_a_newcomer_do_follows_the_messaging_rules(app, admin, login, messaging_on):
    """"They can then write to its members as soon as they join" was said whatever the rules: false where only
    therapists start, and where a protected Clients let clients start with each other, the very privacy problem
    a practice had (an outside tester). It is now the rules' own answer, for every circle offered."""
    from messaging_helpers import visible_text
    from wb import flags
    from wb.circles import service as circles
    from wb.messaging import rule_changes

    boss = login(admin)

    def hint():
        page = boss.get("/invites").get_data(as_text=True)
        found = re.search(r'<p class="hint" id="circle-hint">(.*?)</p>', page, re.S)
        return visible_text(found.group(1)) if found else None

    assert hint() is None  # no circle to join
    clients, therapists = circles.create("Clients"), circles.create("Therapists")
    assert hint() == "They can then start conversations with its members."
    rule_changes.set_starters([therapists])  # the README's Therapy recipe
    assert hint() == ("They can then start conversations with its members, except in Clients, where only members of "
                      "Therapists start conversations. They can reply to anyone who writes to them.")
    rule_changes.set_starters(None)
    rule_changes.set_reach(True)
    rule_changes.set_protection(clients, [therapists])  # the tester's set-up: said, not hidden
    assert hint() == ("They can then start conversations with its members. Clients is protected, but its own members "
                      "may start conversations with each other (Admin → Settings → Messaging rules).")
    rule_changes.set_protection(clients, [therapists], own_members_start=False)
    assert hint() == ("They can then start conversations with its members, except in Clients, where only staff and "
                      "members of Therapists start conversations with its members. They can reply to anyone who writes to them.")
    rule_changes.set_starters([])  # staff only
    assert hint() == ("Joining a circle doesn't let them start conversations with its members: only staff start "
                      "conversations. They can reply to anyone who writes to them.")
    page = boss.get("/invites").get_data(as_text=True)
    # Clients is still protected: the select is described by the hint and by who no protection covers
    assert 'aria-describedby="circle-hint no-circle-hint"' in page
    flags.set_flag("direct_messaging", False)  # nothing to say of messages
    assert hint() is None and "circle-hint" not in boss.get("/invites").get_data(as_text=True)
