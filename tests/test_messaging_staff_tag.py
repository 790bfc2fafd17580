"""A real admin is marked "Admin" in the inbox list and the thread's header, as in the directory and
on profiles: "ADMlN", a member's name that read "ADMIN", sat in the inbox beside the real admin with
nothing to tell them apart (a street's tester)."""
import re

from messaging_helpers import open_conversation, send

from helpers import text

ADMIN_TAG = '<span class="tag tag-admin">Admin</span>'


def row_of(page: str, name: str) -> str:
    return next(row for row in re.findall(r'<li class="conversation.*?</li>', page, re.S) if f"<bdi>{name}</bdi>" in row)


def test_the_admin_is_marked_in_the_inbox_and_the_thread_and_a_member_is_not(app, admin, alice, bob, login, messaging_on):
    rita, bob_client = login(admin), login(bob)
    with_alice = open_conversation(rita, "alice")
    send(rita, with_alice, "Hello from the admins")
    with_alice_from_bob = open_conversation(bob_client, "alice")
    send(bob_client, with_alice_from_bob, "Hello from Bob")
    alice_client = login(alice)

    inbox = text(alice_client.get("/messages"))
    assert ADMIN_TAG in row_of(inbox, "Rita Root")
    assert ADMIN_TAG not in row_of(inbox, "Bob")
    header = text(alice_client.get(f"/messages/{with_alice}")).split('<header class="thread-head">', 1)[1].split("</header>", 1)[0]
    assert ADMIN_TAG in header
    header = text(alice_client.get(f"/messages/{with_alice_from_bob}")).split('<header class="thread-head">', 1)[1].split("</header>", 1)[0]
    assert ADMIN_TAG not in header



def test_and_in_the_new_message_search_and_on_the_home_page(app, admin, alice, make_user, login, messaging_on):
    """The tag was missing where a member looks for the admins, and on the home page's card (a
    residents' building's tester)."""
    make_user("robin")
    rita = login(admin)
    send(rita, open_conversation(rita, "alice"), "Hello from the admins")
    alice_client = login(alice)
    found = text(alice_client.get("/messages/new?q=ro"))
    rows = re.findall(r"<li>.*?</li>", found, re.S)
    assert ADMIN_TAG in next(row for row in rows if "@root" in row)
    assert ADMIN_TAG not in next(row for row in rows if "@robin" in row)
    home = text(alice_client.get("/"))
    assert "<bdi>Rita Root</bdi></a> " + ADMIN_TAG in home
