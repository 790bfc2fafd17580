"""Joining: the first account becomes admin; everyone after needs a valid invite."""
import html
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from wb.extensions import db
from wb.models import Invite, User, utcnow
from helpers import admin_link, reload, text
from messaging_helpers import visible_text

NEW_PASSWORD = "a long enough password"




def user_count() -> int:
    return db.session.scalar(select(func.count(User.id)))


def signed_in_user_id(client):
    with client.session_transaction() as session:
        signed_in = session.get("_user_id")  # "id:generation", see User.get_id
        return signed_in.partition(":")[0] if signed_in else None


@pytest.fixture
def invite(admin):
    """A single-use, auto-approving invite from the admin."""
    invite = Invite.issue(creator=admin)
    db.session.commit()
    return invite


def register(client, token, username="newbie", password=NEW_PASSWORD, **fields):
    return client.post("/register", data={"invite": token, "username": username, "password": password, **fields})


# --- the first account ----------------------------------------------------------------------------

def test_first_account_becomes_admin_without_an_invite(client):
    page = client.get("/register")
    assert page.status_code == 200
    assert "your account will be the community's admin" in text(page)

    response = client.post("/register", data={"username": "Founder", "password": NEW_PASSWORD,
                                               "display_name": "Fay Founder", "bio": "I started this."})

    assert response.status_code == 302
    assert response.location == "/"
    founder = User.by_username("founder")
    assert (founder.username, founder.role, founder.status) == ("founder", "admin", "active")
    assert (founder.display_name, founder.bio) == ("Fay Founder", "I started this.")
    assert signed_in_user_id(client) == str(founder.id)
    assert admin_link(text(client.get("/"))) == ("/admin/settings", "Admin")


def test_second_account_is_not_made_admin_and_needs_an_invite(client):
    client.post("/register", data={"username": "founder", "password": NEW_PASSWORD})
    other = client.application.test_client()

    response = other.post("/register", data={"username": "second", "password": NEW_PASSWORD})

    assert response.status_code == 400
    assert "You need an invite to join. Ask a member for one." in text(response)
    assert User.by_username("second") is None
    assert user_count() == 1


# --- invites --------------------------------------------------------------------------------------

def test_register_page_without_invite_explains_and_shows_no_form(client, admin):
    response = client.get("/register")

    assert response.status_code == 200
    page = text(response)
    assert "You need an invite to join. Ask a member for one." in page
    assert 'name="username"' not in page


def test_register_page_with_valid_invite_shows_the_form_and_the_inviter(client, invite):
    response = client.get(f"/register?invite={invite.token}")

    assert response.status_code == 200
    page = text(response)
    assert "<bdi>Rita Root</bdi> invited you." in page
    assert f'name="invite" value="{invite.token}"' in page
    assert 'name="username"' in page
    assert "At least 8 characters, and not one of the most common passwords." in page  # said, not left to the browser's bubble (an outside tester), the common ones too (a newcomer)
    again = text(register(client, invite.token, username="has space"))
    assert "type it again" in again and 'name="password"' in again


def test_an_invite_opened_while_signed_in_says_joining_switches_the_browser(invite, alice, login):
    """On a shared phone, joining switched the browser to the new account without a word (a street's tester)."""
    page = text(login(alice).get(f"/register?invite={invite.token}"))
    assert "You're signed in as <bdi>Alice</bdi>." in page and "signs this browser in as the new member" in page
    assert "signs this browser in" not in text(login(alice).get("/register?invite=nope"))  # no form, nothing to warn of


@pytest.mark.parametrize("password", ["password", "Password123", "12345678", "QWERTYUIOP", "iloveyou", "zzzzzzzzzz"])
def test_a_common_password_is_refused_and_the_form_kept(client, invite, password):
    """A street's tester, where many are new to apps, joined with "password": the one tried first."""
    response = register(client, invite.token, username="newbie", password=password, display_name="Nina New")
    page = html.unescape(text(response))
    assert response.status_code == 400 and "one of the most common ones, which others try first" in page
    assert 'value="Nina New"' in page and User.by_username("newbie") is None
    assert register(client, invite.token, username="newbie", display_name="Nina New").status_code == 302


def test_registration_with_a_valid_invite_creates_an_active_member(client, invite, admin):
    response = register(client, invite.token, username="newbie", display_name="Nina New", bio="Hi all")

    assert response.status_code == 302
    assert response.location == "/"
    newbie = User.by_username("newbie")
    assert (newbie.role, newbie.status, newbie.invited_by_id) == ("member", "active", admin.id)
    assert (newbie.display_name, newbie.bio) == ("Nina New", "Hi all")
    assert newbie.check_password(NEW_PASSWORD)
    assert reload(Invite, invite.id).uses == 1
    page = text(client.get("/"))
    assert "Welcome to WhiteBalloon, Nina New." in page
    assert "Hello, <bdi>Nina New</bdi>" in page
    assert "Waiting for approval" not in page


def test_display_name_defaults_to_the_username(client, invite):
    register(client, invite.token, username="plain")
    assert User.by_username("plain").display_name == "plain"


def test_wrong_invite_token_is_refused(client, admin):
    """A link cut short or mistyped says so: "you need an invite" told a newcomer who had one to
    get one (a residents' building's tester)."""
    page = client.get("/register?invite=not-a-real-token")
    assert page.status_code == 400
    words = ("This invite link doesn't work: it may be cut short or mistyped. Open the whole link from the message it "
             "came in, or ask the member who invited you for a new one.")
    assert words in html.unescape(text(page)) and "You need an invite" not in text(page)

    response = register(client, "not-a-real-token")

    assert response.status_code == 400
    assert words in html.unescape(text(response))
    assert User.by_username("newbie") is None


def test_used_invite_is_refused_on_the_page_and_the_form(client, invite, app):
    assert register(client, invite.token, username="first-one").status_code == 302

    other = app.test_client()
    page = other.get(f"/register?invite={invite.token}")
    assert page.status_code == 400
    assert "This invite has already been used." in text(page)
    assert 'name="username"' not in text(page)
    # Whoever joined with it and opens it again to come back in is led to sign in (a street's tester).
    assert "Joined with this invite already?" in text(page) and 'href="/login"' in text(page)

    response = register(other, invite.token, username="second-one")
    assert response.status_code == 400
    assert "This invite has already been used." in text(response)
    assert User.by_username("second-one") is None
    assert reload(Invite, invite.id).uses == 1


SIGN_IN_AGAIN = 'Joined with this invite already? <a href="/login">Sign in</a> instead.'
ALREADY_A_MEMBER = 'Already a member? <a href="/login">Sign in</a>.'


@pytest.mark.parametrize("then", ["used", "expired"])
def test_an_invite_opened_again_by_the_member_who_joined_with_it_says_she_is_a_member(client, admin, then):
    """Erin joined with the link and opened it again, still signed in: the page said only that the
    invite was used, nothing of her being a member already (older neighbours' tester)."""
    invite = Invite.issue(creator=admin, max_uses=1 if then == "used" else 5, expires_days=7)
    db.session.commit()
    assert register(client, invite.token, username="erin", display_name="Erin").status_code == 302
    if then == "expired":
        reload(Invite, invite.id).expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()

    page = text(client.get(f"/register?invite={invite.token}"))

    assert ("You're signed in as <bdi>Erin</bdi>: you're already a member,\n      so there is nothing to join. "
            '<a href="/">Go to your home page</a>.') in page
    assert "About this link, if it's for someone else: This invite has" in page  # one she may pass on
    assert "signs this browser in" not in page and 'name="username"' not in page  # no note that contradicts it
    assert SIGN_IN_AGAIN not in page and ALREADY_A_MEMBER not in page  # she is signed in
    assert '<p class="form-error" role="alert">' not in page  # not told off as a stranger would be


def test_a_signed_in_member_on_register_without_an_invite_is_told_she_is_a_member(alice, login):
    page = text(login(alice).get("/register"))
    assert "You're signed in as <bdi>Alice</bdi>: you're already a member" in page
    assert "You need an invite" not in page and "About this link" not in page  # no link to speak of


def test_a_used_invite_opened_signed_out_leads_to_sign_in(client, invite, app):
    assert register(client, invite.token, username="erin").status_code == 302

    page = text(app.test_client().get(f"/register?invite={invite.token}"))

    assert "This invite has already been used." in page and SIGN_IN_AGAIN in page
    assert ALREADY_A_MEMBER not in page and "already a member" not in page


@pytest.mark.parametrize("query", ["", "?invite=", "?invite=not-a-real-token", "?invite=%20"])
def test_register_without_a_known_invite_says_already_a_member_not_this_invite(client, admin, query):
    """"Joined with this invite already?" read oddly where no invite was given, or a mistyped one."""
    page = text(client.get(f"/register{query}"))

    assert ALREADY_A_MEMBER in page
    assert "with this invite" not in page and "already a member" not in page.lower().replace(ALREADY_A_MEMBER.lower(), "")
    assert 'name="username"' not in page


def test_expired_invite_is_refused(client, invite):
    invite.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()

    page = client.get(f"/register?invite={invite.token}")
    assert page.status_code == 400
    assert "This invite has expired." in text(page)

    response = register(client, invite.token)
    assert response.status_code == 400
    assert "This invite has expired." in text(response)
    assert User.by_username("newbie") is None
    assert reload(Invite, invite.id).uses == 0


@pytest.mark.parametrize("leaves", ["suspended", "closed"])
def test_a_members_invite_stops_working_while_they_are_suspended_or_once_they_left(client, bob, leaves):
    invite = Invite.issue(creator=bob)
    db.session.commit()
    if leaves == "suspended":
        bob.status = "suspended"
    else:
        bob.deleted_at = utcnow()
    db.session.commit()

    page = client.get(f"/register?invite={invite.token}")
    assert page.status_code == 400
    assert "This invite no longer works" in text(page) and "invited you" not in text(page)
    response = register(client, invite.token)
    assert response.status_code == 400 and "This invite no longer works" in text(response)
    assert User.by_username("newbie") is None
    assert reload(Invite, invite.id).uses == 0

    if leaves == "suspended":  # reinstated, their unused invite works again
        reload(User, bob.id).status = "active"
        db.session.commit()
        assert register(client, invite.token).status_code == 302


def test_invite_that_expires_later_still_works(client, admin):
    invite = Invite.issue(creator=admin, expires_days=7)
    db.session.commit()
    assert register(client, invite.token).status_code == 302
    assert User.by_username("newbie") is not None


def test_invite_with_max_uses_admits_that_many_members(app, admin):
    invite = Invite.issue(creator=admin, max_uses=3)
    db.session.commit()

    statuses = [register(app.test_client(), invite.token, username=f"member{n}").status_code for n in range(4)]

    assert statuses == [302, 302, 302, 400]
    assert [User.by_username(f"member{n}") is not None for n in range(4)] == [True, True, True, False]
    assert reload(Invite, invite.id).uses == 3


def test_invite_without_auto_approve_creates_a_pending_member(client, admin):
    invite = Invite.issue(creator=admin, auto_approve=False)
    db.session.commit()
    # said before the account is made, not only after (a residents' building's tester)
    joining = text(client.get(f"/register?invite={invite.token}"))
    assert "An admin approves accounts made with this invite" in joining
    approved = Invite.issue(creator=admin)
    db.session.commit()
    assert "An admin approves" not in text(client.get(f"/register?invite={approved.token}"))

    response = register(client, invite.token, username="waiting")

    assert response.status_code == 302
    waiting = User.by_username("waiting")
    assert (waiting.role, waiting.status) == ("member", "pending")
    assert not waiting.is_active_member  # signed in, but not yet allowed to post or message
    page = text(client.get("/"))
    assert "An admin will approve your account soon" in page
    assert '<span class="tag tag-pending">Waiting for approval</span>' in page


def test_failed_registration_does_not_use_up_the_invite(client, invite):
    assert register(client, invite.token, username="x").status_code == 400
    assert reload(Invite, invite.id).uses == 0
    assert register(client, invite.token, username="good-name").status_code == 302


# --- usernames, passwords, other fields -----------------------------------------------------------

@pytest.mark.parametrize("taken", ["alice", "ALICE", "Alice", " alice "])
def test_duplicate_username_in_any_case_is_refused(client, invite, alice, taken):
    response = register(client, invite.token, username=taken)

    assert response.status_code == 400
    assert "That username is taken." in text(response)
    assert user_count() == 2  # alice and the admin
    assert reload(Invite, invite.id).uses == 0


@pytest.mark.parametrize("username", ["erased-7", "Erased-12", "erased-anything"])
def test_names_kept_for_erased_accounts_are_refused(app, client, invite, username):
    """Erasure renames an account erased-<id>: a member holding such a name would pass for an erased one,
    and would stop that member from being erased."""
    response = register(client, invite.token, username=username)
    assert response.status_code == 400
    assert "Usernames starting with erased- are kept for erased accounts." in text(response)
    assert user_count() == 1 and reload(Invite, invite.id).uses == 0
    result = app.test_cli_runner().invoke(args=["create-admin", username, "--password", NEW_PASSWORD])
    assert result.exit_code != 0 and "kept for erased accounts" in result.output and "Traceback" not in result.output
    assert user_count() == 1


@pytest.mark.parametrize(
    "username",
    ["ab", "a" * 33, "émile", "dot.name", "semi;colon", "at@sign", "plus+sign", "tab\tname", "ab\u0131"],
)
def test_invalid_usernames_are_refused_with_the_rule(client, invite, username):
    response = register(client, invite.token, username=username, display_name="Kept Name")

    assert response.status_code == 400
    page = text(response)
    assert "unaccented letters a–z, digits 0–9, _ and -" in page
    assert 'value="Kept Name"' in page  # the form keeps what was typed
    assert user_count() == 1


@pytest.mark.parametrize("username, refused", [("zoë", "ë"), ("مريم", "م"), ("Ødegård", "ø"), ("Carol.Brown", ".")])
def test_a_username_of_letters_a_z_lacks_is_told_which_letters_it_takes(client, invite, username, refused):
    """"letters, digits, _ and -" refused zoë and مريم, which are letters (an outside tester): the
    rule says which ones, and the page's help says it before anyone types."""
    assert "3 to 32 characters: unaccented letters a–z, digits 0–9, _ and -." in visible_text(
        client.get(f"/register?invite={invite.token}"))
    response = register(client, invite.token, username=username, display_name="Kept Name")
    assert response.status_code == 400
    said = visible_text(response)
    assert "only unaccented letters a–z, digits 0–9, _ and -" in said
    assert f"Usernames can't have “{refused}”" in said  # which of them it was ("Carol.Brown": a street's tester)
    assert user_count() == 1 and User.by_username(username) is None


@pytest.mark.parametrize("username, stored", [("abc", "abc"), ("a" * 32, "a" * 32), ("x_y-z9", "x_y-z9"),
                                              ("MixedCase", "mixedcase"), ("007", "007")])
def test_valid_usernames_are_stored_lower_case(client, invite, username, stored):
    assert register(client, invite.token, username=username).status_code == 302
    assert db.session.scalar(select(User.username).where(User.username == stored)) == stored


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"username": ""}, "Choose a username."),
        ({"username": "   "}, "Choose a username."),
        ({"password": ""}, "Choose a password."),
        ({"password": "short"}, "Passwords need at least 8 characters."),
        ({"password": "p" * 201}, "Passwords can be at most 200 characters."),
        ({"display_name": "d" * 81}, "Display names can be at most 80 characters."),
        ({"bio": "b" * 2001}, "Bios can be at most 2,000 characters."),
        ({"display_name": "Nul\x00Name"}, "Use text only; remove the control characters and try again."),
        ({"bio": "escape\x1b[31m"}, "Use text only; remove the control characters and try again."),
        ({"username": "nul\x00name"}, "have U+0000, only unaccented letters"),
        ({"username": "Margaret Hill"}, "Usernames can&#39;t have spaces: try margaret_hill."),
        # a suggestion the rules take: it was "mary_ann_o'neil", then refused (a residents' building's tester)
        ({"username": "Mary Ann O'Neil"}, "Usernames can&#39;t have spaces: try mary_ann_oneil."),
        ({"username": "anne marie."}, "Usernames can&#39;t have spaces: try anne_marie."),
        ({"username": "Zoë Ødegård"}, "Usernames can&#39;t have spaces: try zoe_degard."),
        ({"username": "é !"}, "Usernames can&#39;t have spaces: use unaccented letters a–z, digits 0–9, _ and - (3 to 32)."),
    ],
)
def test_bad_fields_get_a_message_on_the_form(client, invite, fields, message):
    data = {"invite": invite.token, "username": "newbie", "password": NEW_PASSWORD, **fields}

    response = client.post("/register", data=data)

    assert response.status_code == 400
    page = text(response)
    assert message in page
    assert '<form method="post" action="/register">' in page
    assert user_count() == 1
    assert reload(Invite, invite.id).uses == 0


def test_registration_without_csrf_token_is_refused(client, invite):
    response = client.post("/register", csrf=False,
                           data={"invite": invite.token, "username": "newbie", "password": NEW_PASSWORD})

    assert response.status_code == 400
    assert "security token" in text(response)
    assert User.by_username("newbie") is None


# --- an invite's circle -------------------------------------------------------------------------------

def test_an_admins_invite_adds_its_newcomers_to_a_circle_they_can_write_in_at_once(app, client, admin, make_user,
                                                                                   login, messaging_on):
    """Under "reach: a shared circle" a street's newcomer could write to nobody but the admins until
    an admin typed their username into Admin → Circles, and nothing told the admin anyone had
    joined (an outside tester). The invite now says which circle they join."""
    from wb.circles import service as circles
    from wb.messaging import rule_changes

    elm = circles.create("Elm Street")
    make_user("alice")
    circles.add_members(elm, ["alice"])
    rule_changes.set_reach(True)
    admin_client = login(admin)
    page = admin_client.get("/invites").get_data(as_text=True)
    assert f'<option value="{elm.id}">Elm Street</option>' in page
    made = admin_client.post("/invites", data={"max_uses": "2", "approval": "auto", "circle_id": str(elm.id)})
    assert made.status_code == 302
    invite = db.session.scalar(select(Invite).where(Invite.circle_id == elm.id))
    assert "joins <bdi>Elm Street</bdi>" in admin_client.get("/invites").get_data(as_text=True)

    assert "You'll join <bdi>Elm Street</bdi>." in client.get(f"/register?invite={invite.token}").get_data(as_text=True)
    assert register(client, invite.token, username="margaret").status_code == 302
    assert [m.username for m in circles.members_of(elm)] == ["alice", "margaret"]
    assert 'action="/messages/with/alice"' in client.get("/people/alice").get_data(as_text=True)

    gone = admin_client.post("/invites", data={"max_uses": "1", "approval": "auto", "circle_id": "99999"})
    assert gone.status_code == 400 and "That circle is gone" in text(gone)
    # a member's invite joins no circle, whatever is posted
    alice_client = login(db.session.scalar(select(User).where(User.username == "alice")))
    assert alice_client.post("/invites", data={"circle_id": str(elm.id)}).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Invite).where(Invite.circle_id.is_not(None))) == 1
    assert "Newcomers join the circle" not in alice_client.get("/invites").get_data(as_text=True)
    # a link made on the command line may never expire, and isn't listed: the page says so, beside its 14 days
    # (a building's tester, then a re-check tester: "each says so below", of links never listed)
    assert "aren't listed here, and may never expire" in text(login(admin).get("/invites")).replace("\n     ", " ")
    assert "may never expire" not in text(alice_client.get("/invites"))

    warned = text(admin_client.get(f"/admin/circles/{elm.id}/delete"))  # the page says so first (a street's tester)
    assert "1 open invite adds newcomers to it: they would join no circle." in warned
    circles.delete_circle(elm)  # the invite stays, joining none
    db.session.expire_all()
    assert reload(Invite, invite.id).circle_id is None
    assert register(client, invite.token, username="norman").status_code == 302


def test_where_a_circle_is_protected_admins_are_told_who_is_in_no_circle_and_so_unprotected(app, client, admin,
                                                                                           make_user, login, messaging_on):
    """A practice protected Clients from each other, and a client whose invite joined no circle was listed,
    found and written to by every other client, with no word to the admin (an outside tester). Admin →
    Members and the invite form now name who is in no circle, and the form says what joining none means."""
    from wb.circles import service as circles
    from wb.circles.models import CircleMember
    from wb.messaging import rule_changes

    clients, therapists = circles.create("Clients"), circles.create("Therapists")
    make_user("carol"), make_user("morgan")
    circles.add_members(clients, ["carol"])
    circles.add_members(therapists, ["morgan"])
    admin_client = login(admin)
    assert "no protection applies" not in text(admin_client.get("/admin/members"))  # nothing protected yet
    rule_changes.set_protection(clients, [therapists], own_members_start=False)

    form = visible_text(admin_client.get("/invites"))
    assert ("Newcomers who join no circle are open to everyone: no protection applies to them (only members of "
            "Clients are protected).") in form
    assert "in no circle, so no protection applies" not in form  # everyone is in a circle
    assert admin_client.post("/invites", data={"max_uses": "1", "approval": "auto", "circle_id": ""}).status_code == 302
    invite = db.session.scalar(select(Invite).where(Invite.created_by_id == admin.id))
    assert register(client, invite.token, username="gina").status_code == 302
    gina = User.by_username("gina")
    assert db.session.scalar(select(func.count()).select_from(CircleMember).where(CircleMember.user_id == gina.id)) == 0

    for page in (visible_text(admin_client.get("/admin/members")), visible_text(admin_client.get("/invites"))):
        assert ("One member is in no circle, so no protection applies to them (Clients is protected): "
                f"{gina.name} @gina.") in page
        assert "Show them , then add them to a circle in the Circles column." in page
    assert "@gina" in text(admin_client.get("/admin/members?circle=none"))
    assert "no protection applies" not in text(login(User.by_username("carol")).get("/invites"))  # admins only

    circles.add_members(clients, ["gina"])
    assert "in no circle, so no protection applies" not in text(admin_client.get("/admin/members"))


def test_the_command_line_makes_an_invite_that_joins_a_circle(app, admin):
    from wb.circles import service as circles

    circles.create("Oak Street")
    result = app.test_cli_runner().invoke(args=["create-invite", "--circle", "oak street"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(Invite)).circle.name == "Oak Street"
    wrong = app.test_cli_runner().invoke(args=["create-invite", "--circle", "Nowhere"])
    assert wrong.exit_code == 1 and "There is no circle called 'Nowhere'" in wrong.output


def test_sign_ups_are_limited_per_address_and_keep_what_was_typed(app_config, request):
    """A leaked 30-use invite made 35 accounts in seconds from one address (an outside tester)."""
    app_config["REGISTER_RATE_LIMIT"] = "2 per hour"
    app = request.getfixturevalue("app")
    invite = Invite.issue(creator=request.getfixturevalue("admin"), max_uses=10)
    db.session.commit()
    client = app.test_client()
    assert register(client, invite.token, username="first").status_code == 302
    client = app.test_client()
    assert register(client, invite.token, username="x y").status_code == 400  # a refused try counts too
    refused = register(app.test_client(), invite.token, username="third", display_name="Tess Third")
    assert refused.status_code == 429 and 3000 < int(refused.headers["Retry-After"]) <= 3600
    page = text(refused)
    assert "Too many sign-ups from this internet connection just now. Try again in about 1 hours" not in page  # 60 minutes
    assert "Too many sign-ups from this internet connection just now. Try again in 60 minutes" in page
    assert 'value="third"' in page and 'value="Tess Third"' in page
    assert User.by_username("third") is None and reload(Invite, invite.id).uses == 1
    elsewhere = app.test_client().post("/register", data={"invite": invite.token, "username": "fourth",
                                                          "password": NEW_PASSWORD}, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert elsewhere.status_code == 302
