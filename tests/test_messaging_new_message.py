"""Starting a conversation from the inbox: "New message" finds the members one may write to."""
import re

import pytest

from wb.extensions import db
from wb.flags import set_flag
from wb.messaging import policy, rules, safety
from wb.messaging.directory_search import search_members
from messaging_helpers import visible_text

HTMX = {"HX-Request": "true"}


def offered(client, query, htmx=True):
    """The usernames a search offers, in order, and the page's HTML."""
    response = client.get("/messages/new", query_string={"q": query}, headers=HTMX if htmx else {})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return re.findall(r'action="/messages/with/([^"]+)"', html), html


@pytest.fixture
def alice_client(alice, login, messaging_on):
    return login(alice)


def test_finds_a_member_by_part_of_the_display_name_in_any_case(alice_client, make_user):
    make_user("bob", display_name="Robert Lindqvist")
    make_user("carol", display_name="Carol Baker")
    assert offered(alice_client, "lindQ")[0] == ["bob"]
    assert offered(alice_client, "ROBERT L")[0] == ["bob"]


@pytest.mark.parametrize("query", ["Zoë", "zoë", "ZOË", "zoe", "ZOE", "ødegård", "ODEGARD", "odegård", "ÉLO", "elo",
                                   "łódź", "LODZ", "lodz"])
def test_finds_a_member_in_any_case_with_or_without_accents(alice_client, make_user, query):
    """A building of many languages types names as it can: only "Zoë" and "zoë" found Zoë Ødegård
    (an outside tester). Both databases fold the same way (CI runs this on PostgreSQL too)."""
    make_user("zoe", display_name="Zoë Ødegård")
    make_user("city", display_name="Łódź Élodie")
    make_user("carol", display_name="Carol Baker")
    expected = ["zoe"] if query.lower() in ("zoë", "zoe", "ødegård", "odegard", "odegård") else ["city"]
    assert offered(alice_client, query)[0] == expected


def test_finds_a_member_by_part_of_the_username(alice_client, make_user):
    make_user("bob_builder", display_name="Robert")
    make_user("carol", display_name="Carol")
    assert offered(alice_client, "BOB_")[0] == ["bob_builder"]
    assert offered(alice_client, "@bob_builder")[0] == ["bob_builder"]  # as pages show a username


def test_the_member_whose_username_was_typed_and_those_one_talks_with_come_first(alice, alice_client, make_user):
    """Typing "sam" listed "Sam from Elm St @zed" above the Sam Green @sam a buyer already wrote to (a
    marketplace's tester): the typed username first, then those one has a conversation with, then by name."""
    from messaging_helpers import open_conversation, send

    make_user("sam", display_name="Sam Green")
    make_user("zed", display_name="Sam from Elm St")
    make_user("pam", display_name="Pam Samuels")
    assert offered(alice_client, "sam")[0] == ["sam", "pam", "zed"]
    assert offered(alice_client, "sam g")[0] == ["sam"]
    send(alice_client, open_conversation(alice_client, "zed"), "Is the bike still there?")
    assert offered(alice_client, "sa")[0] == ["zed", "pam", "sam"]
    # a whole name typed comes first too: "Sam Green" listed one who had written to her above it (a re-check tester)
    make_user("sam1", display_name="Sam Green¹")
    send(alice_client, open_conversation(alice_client, "sam1"), "Hello")
    assert offered(alice_client, "sam green")[0] == ["sam", "sam1"]


def test_results_are_ordered_by_name_and_limited(alice_client, make_user):
    for i in range(12):
        make_user(f"member{i:02d}", display_name=f"Zed {chr(ord('z') - i)}")
    found, html = offered(alice_client, "zed")
    assert len(found) == 8
    assert found[0] == "member11"  # "Zed o" comes first
    assert html.count("<button") == 8
    assert "More members match: type more of the name" in html  # 12 match: the page says there are more
    make_user("member99", display_name="Yann")
    _found, exactly = offered(alice_client, "yann")
    assert "More members match" not in exactly


def test_the_viewer_pending_suspended_and_deleted_members_are_not_offered(alice_client, make_user):
    make_user("annie", display_name="Alice Two")
    make_user("alicia", status="pending", display_name="Alice Pending")
    make_user("alison", status="suspended", display_name="Alice Suspended")
    gone = make_user("alix", display_name="Alice Gone")
    gone.deleted_at = gone.created_at
    db.session.commit()
    assert offered(alice_client, "ali")[0] == ["annie"]


def test_members_in_a_block_are_listed_with_the_words_their_profile_shows(alice, alice_client, make_user, login):
    blocker = make_user("bella", display_name="Bella Blocker")
    blocked = make_user("benny", display_name="Benny Blocked")
    paused = make_user("belle", display_name="Belle Paused")
    make_user("bert", display_name="Bert Fine")
    paused.messages_paused = True
    db.session.commit()
    safety.block(blocker, alice)
    safety.block(alice, blocked)
    found, html = offered(alice_client, "be")
    assert found == ["bert"]  # the one Alice may write to comes first, and only he has a button
    shown = visible_text(html)
    # A block by the other reads exactly like their "Pause messages": the block stays private.
    assert "Bella Blocker @bella Bella Blocker isn't accepting messages right now. Only they can change that." in shown
    assert "Belle Paused @belle Belle Paused isn't accepting messages right now. Only they can change that." in shown
    assert "You've blocked Benny Blocked." in shown
    for username in ("bella", "belle"):
        profile = visible_text(alice_client.get(f"/people/{username}"))
        assert "isn't accepting messages right now. Only they can change that." in profile


def test_the_offer_agrees_with_the_rules(alice, alice_client, make_user):
    """Everyone offered may be written to; everyone listed without a button may not, and says why."""
    people = [
        make_user("pat", display_name="Pat Active"),
        make_user("pam", status="pending", display_name="Pat Pending"),
        make_user("pax", status="suspended", display_name="Pat Suspended"),
        make_user("pia", display_name="Pat Blocked"),
        make_user("pog", display_name="Pat Blocker"),
    ]
    safety.block(alice, people[3])
    safety.block(people[4], alice)
    search = search_members(alice, "pat")
    assert {m.username for m in search.members} == {p.username for p in people if rules.decide_pair(alice, p).may_write}
    assert {entry.member.username: entry.refusal.words if entry.refusal else None for entry in search.found} == {
        "pat": None,
        "pia": "You've blocked Pat Blocked. To write to them, unblock them under Safety (on their profile or in your conversation) or in your settings.",
        "pog": "Pat Blocker isn't accepting messages right now. Only they can change that.",
    }


def test_percent_and_underscore_are_literal(alice_client, make_user):
    make_user("a_b", display_name="Plain")
    make_user("axb", display_name="Hundred 100% sure")
    make_user("ayb", display_name="Hundred 1000 sure")
    assert offered(alice_client, "a_b")[0] == ["a_b"]
    assert offered(alice_client, "100%")[0] == ["axb"]
    assert offered(alice_client, "%%")[0] == []


def test_a_short_or_empty_query_gets_a_hint(alice_client, bob):
    for query in ("", "b", "  b  "):
        found, html = offered(alice_client, query)
        assert found == [] and "at least 2 letters" in html
        assert '<a href="/circles#admins">see who the admins are</a>' in html


def test_no_match_says_so(alice_client, bob):
    found, html = offered(alice_client, "nobody here")
    assert found == []
    assert "No members match “<bdi>nobody here</bdi>”." in html


@pytest.mark.parametrize("status", ["pending", "suspended"])
def test_a_member_who_cant_be_messaged_is_named_as_such(alice_client, make_user, status):
    make_user("dora", status=status, display_name="Dora Waiting")
    found, html = offered(alice_client, "Dora Waiting")
    assert found == []
    assert policy.NEUTRAL_REFUSAL.replace("'", "&#39;") in html
    # a partial name says only that nothing matched
    assert "No members match" in offered(alice_client, "dora w")[1]


def test_htmx_gets_the_results_partial(alice_client, bob):
    found, html = offered(alice_client, "bo")
    assert found == ["bob"]
    assert "<html" not in html
    assert 'name="csrf_token"' in html


def test_without_javascript_a_full_page_with_a_working_form(alice_client, bob):
    found, html = offered(alice_client, "bo", htmx=False)
    assert "<html" in html and found == ["bob"]
    form = re.search(r'<form class="new-message-search"[^>]*>', html).group(0)
    assert 'method="get"' in form and 'action="/messages/new"' in form
    assert re.search(r'<label for="new-message-q">', html)
    assert 'name="q" value="bo"' in html
    assert 'aria-live="polite"' in html


def test_the_inbox_offers_new_message(alice_client):
    html = alice_client.get("/messages").get_data(as_text=True)
    assert "<summary class=\"button button-small\">New message</summary>" in html
    assert 'hx-trigger="input changed delay:300ms, search"' in html
    assert 'id="new-message-results" class="new-message-results" aria-live="polite"' in html


def test_selecting_a_result_lands_in_the_conversation(alice_client, bob):
    found, _ = offered(alice_client, "bob")
    response = alice_client.post(f"/messages/with/{found[0]}", data={"csrf_token": alice_client.csrf_token()}, csrf=False)
    assert response.status_code == 302
    assert re.fullmatch(r"/messages/\d+", response.location)
    page = alice_client.get(response.location).get_data(as_text=True)
    assert "Bob" in page and 'id="compose"' in page


def _queries_for_search(client, count_queries):
    with count_queries() as statements:
        response = client.get("/messages/new?q=member", headers=HTMX)
    assert response.status_code == 200
    return [s for s in statements if "feature_flags" not in s]


def test_the_search_runs_a_fixed_number_of_queries(alice_client, make_user, count_queries):
    for i in range(3):
        make_user(f"member{i}")
    few = len(_queries_for_search(alice_client, count_queries))
    for i in range(3, 30):
        make_user(f"member{i}")
    many = len(_queries_for_search(alice_client, count_queries))
    # the member; the messaging rules and the circles' names (two); the viewer's circles; the search with its
    # rules; how many conversations the viewer may still start today (the rate limit's count, in the
    # database unless the limits are counted in Redis)
    from wb import ratelimits

    assert few == many == 5 + ratelimits.counts_in_database()


def test_messaging_off_is_404(alice_client):
    set_flag("direct_messaging", False)
    assert alice_client.get("/messages/new?q=bob").status_code == 404


def test_signed_out_is_sent_to_sign_in(client, messaging_on):
    response = client.get("/messages/new?q=bob")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_a_pending_viewer_is_refused(make_user, login, messaging_on, bob):
    pending = make_user("penny", status="pending")
    response = login(pending).get("/messages/new?q=bob")
    assert response.status_code == 403
    # waiting, not refused: "Not allowed" read as a door shut on a newcomer (a residents' building's tester)
    page = visible_text(response)
    assert "Waiting for approval" in page and "Not allowed" not in page
    assert '<a href="/circles#admins">See who the admins are</a>' in response.get_data(as_text=True)
