"""Whatever text arrives in a query argument, a form field or an id in a path, the answer is never a 5xx.

Property-based: Hypothesis throws arbitrary text (control characters, non-ASCII digits,
huge numbers, nothing at all) at each input of each route, as the member who may use it.
"""
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from messaging_helpers import open_conversation, send
from wb.extensions import db
from wb.messaging.models import Message
from wb.models import HelpRequest

ANY_TEXT = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(categories=["Nd", "No", "Cc", "Zs"]), max_size=30),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.sampled_from(["", "0", "²", "①", "٣", "１", "1_000", " 1", "1\n", "9" * 5000, "\x00", "1\x00"]),
)


def known_troublemakers(test):
    """Always try the values that once made a 500, besides whatever Hypothesis draws."""
    for value in ("²", "①", "9" * 5000, "a\x00b", "/\t/evil.example", "/\r\n/x"):
        test = example(value=value)(test)
    return test


FUZZ = settings(max_examples=30, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

# (who asks, path, the query argument that varies); {cid} and {mid} are the fixture's conversation and message.
QUERY_ARGUMENTS = [
    ("member", "/messages/{cid}/poll", "after"),
    ("member", "/messages/{cid}/poll", "seen"),
    ("member", "/messages/{cid}", "before"),
    ("member", "/messages", "page"),
    ("member", "/messages", "filter"),
    ("member", "/messages/badge", "variant"),
    ("member", "/members", "page"),
    ("member", "/requests", "page"),
    ("admin", "/admin/reports", "status"),
    ("anonymous", "/login", "next"),
    ("anonymous", "/register", "invite"),
]

# (who asks, path, the other fields, the form field that varies)
FORM_FIELDS = [
    ("admin", "/invites", {"approval": "auto"}, "max_uses"),
    ("admin", "/invites", {"max_uses": "2"}, "approval"),
    ("admin", "/admin/settings/direct_messaging", {"enabled": "1"}, "next"),
    ("admin", "/admin/settings/direct_messaging", {"next": "/admin/settings"}, "enabled"),
    ("member", "/messages/{cid}", {}, "body"),
    ("member", "/people/bob/report", {"reason": "spam"}, "note"),
    ("member", "/people/bob/report", {"note": "note"}, "reason"),
    ("member", "/people/bob/unblock", {}, "from"),
    ("member", "/requests/new", {"body": "details"}, "title"),
    ("member", "/requests/new", {"title": "Title"}, "body"),
    ("member", "/requests/{rid}/comments", {}, "body"),
    ("member", "/settings", {"bio": ""}, "display_name"),
    ("member", "/settings", {"display_name": "Alice"}, "bio"),
    ("anonymous", "/login", {"password": "correct horse battery"}, "username"),
    ("anonymous", "/login", {"username": "alice"}, "password"),
    ("anonymous", "/register?invite=nope", {"username": "newcomer", "password": "long enough"}, "display_name"),
]

# (who asks, path with {value} where an id goes)
PATH_IDS = [
    ("member", "/messages/{value}"),
    ("member", "/messages/{value}/poll"),
    ("member", "/messages/{cid}/messages/{value}/actions"),
    ("member", "/requests/{value}"),
    ("member", "/people/{value}"),
]


@pytest.fixture
def world(app, alice, bob, admin, login, messaging_on):
    """Alice in a conversation with Bob, one help request, and a client for each kind of visitor."""
    alice_client = login(alice)
    cid = open_conversation(alice_client, "bob")
    send(alice_client, cid, "Hello Bob")
    alice_client.post("/requests/new", data={"title": "Ladder", "body": "Need a ladder"})
    ids = {"cid": cid, "mid": db.session.scalar(select(Message.id)), "rid": db.session.scalar(select(HelpRequest.id))}
    clients = {"member": alice_client, "admin": login(admin), "anonymous": app.test_client()}
    return clients, ids


def assert_not_a_server_error(response, what):
    assert response.status_code < 500, f"{what}: {response.status_code}"


@pytest.mark.parametrize("who, path, name", QUERY_ARGUMENTS)
@FUZZ
@known_troublemakers
@given(value=ANY_TEXT)
def test_no_query_argument_makes_a_5xx(world, who, path, name, value):
    clients, ids = world
    url = path.format(**ids)

    for headers in ({}, {"HX-Request": "true"}):
        response = clients[who].get(url, query_string={name: value}, headers=headers)
        assert_not_a_server_error(response, f"GET {url}?{name}={value!r}")


@pytest.mark.parametrize("who, path, fields, name", FORM_FIELDS)
@FUZZ
@known_troublemakers
@given(value=ANY_TEXT)
def test_no_form_field_makes_a_5xx(world, who, path, fields, name, value):
    clients, ids = world
    url = path.format(**ids)

    response = clients[who].post(url, data={**fields, name: value})
    assert_not_a_server_error(response, f"POST {url} {name}={value!r}")


@pytest.mark.parametrize("who, path", PATH_IDS)
@FUZZ
@known_troublemakers
@given(value=ANY_TEXT)
def test_no_id_in_a_path_makes_a_5xx(world, who, path, value):
    clients, ids = world
    url = path.format(value=quote(value, safe=""), **ids)

    response = clients[who].get(url)
    assert_not_a_server_error(response, f"GET {url}")
