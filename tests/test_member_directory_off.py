"""member_directory off: members see the admins and the people they have conversations with; admins
everyone (a therapy practice's clients must not learn about each other: an outside tester listed the
whole caseload under /members?circle=Clients)."""
import pytest

from messaging_helpers import open_conversation, send, visible_text
from wb import flags
from wb.circles import service as circles
from wb.messaging import rule_changes


@pytest.fixture
def practice(app, make_user, login, messaging_on):
    """Two therapists (one an admin), three clients in a Clients circle; as the README sets a practice
    up: only therapists start conversations, the directory off."""
    people = {name: make_user(name, role=role, status=status) for name, role, status in (
        ("drlee", "admin", "active"), ("morgan", "member", "active"), ("sam", "member", "active"),
        ("zoe", "member", "active"), ("ann", "member", "pending"))}
    circles.add_members(circles.create("Clients"), ["sam", "zoe", "ann"])
    therapists = circles.create("Therapists")
    circles.add_members(therapists, ["drlee", "morgan"])
    rule_changes.set_starters([therapists])
    flags.set_flag("member_directory", False)
    return people


def test_a_member_sees_the_admins_and_their_conversations_only(practice, login):
    sam = login(practice["sam"])
    page = sam.get("/members")
    text = visible_text(page)
    assert page.status_code == 200
    assert "Drlee" in text and "Zoe" not in text and "Morgan" not in text and "Ann" not in text
    assert "shows the admins, the people you have conversations with and those you may start one with" in text
    assert "Clients" not in text and "Therapists" not in text  # nobody's circles, no circle to filter by
    everyone = visible_text(sam.get("/members?circle=Clients"))  # the filter is ignored, not a caseload
    assert "Zoe" not in everyone and "Ann" not in everyone
    assert "and not by circle: this is all of them" in everyone  # said, not silent (a tester)
    assert "not by circle" not in text

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
    sam, morgan = login(practice["sam"]), login(practice["morgan"])
    profile = visible_text(morgan.get("/people/zoe"))  # a client morgan may write to: no circles shown
    assert "Zoe" in profile and "Clients" not in profile
    assert "Clients" in visible_text(sam.get("/people/sam"))  # their own circles, as ever
    circles.create("Addiction recovery")  # a circle neither Sam is in nor the rules name
    circles_page = sam.get("/circles").get_data(as_text=True)
    listing = visible_text(sam.get("/circles")).split("Your circles and those the rules name", 1)[1].split("Messaging rules")[0]
    assert "Clients" in listing and "Therapists" in listing and "member" not in listing  # Sam's, the rules', no counts
    assert "Addiction recovery" not in circles_page  # what its members share stays theirs (a tester)
    assert 'href="/members?circle=Clients"' not in circles_page
    assert "Addiction recovery" in visible_text(login(practice["drlee"]).get("/circles"))  # an admin sees every circle


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


def test_a_therapist_finds_the_clients_the_rules_let_them_write_to(practice, login):
    """A therapist who isn't an admin found no client to write to (an outside tester): whom the rules
    let a member start with, they see."""
    morgan = login(practice["morgan"])
    assert "Zoe" in visible_text(morgan.get("/messages/new?q=zo", headers={"HX-Request": "true"}))
    assert "Zoe" in visible_text(morgan.get("/members"))
    assert morgan.get("/people/zoe").status_code == 200
    assert "Zoe" in visible_text(morgan.get(f"/messages/{open_conversation(morgan, 'zoe')}"))


def test_a_protected_clients_circle_whose_own_members_dont_start_hides_clients_from_each_other(practice, login):
    """The tester's set-up: Clients protected and open to Therapists, reach "a shared circle". Clients, who
    share Clients, listed and wrote to each other; the therapist, who shares no circle with them, found
    nobody (an outside tester). Settings says both; unticking "its own members may start" and adding the
    therapist to Clients (or letting members reach anyone) is what the practice wanted."""
    clients, therapists = circles.by_name("Clients"), circles.by_name("Therapists")
    rule_changes.set_starters(None)
    rule_changes.set_reach(True)
    rule_changes.set_protection(clients, [therapists])
    sam, morgan = login(practice["sam"]), login(practice["morgan"])
    assert "Zoe" in visible_text(sam.get("/members")) and sam.get("/people/zoe").status_code == 200
    assert morgan.get("/people/sam").status_code == 404  # shares no circle with the clients
    settings = visible_text(login(practice["drlee"]).get("/admin/settings"))
    assert "Members of Clients can start conversations with each other: they share it" in settings
    assert "Members of Therapists can start conversations only with the members of Clients they share a circle with" in settings

    rule_changes.set_protection(clients, [therapists], own_members_start=False)
    assert "Zoe" not in visible_text(sam.get("/members"))
    assert sam.get("/people/zoe").status_code == 404 and sam.post("/messages/with/zoe").status_code == 404
    assert "Zoe" not in visible_text(sam.get("/messages/new?q=zo", headers={"HX-Request": "true"}))
    circles.add_members(clients, ["morgan"])  # the therapist shares Clients now, and starts with clients
    assert "Zoe" in visible_text(morgan.get("/members")) and morgan.get("/people/sam").status_code == 200
    send(morgan, open_conversation(morgan, "sam"), "Hello Sam, see you Tuesday")
    assert sam.get("/people/zoe").status_code == 404  # still no client to another
    assert "Morgan" in visible_text(sam.get("/members"))  # the therapist who wrote
    settings = visible_text(login(practice["drlee"]).get("/admin/settings"))
    assert "Members of Clients can start" not in settings


def test_a_member_a_client_doesnt_see_is_nobody_to_them_everywhere(practice, login, app):
    """A client could open any client's profile by username, and learn from a refusal that someone
    was suspended or waiting for approval (an outside tester)."""
    from api_helpers import ApiClient, token_for

    sam = login(practice["sam"])
    for username in ("zoe", "ann", "nobody-at-all"):
        assert sam.get(f"/people/{username}").status_code == 404
        opened = sam.post(f"/messages/with/{username}")
        assert opened.status_code == 404 and "No member has that username." in visible_text(opened)
        assert sam.post(f"/people/{username}/block").status_code == 404
    api = ApiClient(app.test_client(), token_for(practice["sam"]))
    for username in ("zoe", "ann", "nobody-at-all"):
        assert api.post("/api/v1/conversations", json={"with": username}).status_code == 404
        assert api.put(f"/api/v1/blocks/{username}").status_code == 404
    assert sam.get("/people/drlee").status_code == 200  # the admins, as ever


def test_bylines_name_only_authors_the_viewer_sees(practice, login):
    """A client read "by Jamie Rivera" on another client's request (an outside tester): an author
    the viewer doesn't see is "a member"; one they see is named, with a link to the profile."""
    from wb.extensions import db
    from wb.models import Comment, HelpRequest

    request = HelpRequest(author_id=practice["zoe"].id, title="Lift to the clinic?", body="Tuesday")
    db.session.add(request)
    db.session.flush()
    db.session.add(Comment(request_id=request.id, author_id=practice["drlee"].id, body="I can drive"))
    db.session.commit()
    sam = login(practice["sam"])
    for path in ("/", "/requests", f"/requests/{request.id}"):
        response = sam.get(path)
        page, text = response.get_data(as_text=True), visible_text(response)
        assert "Lift to the clinic?" in text and "by a member" in text, path
        assert "Zoe" not in text and "zoe" not in page, path
    shown = visible_text(sam.get(f"/requests/{request.id}"))
    assert "Drlee" in shown  # the admin, whom every member sees
    for viewer in ("drlee", "zoe"):  # an admin sees everyone; the author sees herself
        assert 'href="/people/zoe"' in login(practice[viewer]).get("/requests").get_data(as_text=True)


def test_bylines_a_member_doesnt_see_carry_no_id_to_link_them_by(practice, login, app):
    """Every "a member" byline carried its author's id (data-message-for="4"): a client could tell
    that one hidden person wrote three requests and a comment (a therapy practice's tester). Nor
    does a former member's byline carry theirs."""
    from wb.extensions import db
    from wb.models import Comment, HelpRequest, utcnow

    zoe, ann = practice["zoe"], practice["ann"]
    first = HelpRequest(author_id=zoe.id, title="Lift to the clinic?", body="Tuesday")
    second = HelpRequest(author_id=zoe.id, title="Maths tutoring", body="Thursdays")
    gone = practice["morgan"]
    db.session.add_all([first, second, HelpRequest(author_id=gone.id, title="Leaflets", body="Help fold")])
    db.session.flush()
    db.session.add(Comment(request_id=first.id, author_id=zoe.id, body="Or Wednesday"))
    db.session.add(Comment(request_id=first.id, author_id=practice["drlee"].id, body="I can drive"))
    gone.deleted_at = utcnow()
    db.session.commit()
    sam = login(practice["sam"])
    for path in ("/", "/requests", f"/requests/{first.id}"):
        page = sam.get(path).get_data(as_text=True)
        assert "by a member" in visible_text(sam.get(path)), path
        for hidden in (zoe, gone, ann):
            assert f'data-message-for="{hidden.id}"' not in page, (path, hidden.username)
    # the therapist, whom the client sees, keeps their Message button (redrawn when the rules change)
    assert f'data-message-for="{practice["drlee"].id}"' in sam.get(f"/requests/{first.id}").get_data(as_text=True)


def test_a_remove_button_names_no_author_the_viewer_doesnt_see(practice, login):
    """A client's request, with another client's comment under it: the byline said "a member", but
    the author's Remove comment button named her to a screen reader and in the page's source (a
    re-check tester)."""
    from wb.extensions import db
    from wb.models import Comment, HelpRequest

    request = HelpRequest(author_id=practice["zoe"].id, title="Lift to the clinic?", body="Tuesday")
    db.session.add(request)
    db.session.flush()
    db.session.add(Comment(request_id=request.id, author_id=practice["sam"].id, body="I could go too"))
    db.session.commit()
    page = login(practice["zoe"]).get(f"/requests/{request.id}").get_data(as_text=True)
    assert 'aria-label="Remove comment: the comment by a member, “I could go too”"' in page
    assert "Sam" not in page and "/people/sam" not in page


def test_a_protected_circle_is_not_named_to_a_member_who_sees_nobodys_circles(app, make_user, login, messaging_on):
    """With the directory off, the note under a request said "Dave is in Elm Street: new conversations
    with its members are started by staff and members of Coordinators", to a member who may not even
    open Dave's profile (an outside admin tester)."""
    from wb.extensions import db
    from wb.models import HelpRequest

    make_user("ada", role="admin")
    dave, erin = make_user("dave"), make_user("erin")
    street, coordinators = circles.create("Elm Street"), circles.create("Coordinators")
    circles.add_members(street, ["dave"])
    rule_changes.set_protection(street, [coordinators])
    db.session.add(HelpRequest(author_id=dave.id, title="Help loading a van", body="Saturday"))
    db.session.commit()
    erin_client = login(erin)
    on = visible_text(erin_client.get("/requests"))
    assert "Dave is in Elm Street" in on  # the directory on: circles are no secret here

    flags.set_flag("member_directory", False)
    page = visible_text(erin_client.get("/requests"))
    assert "Help loading a van" in page
    assert "Elm Street" not in page and "Coordinators" not in page
    # Erin may not start with Dave, so she doesn't see him: the byline is "a member", and no note
    # beside it names him (a street's note said "Carol Lind isn't in any of yours" under "a member")
    assert "by a member" in page and "Dave" not in page


def test_a_byline_erin_doesnt_see_has_no_note_naming_its_author(app, make_user, login, messaging_on):
    from wb.extensions import db
    from wb.models import HelpRequest

    make_user("ada", role="admin")
    carol, dave = make_user("carol", display_name="Carol Lind"), make_user("dave")
    circles.add_members(circles.create("Elm Street"), ["carol"])
    circles.add_members(circles.create("Oak Street"), ["dave"])
    rule_changes.set_reach(True)
    db.session.add(HelpRequest(author_id=carol.id, title="Maths tutoring volunteers", body="Thursdays"))
    db.session.commit()
    dave_client = login(dave)
    assert "Carol Lind isn't in any of yours" in visible_text(dave_client.get("/requests"))  # on: no secret
    flags.set_flag("member_directory", False)
    for path in ("/requests", "/"):
        page = visible_text(dave_client.get(path))
        assert "Maths tutoring volunteers" in page and "by a member" in page and "Carol" not in page, path


def test_a_display_name_is_checked_only_against_the_members_one_sees(practice, login, app):
    """Refusing another client's name told a client it was taken: an outside tester listed the
    whole caseload from Settings. With the directory off only names the member sees count."""
    from wb.extensions import db
    from wb.models import Invite, User

    sam = login(practice["sam"])

    def set_name(name):
        return sam.post("/settings", data={"display_name": name, "bio": ""})

    for hidden in ("Ann", "Morgan", "zoe", "Zoe"):  # a pending client, a therapist who hasn't written, a client
        response = set_name(hidden)
        assert response.status_code == 302, hidden  # saved, as a name nobody has is
        db.session.expire_all()
        assert db.session.get(User, practice["sam"].id).display_name == hidden
    for seen in ("Drlee", "drlee"):  # the admin, whom every member sees
        refused = set_name(seen)
        assert refused.status_code == 400 and "Another member goes by that name" in visible_text(refused)
    morgan = login(practice["morgan"])
    send(morgan, open_conversation(morgan, "sam"), "Hello Sam")
    assert set_name("Morgan").status_code == 400  # now someone Sam sees
    # whoever sees both tells them apart by username (directory, New message, profiles)
    drlee = login(practice["drlee"])
    found = visible_text(drlee.get("/messages/new?q=zoe", headers={"HX-Request": "true"}))
    assert "@zoe" in found and "@sam" in found

    # someone joining is checked against the admins only
    invite = Invite.issue(creator=practice["drlee"])
    db.session.commit()
    joined = app.test_client().post("/register", data={"invite": invite.token, "username": "newbie",
                                             "password": "a long enough password", "display_name": "Zoe"})
    assert joined.status_code == 302
    invite = Invite.issue(creator=practice["drlee"])
    db.session.commit()
    refused = app.test_client().post(
        "/register", data={"invite": invite.token, "username": "newbie2", "password": "a long enough password",
                           "display_name": "Drlee"})
    assert refused.status_code == 400 and "Another member goes by that name" in visible_text(refused)

    flags.set_flag("member_directory", True)  # with the directory on, every name counts again
    assert set_name("Ann").status_code == 400


def test_a_name_another_member_goes_by_reads_with_its_username_to_others(practice, login, make_user):
    """Sam took Zoe's name (he doesn't see her), and a therapist's inbox listed both alike; a client
    who took a therapist's name wrote to the other therapist as him (an outside tester). The name
    taken second reads with its @username to everyone but its holder."""
    from wb.extensions import db
    from wb.models import User

    sam = login(practice["sam"])
    assert sam.post("/settings", data={"display_name": "Zoe", "bio": ""}).status_code == 302
    drlee = login(practice["drlee"])
    for name in ("sam", "zoe"):
        send(drlee, open_conversation(drlee, name), f"Hello {name}")
    inbox = visible_text(drlee.get("/messages"))
    assert "Zoe (@sam)" in inbox and inbox.count("Zoe") == 2  # the real Zoe's reads as before
    assert db.session.get(User, practice["zoe"].id).name_shared is False
    # Sam himself sees his name as he chose it: nothing tells him it was taken
    assert "(@sam)" not in visible_text(sam.get("/messages")) and "(@sam)" not in visible_text(sam.get("/settings"))
    assert sam.get("/api/v1/me").get_json()["display_name"] == "Zoe"
    names = [c["other_member"]["display_name"] for c in drlee.get("/api/v1/conversations").get_json()["conversations"]]
    assert sorted(names) == ["Zoe", "Zoe (@sam)"]  # the API says it as the inbox does
    db.session.expire_all()
    assert db.session.get(User, practice["sam"].id).name == "Zoe (@sam)"  # emails too: no viewer there
    # To a member who sees Sam but not Zoe, the mark would say that someone they can't see goes by "Zoe"
    # (a re-check tester learnt of a client so): there it isn't written.
    from messaging_ops_helpers import converse
    from wb.circles import service as circle_service
    from wb.messaging import rule_changes as changes

    kit = make_user("kit", display_name="Kit")  # in no circle: sees the admins and their conversations only
    changes.set_starters(None)
    converse(kit, practice["sam"], ["Hello Sam"])
    changes.set_starters([circle_service.by_name("Therapists")])
    kit_client = login(kit)
    assert kit_client.get("/people/zoe").status_code == 404  # Zoe isn't someone Kit sees
    kit_inbox = visible_text(kit_client.get("/messages"))
    assert "Zoe" in kit_inbox and "(@sam)" not in kit_inbox
    listed = [c["other_member"]["display_name"] for c in kit_client.get("/api/v1/conversations").get_json()["conversations"]]
    assert listed == ["Zoe"]
    assert "Zoe (@sam)" in visible_text(drlee.get("/messages"))  # whoever sees both still tells them apart
    # choosing a name nobody has clears the mark
    assert sam.post("/settings", data={"display_name": "Sam S.", "bio": ""}).status_code == 302
    assert "(@sam)" not in visible_text(drlee.get("/messages"))


def test_a_protected_circles_names_are_no_oracle_and_a_copy_reads_with_its_username(app, practice, login, make_user):
    """A client who hadn't been written to yet took their clinician's name, "Dr. Jane Smith", so the
    members of protected circles counted too; but where the protected circle was the clients, a refusal
    told a client, or anyone with an invite, which names the other clients go by: "Erin Walsh" refused,
    "Zed Quux" taken (a therapy practice's tester). Only the members one sees count; a copy of anyone
    else's name reads with its @username to everyone but its holder."""
    from wb.models import Invite
    from wb.extensions import db

    make_user("drsmith", display_name="Dr. Jane Smith")
    clinicians = circles.create("Clinicians")
    circles.add_members(clinicians, ["drsmith"])
    rule_changes.set_protection(clinicians, [])
    clients = circles.by_name("Clients")
    rule_changes.set_protection(clients, [circles.by_name("Therapists")])
    sam = login(practice["sam"])
    assert sam.get("/people/zoe").status_code == 404  # another client: not seen
    assert sam.post("/settings", data={"display_name": "Zoe", "bio": ""}).status_code == 302  # nothing told
    assert sam.post("/settings", data={"display_name": "Dr. Jane Smith", "bio": ""}).status_code == 302
    invite = Invite.issue(creator=practice["drlee"])
    db.session.commit()
    joined = app.test_client().post("/register", data={  # someone joining learns nothing either
        "invite": invite.token, "username": "newbie", "password": "a long enough password", "display_name": "Zoe"})
    assert joined.status_code == 302
    drlee = login(practice["drlee"])
    listed = visible_text(drlee.get("/members"))
    # whoever sees both tells them apart, by the @username beside each name (said once: "Dave Ng (@zed123)
    # @zed123" said it twice, a therapy practice's tester)
    assert "Dr. Jane Smith @sam" in listed and "Zoe @newbie" in listed and listed.count("@newbie") == 1
    refused = login(practice["morgan"]).post("/settings", data={"display_name": "Dr. Jane Smith", "bio": ""})
    assert refused.status_code == 400 and "Another member goes by that name" in visible_text(refused)  # seen: refused


def test_a_draft_keeps_nobody_visible(practice, login):
    """A draft opened while the rules let Sam start with Zoe kept Zoe visible to him once they no
    longer did (profile, search, block, the API): an empty conversation grants nothing (an outside
    attacker). A conversation with a message still does."""
    rule_changes.set_starters(None)
    sam = login(practice["sam"])
    open_conversation(sam, "zoe")  # a draft: nothing sent
    written = open_conversation(sam, "morgan")
    send(sam, written, "Hello Morgan")
    rule_changes.set_starters([circles.by_name("Therapists")])
    assert sam.get("/people/zoe").status_code == 404
    assert "Zoe" not in visible_text(sam.get("/messages/new?q=zo", headers={"HX-Request": "true"}))
    assert sam.post("/people/zoe/block").status_code == 404
    assert sam.get("/people/morgan").status_code == 200  # they have a conversation


def test_a_draft_with_a_member_no_longer_seen_is_no_conversation(practice, login, app):
    """Sam's draft to Zoe, opened while the rules were open, kept "Zoe — No messages yet" in his inbox, her
    name atop its thread and in the API once clients no longer started with clients (a practice's tester):
    now it is gone from each, its address the unknown conversation's 404; the row stays, and the draft
    shows again when the rules open again. A conversation with a message stays."""
    from api_helpers import ApiClient, token_for
    from messaging_helpers import membership_of

    rule_changes.set_starters(None)
    sam = login(practice["sam"])
    draft = open_conversation(sam, "zoe")
    assert "Zoe" in visible_text(sam.get("/messages"))
    written = open_conversation(sam, "morgan")
    send(sam, written, "Hello Morgan")
    rule_changes.set_starters([circles.by_name("Therapists")])

    inbox = visible_text(sam.get("/messages"))
    assert "Zoe" not in inbox and "No messages yet" not in inbox and "Morgan" in inbox
    thread = sam.get(f"/messages/{draft}")
    assert thread.status_code == 404 and "Zoe" not in visible_text(thread)
    assert "That conversation doesn't exist." in visible_text(thread)
    assert "Zoe" not in visible_text(sam.get("/"))  # the dashboard's latest conversations
    api = ApiClient(app.test_client(), token_for(practice["sam"]))
    listed = api.get("/api/v1/conversations").get_json()["conversations"]
    assert [row["id"] for row in listed] == [written]
    assert api.get(f"/api/v1/conversations/{draft}").status_code == 404
    assert api.get(f"/api/v1/conversations/{written}").status_code == 200
    assert membership_of(practice["sam"], draft) is not None  # kept, not deleted

    rule_changes.set_starters(None)
    assert "Zoe" in visible_text(sam.get("/messages"))
    assert sam.get(f"/messages/{draft}").status_code == 200


def test_a_hidden_member_and_a_name_nobody_has_cost_the_same_queries(practice, login, count_queries):
    """A member looked up first and asked about after took twice as long for a hidden client as for a
    name nobody has, which told one from the other (a therapy practice's tester timed it). Both are now
    the same statements: the viewer's side, then one query for the name with it."""
    from api_helpers import ApiClient, token_for

    sam = login(practice["sam"])
    api = ApiClient(sam, token_for(practice["sam"]))
    asks = [lambda name: sam.get(f"/people/{name}"), lambda name: sam.post(f"/people/{name}/block"),
            lambda name: sam.post(f"/messages/with/{name}"),
            lambda name: api.post("/api/v1/conversations", json={"with": name}),
            lambda name: api.put(f"/api/v1/blocks/{name}")]
    for ask in asks:
        ask("nobody")  # anything read once per process (the spec, the flags) is read before counting
        statements = {}
        for name in ("zoe", "nobody"):
            with count_queries() as queries:
                answer = ask(name)
            statements[name] = [" ".join(query.split()) for query in queries]
            assert answer.status_code in (403, 404), (name, answer.status_code)
        assert statements["zoe"] == statements["nobody"]
