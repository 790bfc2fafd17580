"""Who may start a conversation: circles, the community's rules, each member's own setting, staff, replies, blocks."""
import itertools
import re

import pytest
from sqlalchemy import select

from helpers import reload, text
from messaging_helpers import conversation_count, messages_in, open_conversation, send, visible_text
from wb import flags
from wb.circles import service as circles
from wb.extensions import db
from wb.messaging import rule_changes, rules, safety
from wb.messaging.directory_search import search_members
from wb.models import AuditEvent, User

STARTERS_ONLY = ("Starting conversations is open to members of Coordinators and Volunteers. "
                 "You can write to the admins, and reply to anyone who writes to you or in conversations you "
                 "already have.")


@pytest.fixture
def people(app, make_user, messaging_on):
    """alice, bob, carol, dave (members) and root (admin)."""
    return {name: make_user(name) for name in ("alice", "bob", "carol", "dave")} | {
        "root": make_user("root", role="admin", display_name="Rita Root")}


def circle(name, *members):
    made = circles.create(name)
    if members:
        circles.add_members(made, [m.username for m in members])
    return made


def refusal(a, b):
    """The words refusing a a message to b now, or None when a may write (start, or reply)."""
    decision = rules.decide_pair(a, b)
    return None if decision.may_write else decision.words


def set_setting(user, value):
    user.message_from = value
    db.session.commit()


def test_by_default_every_active_member_may_start_with_anyone(people):
    for a, b in itertools.permutations(people.values(), 2):
        assert refusal(a, b) is None


def test_starters_rule_lets_only_members_of_chosen_circles_start(people, login):
    volunteers = circle("Volunteers", people["alice"])
    coordinators = circle("Coordinators", people["carol"])
    rule_changes.set_starters([volunteers, coordinators])
    assert refusal(people["alice"], people["bob"]) is None
    assert refusal(people["carol"], people["bob"]) is None
    assert refusal(people["bob"], people["dave"]).startswith(STARTERS_ONLY)
    response = login(people["bob"]).post("/messages/with/dave")
    assert response.status_code == 403
    assert STARTERS_ONLY in visible_text(response)
    assert 'href="/circles"' in text(response)  # the prompt leads somewhere: circles and the admins
    assert conversation_count() == 0
    rule_changes.set_starters(None)
    assert refusal(people["bob"], people["dave"]) is None


def test_a_bypassing_htmx_post_gets_the_explanation_as_a_partial(people, login):
    rule_changes.set_starters([circle("Volunteers", people["alice"])])
    response = login(people["bob"]).htmx("POST", "/messages/with/dave")
    assert response.status_code == 403
    assert "<html" not in text(response)
    assert "Starting conversations is open to members of Volunteers." in visible_text(response)


def test_reach_shared_circle_needs_a_circle_in_common(people):
    circle("Elm Street", people["alice"], people["bob"])
    circle("Oak Street", people["carol"])
    rule_changes.set_reach(True)
    assert refusal(people["alice"], people["bob"]) is None
    assert refusal(people["alice"], people["carol"]) == (
        "You can start conversations with members who share a circle with you, and Carol isn't in any of yours. "
        "Ask an admin if you'd like to join one of their circles.")
    assert refusal(people["dave"], people["alice"]) is not None  # in no circle: shares none
    rule_changes.set_reach(False)
    assert refusal(people["alice"], people["carol"]) is None


def test_a_protected_circle_is_open_to_staff_its_members_and_the_circles_named(people, make_user):
    clinicians = circle("Clinicians", people["alice"], people["bob"])
    therapists = circle("Therapists", people["carol"])
    rule_changes.set_protection(clinicians, [therapists])
    assert refusal(people["dave"], people["alice"]) == (
        "Alice is in Clinicians: new conversations with its members are started by staff, its own members and members of Therapists. "
        "Once they write to you, you can reply.")
    assert refusal(people["carol"], people["alice"]) is None  # open to Therapists
    assert refusal(people["bob"], people["alice"]) is None  # a protected circle's own members
    assert refusal(people["root"], people["alice"]) is None  # staff
    assert refusal(people["alice"], people["dave"]) is None  # clinicians may start with anyone
    rule_changes.set_protection(clinicians, [])
    assert "started by staff and its own members." in refusal(people["carol"], people["alice"])
    rule_changes.set_protection(clinicians, None)
    assert refusal(people["dave"], people["alice"]) is None


def test_a_protected_circle_its_own_members_dont_start_in_is_started_by_staff_and_the_circles_it_is_open_to(people, login):
    """A practice's Clients, protected and open to Therapists: clients share Clients, and it let them write to
    each other ("are you also seeing Dr Quinn?": an outside tester). Unticking "its own members may start
    conversations with each other" keeps it to staff and therapists; replies and staff are as ever."""
    clients = circle("Clients", people["alice"], people["bob"])
    therapists = circle("Therapists", people["carol"])
    rule_changes.set_protection(clients, [therapists], own_members_start=False)
    assert refusal(people["alice"], people["bob"]) == (
        "Bob is in Clients: new conversations with its members are started by staff and members of Therapists. "
        "Once they write to you, you can reply.")
    assert refusal(people["carol"], people["alice"]) is None  # a therapist starts with a client
    assert refusal(people["root"], people["alice"]) is None  # staff always
    assert refusal(people["alice"], people["root"]) is None
    assert refusal(people["dave"], people["alice"]) is not None  # in neither
    assert refusal(people["alice"], people["dave"]) is None  # a client may still start with others
    assert [row.username for row in search_members(people["alice"], "bob").members] == []
    assert [row.username for row in search_members(people["carol"], "bob").members] == ["bob"]
    alice_client, bob_client, carol_client = login(people["alice"]), login(people["bob"]), login(people["carol"])
    assert alice_client.post("/messages/with/bob").status_code == 403
    cid = open_conversation(carol_client, "alice")
    assert send(carol_client, cid, "How was this week?").status_code == 200
    assert send(alice_client, cid, "Better, thanks").status_code == 200  # the client replies
    root_client = login(people["root"])
    assert send(root_client, open_conversation(root_client, "bob"), "From the office").status_code == 200
    assert bob_client.post("/messages/with/root").status_code == 302  # anyone writes to staff
    rule_changes.set_protection(clients, [], own_members_start=False)
    assert "started by staff only." in refusal(people["alice"], people["bob"])
    assert refusal(people["carol"], people["bob"]) is not None  # no longer open to therapists (alice wrote: replies go)
    assert refusal(people["carol"], people["alice"]) is None
    rule_changes.set_protection(clients, [therapists])  # ticked again: its own members start, as before
    assert refusal(people["alice"], people["bob"]) is None


def test_a_clinician_writes_first_and_then_the_member_may_reply(people, login):
    clinicians = circle("Clinicians", people["alice"])
    rule_changes.set_protection(clinicians, [])
    dave_client, alice_client = login(people["dave"]), login(people["alice"])
    assert dave_client.post("/messages/with/alice").status_code == 403
    cid = open_conversation(alice_client, "dave")
    assert send(alice_client, cid, "How are you feeling this week?").status_code == 200
    assert send(dave_client, cid, "Better, thanks").status_code == 200
    assert open_conversation(dave_client, "alice") == cid  # the button works for a reply too
    assert [m.body for m in messages_in(cid)] == ["How are you feeling this week?", "Better, thanks"]


@pytest.mark.parametrize("setting", ["rules", "circles", "nobody"])
def test_each_member_setting(people, setting):
    circle("Elm Street", people["alice"], people["bob"])
    set_setting(people["bob"], setting)
    shared, outsider = refusal(people["alice"], people["bob"]), refusal(people["carol"], people["bob"])
    if setting == "rules":
        assert shared is None and outsider is None
    elif setting == "circles":
        assert shared is None
        assert outsider == ("Bob accepts new conversations only from members of their circles. "
                            "Ask an admin if you'd like to join one.")
    else:
        assert shared == outsider == "Bob isn't accepting new conversations right now. Only they can change that."
    assert refusal(people["root"], people["bob"]) is None  # staff can always reach a member


NOBODY_NEW = "Bob isn't accepting new conversations right now. Only they can change that."


def test_an_open_draft_hears_when_its_member_takes_no_new_conversations_and_again_when_they_do(app, people, login):
    """Bob chose "Nobody new" while Alice had her draft to him open ("No messages yet"): it kept its box
    until she pressed Send (an outside tester). Her live channel now hears "compose" for the draft, as for a
    pause, and the thread drawn again says why; Carol's conversation with a message is a reply and hears nothing."""
    app.config["LIVE_HOLD_SECONDS"] = 0.3  # an ask that hears nothing ends soon
    alice_client, bob_client, carol_client = (login(people[name]) for name in ("alice", "bob", "carol"))
    draft = open_conversation(alice_client, "bob")
    written = open_conversation(carol_client, "bob")
    send(carol_client, written, "Thanks for the ladder")

    def cursor(client, cid):
        return int(re.search(r'data-live-cursor="(\d+)"', text(client.get(f"/messages/{cid}"))).group(1))

    def heard(client, since):
        answer = client.get(f"/messages/live?since={since}").get_json()
        return [(e["kind"], e["conversation"]) for e in answer["events"]], answer["cursor"]

    alice_since, carol_since = cursor(alice_client, draft), cursor(carol_client, written)
    assert 'id="compose-body"' in text(alice_client.get(f"/messages/{draft}"))
    saved = bob_client.post("/settings/messaging", data={"message_from": "nobody"})
    assert saved.status_code == 302 and reload(User, people["bob"].id).message_from == "nobody"
    events, alice_since = heard(alice_client, alice_since)
    assert events == [("compose", draft)]
    assert heard(carol_client, carol_since)[0] == []  # a reply is always allowed: nothing to redraw
    page = alice_client.get(f"/messages/{draft}")  # what live.js draws in the thread pane
    assert 'id="compose-body"' not in text(page) and NOBODY_NEW in visible_text(page)
    assert 'id="compose-body"' in text(carol_client.get(f"/messages/{written}"))

    bob_client.post("/settings/messaging", data={"message_from": "nobody"})  # saved again, unchanged
    assert heard(alice_client, alice_since)[0] == []
    bob_client.post("/settings/messaging", data={"message_from": "rules"})
    events, alice_since = heard(alice_client, alice_since)
    assert events == [("compose", draft)]
    page = alice_client.get(f"/messages/{draft}")
    assert 'id="compose-body"' in text(page) and NOBODY_NEW not in visible_text(page)
    assert send(alice_client, draft, "Hello Bob").status_code == 200
    assert [m.body for m in messages_in(draft)] == ["Hello Bob"]


def test_only_my_circles_from_a_member_in_none_asks_nobody_to_join_one(people):
    """A marketplace tester in no circle chose "only my circles" and was told to join one of theirs."""
    from wb.flags import set_flag

    circle("Elm Street", people["alice"])
    set_setting(people["bob"], "circles")
    assert refusal(people["alice"], people["bob"]) == (
        "Bob accepts new conversations only from members who share a circle with them. "
        "Once they write to you, you can reply.")
    circle("Oak Street", people["bob"])
    assert refusal(people["alice"], people["bob"]).endswith("Ask an admin if you'd like to join one.")
    set_flag("member_directory", False)  # nobody's circles shown: whether Bob is in one isn't told either
    assert refusal(people["alice"], people["bob"]).endswith("Once they write to you, you can reply.")


def test_reach_to_a_member_in_no_circle_asks_nobody_to_join_one_of_theirs(people):
    """The same advice came through the community's reach rule for a newcomer in no circle (a re-check tester)."""
    circle("Elm Street", people["alice"])
    rule_changes.set_reach(True)
    assert refusal(people["alice"], people["dave"]) == (
        "You can start conversations with members who share a circle with you, and Dave isn't in any of yours. "
        "Once they write to you, you can reply.")
    circle("Oak Street", people["dave"])
    assert refusal(people["alice"], people["dave"]).endswith("Ask an admin if you'd like to join one of their circles.")


def test_staff_may_start_with_anyone_and_anyone_may_write_to_staff(people):
    rule_changes.set_starters([circle("Volunteers")])
    rule_changes.set_reach(True)
    set_setting(people["root"], "nobody")
    set_setting(people["bob"], "nobody")
    assert refusal(people["root"], people["bob"]) is None
    assert refusal(people["bob"], people["root"]) is None
    assert refusal(people["bob"], people["alice"]) is not None


def test_replies_are_allowed_after_the_rules_change(people, login):
    alice_client, bob_client = login(people["alice"]), login(people["bob"])
    cid = open_conversation(alice_client, "bob")
    send(alice_client, cid, "hi")
    rule_changes.set_starters([circle("Volunteers")])
    rule_changes.set_reach(True)
    set_setting(people["bob"], "nobody")
    set_setting(people["alice"], "nobody")
    assert send(bob_client, cid, "still here").status_code == 200
    assert send(alice_client, cid, "me too").status_code == 200
    assert [m.body for m in messages_in(cid)] == ["hi", "still here", "me too"]
    assert "compose-closed" not in text(bob_client.get(f"/messages/{cid}"))


def test_an_opened_but_empty_conversation_grants_nothing(people, login):
    alice_client, bob_client = login(people["alice"]), login(people["bob"])
    cid = open_conversation(alice_client, "bob")
    rule_changes.set_starters([circle("Volunteers")])
    response = send(alice_client, cid, "first words")
    assert response.status_code == 403
    assert "Starting conversations is open to members of Volunteers." in visible_text(response)
    assert send(bob_client, cid, "nor me", htmx=False).status_code == 404  # Alice's draft: not there for Bob
    assert messages_in(cid) == []
    # the thread says why instead of offering a box that can't send
    page = alice_client.get(f"/messages/{cid}").get_data(as_text=True)
    assert "compose-closed" in page and "open to members of Volunteers" in page
    assert "Say hello!" not in page  # no invitation to write where nothing can be written
    assert '<a href="/circles">See the circles and who the admins are</a>' in page  # and where to go
    assert alice_client.post("/messages/with/bob").location == f"/messages/{cid}"  # her draft opens, saying so


def test_pending_and_suspended_members(people, make_user, login):
    pending, suspended = make_user("penny", status="pending"), make_user("sam", status="suspended")
    assert "waiting for an admin" in refusal(pending, people["bob"])
    assert refusal(people["bob"], pending) == "This member is waiting for approval and can't receive messages yet."
    assert "suspended" in refusal(people["bob"], suspended)
    assert "waiting for approval" in refusal(people["root"], pending)  # staff too: accounts come first
    assert login(pending).post("/messages/with/bob").status_code == 403


def test_a_block_stops_staff_and_replies_and_reads_like_a_pause(people, login):
    alice_client = login(people["alice"])
    cid = open_conversation(alice_client, "bob")
    send(alice_client, cid, "hi")
    safety.block(people["bob"], people["alice"])
    safety.block(people["bob"], people["root"])
    not_accepting = "Bob isn't accepting messages right now. Only they can change that."
    assert refusal(people["alice"], people["bob"]) == not_accepting  # despite the conversation with a message
    assert refusal(people["root"], people["bob"]) == not_accepting  # despite being staff
    assert refusal(people["bob"], people["alice"]) == (
        "You've blocked Alice. To write to them, unblock them under Safety (on their profile or in your conversation) or in your settings.")
    response = send(alice_client, cid, "hello?")
    assert response.status_code == 403 and not_accepting in visible_text(response)


def test_the_profile_shows_the_button_or_why_not(people, login):
    set_setting(people["bob"], "nobody")
    alice_client = login(people["alice"])
    bob_page = alice_client.get("/people/bob")
    assert "/messages/with/bob" not in text(bob_page)
    assert "Bob isn't accepting new conversations right now." in visible_text(bob_page)
    assert 'action="/messages/with/carol"' in text(alice_client.get("/people/carol"))


def test_a_request_shows_why_next_to_its_author_and_commenters(people, login):
    from wb.models import Comment, HelpRequest

    request_ = HelpRequest(author_id=people["bob"].id, title="Ladder", body="Need one")
    db.session.add(request_)
    db.session.flush()
    db.session.add(Comment(request_id=request_.id, author_id=people["carol"].id, body="I have one"))
    db.session.commit()
    circle("Clinicians", people["carol"])
    rule_changes.set_protection(circles.by_name("Clinicians"), [])
    page = text(login(people["alice"]).get(f"/requests/{request_.id}"))
    assert 'action="/messages/with/bob"' in page
    assert 'action="/messages/with/carol"' not in page and "Carol is in Clinicians" in page


def test_the_directory_says_once_that_the_viewer_may_not_start(people, login):
    rule_changes.set_starters([circle("Volunteers", people["alice"])])
    page = text(login(people["bob"]).get("/members"))
    assert page.count("Starting conversations is open to members of Volunteers.") == 1
    assert re.findall(r'action="/messages/with/(\w+)"', page) == ["root"]  # staff can always be written to
    assert 'action="/messages/with/bob"' in text(login(people["alice"]).get("/members"))


def test_the_search_offers_exactly_the_members_one_may_start_with(people, make_user):
    """Every cell of a small matrix: the search and check_can_start agree."""
    elm = circle("Elm Street", people["alice"], people["bob"])
    clinicians = circle("Clinicians", people["carol"])
    circle("Therapists", people["dave"])
    others = [make_user(f"pat{i}", display_name=f"Pat {i}") for i in range(4)]
    circles.add_members(elm, ["pat0"])
    circles.add_members(clinicians, ["pat1"])
    set_setting(others[2], "nobody")
    set_setting(others[3], "circles")
    safety.block(others[0], people["bob"])
    everyone = list(people.values()) + others
    for starters, reach, protect in itertools.product([None, ["Elm Street"]], [False, True], [None, ["Therapists"]]):
        rule_changes.set_starters(None if starters is None else [circles.by_name(n) for n in starters])
        rule_changes.set_reach(reach)
        rule_changes.set_protection(clinicians, None if protect is None else [circles.by_name(n) for n in protect])
        for viewer, person in itertools.permutations(everyone, 2):
            offered = person.username in {row.username for row in search_members(viewer, person.username).members}
            assert offered == (refusal(viewer, person) is None), (viewer.username, person.username, starters, reach, protect)


def test_a_reply_is_offered_in_the_search_whatever_the_rules(people, login):
    alice_client = login(people["alice"])
    send(alice_client, open_conversation(alice_client, "bob"), "hi")
    rule_changes.set_starters([circle("Volunteers")])
    assert [row.username for row in search_members(people["bob"], "ali").members] == ["alice"]
    assert search_members(people["bob"], "car").members == []


def test_the_directory_decides_for_5_or_50_members_in_the_same_number_of_queries(people, make_user, login, count_queries):
    elm = circle("Elm Street", people["alice"])
    rule_changes.set_reach(True)
    rule_changes.set_protection(circle("Clinicians"), [elm])
    alice_client = login(people["alice"])
    # one member she may write to who isn't staff: whether today's new conversations are spent is
    # read once a page for those (a conversation with staff never counts)
    circles.add_members(elm, [make_user("neighbour").username])

    def directory_queries():
        with count_queries() as statements:
            assert alice_client.get("/members").status_code == 200
        return [s for s in statements if "feature_flags" not in s]

    few = directory_queries()
    for i in range(45):
        member = make_user(f"member{i:02}")
        if i % 3 == 0:
            circles.add_members(elm, [member.username])
    many = directory_queries()
    page = text(alice_client.get("/members"))
    assert len(re.findall(r'action="/messages/with/member\d+"', page)) == 15  # those sharing Elm Street
    assert len(many) == len(few)


def test_rule_changes_are_audited_with_who_old_and_new(people):
    volunteers = circle("Volunteers")
    rule_changes.set_starters([volunteers], actor=people["root"])
    rule_changes.set_starters([volunteers], actor=people["root"])  # no change: no second row
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "messaging_rule.changed")))
    assert [(e.subject, e.old_value, e.new_value, e.actor_id) for e in events] == [
        ("starters", "all active members", "members of Volunteers", people["root"].id)]


def test_deleting_the_only_starter_circle_leaves_staff_only_never_everyone(people):
    volunteers = circle("Volunteers", people["alice"])
    rule_changes.set_starters([volunteers])
    assert rule_changes.impact_of_deleting(volunteers) == [
        "Starting conversations would be open to staff only, until you change the rule."]
    changes = circles.delete_circle(volunteers)
    assert changes == ["Who may start conversations: now staff only."]
    assert refusal(people["alice"], people["bob"]).startswith(
        "Starting conversations is open to staff only at the moment. You can write to the admins, and reply to "
        "anyone who writes to you or in conversations you already have.")
    assert refusal(people["root"], people["bob"]) is None
    assert db.session.get(type(people["alice"]), people["alice"].id) is not None  # members stay
    latest = rule_changes.rule_history()[0]
    assert (latest.subject, latest.old_value, latest.new_value) == ("starters", "members of Volunteers", "staff only")


def test_deleting_an_open_to_circle_keeps_the_protection(people):
    clinicians = circle("Clinicians", people["alice"])
    therapists = circle("Therapists", people["carol"])
    rule_changes.set_protection(clinicians, [therapists])
    circles.delete_circle(therapists)
    assert "started by staff and its own members." in refusal(people["carol"], people["alice"])
    circles.delete_circle(clinicians)
    assert refusal(people["carol"], people["alice"]) is None
    assert rules.load_rules().protected == {}


def test_request_pages_decide_for_every_author_in_a_fixed_number_of_queries(people, make_user, login, count_queries):
    from wb.models import Comment, HelpRequest

    rule_changes.set_reach(True)
    circle("Elm Street", people["alice"], people["bob"])
    first = HelpRequest(author_id=people["bob"].id, title="Ladder", body="Need one")
    db.session.add(first)
    db.session.flush()
    db.session.add(Comment(request_id=first.id, author_id=people["carol"].id, body="one comment to begin with"))
    db.session.commit()
    alice_client = login(people["alice"])

    def queries(url):
        with count_queries() as statements:
            assert alice_client.get(url).status_code == 200
        return len([s for s in statements if "feature_flags" not in s])

    few = queries("/requests"), queries(f"/requests/{first.id}")
    for i in range(12):
        author = make_user(f"writer{i:02}")
        db.session.add(HelpRequest(author_id=author.id, title=f"t{i}", body="b"))
        db.session.add(Comment(request_id=first.id, author_id=author.id, body=f"c{i}"))
    db.session.commit()
    assert (queries("/requests"), queries(f"/requests/{first.id}")) == few
    page = text(alice_client.get(f"/requests/{first.id}"))
    assert 'action="/messages/with/bob"' in page and 'action="/messages/with/writer00"' not in page
    # Carol's comment says why in full; the writers' comments, for the same reason, say so briefly.
    assert visible_text(page).count("Carol isn't in any of yours") == 1 and "Writer00 isn't" not in visible_text(page)
    assert visible_text(page).count("Can't start a conversation: no circle in common, as above.") == 12


def test_a_member_in_no_circle_reads_one_banner_in_the_directory(people, login):
    circle("Elm Street", people["alice"], people["bob"])
    rule_changes.set_reach(True)
    page = visible_text(login(people["dave"]).get("/members"))
    banner = "Here, conversations are started between members who share a circle, and you aren't in one yet."
    assert page.count(banner) == 1
    assert "isn't in any of yours" not in page  # not the same refusal on every row
    assert re.findall(r'action="/messages/with/(\w+)"', text(login(people["dave"]).get("/members"))) == ["root"]
    # The banner's link ("Ask an admin") leads to the admins, each with a Message button: staff can
    # always be written to (an outside tester found no way to write to one from there).
    assert 'href="/circles"' in text(login(people["dave"]).get("/members"))
    circles_page = login(people["dave"]).get("/circles")
    assert re.findall(r'action="/messages/with/(\w+)"', text(circles_page)) == ["root"]
    assert 'aria-label="Message Rita Root"' in text(circles_page)
    # someone in a circle still reads, per member, why not
    assert "Carol isn't in any of yours" in visible_text(login(people["alice"]).get("/members"))


def test_the_inbox_says_once_that_the_viewer_may_start_with_nobody_but_staff_and_new_message_finds_them(people, login):
    """Staff may always be written to: New message stays, to find them (an outside tester's newcomer
    read "you can write to staff" with no way to from the inbox), and its results don't say it again."""
    rule_changes.set_starters([circle("Volunteers", people["alice"])])
    bob = login(people["bob"])
    inbox = text(bob.get("/messages"))
    assert visible_text(inbox).count("Starting conversations is open to members of Volunteers.") == 1
    assert "New message</summary>" in inbox and 'id="new-message-q"' in inbox
    for path in ("/messages/new?q=r", "/messages/new?q=ro", "/messages/new?q=o"):  # the page without JavaScript too
        page = bob.get(path)
        assert visible_text(text(page)).count("Starting conversations is open to members of Volunteers.") == 1
    found = bob.get("/messages/new?q=ro", headers={"HX-Request": "true"})  # root, the admin; carol
    assert 'action="/messages/with/root"' in text(found)
    assert "Starting conversations is open" not in visible_text(text(found))  # the inbox above says it
    assert "New message</summary>" in text(login(people["alice"]).get("/messages"))


def test_the_inbox_says_once_when_nobody_else_is_in_the_viewers_circles(people, login):
    """The first resident on a floor, where members reach only those who share a circle, read only "No
    conversations yet" and a refusal per member in New message (a residents' building's tester)."""
    floor3 = circle("Floor 3", people["dave"], people["root"])  # an admin beside them doesn't count
    circle("Floor 2", people["alice"], people["bob"])
    rule_changes.set_reach(True)
    banner = "Here, conversations are started between members who share a circle, and nobody else is in yours yet."
    dave = login(people["dave"])
    assert visible_text(text(dave.get("/messages"))).count(banner) == 1
    assert banner not in visible_text(text(login(people["alice"]).get("/messages")))  # Bob shares hers
    circles.add_members(floor3, ["carol"])
    assert banner not in visible_text(text(dave.get("/messages")))  # now someone does
    circles.remove_members(floor3, ["carol"])
    assert visible_text(text(dave.get("/messages"))).count(banner) == 1
    flags.set_flag("member_directory", False)  # who is in a circle isn't theirs to know then
    assert banner not in visible_text(text(login(people["dave"]).get("/messages")))


def test_the_search_lists_members_the_rules_keep_from_the_viewer_with_the_rules_words(people, login):
    clinicians = circle("Clinicians", people["carol"])
    rule_changes.set_protection(clinicians, [])
    results = login(people["alice"]).get("/messages/new?q=car", headers={"HX-Request": "true"})
    assert 'action="/messages/with/carol"' not in text(results)
    assert ("Carol @carol Carol is in Clinicians: new conversations with its members are started by staff and its own members. "
            "Once they write to you, you can reply.") in visible_text(results)
    assert "No members match" not in visible_text(results)


def test_a_request_page_says_why_once_and_then_briefly(people, login, make_user):
    """A newcomer in no circle reads the reason once on a request, not under its author and every
    commenter (found by an outside tester: four times on one request); a member in a circle reads
    the first per-member reason in full and the same kind of reason briefly after it."""
    from wb.models import Comment, HelpRequest

    circle("Elm Street", people["alice"], people["bob"])
    rule_changes.set_reach(True)
    item = HelpRequest(author_id=people["carol"].id, title="A ladder", body="For the gutters")
    db.session.add(item)
    db.session.flush()
    for who in ("bob", "carol", "root"):
        db.session.add(Comment(request_id=item.id, author_id=people[who].id, body=f"from {who}"))
    db.session.commit()

    page = visible_text(login(people["dave"]).get(f"/requests/{item.id}"))
    banner = "Here, conversations are started between members who share a circle, and you aren't in one yet."
    assert page.count(banner) == 1
    # and nothing under each comment: "same reason as above" under every one was the same box again (a street's tester)
    assert "as above." not in page
    assert page.count("Rita Root @root · just now Message") == 1  # staff may be written to: root's comment keeps its button

    page = visible_text(login(people["alice"]).get(f"/requests/{item.id}"))
    assert page.count("Carol isn't in any of yours") == 1  # the author's, in full
    assert "isn't in any of yours" not in page.split("Carol isn't in any of yours", 1)[1]
    assert "as above." not in page  # Carol's comment: said of her already, under her request


def test_a_request_page_says_why_of_each_member_once(people, login, make_user):
    """Two neighbours answering each other under a request: a residents' building's tester found the
    reason under every comment of theirs, a block at 200 %; now in full once, in a line for another
    member, and nothing more for a member it was said of."""
    from wb.models import Comment, HelpRequest

    circle("Elm Street", people["alice"], people["bob"])
    rule_changes.set_reach(True)
    item = HelpRequest(author_id=people["carol"].id, title="A ladder", body="For the gutters")
    db.session.add(item)
    db.session.flush()
    for who in ("dave", "carol", "dave", "carol", "dave"):
        db.session.add(Comment(request_id=item.id, author_id=people[who].id, body=f"from {who}"))
    db.session.commit()

    page = visible_text(login(people["alice"]).get(f"/requests/{item.id}"))
    assert page.count("isn't in any of yours") == 1 and "Carol isn't in any of yours" in page
    assert page.count("Can't start a conversation: no circle in common, as above.") == 1  # Dave's first comment
    comments = page.split("Comments", 1)[1]
    assert comments.count("as above") == 1 and comments.index("as above.") < comments.index("from dave")


def test_a_newcomer_who_may_start_with_nobody_is_told_what_they_can_do_not_to_press_message(people, login):
    """With nothing on the left and no Message button anywhere but an admin's, the inbox said
    "Choose one on the left" and the dashboard "Press Message on a profile" (an outside tester)."""
    circle("Elm Street", people["alice"], people["bob"])
    rule_changes.set_reach(True)
    dave = login(people["dave"])
    inbox = visible_text(dave.get("/messages"))
    assert "No conversations yet" in inbox and "Choose one on the left" not in inbox
    assert 'You can always write to an admin: "New message" finds them.' in inbox
    dashboard = visible_text(dave.get("/"))
    assert "Press" not in dashboard and "you aren't in one yet" in dashboard
    # with a conversation, or where the rules let them start, it reads as before
    alice = visible_text(login(people["alice"]).get("/"))
    assert 'Start one with "New message" in your inbox' in alice
    assert "Or start one with" in visible_text(login(people["alice"]).get("/messages"))


def test_one_who_may_start_with_nobody_is_told_that_not_the_other_members_pause_or_status(people, make_user):
    """A practice's client read "Erin isn't accepting messages right now" beside her comments, and that
    a member was suspended: reasons that were the other member's, where the client couldn't start
    with anyone anyway (an outside tester)."""
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    rule_changes.set_starters([circle("Volunteers", bob)])
    carol.messages_paused = True
    suspended = make_user("sid", status="suspended")
    db.session.commit()
    for other in (carol, suspended):
        assert refusal(alice, other).startswith("Starting conversations is open to members of Volunteers.")
    assert refusal(bob, carol).startswith(f"{carol.name} isn't accepting messages right now.")  # a starter: her pause
    assert refusal(people["root"], carol) is None  # staff write to a paused member
