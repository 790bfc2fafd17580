"""Names that can't spoof: direction controls are refused in display names, and member text is isolated."""
import html

import pytest

from helpers import reload, text
from messaging_helpers import messages_in, open_conversation, send
from wb.extensions import db
from wb.models import Comment, HelpRequest, Invite, User

RLO = "\u202e"  # right-to-left override: "Bob\u202ekcilA" shows as "BobAlick"
SPOOF = f"Admin{RLO}nimda"
REFUSED = "Display names can't contain direction controls (such as right-to-left override)"
DIRECTION_CONTROLS = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
                      "\u200e", "\u200f", "\u061c"]


# --- refused where a name is chosen -------------------------------------------------------------

def test_registration_refuses_a_display_name_with_a_direction_control(client, admin):
    invite = Invite.issue(creator=admin)
    db.session.commit()

    response = client.post("/register", data={"invite": invite.token, "username": "mallory",
                                              "password": "a long enough password", "display_name": SPOOF})

    assert response.status_code == 400
    page = text(response)
    assert REFUSED in html.unescape(page)
    assert 'name="display_name"' in page  # the same form, to correct
    assert User.by_username("mallory") is None
    assert reload(Invite, invite.id).uses == 0


@pytest.mark.parametrize("control", DIRECTION_CONTROLS, ids=[f"U+{ord(c):04X}" for c in DIRECTION_CONTROLS])
def test_settings_refuse_every_direction_control_in_a_display_name(client, alice, control):
    client.login("alice")

    response = client.post("/settings", data={"display_name": f"Ali{control}ce", "bio": "Gardener."})

    assert response.status_code == 400
    assert REFUSED in html.unescape(text(response))
    stored = reload(User, alice.id)
    assert (stored.display_name, stored.bio) == ("Alice", "")


def test_names_in_right_to_left_scripts_are_welcome(client, alice):
    client.login("alice")

    response = client.post("/settings", data={"display_name": "עליזה אלון", "bio": ""})

    assert response.status_code == 302
    assert reload(User, alice.id).display_name == "עליזה אלון"


# --- refused in what members write: an override makes text read as something it isn't -----------

OVERRIDE_REFUSED = "Text can't contain a direction override"


@pytest.mark.parametrize("override", ["\u202d", RLO])
def test_a_message_with_a_direction_override_is_refused_and_kept_in_the_box(alice, bob, login, messaging_on, override):
    alice_client = login(alice)
    cid = open_conversation(alice_client, "bob")
    response = send(alice_client, cid, f"invoice{override}gnp.exe")
    assert response.status_code == 400
    page = html.unescape(text(response))
    assert OVERRIDE_REFUSED in page and f"invoice{override}gnp.exe" in page
    assert messages_in(cid) == []


def test_requests_comments_and_bios_refuse_a_direction_override(client, alice):
    client.login("alice")
    made = client.post("/requests/new", data={"title": f"Free{RLO}gnp.exe", "body": "details"})
    assert made.status_code == 400 and OVERRIDE_REFUSED in html.unescape(text(made))
    made = client.post("/requests/new", data={"title": "Ladder", "body": f"see{RLO}gnp.exe"})
    assert made.status_code == 400 and db.session.query(HelpRequest).count() == 0
    item = HelpRequest(author_id=alice.id, title="Ladder", body="details")
    db.session.add(item)
    db.session.commit()
    commented = client.post(f"/requests/{item.id}/comments", data={"body": f"see{RLO}gnp.exe"})
    assert commented.status_code == 400 and OVERRIDE_REFUSED in html.unescape(text(commented))
    assert db.session.query(Comment).count() == 0
    bio = client.post("/settings", data={"display_name": "Alice", "bio": f"Gardener{RLO}"})
    assert bio.status_code == 400 and reload(User, alice.id).bio == ""


def test_right_to_left_text_and_its_marks_are_welcome_in_a_message(alice, bob, login, messaging_on):
    alice_client = login(alice)
    cid = open_conversation(alice_client, "bob")
    body = "\u05e9\u05dc\u05d5\u05dd \u200f(123)\u200f \u2067\u05e2\u05d5\u05d3\u2069 ok"
    assert send(alice_client, cid, body).status_code == 200
    assert [m.body for m in messages_in(cid)] == [body]


# --- member text is isolated from what surrounds it ---------------------------------------------

@pytest.fixture
def mallory(make_user):
    """A member whose name was stored with an override before names were checked."""
    return make_user("mallory", display_name=SPOOF, bio=f"Bio{RLO}txet")


def test_inbox_and_thread_isolate_names_and_message_bodies(alice, mallory, login, messaging_on):
    alice_client, mallory_client = login(alice), login(mallory)
    cid = open_conversation(mallory_client, "alice")
    send(mallory_client, cid, "pay exe.txt")
    stored = messages_in(cid)[0]  # as stored before messages were checked for overrides
    stored.body = f"pay{RLO}exe.txt"
    db.session.commit()

    inbox = text(alice_client.get("/messages"))
    thread = text(alice_client.get(f"/messages/{cid}"))

    assert f'<span class="conversation-name"><bdi>{SPOOF}</bdi></span>' in inbox
    assert f'<span class="preview-words" dir="auto">pay{RLO}exe.txt</span>' in inbox
    assert f'<a href="/people/mallory"><bdi>{SPOOF}</bdi></a>' in thread
    assert f'<p class="body" dir="auto">pay{RLO}exe.txt</p>' in thread
    assert f"Message to <bdi>{SPOOF}</bdi>" in thread


def test_profile_and_directory_isolate_names_and_bios(alice, mallory, login):
    client = login(alice)

    profile = text(client.get("/people/mallory"))
    directory = text(client.get("/members"))

    assert f"<h1><bdi>{SPOOF}</bdi></h1>" in profile
    assert f'<p class="bio" dir="auto">Bio{RLO}txet</p>' in profile
    assert f"Requests by <bdi>{SPOOF}</bdi>" in profile
    assert f"<strong><bdi>{SPOOF}</bdi></strong>" in directory
    assert f'<p class="muted clamp" dir="auto">Bio{RLO}txet</p>' in directory


def test_a_request_page_isolates_its_title_text_authors_and_comments(client, alice, mallory):
    item = HelpRequest(author_id=mallory.id, title=f"Need{RLO}pleh", body=f"Body{RLO}ydob")
    db.session.add(item)
    db.session.flush()
    db.session.add(Comment(request_id=item.id, author_id=mallory.id, body=f"Comment{RLO}tnemmoc"))
    db.session.commit()
    client.login("alice")

    page = text(client.get(f"/requests/{item.id}"))
    listing = text(client.get("/requests"))

    assert f"<h1><bdi>Need{RLO}pleh</bdi></h1>" in page
    assert f'<a href="/people/mallory"><bdi>{SPOOF}</bdi></a>' in page
    assert f'<div class="prose" dir="auto">Body{RLO}ydob</div>' in page
    assert f'<div class="prose" dir="auto">Comment{RLO}tnemmoc</div>' in page
    assert f'<bdi>Need{RLO}pleh</bdi></a>' in listing
    assert f'<a href="/people/mallory"><bdi>{SPOOF}</bdi></a>' in listing


def test_the_signed_in_members_own_name_is_isolated_in_the_navigation(mallory, login):
    page = text(login(mallory).get("/"))

    assert f'class="whoami"><bdi>{SPOOF}</bdi></a>' in page
    assert f"Hello, <bdi>{SPOOF}</bdi>" in page
