"""A member's remaining messaging limits, read from the same counters policy.take_rate_limit counts in."""
from flask import current_app

from .. import ratelimits
from . import schemas


def remaining_for(member) -> schemas.Limits:
    """What /me shows: how many messages and new conversations are left in the current windows."""
    config, key = current_app.config, f"user:{member.id}"
    return schemas.Limits(
        messages_remaining=ratelimits.remaining("send", config["MESSAGE_RATE_LIMIT"], key),
        messages_limit=config["MESSAGE_RATE_LIMIT"],
        new_conversations_remaining=ratelimits.remaining("new-conversation", config["NEW_CONVERSATION_RATE_LIMIT"], key),
        new_conversations_limit=config["NEW_CONVERSATION_RATE_LIMIT"],
    )
