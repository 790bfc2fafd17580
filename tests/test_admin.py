"""The admin area: who may enter, feature flags with their audit trail, member approval."""
import pytest
from sqlalchemy import select

from conftest import PASSWORD
from messaging_helpers import visible_text
from wb import flags
from wb.extensions import db
from wb.models import AuditEvent, FeatureFlag, User
from helpers import admin_link

ADMIN_PAGES = ["/admin", "/admin/settings", "/admin/members"]
ADMIN_POSTS = ["/admin/settings/direct_messaging", "/admin/members/bob/suspend", "/admin/members/bob/make-admin"]


def text(response) -> str:
    return response.get_data(as_text=True)


def reload(model, key):
    """The row as the database holds it now."""
    db.session.expire_all()
    return db.session.get(model, key)


def flag_events():
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "flag.changed")
                                   .order_by(AuditEvent.id)))


@pytest.fixture
def admin_client(admin, login):
    return login(admin)


# --- who may enter --------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_anonymous_visitors_are_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.location == f"/login?next={path}"


def test_admin_typed_by_hand_leads_to_admins_first_page(admin_client):
    for path in ("/admin", "/admin/"):  # it answered "Not found" (a marketplace tester)
        response = admin_client.get(path)
        assert response.status_code == 302 and response.location == "/admin/settings"


@pytest.mark.parametrize("path", ADMIN_POSTS)
def test_anonymous_posts_change_nothing(client, bob, path):
    response = client.post(path, data={"enabled": "1"})
    assert response.status_code == 302
    assert response.location.startswith("/login")
    assert reload(User, bob.id).status == "active"
    assert flags.flag_history() == []


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_members_get_403(client, alice, path):
    client.login("alice")
    response = client.get(path)
    assert response.status_code == 403
    assert "This page is for admins." in text(response)


@pytest.mark.parametrize("path", ADMIN_POSTS)
def test_members_cannot_use_admin_actions(client, alice, bob, path):
    client.login("alice")
    response = client.post(path, data={"enabled": "1"})
    assert response.status_code == 403
    assert reload(User, bob.id).status == "active"
    assert reload(FeatureFlag, "direct_messaging").enabled is False
    assert flag_events() == []


def test_pending_member_gets_403_too(client, make_user):
    make_user("penny", status="pending")
    client.login("penny")
    assert client.get("/admin/settings").status_code == 403


def test_admin_sees_the_admin_link_and_members_do_not(admin_client, client, alice):
    assert admin_link(text(admin_client.get("/"))) == ("/admin/settings", "Admin")
    client.login("alice")
    assert 'href="/admin/settings"' not in text(client.get("/"))


# --- feature flags --------------------------------------------------------------------------------

def test_direct_messaging_exists_and_defaults_off(admin_client, alice, login):
    stored = reload(FeatureFlag, "direct_messaging")
    assert stored is not None and stored.enabled is False
    assert flags.is_enabled("direct_messaging") is False

    page = text(admin_client.get("/admin/settings"))
    assert "Direct messaging" in page
    assert "Private 1:1 messages between members." in page
    assert "Currently <strong>off</strong>." in page
    assert "Turn on" in page
    assert "No setting has been changed yet." in page
    assert login(alice).get("/messages").status_code == 404


def test_toggle_with_a_plain_form_redirects_and_records_who_old_and_new(admin_client, admin):
    response = admin_client.post("/admin/settings/direct_messaging", data={"enabled": "1"})

    assert response.status_code == 302
    assert response.location == "/admin/settings"
    stored = reload(FeatureFlag, "direct_messaging")
    assert stored.enabled is True
    assert stored.updated_by_id == admin.id
    assert stored.updated_at is not None
    [event] = flag_events()
    assert (event.actor_id, event.subject, event.old_value, event.new_value) == (
        admin.id, "direct_messaging", "off", "on")

    page = text(admin_client.get("/admin/settings"))
    assert "Direct messaging is now on." in page
    assert "Currently <strong>on</strong>." in page
    assert "Turn off" in page
    history = page[page.index('id="flag-history"'):]
    assert ('<td data-label="Setting"><bdi>Direct messaging</bdi></td><td data-label="Change"><bdi>off</bdi> → '
            '<bdi>on</bdi></td>') in history
    assert "Rita Root" in history
    assert f'datetime="{event.created_at.isoformat()}Z"' in history


def test_toggle_over_htmx_returns_the_row_and_the_new_history(admin_client, admin):
    response = admin_client.htmx("POST", "/admin/settings/direct_messaging", data={"enabled": "1"})

    assert response.status_code == 200
    page = text(response)
    assert "<html" not in page and "<nav" not in page
    assert page.lstrip().startswith('<div class="flag-row" id="flag-direct_messaging">')
    assert "Currently <strong>on</strong>." in page
    assert 'name="enabled" value="0"' in page  # the next click turns it off
    assert '<section class="card" id="flag-history" hx-swap-oob="true">' in page
    assert "off → on" in page and "Rita Root" in page
    assert "HX-Request" in response.headers.get("Vary", "")
    assert reload(FeatureFlag, "direct_messaging").enabled is True
    assert [(e.actor_id, e.old_value, e.new_value) for e in flag_events()] == [(admin.id, "off", "on")]


def test_toggling_back_off_records_a_second_event(admin_client, admin):
    admin_client.post("/admin/settings/direct_messaging", data={"enabled": "1"})
    admin_client.htmx("POST", "/admin/settings/direct_messaging", data={"enabled": "0", "confirmed": "1"})

    assert reload(FeatureFlag, "direct_messaging").enabled is False
    assert [(e.old_value, e.new_value) for e in flag_events()] == [("off", "on"), ("on", "off")]
    page = text(admin_client.get("/admin/settings"))
    history = page[page.index('id="flag-history"'):]
    assert history.index("<bdi>on</bdi> → <bdi>off</bdi>") < history.index("<bdi>off</bdi> → <bdi>on</bdi>")  # newest first


def test_flag_change_takes_effect_on_the_next_request(admin_client, alice, login):
    member = login(alice)
    assert member.get("/messages").status_code == 404

    admin_client.post("/admin/settings/direct_messaging", data={"enabled": "1"})

    assert member.get("/messages").status_code == 200


def test_unknown_flag_is_404(admin_client):
    response = admin_client.post("/admin/settings/time_travel", data={"enabled": "1"})
    assert response.status_code == 404
    assert "There is no such setting." in text(response)
    partial = admin_client.htmx("POST", "/admin/settings/time_travel", data={"enabled": "1"})
    assert partial.status_code == 404 and "<html" not in text(partial)
    assert flag_events() == []
    assert reload(FeatureFlag, "time_travel") is None


@pytest.mark.parametrize("data", [{}, {"enabled": ""}, {"enabled": "2"}, {"enabled": "yes"}, {"enabled": "on"}])
def test_bad_flag_value_is_400_and_changes_nothing(admin_client, data):
    response = admin_client.post("/admin/settings/direct_messaging", data=data)
    assert response.status_code == 400
    assert "Say whether to switch the setting on or off." in text(response)
    partial = admin_client.htmx("POST", "/admin/settings/direct_messaging", data=data)
    assert partial.status_code == 400 and "<html" not in text(partial)
    assert reload(FeatureFlag, "direct_messaging").enabled is False
    assert flag_events() == []


def test_toggle_without_csrf_token_is_refused(admin_client):
    response = admin_client.htmx("POST", "/admin/settings/direct_messaging", data={"enabled": "1"}, csrf=False)
    assert response.status_code == 400
    assert reload(FeatureFlag, "direct_messaging").enabled is False


def test_toggle_returns_to_a_local_next_page_only(admin_client):
    response = admin_client.post("/admin/settings/direct_messaging", data={"enabled": "1", "next": "/admin/members"})
    assert response.location == "/admin/members"
    response = admin_client.post("/admin/settings/direct_messaging",
                                 data={"enabled": "0", "confirmed": "1", "next": "//evil.example/"})
    assert response.location == "/admin/settings"


def test_turning_messaging_off_asks_first_with_and_without_javascript(admin_client):
    admin_client.post("/admin/settings/direct_messaging", data={"enabled": "1"})
    row = text(admin_client.get("/admin/settings")).split('id="flag-direct_messaging"')[1]
    # htmx asks in a dialog and then says it was answered; the button looks destructive.
    assert 'hx-confirm="Turn direct messaging off? Members can&#39;t read or send messages' in row
    assert """hx-vals='{"confirmed": "1"}'""" in row
    assert 'class="button button-danger"' in row
    assert 'Turn off<span class="visually-hidden"> direct messaging</span>' in row  # named by its setting

    # A plain form gets the question as a page, and nothing changes until it is answered.
    response = admin_client.post("/admin/settings/direct_messaging", data={"enabled": "0", "next": "/admin/messaging"})
    assert response.status_code == 200
    page = text(response)
    assert "<h1>Turn direct messaging off?</h1>" in page
    assert 'name="confirmed" value="1"' in page and 'name="next" value="/admin/messaging"' in page
    assert '<a href="/admin/messaging">Cancel, keep it on</a>' in page
    assert reload(FeatureFlag, "direct_messaging").enabled is True

    response = admin_client.post("/admin/settings/direct_messaging",
                                 data={"enabled": "0", "confirmed": "1", "next": "/admin/messaging"})
    assert response.location == "/admin/messaging"
    assert reload(FeatureFlag, "direct_messaging").enabled is False


def test_flags_are_read_once_per_request(client, alice, bob, make_user, count_queries):
    flags.set_flag("direct_messaging", True)
    for name in ("carol", "dave", "erin"):
        make_user(name)
    client.login("alice")
    with count_queries() as statements:
        assert client.get("/members").status_code == 200  # nav badge + a Message button per member
    flag_reads = [s for s in statements if "feature_flags" in s]
    assert len(flag_reads) <= 1  # at most once a request, however many places ask


def test_set_flag_rejects_unknown_names(app):
    with pytest.raises(KeyError):
        flags.set_flag("no_such_flag", True)


def test_every_flags_description_fits_its_column():
    """PostgreSQL refused two new flags' rows (a description of 310 characters in a column of 255) where
    SQLite stores any length: every test of the PostgreSQL pass then failed at its app's start."""
    from wb.flags import KNOWN_FLAGS
    from wb.models import FeatureFlag

    room = FeatureFlag.__table__.c.description.type.length
    assert {name: len(description) for name, (_, description) in KNOWN_FLAGS.items() if len(description) > room} == {}


# --- members --------------------------------------------------------------------------------------

def test_members_page_lists_pending_first_with_approve(admin_client, make_user, alice):
    make_user("zed", status="pending")

    page = text(admin_client.get("/admin/members"))

    assert page.index('id="member-zed"') < page.index('id="member-alice"')
    zed_row = page[page.index('id="member-zed"'):page.index('id="member-alice"')]
    assert "Waiting for approval" in zed_row
    assert 'action="/admin/members/zed/approve"' in zed_row
    alice_row = page[page.index('id="member-alice"'):]
    alice_row = alice_row[:alice_row.index("</tr>")]
    assert "/approve" not in alice_row and 'action="/admin/members/alice/suspend"' in alice_row
    own_row = page[page.index('id="member-root"'):]
    assert "<form" not in own_row[:own_row.index("</tr>")]  # no buttons for yourself


def test_admin_approves_a_pending_member(admin_client, make_user, client):
    penny = make_user("penny", status="pending")

    response = admin_client.post("/admin/members/penny/approve")

    assert response.status_code == 302
    assert response.location == "/admin/members#member-penny"
    assert reload(User, penny.id).status == "active"
    assert "Penny is now active." in text(admin_client.get("/admin/members"))
    client.login("penny")
    page = text(client.get("/"))
    assert "Waiting for approval" not in page
    assert client.post("/requests/new", data={"title": "Hi", "body": "Thanks"}).status_code == 302


def test_admin_suspends_and_reinstates_a_member(admin_client, bob, client):
    assert admin_client.post("/admin/members/bob/suspend", data={"confirmed": "1"}).status_code == 302
    assert reload(User, bob.id).status == "suspended"
    assert 'action="/admin/members/bob/reinstate"' in text(admin_client.get("/admin/members"))
    refused = client.post("/login", data={"username": "bob", "password": "correct horse battery"})
    assert refused.status_code == 403

    assert admin_client.post("/admin/members/bob/reinstate").status_code == 302
    assert reload(User, bob.id).status == "active"
    client.login("bob")


def test_suspend_without_javascript_asks_on_a_page_first(admin_client, bob):
    """The members page's Suspend asks on a page of its own, with JavaScript too (a dialog can't offer to
    remove their requests and comments: test_admin_suspend_removal.py)."""
    asked = admin_client.post("/admin/members/bob/suspend")
    assert asked.status_code == 200
    page = text(asked)
    assert "Suspend <bdi>Bob</bdi>?" in page
    # what the other members will see, said before (a marketplace's admin learnt it after)
    assert "Other members see it:" in page and 'their profile says "Suspended", and whoever writes to them is told' in page
    assert 'name="confirmed" value="1"' in page and "Cancel, don&#39;t suspend" in page
    assert reload(User, bob.id).status == "active"
    assert admin_client.post("/admin/members/bob/suspend", data={"confirmed": "1"}).status_code == 302
    assert reload(User, bob.id).status == "suspended"


def test_an_admin_makes_a_member_an_admin_and_back_asking_first(admin_client, bob, login, make_user):
    """A practice's therapist needs to reach a client who paused messages: staff can; making them
    staff took a second account (an outside tester)."""
    bob_client = login(bob)
    assert bob_client.get("/admin/members").status_code == 403
    row = text(admin_client.get("/admin/members")).split('id="member-bob"', 1)[1].split("</tr>", 1)[0]
    assert 'action="/admin/members/bob/make-admin"' in row and "data-confirm=\"Make Bob an admin?" in row

    asked = admin_client.post("/admin/members/bob/make-admin")  # without JavaScript: a page asks
    assert asked.status_code == 200 and "Make <bdi>Bob</bdi> an admin?" in text(asked)
    assert "never messages" in text(asked) and 'name="confirmed" value="1"' in text(asked)
    assert reload(User, bob.id).role == "member"

    done = admin_client.post("/admin/members/bob/make-admin", data={"confirmed": "1", "next": "/admin/members"})
    assert done.status_code == 302 and done.location.endswith("/admin/members#member-bob")
    assert reload(User, bob.id).role == "admin"
    assert bob_client.get("/admin/members").status_code == 200  # at once, in the session he has
    assert "Bob is now an admin." in text(admin_client.get("/admin/members"))

    assert admin_client.post("/admin/members/bob/remove-admin").status_code == 200  # asked first
    assert reload(User, bob.id).role == "admin"
    assert admin_client.post("/admin/members/bob/remove-admin", data={"confirmed": "1"}).status_code == 302
    assert reload(User, bob.id).role == "member"
    assert bob_client.get("/admin/members").status_code == 403

    pending = make_user("penny", status="pending")
    refused = admin_client.post("/admin/members/penny/make-admin", data={"confirmed": "1"})
    assert refused.status_code == 400 and "Only an active member can be made an admin" in text(refused)
    assert reload(User, pending.id).role == "member"


def test_admin_cannot_change_their_own_status(admin_client, admin):
    response = admin_client.post("/admin/members/root/suspend")
    assert response.status_code == 400
    assert "You can&#39;t change your own account&#39;s status or role." in text(response)
    assert reload(User, admin.id).status == "active"
    assert admin_client.post("/admin/members/root/remove-admin", data={"confirmed": "1"}).status_code == 400
    assert reload(User, admin.id).role == "admin"


@pytest.mark.parametrize("action", ["approve", "suspend", "reinstate", "make-admin", "remove-admin"])
@pytest.mark.parametrize("how", ["erased", "closed"])
def test_an_erased_or_closed_account_is_left_as_it_is(admin_client, make_user, action, how):
    """Suspending erased-5 answered 302 and the erased account became "suspended" (an outside tester)."""
    from wb.people import leaving

    gone = make_user("gone", status="pending", role="admin" if action == "remove-admin" else "member")
    if how == "erased":
        leaving.erase_member(gone)
    else:
        leaving.close_account(gone)
    username = reload(User, gone.id).username

    response = admin_client.post(f"/admin/members/{username}/{action}", data={"confirmed": "1"})

    assert response.status_code == 400
    said = "was erased: an erased account" if how == "erased" else "closed their account: a closed account"
    assert f"{username} {said} can&#39;t be approved, suspended, reinstated or made an admin." in text(response)
    after = reload(User, gone.id)
    assert (after.status, after.role) == ("pending", "admin" if action == "remove-admin" else "member")
    if how == "erased":  # the erasure is among the member actions; the refused action isn't
        listed = text(admin_client.get("/admin/members")).split("Recent member actions", 1)[1]
        assert "former member" in listed and "Erased: <bdi>sent text erased</bdi>" in listed
        assert f"@{username}" not in listed  # not its placeholder name (an outside admin tester)
        assert listed.count("<tr>") == 2


def test_the_command_line_does_not_approve_an_erased_account(runner, make_user):
    from wb.people import leaving

    gone = make_user("gone", status="pending")
    leaving.erase_member(gone)

    result = runner.invoke(args=["approve", f"erased-{gone.id}"])

    assert result.exit_code == 1 and f"erased-{gone.id} was erased" in result.output
    assert reload(User, gone.id).status == "pending"


@pytest.mark.parametrize("path", ["/admin/members/bob/promote", "/admin/members/nobody/approve"])
def test_unknown_member_or_action_is_404(admin_client, bob, path):
    assert admin_client.post(path).status_code == 404
    assert reload(User, bob.id).status == "active"


def test_member_action_without_csrf_token_is_refused(admin_client, bob):
    assert admin_client.post("/admin/members/bob/suspend", csrf=False).status_code == 400
    assert reload(User, bob.id).status == "active"


def test_opening_an_action_address_leads_to_the_members_row_and_does_nothing(admin_client, bob, make_user):
    """GET /admin/members/bob/suspend (from history, a copied link) said "Method not allowed. That page
    can't be used that way." (an outside admin tester): it leads to Bob's row in Members instead."""
    make_user("paula", status="pending")
    for action in ("suspend", "approve", "reinstate", "make-admin", "remove-admin"):
        response = admin_client.get(f"/admin/members/bob/{action}")
        assert (response.status_code, response.location) == (302, "/admin/members?q=bob#member-bob"), action
    page = visible_text(admin_client.get("/admin/members/paula/approve", follow_redirects=True))
    assert "Paula @paula member Waiting for approval Approve" in page and "Method not allowed" not in page
    assert admin_client.head("/admin/members/paula/approve").status_code == 302  # HEAD isn't guarded by CSRF
    assert (reload(User, bob.id).status, reload(User, bob.id).role) == ("active", "member")
    assert User.by_username("paula").status == "pending"
    assert admin_client.get("/admin/members/bob/frobnicate").status_code == 404


@pytest.mark.parametrize("path, where", [
    ("/admin/settings/direct_messaging", "/admin/settings#flag-direct_messaging"),
    ("/admin/settings/rules/reach", "/admin/settings#messaging-rules"),
    ("/admin/members/bob/circles", "/admin/members?q=bob#member-bob"),
    ("/admin/circles/{circle}/rename", "/admin/circles#circle-{circle}"),
    ("/admin/circles/{circle}/members", "/admin/circles#circle-{circle}"),
    ("/admin/circles/{circle}/members/bob/remove", "/admin/circles#circle-{circle}"),
    ("/admin/reports/{report}/resolve", "/admin/reports#report-{report}"),
    ("/admin/reports/{report}/reopen", "/admin/reports?status=resolved#report-{report}"),
])
def test_every_admin_action_address_opened_leads_to_its_page(admin_client, alice, bob, path, where):
    """The other addresses only an admin page's form posts to answer a GET alike, and change nothing."""
    from wb.circles import service as circles
    from wb.messaging.models import Report

    circle = circles.create("Elm Street")
    circles.add_members(circle, ["bob"])
    report = Report(reporter_id=alice.id, reported_id=bob.id, reason="spam", note="")
    db.session.add(report)
    db.session.commit()
    values = {"circle": circle.id, "report": report.id}

    response = admin_client.get(path.format(**values))

    assert (response.status_code, response.location) == (302, where.format(**values))
    assert admin_client.get(response.location).status_code == 200
    assert [member.username for member in circles.members_of(circle)] == ["bob"] and circle.name == "Elm Street"
    assert reload(Report, report.id).status == "open" and flag_events() == []


@pytest.mark.parametrize("path", ["/admin/members/bob/suspend", "/admin/settings/direct_messaging"])
def test_members_opening_an_admin_action_address_get_403(client, alice, bob, path):
    client.login("alice")
    assert client.get(path).status_code == 403


def test_admin_members_are_paged_found_by_name_and_an_action_comes_back_to_the_same_page(admin_client, admin):
    """A few hundred members made one 420 KB page, and Suspend went back to its top (an outside tester)."""
    from sqlalchemy import insert

    db.session.execute(insert(User), [
        {"username": f"m{n:03d}", "display_name": f"Maple {n}", "bio": "", "password_hash": admin.password_hash,
         "role": "member", "status": "active"} for n in range(70)
    ] + [{"username": "zoe", "display_name": "Zoë Ødegård", "bio": "", "password_hash": admin.password_hash,
          "role": "member", "status": "pending"}])
    db.session.commit()

    first = text(admin_client.get("/admin/members"))
    assert "Page 1 of 2" in first and first.index("@zoe") < first.index("@m000")  # waiting for approval first
    assert "@m060" in text(admin_client.get("/admin/members?page=2"))
    found = text(admin_client.get("/admin/members", query_string={"q": "odegard"}))
    assert "@zoe" in found and "@m000" not in found and "Page 1 of" not in found
    assert "No member has a name with" in text(admin_client.get("/admin/members?q=nobody-like-this"))

    # Suspend from page 2 (without JavaScript: its page asks first), then back to page 2 at the row.
    asked = admin_client.post("/admin/members/m060/suspend", data={"next": "/admin/members?page=2"})
    assert asked.status_code == 200 and 'value="/admin/members?page=2#member-m060"' in text(asked)
    done = admin_client.post("/admin/members/m060/suspend", data={"confirmed": "1", "next": "/admin/members?page=2"})
    assert done.location == "/admin/members?page=2#member-m060"
    assert User.by_username("m060").status == "suspended"
    back = admin_client.post("/admin/members/zoe/approve", data={"next": "/admin/members?q=odegard"})
    assert back.location == "/admin/members?q=odegard#member-zoe"
    elsewhere = admin_client.post("/admin/members/m060/reinstate", data={"next": "https://evil.example/"})
    assert elsewhere.location == "/admin/members#member-m060"
    page = text(admin_client.get("/admin/members?page=2"))
    assert 'name="next" value="/admin/members?page=2"' in page  # each row's forms say where they were


def test_a_members_page_past_the_last_says_so_and_leads_to_the_first(admin_client, bob):
    """/admin/members?page=99 said "No members yet." (an outside admin tester): as the inbox does for a
    page past its last, it says this page has none and links to the first, with the same search."""
    past = admin_client.get("/admin/members?page=99")
    assert past.status_code == 200
    assert "There are no members on this page. Go to the first page" in visible_text(past)
    assert "No members yet" not in visible_text(past)
    assert '<a href="/admin/members">Go to the first page</a>' in text(past)
    searched = text(admin_client.get("/admin/members?q=bob&page=99"))
    assert '<a href="/admin/members?q=bob">Go to the first page</a>' in searched and "No member has a name" not in searched


# --- who did what to which member ---------------------------------------------------------------

def member_events(member):
    db.session.expire_all()
    return [(event.action, event.actor_id, event.old_value, event.new_value) for event in db.session.scalars(
        select(AuditEvent).where(AuditEvent.subject == f"user:{member.id}").order_by(AuditEvent.id))]


def test_each_member_action_is_recorded_with_the_admin_who_took_it_and_listed(admin_client, admin, make_user, runner):
    """Approving, suspending, reinstating and role changes left no trace of who did them (an outside tester)."""
    penny = make_user("penny", status="pending", display_name="<b>Penny</b>")
    admin_client.post("/admin/members/penny/approve")
    admin_client.post("/admin/members/penny/suspend", data={"confirmed": "1"})
    admin_client.post("/admin/members/penny/reinstate")
    admin_client.post("/admin/members/penny/make-admin", data={"confirmed": "1"})
    admin_client.post("/admin/members/penny/remove-admin", data={"confirmed": "1"})
    admin_client.post("/admin/members/penny/approve")  # already active: nothing changed, nothing recorded
    paul = make_user("paul", status="pending")
    assert runner.invoke(args=["approve", "paul"]).exit_code == 0

    assert member_events(penny) == [
        ("member.approved", admin.id, "pending", "active"), ("member.suspended", admin.id, "active", "suspended"),
        ("member.reinstated", admin.id, "suspended", "active"), ("member.made_admin", admin.id, "member", "admin"),
        ("member.admin_removed", admin.id, "admin", "member")]
    assert member_events(paul) == [("member.approved", None, "pending", "active")]
    page = text(admin_client.get("/admin/members"))
    listed = page[page.index("Recent member actions"):]
    rows = listed.split("<tr>")[2:]  # newest first, after the heading row
    assert len(rows) == 6
    assert "@paul" in rows[0] and "Approved: <bdi>pending</bdi> → <bdi>active</bdi>" in rows[0]
    assert "command line" in rows[0]
    assert '<bdi>&lt;b&gt;Penny&lt;/b&gt;</bdi> <bdi class="muted">@penny</bdi>' in rows[1] and "<b>Penny</b>" not in listed
    assert "Removed as admin: <bdi>admin</bdi> → <bdi>member</bdi>" in rows[1] and "Rita Root" in rows[1]
    assert "Made an admin" in rows[2] and "Reinstated" in rows[3] and "Suspended" in rows[4] and "Approved" in rows[5]
    assert 'class="table table-stack"' in listed and 'data-label="Who"' in listed  # stacks on a phone


def test_resolving_a_report_is_recorded_and_listed_without_its_note(chat, admin, alice, bob, login):
    from wb.messaging.models import Report

    report = Report(reporter_id=bob.id, reported_id=alice.id, reason="spam", note="she keeps selling me stuff")
    db.session.add(report)
    db.session.commit()
    admin_client = login(admin)

    admin_client.post(f"/admin/reports/{report.id}/resolve")
    admin_client.post(f"/admin/reports/{report.id}/resolve")  # once is enough

    assert member_events(alice) == [("report.resolved", admin.id, None, f"report {report.id}")]
    listed = text(admin_client.get("/admin/members")).split("Recent member actions", 1)[1]
    assert "Report about them resolved" in listed and "@alice" in listed
    assert "selling" not in listed


def test_the_members_page_with_no_member_actions_yet_says_so(admin_client):
    assert "No admin has approved, suspended or changed a member yet." in text(admin_client.get("/admin/members"))


def test_members_waiting_for_approval_are_counted_beside_admin(admin_client, make_user, login, alice, bob):
    """Members waiting for approval were seen only by opening Admin → Members (a building's tester):
    they are counted beside Admin, with the open reports, and the link leads to them."""
    import re

    def shown_beside_admin():
        href, holds = admin_link(text(admin_client.get("/")))
        return href, holds.removeprefix("Admin")

    assert shown_beside_admin() == ("/admin/settings", "")
    make_user("penny", status="pending")
    make_user("pete", status="pending")
    assert shown_beside_admin() == ("/admin/members", ' <span class="badge">2</span><span class="visually-hidden"> members waiting for approval</span>')
    # and on the Members tab of every admin page (the total had no breakdown: a re-check tester)
    assert 'Members <span class="badge">2</span><span class="visually-hidden"> waiting for approval</span></a>' in text(
        admin_client.get("/admin/settings"))
    from wb.messaging import safety
    safety.report(bob, alice, "spam")
    assert shown_beside_admin() == ("/admin/reports", ' <span class="badge" aria-hidden="true">3</span><span class="visually-hidden">'
                                              ' 1 open report, 2 members waiting for approval</span>')
    admin_client.post("/admin/members/penny/approve")
    admin_client.post("/admin/members/pete/approve")
    assert shown_beside_admin() == ("/admin/reports", ' <span class="badge">1</span><span class="visually-hidden"> open report</span>')
    assert "badge" not in text(login(alice).get("/")).split("Settings</a>")[1].split("</nav>")[0]


def test_members_in_no_circle_are_pointed_out_where_reach_is_a_shared_circle(admin_client, make_user, alice, bob):
    """A newcomer invited by a neighbour joins no circle; where members reach only those who share
    one, they could write to nobody but the admins and nobody told the admin (a building's tester)."""
    from wb.circles import service as circles
    from wb.messaging import rule_changes

    floor = circles.create("Floor 2")
    circles.add_members(floor, ["alice"])
    assert "in no circle" not in text(admin_client.get("/admin/members"))  # reach: anyone
    rule_changes.set_reach(True)
    make_user("ivy")
    page = text(admin_client.get("/admin/members"))
    assert ("Members reach only those who share a circle, and 2 members are\n    in no circle, so can start a conversation "
            "with nobody but the admins") in page
    assert 'href="/admin/members?circle=none">Show them</a>, then add' in page
    only = text(admin_client.get("/admin/members?circle=none"))
    assert 'id="member-ivy"' in only and 'id="member-bob"' in only and 'id="member-alice"' not in only
    assert 'id="member-root"' not in only  # an admin reaches anyone
    circles.add_members(floor, ["bob", "ivy"])
    page = text(admin_client.get("/admin/members"))
    assert "in no circle" not in page
    assert "Every member is in a circle." in text(admin_client.get("/admin/members?circle=none"))


def test_an_admin_whose_role_is_removed_is_told_by_email(app, smtp, admin_client, make_user, runner):
    """A new admin removed the others' roles without a word to them (a re-check tester)."""
    from notify_helpers import body_text, notify, opt_in

    from wb.auth.service import ROLE_NOTICE
    from wb.notifications.models import Notice

    assert len(ROLE_NOTICE) <= Notice.__table__.c.kind.type.length  # PostgreSQL refuses a longer one (SQLite doesn't)
    carol = make_user("carol", role="admin", display_name="Carol Chen")
    address = opt_in(carol, frequency="never")  # what she chose for messages doesn't matter here
    assert admin_client.post("/admin/members/carol/remove-admin", data={"confirmed": "1"}).status_code == 302
    assert notify(app).exit_code == 0
    [message] = smtp.to(address)
    assert message["Subject"] == "You are no longer an admin of your WhiteBalloon community"
    assert "An admin, Rita Root, removed your admin role." in " ".join(body_text(message).split())
    # made an admin again before the email went: nothing to tell
    admin_client.post("/admin/members/carol/make-admin", data={"confirmed": "1"})
    admin_client.post("/admin/members/carol/remove-admin", data={"confirmed": "1"})
    admin_client.post("/admin/members/carol/make-admin", data={"confirmed": "1"})
    assert notify(app).exit_code == 0 and len(smtp.to(address)) == 1


def test_accounts_their_members_closed_are_listed_by_username_to_erase(admin_client, login, make_user):
    """Members listed no closed account: the coordinator never learned a resident had left, and couldn't
    erase one who asked afterwards (a residents' building's tester). Listed by username, the latest
    first, with Erase…; their name stays "former member"; gone from the list once erased."""
    tom = make_user("tom", display_name="Tom Baker")
    make_user("rosa", display_name="Rosa Diaz")
    assert "Closed accounts" not in visible_text(admin_client.get("/admin/members"))
    assert login(tom).post("/settings/close", data={"current_password": PASSWORD}).status_code == 302
    page = admin_client.get("/admin/members")
    closed = visible_text(page).split("Closed accounts", 1)[1].split("Recent member actions", 1)[0]
    assert "@tom , closed just now" in closed and "Tom Baker" not in closed and "Rosa" not in closed
    assert 'href="/admin/members/tom/erase"' in page.get_data(as_text=True)
    erased = admin_client.post("/admin/members/tom/erase", data={"confirm_username": "tom"})
    assert erased.status_code == 302
    assert "Closed accounts" not in visible_text(admin_client.get("/admin/members"))

