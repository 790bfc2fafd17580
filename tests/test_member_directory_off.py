"""member_directory off: members see the admins and the people they have conversations with; admins
everyone (a therapy practice's clients must not learn about each other: an outside tester listed the
whole caseload under /members?circle=Clients)."""
import pytest

from messaging_helpers import open_conversation, send, visible_text
from wb import flags
from wb.circles import service as circles


@pytest.fixture
def practice(app, make_user, login, messaging_on):
    """Two therapists (one an admin), three clients in a Clients circle, the directory off."""
    people = {name: make_user(name, role=role, status=status) for name, role, status in (
        ("drlee", "admin", "active"), ("morgan", "member", "active"), ("sam", "member", "active"),
        ("zoe", "member", "active"), ("ann", "member", "pending"))}
    circles.add_members(circles.create("Clients"), ["sam", "zoe", "ann"])
    circles.add_members(circles.create("Therapists"), ["drlee", "morgan"])
    flags.set_flag("member_directory", False)
    return people


def test_a_member_sees_the_admins_and_their_conversations_only(practice, login):
    sam = login(practice["sam"])
    page = sam.get("/members")
    text = visible_text(page)
    assert page.status_code == 200
    assert "Drlee" in text and "Zoe" not in text and "Morgan" not in text and "Ann" not in text
    assert "shows the admins and the people you have conversations with" in text
    assert "Clients" not in text and "Therapists" not in text  # nobody's circles, no circle to filter by
    everyone = visible_text(sam.get("/members?circle=Clients"))  # the filter is ignored, not a caseload
    assert "Zoe" not in everyone and "Ann" not in everyone

    morgan = login(practice["morgan"])
    send(morgan, open_conversation(morgan, "sam"), "Hello Sam, see you Tuesday")
    text = visible_text(sam.get("/members"))
    assert "Morgan" in text and "Zoe" not in text  # now someone Sam talks with


def test_the_inbox_search_finds_only_whom_the_member_sees(practice, login):
    sam = login(practice["sam"])
    found = visible_text(sam.get("/messages/new?q=zo", headers={"HX-Request": "true"}))
    assert "Zoe" not in found and "No members match" in found
    assert "Drlee" in visible_text(sam.get("/messages/new?q=drl", headers={"HX-Request": "true"}))
    # a pending or suspended member's exact name says nothing either
    assert "can't" not in visible_text(sam.get("/messages/new?q=ann", headers={"HX-Request": "true"}))


def test_profiles_show_no_circles_or_status_and_circles_no_counts(practice, login):
    sam = login(practice["sam"])
    profile = visible_text(sam.get("/people/zoe"))
    assert "Zoe" in profile and "Clients" not in profile
    assert "Pending verification" not in visible_text(sam.get("/people/ann"))
    assert "Clients" in visible_text(sam.get("/people/sam"))  # their own circles, as ever
    circles_page = sam.get("/circles").get_data(as_text=True)
    listing = visible_text(sam.get("/circles")).split("Every circle", 1)[1].split("Messaging rules")[0]
    assert "Clients" in listing and "member" not in listing  # the names the rules speak of, no counts
    assert 'href="/members?circle=Clients"' not in circles_page


def test_admins_still_see_everyone_and_on_again_members_do(practice, login, admin):
    drlee = login(practice["drlee"])
    text = visible_text(drlee.get("/members?circle=Clients"))
    assert "Sam" in text and "Zoe" in text and "Ann" in text
    assert "Clients" in visible_text(drlee.get("/people/zoe"))
    flags.set_flag("member_directory", True)
    assert "Zoe" in visible_text(login(practice["sam"]).get("/members"))


def test_switching_it_off_asks_first(admin, login):
    client = login(admin)
    asked = client.post("/admin/settings/member_directory", data={"enabled": "0"})
    assert asked.status_code == 200 and "Hide the members list from members?" in asked.get_data(as_text=True)
    assert flags.is_enabled("member_directory")
