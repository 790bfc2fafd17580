"""The messaging rules in a real Chromium: the prompt where a member may not start, and a reply that always goes."""
import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips these tests (or fails them when WB_REQUIRE_BROWSER=1)
    expect = None

from .conftest import failed_resource

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def ruled_server(start_server, browser):
    """A server of its own (its rules would otherwise reach every other browser test)."""
    live = start_server()
    live.set_messaging(True)
    return live


def seed(server, alice, bob, carol):
    """Streets as circles, a message Carol wrote Alice before the rule, then "reach shared-circle"."""
    from wb.circles import service as circles
    from wb.extensions import db
    from wb.messaging.conversations import ensure_memberships
    from wb.messaging.models import Conversation, Message
    from wb.messaging.reconcile import reconcile_conversation
    from wb.messaging.rule_changes import set_reach
    from wb.models import User

    with server.app.app_context():
        ids = {name: User.by_username(name).id for name in (alice, bob, carol)}
        circles.add_members(circles.create("Elm Street"), [alice])
        circles.add_members(circles.create("Oak Street"), [bob, carol])
        low, high = sorted((ids[alice], ids[carol]))
        conversation = Conversation(user_low_id=low, user_high_id=high)
        db.session.add(conversation)
        db.session.commit()
        db.session.add(Message(conversation_id=conversation.id, sender_id=ids[carol], body="Could we borrow a ladder?"))
        db.session.commit()
        ensure_memberships(conversation)
        reconcile_conversation(conversation)
        db.session.commit()
        set_reach(True)
        return conversation.id


def test_the_prompt_replaces_the_button_and_a_reply_still_goes(browsing, ruled_server):
    alice = ruled_server.create_member("alice")
    bob = ruled_server.create_member("bob", display_name="Bob Okafor")
    carol = ruled_server.create_member("carol", display_name="Carol Lind")
    conversation_id = seed(ruled_server, alice, bob, carol)
    page = browsing.sign_in(alice, server=ruled_server)

    page.goto(f"/people/{bob}")
    expect(page.get_by_role("button", name="Message Bob Okafor")).to_have_count(0)
    prompt = page.locator(".message-refusal")
    expect(prompt).to_contain_text("You can start conversations with members who share a circle with you, "
                                   "and Bob Okafor isn't in any of yours.")
    # On a phone it goes under the name, with room before the bio ("No bio yet." sat on it: a marketplace's tester).
    phone = browsing.sign_in(alice, server=ruled_server, viewport={"width": 390, "height": 844})
    phone.goto(f"/people/{bob}")
    note, bio = phone.locator(".message-refusal").bounding_box(), phone.get_by_text("No bio yet.").bounding_box()
    assert bio["y"] - (note["y"] + note["height"]) >= 8, (note, bio)
    prompt.get_by_role("link", name="See the circles and who the admins are").click()
    expect(page).to_have_url(re.compile(r"/circles$"))
    expect(page.locator("main")).to_contain_text("Oak Street")

    page.goto(f"/messages/{conversation_id}")
    box = page.locator("#compose textarea")
    box.fill("Of course, come by on Saturday")
    box.press("Enter")
    expect(page.locator("#thread")).to_contain_text("Of course, come by on Saturday")


def test_on_a_phone_the_directory_says_why_under_each_member_not_beside_them(browsing, ruled_server, artifacts):
    """A building's directory seen by a resident of another: the reason (or "the same reason")
    goes under each member, full width; beside them it squeezed names and bios into 100 px."""
    alice = ruled_server.create_member("alice")
    bob = ruled_server.create_member("bob", display_name="Bob Okafor")
    carol = ruled_server.create_member("carol", display_name="Carol Lind")
    dave = ruled_server.create_member("dave", display_name="Dave Ng")
    with ruled_server.app.app_context():  # circles of its own: the module's server keeps the first test's
        from wb.circles import service as circles
        from wb.messaging.rule_changes import set_reach

        circles.add_members(circles.create(f"Elm {alice}"), [alice])
        circles.add_members(circles.create(f"Oak {bob}"), [bob, carol, dave])
        set_reach(True)
    page = browsing.sign_in(alice, server=ruled_server, viewport={"width": 390, "height": 844})

    page.goto(f"/members?circle=Oak {bob}")
    refused = page.locator(".member-row", has=page.locator(".message-refusal"))
    expect(refused).to_have_count(3)
    expect(refused.nth(1)).to_contain_text("as above.")
    page.screenshot(path=str(artifacts / "directory-refusals-phone.png"), full_page=True)
    for index in range(3):
        row, member, note = refused.nth(index), refused.nth(index).locator("> div"), refused.nth(index).locator(".message-refusal")
        row_box, member_box, note_box = row.bounding_box(), member.bounding_box(), note.bounding_box()
        assert member_box["width"] > row_box["width"] * 0.9, (member_box, row_box)  # the member keeps the row's width
        assert note_box["y"] >= member_box["y"] + member_box["height"] - 1  # the reason under them
        assert note_box["width"] > row_box["width"] * 0.9


def test_lifting_a_protection_or_taking_a_member_out_of_a_circle_asks_first(browsing, ruled_server):
    """Either opens clinicians to every client at once: one tap must not do it (an outside tester)."""
    from wb.circles import service as circles
    from wb.messaging.rule_changes import set_protection
    from wb.messaging.rules.community import load_rules

    admin = ruled_server.create_member("admin", role="admin")
    clinician = ruled_server.create_member("clinician", display_name="Dr Vale")
    with ruled_server.app.app_context():
        name = f"Clinicians {clinician}"
        circle = circles.create(name)
        circles.add_members(circle, [clinician])
        set_protection(circle, [])
        circle_id = circle.id
    page = browsing.sign_in(admin, server=ruled_server)

    def answered_no(url, button):
        page.goto(url)
        questions = []
        page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
        page.get_by_role("button", name=button).click()
        page.wait_for_timeout(300)
        return questions

    [question] = answered_no("/admin/settings", f"Stop protecting {name}")
    assert question.startswith(f"Stop protecting {name}?")
    for url in ("/admin/members", "/admin/circles"):
        [question] = answered_no(url, f"Remove Dr Vale from {name}")
        assert question.startswith(f"Remove Dr Vale from {name}?")
    with ruled_server.app.app_context():
        assert circle_id in load_rules().protected
        assert [person.username for person in circles.members_of(circles.by_name(name))] == [clinician]


def test_saving_who_may_start_or_whom_members_may_reach_asks_first(browsing, ruled_server):
    """Either applies to every member at once, and saved at one tap (an outside admin)."""
    from wb.messaging.rule_changes import set_reach
    from wb.messaging.rules.community import load_rules

    from wb.circles import service as circles

    admin = ruled_server.create_member("admin", role="admin")
    with ruled_server.app.app_context():
        before = load_rules().shared_circle
        street = circles.create(f"Elm Row {admin}").name
    page = browsing.sign_in(admin, server=ruled_server)
    page.goto("/admin/settings")
    other = "Anyone" if before else "Only members who share at least one circle with them"
    page.get_by_label(other).check()
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Save whom members may reach").click()
    page.wait_for_timeout(300)
    assert questions == ["Change whom members may reach? It applies to every member at once."]
    with ruled_server.app.app_context():
        assert load_rules().shared_circle == before  # "Cancel" changed nothing
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Save whom members may reach").click()
    page.wait_for_load_state("load")
    try:
        with ruled_server.app.app_context():
            assert load_rules().shared_circle == (not before)
        # Saved as it stands, a rule changes nothing: no question (an admin tester was asked), the page says so.
        asked = len(questions)
        page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
        page.get_by_role("button", name="Save who may start").click()
        expect(page.get_by_text("Nothing changed: the rule already said that.")).to_be_visible()
        assert len(questions) == asked
        page.get_by_label("Only members of these circles:").check()
        page.locator('form[action$="/settings/rules/starters"]').get_by_label(street).check()
        page.get_by_role("button", name="Save who may start").click()
        page.wait_for_timeout(300)
        assert questions[-1] == "Change who may start conversations? It applies to every member at once."
    finally:
        with ruled_server.app.app_context():
            set_reach(before)  # the module's other tests count on the rule seed() set


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}], ids=["desktop", "phone"])
def test_without_javascript_a_rule_change_asks_on_a_page_and_only_its_yes_saves(browsing, ruled_server, viewport, artifacts):
    """Without JavaScript no dialog asked: one tap changed whom every member may reach, or stopped
    protecting a practice's clinicians. A page asks the same, saying the rule now and after."""
    from wb.circles import service as circles
    from wb.messaging.rule_changes import set_protection, set_reach
    from wb.messaging.rules.community import load_rules

    admin = ruled_server.create_member("admin", role="admin")
    with ruled_server.app.app_context():
        before = load_rules().shared_circle
        name = f"Clinicians {admin}"
        circle = circles.create(name)
        set_protection(circle, [])
        circle_id = circle.id
    page = browsing.sign_in(admin, server=ruled_server, viewport=viewport, java_script_enabled=False)
    try:
        page.goto("/admin/settings#messaging-rules")
        other = "Anyone" if before else "Only members who share at least one circle with them"
        page.get_by_label(other).check()
        page.get_by_role("button", name="Save whom members may reach").click()
        expect(page.get_by_role("heading", name="Change whom members may reach?")).to_be_visible()
        expect(page.locator("main")).to_contain_text("It applies to every member at once.")
        expect(page.locator(".rule-change dt")).to_have_text(["Whom members may reach, now", "Once saved"])
        expect(page.locator(".rule-change dd")).to_have_text(
            ["members who share a circle", "anyone"] if before else ["anyone", "members who share a circle"])
        page.screenshot(path=str(artifacts / f"rule-asked-no-js-{viewport['width']}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        page.get_by_role("link", name="Go back, change nothing").click()
        expect(page.get_by_role("heading", name="Messaging rules")).to_be_visible()
        with ruled_server.app.app_context():
            assert load_rules().shared_circle == before

        page.get_by_label(other).check()
        page.get_by_role("button", name="Save whom members may reach").click()
        page.get_by_role("button", name="Save whom members may reach").click()
        expect(page.locator(".flash")).to_contain_text("Whom members may reach: ")
        with ruled_server.app.app_context():
            assert load_rules().shared_circle == (not before)

        page.get_by_role("button", name=f"Stop protecting {name}").click()
        expect(page.get_by_role("heading", name=f"Stop protecting {name}?")).to_be_visible()
        expect(page.locator("main")).to_contain_text(
            "Any member the other rules allow may then start conversations with its members.")
        with ruled_server.app.app_context():
            assert circle_id in load_rules().protected
        page.get_by_role("button", name=f"Stop protecting {name}").click()
        expect(page.get_by_text(f"Protected circle {name}: staff, its own members only → off.")).to_be_visible()
        with ruled_server.app.app_context():
            assert circle_id not in load_rules().protected
    finally:
        with ruled_server.app.app_context():
            set_reach(before)  # the module's other tests count on the rule seed() set


def test_only_members_of_no_circle_is_refused_at_once_not_asked_first(browsing, ruled_server):
    """"Only members of these circles" with none ticked asked "Change who may start conversations?", and
    only once confirmed said to tick one (a residents' building's tester): the refusal comes at once."""
    from wb.circles import service as circles
    from wb.messaging.rules.community import load_rules

    admin = ruled_server.create_member("admin", role="admin")
    with ruled_server.app.app_context():
        circles.create(f"Coordinators {admin}")
        before = load_rules().starters
    browsing.allow_console_error(failed_resource(400))  # the refusal
    page = browsing.sign_in(admin, server=ruled_server)
    page.goto("/admin/settings")
    questions = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.get_by_label("Only members of these circles:").check()
    page.get_by_role("button", name="Save who may start").click()
    form = page.locator('form[action$="/settings/rules/starters"]')
    expect(form.get_by_role("alert")).to_have_text("Tick at least one circle whose members may start conversations.")
    expect(form.get_by_label("Only members of these circles:")).to_be_checked()
    assert questions == []
    with ruled_server.app.app_context():
        assert load_rules().starters == before


def test_protecting_a_circle_says_what_it_means_for_its_members_and_asks_first(browsing, ruled_server, artifacts):
    """A practice protected Clients at one tap, and nothing said that its clients, who share it, could then
    write to each other (an outside tester): the form says so, the next page asks with the exact consequence,
    and unticking "its own members may start" keeps clients from starting with each other."""
    from wb.circles import service as circles
    from wb.messaging.rule_changes import set_protection, set_reach
    from wb.messaging.rules.community import load_rules

    admin = ruled_server.create_member("admin", role="admin")
    client = ruled_server.create_member("client", display_name="Cora")
    with ruled_server.app.app_context():
        clients, therapists = circles.create(f"Clients {client}"), circles.create(f"Therapists {client}")
        circles.add_members(clients, [client])
        clients_id, clients_name, therapists_name = clients.id, clients.name, therapists.name
        before = load_rules().shared_circle
        set_reach(True)
    try:
        page = browsing.sign_in(admin, server=ruled_server)
        page.goto("/admin/settings#messaging-rules")
        form = page.locator('form[action$="/settings/rules/protect"]').last
        own = form.get_by_label("Its own members may start conversations with each other")
        expect(own).to_be_checked()
        expect(form).to_contain_text("Ticked, members of the circle can start conversations with each other "
                                     "(members reach those they share a circle with, and they share this one).")
        form.get_by_label("Protect this circle").select_option(label=clients_name)
        form.get_by_label(therapists_name).check()
        questions = []
        page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
        form.get_by_role("button", name="Protect…").click()
        expect(page.get_by_role("heading", name=f"Protect {clients_name}?")).to_be_visible()
        expect(page.locator("main")).to_contain_text(
            f"Members of {clients_name} can start conversations with each other: they share it")
        page.get_by_role("link", name="Go back, change nothing").click()
        with ruled_server.app.app_context():
            assert clients_id not in load_rules().protected  # asked; nothing saved

        form = page.locator('form[action$="/settings/rules/protect"]').last
        form.get_by_label("Protect this circle").select_option(label=clients_name)
        form.get_by_label(therapists_name).check()
        form.get_by_label("Its own members may start conversations with each other").uncheck()
        form.get_by_role("button", name="Protect…").click()
        expect(page.locator("main")).to_contain_text(f"Members of {clients_name} can't start conversations with each other")
        page.get_by_role("button", name=f"Protect {clients_name}").click()
        expect(page.get_by_text(f"Protected circle {clients_name}: off → staff and members of {therapists_name}.")).to_be_visible()
        assert questions == []  # the page asked, not a dialog on top of it
        with ruled_server.app.app_context():
            rules = load_rules()
            assert rules.protected[clients_id] and clients_id in rules.not_by_own_members
        rule_list = page.get_by_role("list", name="The rules now")
        expect(rule_list).to_contain_text(f"Protected: {clients_name}: started by staff and members of {therapists_name}")
        expect(rule_list).to_contain_text(f"Members of {therapists_name} can start conversations only with the members "
                                          f"of {clients_name} they share a circle with")
        section = page.locator("#messaging-rules")
        section.screenshot(path=str(artifacts / "admin-rules-protected-desktop.png"))
        phone = browsing.sign_in(admin, server=ruled_server, viewport={"width": 375, "height": 812})
        phone.goto("/admin/settings#messaging-rules")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375  # nothing runs off the side
        phone.locator("#messaging-rules").screenshot(path=str(artifacts / "admin-rules-protected-375.png"))
    finally:
        with ruled_server.app.app_context():
            set_protection(circles.by_name(clients_name), None)
            set_reach(before)


def test_an_open_profile_follows_a_change_of_the_rules(browsing, start_server):
    """Bob's profile, open on Alice's phone, still said he isn't in any of her circles after the admin let
    everyone reach everyone: the Message button came only with a reload (a street's tester)."""
    from wb.circles import service as circles
    from wb.messaging.rule_changes import set_reach

    from .conftest import THREAD_WAIT_MS
    from .test_messaging_e2e import assert_not_reloaded, remember_document

    live = start_server()  # its own: the rules reach every page of a server
    live.set_messaging(True)
    alice, bob = live.create_member("alice"), live.create_member("bob", display_name="Bob Okafor")
    with live.app.app_context():
        circles.add_members(circles.create("Elm Street"), [alice])
        circles.add_members(circles.create("Oak Street"), [bob])
        set_reach(True)
    page = browsing.sign_in(alice, server=live, viewport={"width": 390, "height": 844})
    page.goto(f"/people/{bob}")
    button = page.get_by_role("button", name="Message Bob Okafor")
    expect(page.locator(".message-refusal")).to_contain_text("Bob Okafor isn't in any of yours")
    expect(button).to_have_count(0)
    remember_document(page)

    with live.app.app_context():
        set_reach(False)
    expect(button).to_be_visible(timeout=THREAD_WAIT_MS)
    expect(page.locator(".message-refusal")).to_have_count(0)
    with live.app.app_context():
        set_reach(True)
    expect(page.locator(".message-refusal")).to_contain_text("Bob Okafor isn't in any of yours", timeout=THREAD_WAIT_MS)
    expect(button).to_have_count(0)
    assert_not_reloaded(page)
    expect(page.locator("[data-message-for]")).to_have_count(1)  # drawn in place, once
