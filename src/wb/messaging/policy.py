"""Who may message whom, and how often. Every rule the views rely on lives here or in service.py."""
from __future__ import annotations

import functools
import math

from flask import current_app
from sqlalchemy import bindparam, or_, select

from .. import flags
from ..access import PENDING_EXPLANATION
from .. import ratelimits
from ..extensions import db
from .models import Block

FLAG = "direct_messaging"
# Said of a pending or suspended member named in the inbox's search.
NEUTRAL_REFUSAL = "You can't message this member."
FORMER_MEMBER = "former member"


class Refusal(Exception):
    """A messaging action that is not allowed, with what to tell the member and the HTTP status."""

    def __init__(self, message: str, status: int = 403, retry_after: int | None = None,
                 link: tuple[str, str] | None = None, explained: bool = False, everyone: bool = False):
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.link = link  # (url, label): where to go to change it
        # explained: shown where the "Message" button would be (a rule, a setting, a block);
        # everyone: the same answer for every member the viewer looks at (who may start at all).
        self.explained = explained
        self.everyone = everyone

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
    not while off. Whether the viewer may start with person is rules.page_decision's answer."""
    return (
        show_inbox_badge(viewer)
        and person is not None
        and person.id != viewer.id
        and person.is_active_member
    )


def require_active(member) -> None:
    """Only fully authenticated members message."""
    if not member.is_authenticated or not member.is_active_member:
        raise Refusal(PENDING_EXPLANATION if getattr(member, "is_pending", False) else "Your account can't send messages.")


def may_delete_for_both(member, message) -> bool:
    """Only its sender deletes a message for both members; either member removes it for themselves."""
    return message.sender_id == member.id


def offers_delete_for_both(member, message) -> bool:
    """A message's menu offers "Delete for both" to its sender, until it is deleted."""
    return may_delete_for_both(member, message) and message.deleted_at is None


def is_former(member) -> bool:
    """Deleted, suspended or missing members show as 'former member' in old conversations."""
    return member is None or member.deleted_at is not None or member.status == "suspended"


def blocked_either_way(a, b):
    """The condition on blocks for a block between two members, in either direction."""
    return or_((Block.blocker_id == a) & (Block.blocked_id == b), (Block.blocker_id == b) & (Block.blocked_id == a))


def blocker_of(member_id, other_id):
    """Who blocked whom between two members (a scalar subquery: the blocker's id, or NULL)."""
    return select(Block.blocker_id).where(blocked_either_way(member_id, other_id)).limit(1).scalar_subquery()


@functools.cache
def _blocker_statement():
    return select(blocker_of(bindparam("member_id"), bindparam("other_id")))


def blocker_between(member_id: int, other_id: int) -> int | None:
    """The id of whoever blocked the other between two members, if either did."""
    return db.session.scalar(_blocker_statement(), {"member_id": member_id, "other_id": other_id})


NOT_LOOKED_UP = object()  # check_can_message: the caller did not read the block along with the recipient


def check_can_message(sender, recipient, blocker_id=NOT_LOOKED_UP) -> None:
    """Raise Refusal unless sender may start or continue a conversation with recipient.
    blocker_id: blocker_between's answer, when the caller read it with the recipient."""
    require_active(sender)
    if recipient is None or recipient.deleted_at is not None:
        raise Refusal("There is no member by that name.", 404)
    if recipient.id == sender.id:
        raise Refusal("You can't message yourself.", 400)
    if recipient.status == "suspended":
        raise Refusal("This member's account is suspended, so they can't receive messages.", 400)
    if recipient.status == "pending":
        raise Refusal("This member is waiting for approval and can't receive messages yet.", 400)
    if blocker_id is NOT_LOOKED_UP:
        blocker_id = blocker_between(sender.id, recipient.id)
    if blocker_id is not None:
        if blocker_id == sender.id:
            raise Refusal("You've blocked this member. Unblock them to send messages.", 403, explained=True)
        # A block is private: the blocked member gets exactly what "nobody new" gives.
        from .rules import not_accepting

        raise not_accepting(recipient)


def messageable_by(viewer_id, user_table):
    """check_can_message as SQL conditions on the members table, for lists that offer many
    members at once (a query per candidate would grow with the directory): an account that
    is active and not deleted, not the viewer, and no block between the two either way."""
    blocks = select(Block.id).where(blocked_either_way(viewer_id, user_table.id))
    return (
        user_table.status == "active",
        user_table.deleted_at.is_(None),
        user_table.id != viewer_id,
        ~blocks.exists(),
    )


def compose_blocker(viewer, other, blocker_id: int | None) -> str | None:
    """Why the compose box is replaced in a thread, or None when the viewer may write.
    other: a User or a row with its status; blocker_id: who blocked whom between the two, if anyone."""
    if not viewer.is_active_member:
        return PENDING_EXPLANATION
    if is_former(other):
        return "This member has left WhiteBalloon, so you can't reply. The conversation stays here for you."
    if other.status == "pending":
        return "This member is waiting for approval and can't receive messages yet."
    if blocker_id == viewer.id:
        return "You've blocked this member. Unblock them from their profile or your settings to write again."
    return None


def take_rate_limit(name: str, config_key: str, member) -> None:
    """Count one action against the member's limit, or raise a 429 Refusal saying when to try again."""
    try:
        ratelimits.take(name, current_app.config[config_key], f"user:{member.id}")
    except ratelimits.LimitReached as reached:
        raise Refusal(_limit_message(name, reached.limit, reached.retry_after), 429, reached.retry_after) from None


def _limit_message(name: str, item, retry_after: int) -> str:
    wait = f"{retry_after} seconds" if retry_after < 120 else f"{math.ceil(retry_after / 60)} minutes"
    if name == "new-conversation":
        return (
            f"You've started {item.amount} new conversations today, the daily limit. "
            f"You can keep writing in your existing conversations; try a new one in {wait}."
        )
    return f"You're sending messages very quickly ({item.amount} a {item.GRANULARITY.name} at most). Try again in {wait}."
