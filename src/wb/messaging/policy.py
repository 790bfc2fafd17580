"""Messaging's switch, its refusals, and how often a member may act. Who may write to whom is rules/."""
from __future__ import annotations

from flask import current_app
from limits import parse

from .. import flags
from .. import ratelimits

FLAG = "direct_messaging"
# Said of a pending or suspended member named in the inbox's search.
NEUTRAL_REFUSAL = "You can't message this member."
FORMER_MEMBER = "former member"


class Refusal(Exception):
    """A messaging action that is not allowed, with what to tell the member and the HTTP status."""

    def __init__(self, message: str, status: int = 403, retry_after: int | None = None,
                 link: tuple[str, str] | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.link = link  # (endpoint, label): where to go to change it
        self.field = field  # the request body's field a 422 is about (the API names it)

    @property
    def headers(self) -> dict:
        """What the response carries besides the page: when to try again, for a limit."""
        return ratelimits.retry_after_headers(self.retry_after)


def messaging_enabled() -> bool:
    """The admin switch, read once per request."""
    return flags.is_enabled(FLAG)


def show_inbox_badge(viewer) -> bool:
    """The nav badge: messaging on and the viewer may message."""
    return messaging_enabled() and viewer.is_authenticated and viewer.is_active_member


def show_message_button(viewer, person) -> bool:
    """A "Message" button (or why not) next to person: not to yourself, not for pending members,
    not while off, not beside someone the viewer doesn't see (a byline reading "a member" had a note
    naming them: "Carol Lind isn't in any of yours"). Whether the viewer may write to person is
    rules.page_decision's answer."""
    from ..visibility import sees

    return (
        show_inbox_badge(viewer)
        and person is not None
        and person.id != viewer.id
        and person.is_active_member
        and sees(viewer, person)
    )


def may_delete_for_both(member, message) -> bool:
    """Only its sender deletes a message for both members; either member removes it for themselves."""
    return message.sender_id == member.id


def offers_delete_for_both(member, message) -> bool:
    """A message's menu offers "Delete for both" to its sender, until it is deleted: whether or not the other
    member keeps their copy (writes.delete_message), which the sender isn't told."""
    return may_delete_for_both(member, message) and message.deleted_at is None


def is_former(member) -> bool:
    """Members who closed their account, were erased or are missing show as 'former member' in old
    conversations. A suspended member keeps their name: they haven't left, and may be reinstated
    (the conversation says they can't receive messages)."""
    return member is None or member.deleted_at is not None


def take_rate_limit(name: str, config_key: str, member) -> None:
    """Count one action against the member's limit, or raise a 429 Refusal saying when to try again."""
    try:
        ratelimits.take(name, current_app.config[config_key], f"user:{member.id}")
    except ratelimits.LimitReached as reached:
        # A day's limit of new conversations leaves the ones there are: the way to them, not only the start page.
        link = ("messaging.inbox", "Go to your conversations") if name == "new-conversation" else None
        raise Refusal(_limit_message(name, reached.limit, reached.retry_after), 429, reached.retry_after, link) from None


def count_or_take_back(name: str, config_key: str, member, model, row_id: int) -> None:
    """Count a row just committed against the member's limit; refused (the limit was spent since it
    was asked, or the counts can't be read), the row is deleted before anyone is told of it and the
    refusal raised. For what must count once however many requests race: the request whose row won."""
    from sqlalchemy import delete

    from ..extensions import db

    try:
        take_rate_limit(name, config_key, member)
    except (Refusal, ratelimits.CountsUnavailable):
        db.session.execute(delete(model).where(model.id == row_id))
        db.session.commit()
        raise


def refuse_when_spent(name: str, config_key: str, member) -> None:
    """A 429 Refusal when the member's limit is spent already (counts nothing: take_rate_limit counts)."""
    left, retry_after = ratelimits.room(name, current_app.config[config_key], f"user:{member.id}")
    if left <= 0:
        raise Refusal(_limit_message(name, parse(current_app.config[config_key]), retry_after), 429, retry_after)


def counts_as_new(member, other) -> bool:
    """Whether a conversation between them counts against the day's new conversations: not when
    either is staff. Staff reach members, and a member who wrote to five sellers could otherwise not
    ask the admins for help that day (a marketplace tester)."""
    return member.role != "admin" and (other is None or other.role != "admin")


def refuse_when_new_conversations_spent(member) -> None:
    """A 429 Refusal when the member may start no more conversations today (counts nothing); counts
    that can't be read now raise CountsUnavailable (the request answers busy, opening nothing)."""
    left, retry_after = ratelimits.room("new-conversation", current_app.config["NEW_CONVERSATION_RATE_LIMIT"],
                                        f"user:{member.id}")
    if left <= 0:
        raise Refusal(new_conversations_spent_words(retry_after), 429, retry_after,
                      ("messaging.inbox", "Go to your conversations"))


def new_conversations_spent(member) -> int | None:
    """Seconds until the member may start another conversation when today's are all spent, else None
    (also when the counts can't be read now: starting one will say so)."""
    try:
        left, retry_after = ratelimits.room("new-conversation", current_app.config["NEW_CONVERSATION_RATE_LIMIT"],
                                            f"user:{member.id}")
    except ratelimits.CountsUnavailable:
        return None
    return None if left > 0 else retry_after


def new_conversations_spent_words(retry_after: int) -> str:
    return _limit_message("new-conversation", parse(current_app.config["NEW_CONVERSATION_RATE_LIMIT"]), retry_after)


def _limit_message(name: str, item, retry_after: int) -> str:
    wait = ratelimits.wait_words(retry_after)
    if name == "new-conversation":
        return (
            f"You've started {item.amount} new conversation{'' if item.amount == 1 else 's'} today, the daily limit (one "
            f"counts from its first message). You can keep writing in your existing conversations; try a new "
            f"one in {wait}."
        )
    if name == "report":
        return (f"You've sent {item.amount} reports today, the most one member can. The admins will look at "
                f"them; you can report again in {wait}.")
    return f"You're sending messages very quickly ({item.amount} a {item.GRANULARITY.name} at most). Try again in {wait}."
