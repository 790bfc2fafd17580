"""Names that can't spoof: direction controls are refused in display names, and member text is isolated."""
import html

import pytest

from helpers import reload, text
from messaging_helpers import open_conversation, send
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


# --- member text is isolated from what surrounds it ---------------------------------------------

@pytest.fixture
def mallory(make_user):
    """A member whose name was stored with an override before names were checked."""
    return make_user("mallory", display_name=SPOOF, bio=f"Bio{RLO}txet")


def test_inbox_and_thread_isolate_names_and_message_bodies(alice, mallory, login, messaging_on):
    alice_client, mallory_client = login(alice), login(mallory)
    cid = open_conversation(mallory_client, "alice")
    send(mallory_client, cid, f"pay{RLO}exe.txt")

    inbox = text(alice_client.get("/messages"))
    thread = text(alice_client.get(f"/messages/{cid}"))

    assert f'<span class="conversation-name"><bdi>{SPOOF}</bdi></span>' in inbox
    assert f'<span class="conversation-preview" dir="auto">pay{RLO}exe.txt</span>' in inbox
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
