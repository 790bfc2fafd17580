"""The spec against the app: schemathesis generates requests from /api/v1/openapi.json and checks every
answer (no server errors; status, content type, headers and body as the spec says). Deterministic: a
derandomized run with a bounded number of examples per operation, on a seeded member's token.

(schemathesis.pytest.from_fixture needs a pytest internal that pytest 9 no longer has, so each operation
is its own test that draws cases from the operation's strategy: schemathesis' documented Python API.)"""
import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api_helpers import token_for
from wb.messaging import writes

OPERATIONS = [
    ("GET", "/api/v1/me"), ("GET", "/api/v1/unread-count"), ("GET", "/api/v1/conversations"),
    ("POST", "/api/v1/conversations"), ("GET", "/api/v1/conversations/{conversation_id}"),
    ("POST", "/api/v1/conversations/{conversation_id}/hide"), ("DELETE", "/api/v1/conversations/{conversation_id}/hide"),
    ("PUT", "/api/v1/conversations/{conversation_id}/mute"), ("DELETE", "/api/v1/conversations/{conversation_id}/mute"),
    ("GET", "/api/v1/me/export"),
    ("GET", "/api/v1/conversations/{conversation_id}/messages"),
    ("POST", "/api/v1/conversations/{conversation_id}/messages"),
    ("POST", "/api/v1/conversations/{conversation_id}/read"),
    ("DELETE", "/api/v1/conversations/{conversation_id}/messages/{message_id}"),
    ("POST", "/api/v1/conversations/{conversation_id}/messages/{message_id}/remove"),
    ("GET", "/api/v1/blocks"), ("PUT", "/api/v1/blocks/{username}"), ("DELETE", "/api/v1/blocks/{username}"),
    ("POST", "/api/v1/reports"),
]
EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 10}  # per operation: the file runs in under a minute
# Everything is checked except "a schema-valid request is accepted": some requests the schema can't
# tell apart are refused by design (a cursor this API never gave out: 422; blocking yourself: 400).
SCHEMA_VALID_BUT_REFUSED = schemathesis.checks.positive_data_acceptance


@pytest.fixture
def api_schema(app, messaging_on, make_user):
    """The spec loaded from the app, and a token for a seeded member with a conversation and messages."""
    alice, bob = make_user("alice"), make_user("bob")
    make_user("carol")
    conversation, _ = writes.open_conversation(alice, bob)
    sent = [writes.send_message(alice if n % 2 else bob, conversation, f"seeded message {n}").message.id for n in range(6)]
    app.config.update(MESSAGE_RATE_LIMIT="100000 per minute", NEW_CONVERSATION_RATE_LIMIT="100000 per day")

    def each_request_in_its_own_context(environ, start_response):
        with app.app_context():  # as a real server: no g shared between requests
            return app.wsgi_app(environ, start_response)

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", each_request_in_its_own_context)
    return schema, token_for(alice), {"conversation_id": conversation.id, "message_id": sent, "username": ["bob", "carol"]}


def test_the_spec_lists_every_operation_tested_here(api_schema):
    schema, _token, _seeded = api_schema
    listed = {(method.upper(), path) for path, item in schema.raw_schema["paths"].items() for method in item}
    assert listed == set(OPERATIONS)


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize("method, path", OPERATIONS)
def test_the_api_keeps_to_its_spec(api_schema, method, path, mode):
    """Valid requests get what the spec promises; invalid ones a 4xx problem, never a 5xx."""
    schema, token, seeded = api_schema
    operation = schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    @settings(max_examples=EXAMPLES[mode], derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
    def keeps_to_spec(case, data):
        # Random ids and names almost never name a real row: half the valid cases use the seeded ones.
        for name, value in seeded.items():
            if mode == GenerationMode.POSITIVE and name in (case.path_parameters or {}) and data.draw(st.booleans()):
                case.path_parameters[name] = data.draw(st.sampled_from(value)) if isinstance(value, list) else value
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, excluded_checks=[SCHEMA_VALID_BUT_REFUSED])

    keeps_to_spec()
