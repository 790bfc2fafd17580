"""Picking a conversation in the inbox list swaps only the thread pane (issue 13)."""
import re

import pytest

from messaging_helpers import open_conversation, send, visible_text

PANE = {"HX-Request": "true", "HX-Target": "thread-pane"}


@pytest.fixture
def alice_with_bob_and_carol(alice, bob, make_user, login, messaging_on):
    """Alice's client and her conversations with Bob and with Carol, one message each."""
    make_user("carol")
    alice_client = login(alice)
    with_bob = open_conversation(alice_client, "bob")
    with_carol = open_conversation(alice_client, "carol")
    send(alice_client, with_bob, "hello bob")
    send(alice_client, with_carol, "hello carol")
    return alice_client, with_bob, with_carol


def vary_of(response) -> set[str]:
    return {part.strip().lower() for part in response.headers.get("Vary", "").split(",")}


def test_list_links_keep_their_href_and_swap_the_thread_pane(alice_with_bob_and_carol):
    alice_client, with_bob, with_carol = alice_with_bob_and_carol
    page = alice_client.get(f"/messages/{with_bob}").get_data(as_text=True)
    assert '<section id="thread-pane"' in page
    link = re.search(rf'<a href="/messages/{with_carol}"[^>]*>', page).group(0)
    assert f'hx-get="/messages/{with_carol}"' in link
    assert 'hx-target="#thread-pane"' in link and 'hx-swap="innerHTML"' in link and 'hx-push-url="true"' in link


def test_targeted_htmx_request_gets_only_the_thread(alice_with_bob_and_carol):
    alice_client, _with_bob, with_carol = alice_with_bob_and_carol
    response = alice_client.get(f"/messages/{with_carol}", headers=PANE)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body and 'id="conversation-list"' not in body
    assert body.lstrip().startswith("<title>Carol · Messages · WhiteBalloon</title>")
    assert re.search(r'<h2 tabindex="-1">.*Carol', body)
    assert f'data-conversation-id="{with_carol}"' in body
    assert 'id="compose"' in body and 'id="poller"' in body
    assert "hello carol" in visible_text(response) and "hello bob" not in body
    assert {"hx-request", "hx-target", "hx-history-restore-request"} <= vary_of(response)


def test_plain_request_gets_the_full_page(alice_with_bob_and_carol):
    alice_client, _with_bob, with_carol = alice_with_bob_and_carol
    response = alice_client.get(f"/messages/{with_carol}")
    body = response.get_data(as_text=True)
    assert "<html" in body and 'id="conversation-list"' in body and "hello carol" in body
    assert {"hx-request", "hx-target"} <= vary_of(response)


def test_htmx_request_aimed_elsewhere_gets_the_full_page(alice_with_bob_and_carol):
    alice_client, _with_bob, with_carol = alice_with_bob_and_carol
    response = alice_client.get(f"/messages/{with_carol}", headers={"HX-Request": "true", "HX-Target": "main"})
    assert "<html" in response.get_data(as_text=True)


def test_history_restore_gets_the_full_page(alice_with_bob_and_carol):
    """Back and forward ask with HX-History-Restore-Request: htmx swaps in the whole body."""
    alice_client, with_bob, _with_carol = alice_with_bob_and_carol
    for headers in (
        {"HX-Request": "true", "HX-History-Restore-Request": "true"},
        {**PANE, "HX-History-Restore-Request": "true"},
    ):
        response = alice_client.get(f"/messages/{with_bob}", headers=headers)
        body = response.get_data(as_text=True)
        assert "<html" in body and 'id="conversation-list"' in body and "hello bob" in body
        assert re.search(rf'<a href="/messages/{with_bob}"[^>]*aria-current="page"', body)


def test_older_page_still_answers_just_the_older_messages(alice_with_bob_and_carol):
    alice_client, with_bob, _with_carol = alice_with_bob_and_carol
    response = alice_client.get(f"/messages/{with_bob}?before=999999999", headers=PANE)
    body = response.get_data(as_text=True)
    assert "<html" not in body and "<title>" not in body and 'id="compose"' not in body


def test_non_participant_gets_404_through_the_pane(alice_with_bob_and_carol, make_user, login):
    _alice_client, with_bob, _with_carol = alice_with_bob_and_carol
    mallory = login(make_user("mallory"))
    response = mallory.get(f"/messages/{with_bob}", headers=PANE)
    assert response.status_code == 404
    assert "hello bob" not in response.get_data(as_text=True)
    assert mallory.get(f"/messages/{with_bob + 999}", headers=PANE).status_code == 404
