"""Stateful: schemathesis chains the API's calls (open a conversation, then send into it, read it,
page it, delete from it...) with the ids the answers carry, as a client would, and checks every answer
against the spec. The links come from schemathesis' own analysis of the spec (schema.as_state_machine);
every run starts from the same seeded data, so the chains are repeatable."""
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from sqlalchemy import delete

from test_api_schemathesis import SCHEMA_VALID_BUT_REFUSED, api_schema  # noqa: F401
from wb.api.models import IdempotencyKey
from wb.extensions import db
from wb.messaging import writes
from wb.messaging.models import Block, Conversation, ConversationMembership, Message, Report
from wb.models import User

# The check that a wrong credential is refused swaps one in, but every call here also carries the
# member's token (get_call_kwargs), so it would see a 200: wrong and missing tokens are tested in test_api_tokens.py.
TOKEN_SENT_ANYWAY = schemathesis.checks.ignored_auth


def reseed():
    """Back to the seeded start: alice and bob's conversation with six messages, nothing else."""
    for model in (Message, Conversation, ConversationMembership, Block, Report, IdempotencyKey):
        db.session.execute(delete(model))
    db.session.commit()
    alice, bob = User.by_username("alice"), User.by_username("bob")
    conversation, _ = writes.open_conversation(alice, bob)
    for n in range(6):
        writes.send_message(alice if n % 2 else bob, conversation, f"seeded message {n}")


@pytest.mark.slow
def test_chains_of_calls_keep_to_the_spec(api_schema):
    schema, token, _seeded = api_schema

    class Member(schema.as_state_machine()):
        def setup(self):
            reseed()

        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Bearer {token}"}}

        def validate_response(self, response, case, **kwargs):
            case.validate_response(response, excluded_checks=[SCHEMA_VALID_BUT_REFUSED, TOKEN_SENT_ANYWAY])

    Member.run(settings=settings(max_examples=60, derandomize=True, deadline=None, database=None,
                                  stateful_step_count=6, suppress_health_check=list(HealthCheck)))
