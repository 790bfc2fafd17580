"""Download my conversations: a streamed ZIP of one offline HTML page per conversation and one JSON
file, checked against the database; only its owner gets it, once an hour, in flat memory."""
import io
import json
import random
import re
import tracemalloc
import zipfile

import pytest
from sqlalchemy import insert, select

from api_helpers import ApiClient, token_for
from messaging_helpers import visible_text
from messaging_ops_helpers import converse
from wb.extensions import db
from wb.messaging import writes
from wb.messaging.models import ConversationMembership, Message
from wb.models import AuditEvent


@pytest.fixture
def story(app, alice, bob, make_user, messaging_on):
    """Alice talks with Bob and with a member whose name carries markup; one message of hers is
    deleted for both, one of Bob's she removed from her view, one of hers Bob removed from his."""
    mallory = make_user("mallory", display_name='<script>alert("x")</script>\u202eevil')
    with_bob = converse(alice, bob, ["Hello Bob <b>bold</b> & more", "Deleted for both, never exported"])
    converse(bob, alice, ["Bob's first reply", "Bob's reply Alice removed for herself"])
    converse(alice, bob, ["Alice's message Bob removed from his view"])
    with_mallory = converse(mallory, alice, ["Hi from the markup member"])
    rows = {m.body: m for m in db.session.scalars(select(Message))}
    writes.delete_message(alice, with_bob, rows["Deleted for both, never exported"].id)
    writes.remove_message_for_me(alice, with_bob, rows["Bob's reply Alice removed for herself"].id)
    writes.remove_message_for_me(bob, with_bob, rows["Alice's message Bob removed from his view"].id)
    writes.mark_read(alice, with_bob)
    rows["with mallory"] = with_mallory.id
    return with_bob, rows


def download(client, path="/settings/export"):
    response = client.post(path) if path == "/settings/export" else client.get(path)  # the page's is a form
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/zip"
    assert response.is_streamed
    return zipfile.ZipFile(io.BytesIO(response.get_data()))


def test_the_zip_holds_what_the_member_sees_and_nothing_else(app, story, alice, bob, login):
    with_bob, rows = story
    archive = download(login(alice))
    assert archive.testzip() is None
    names = archive.namelist()
    assert sorted(names) == sorted([f"conversations/{with_bob.id}-bob.html",
                                    f"conversations/{rows['with mallory']}-mallory.html", "conversations.json"])
    everything = json.loads(archive.read("conversations.json"))
    assert everything["member"]["username"] == "alice"
    by_id = {c["id"]: c for c in everything["conversations"]}
    bob_chat = by_id[with_bob.id]
    mine = db.session.scalar(select(ConversationMembership).where(
        ConversationMembership.user_id == alice.id, ConversationMembership.conversation_id == with_bob.id))
    assert bob_chat["my_last_read_message_id"] == mine.last_read_message_id
    assert bob_chat["other_member"] == {"id": bob.id, "username": "bob", "display_name": "Bob"}

    expected = [m for m in db.session.scalars(select(Message).where(Message.conversation_id == with_bob.id)
                                              .order_by(Message.id)) if m.deleted_at is None]
    exported = bob_chat["messages"]
    assert [m["id"] for m in exported] == [m.id for m in expected]  # every visible message once, in order
    for row, message in zip(exported, expected):
        assert row["body"] == message.body and row["sender_id"] == message.sender_id
        assert row["created_at"] == message.created_at.isoformat() + "Z"
        assert row["sender"] == ("me" if message.sender_id == alice.id else "other")
    removed = {m["body"]: m["removed_for_me"] for m in exported}
    assert removed["Bob's reply Alice removed for herself"] is True
    assert removed["Alice's message Bob removed from his view"] is False  # Bob's choice is his own
    raw = b"".join(archive.read(name) for name in names)
    assert b"Deleted for both, never exported" not in raw
    assert b"hidden_for" not in raw


def test_the_html_pages_are_escaped_isolated_and_work_offline(app, story, alice, login):
    with_bob, rows = story
    archive = download(login(alice))
    page = archive.read(f"conversations/{with_bob.id}-bob.html").decode()
    assert "Hello Bob &lt;b&gt;bold&lt;/b&gt; &amp; more" in page
    assert "removed from your view" in page
    assert "<style>" in page and not re.search(r'(src|href)="https?://', page)  # styled inline, nothing fetched
    assert '<h1>Conversation with <bdi>Bob</bdi></h1>' in page and 'dir="auto"' in page
    markup = archive.read(f"conversations/{rows['with mallory']}-mallory.html").decode()
    assert "<script>" not in markup
    assert "<bdi>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;\u202eevil</bdi>" in markup


def test_the_api_gives_the_same_archive_to_its_owner_only(app, story, alice, bob):
    archive = download(ApiClient(app.test_client(), token_for(alice)), "/api/v1/me/export")
    mine = json.loads(archive.read("conversations.json"))
    assert mine["member"]["username"] == "alice"
    bobs = json.loads(download(ApiClient(app.test_client(), token_for(bob)), "/api/v1/me/export")
                      .read("conversations.json"))
    assert bobs["member"]["username"] == "bob"  # each gets their own: no way to ask for another's
    bob_bodies = [m["body"] for c in bobs["conversations"] for m in c["messages"]]
    assert "Hi from the markup member" not in bob_bodies
    assert app.test_client().get("/settings/export").status_code == 302  # signed out: sign in first
    assert app.test_client().get("/api/v1/me/export").status_code == 401


def test_once_an_hour_with_retry_after(app, story, alice, login):
    client = login(alice)
    download(client)
    again = client.post("/settings/export")
    assert again.status_code == 429 and int(again.headers["Retry-After"]) > 3000
    assert "You can download them again in" in visible_text(again)
    assert 'href="/settings#your-data">Back to your settings</a>' in again.get_data(as_text=True)
    api = ApiClient(app.test_client(), token_for(alice)).get("/api/v1/me/export")
    assert api.status_code == 429 and api.mimetype == "application/problem+json" and api.headers["Retry-After"]


def test_admins_see_how_many_exports_never_whose_or_what(app, story, alice, admin, login):
    download(login(alice))
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "member.exported")))
    assert [(e.actor_id, e.old_value, e.new_value) for e in events] == [(alice.id, None, None)]
    page = login(admin).get("/admin/messaging").get_data(as_text=True)
    assert re.search(r'data-figure="exports">1<', page)
    assert "Hello Bob" not in page and "@alice" not in page


def test_settings_offer_the_download(alice, login):
    page = visible_text(login(alice).get("/settings"))
    assert "Download my conversations" in page and "once an hour" in page


def test_memory_stays_flat_for_a_large_export(app, alice, bob, login, messaging_on):
    """Tens of thousands of messages: the archive is far larger than what is ever held at once."""
    conversation = converse(alice, bob, ["first"])
    randomness = random.Random(25)
    for start in range(0, 40_000, 5_000):
        db.session.execute(insert(Message), [
            {"conversation_id": conversation.id, "sender_id": alice.id if n % 2 else bob.id,
             "body": randomness.randbytes(150).hex()} for n in range(start, start + 5_000)])
        db.session.commit()
    client = login(alice)
    total, response = 0, None
    tracemalloc.start()  # before the request: an archive built ahead would count too
    try:
        response = client.post("/settings/export", buffered=False)
        for chunk in response.response:
            total += len(chunk)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        if response is not None:
            response.close()
    assert total > 12_000_000  # the compressed archive
    assert peak < 4_000_000, f"peak {peak:,} bytes while streaming {total:,}"


def test_a_head_request_builds_nothing_and_leaves_the_hours_download(app, story, alice, login):
    """HEAD built the ZIP and spent the hour's one download (an API tester)."""
    client = login(alice)
    head = client.head("/settings/export")  # the page's download is a form now: a HEAD leads to it
    assert head.status_code == 302 and head.get_data() == b""
    api = ApiClient(app.test_client(), token_for(alice))
    assert api.request("HEAD", "/api/v1/me/export").status_code == 200
    assert download(client).testzip() is None  # the hour's one download is still there
    # Spent now: a HEAD says what the GET would (it said 200 while the GET got 429: an API re-check).
    head = api.request("HEAD", "/api/v1/me/export")
    assert head.status_code == 429 and int(head.headers["Retry-After"]) > 3000


def test_another_sites_link_or_image_can_not_spend_the_hours_download(app, story, alice, login):
    """As a link, any page could spend it with <img src=".../settings/export"> (an outside tester):
    a GET now leads to the button, and a POST needs the page's CSRF token."""
    client = login(alice)
    fetched = client.get("/settings/export")
    assert fetched.status_code == 302 and fetched.location.endswith("/settings#your-data")
    assert client.post("/settings/export", csrf=False).status_code == 400  # another site's form: no token
    assert download(client).testzip() is None  # the hour's one download is still there
    page = client.get("/settings").get_data(as_text=True)
    assert '<form method="post" action="/settings/export">' in page



def test_another_site_can_not_send_the_browser_to_the_apis_export(app, story, alice, login):
    """A top-level GET carries the session cookie (SameSite=Lax): another site sent the browser to
    /api/v1/me/export and spent the member's hour, the archive landing in their downloads (an API
    tester). With the browser session the export needs the page's CSRF token, as writes do; a token
    needs none."""
    client = login(alice)
    refused = client.get("/api/v1/me/export", headers={"Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert "X-CSRFToken" in refused.get_json()["detail"]
    assert client.get("/api/v1/me/export", headers={"X-CSRFToken": "forged"}).status_code == 403
    own_page = client.get("/api/v1/me/export", headers={"X-CSRFToken": client.csrf_token()})
    assert own_page.status_code == 200 and own_page.mimetype == "application/zip"
    # The hour's one download went to the member's own request, none to the refused ones.
    assert ApiClient(app.test_client(), token_for(alice)).get("/api/v1/me/export").status_code == 429
