"""What the API tests share: members with tokens, a client that speaks JSON with a Bearer token."""
import itertools

import pytest

from wb.api import tokens
from wb.extensions import db


class ApiClient:
    """The test client, sending a Bearer token (no session, no CSRF token) and JSON bodies."""

    def __init__(self, client, token):
        self.client, self.token = client, token

    def request(self, method, path, json=None, headers=None, **kwargs):
        sent = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        sent.update(headers or {})
        if json is not None:
            kwargs["json"] = json
        return self.client.open(path, method=method, headers=sent, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path, **kwargs):
        return self.request("PUT", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


def token_for(user, name=None) -> str:
    """A new token for user, named name or "test" ("test 2", ... beside the ones they have: names are one each)."""
    if name is None:
        taken = {row.name for row in tokens.active_tokens(user)}
        names = itertools.chain(["test"], (f"test {n}" for n in itertools.count(2)))
        name = next(name for name in names if name not in taken)
    _row, token = tokens.issue(user, name)
    return token


@pytest.fixture
def api_as(app, messaging_on):
    """api_as(user) -> an ApiClient acting for that member with a fresh token."""

    def make(user):
        return ApiClient(app.test_client(), token_for(user))

    return make


@pytest.fixture
def alice_api(api_as, alice):
    return api_as(alice)


@pytest.fixture
def bob_api(api_as, bob):
    return api_as(bob)


@pytest.fixture
def api_chat(alice_api, bob_api, bob):
    """Alice and Bob's API clients and the conversation Alice opened: (alice_api, bob_api, id)."""
    response = alice_api.post("/api/v1/conversations", json={"with": "bob"})
    assert response.status_code == 201, response.get_json()
    return alice_api, bob_api, response.get_json()["id"]


def send(api, conversation_id, body, **kwargs):
    response = api.post(f"/api/v1/conversations/{conversation_id}/messages", json={"body": body}, **kwargs)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def assert_problem(response, status):
    """An RFC 9457 problem with that status: JSON, never HTML."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == status and problem["type"] and problem["title"] and problem["detail"]
    return problem


def expire():
    db.session.expire_all()
