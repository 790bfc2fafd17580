"""The one answer to "may this member write to that one now", and every answer's words.

Words are chosen so that what a member sees never tells them more than it should: a block
by the other member reads exactly like that member's own "Pause messages".
"""
from __future__ import annotations

from dataclasses import dataclass

from ...access import PENDING_EXPLANATION
from ...models import User
from ..policy import Refusal, new_conversations_spent_words

WRITE, REPLY_ONLY, NO = "write", "reply-only", "no"
CIRCLES_LINK = ("circles.directory", "See the circles and who the admins are")


@dataclass(frozen=True)
class Decision:
    """May write (start or continue), may reply only (the rules keep the viewer from starting;
    once the other writes, they may reply), or may not; with the reason and what to tell them."""

    may: str  # WRITE, REPLY_ONLY or NO
    reason: str  # a short name for why; a block by the other member is "not-accepting", like a pause
    words: str = ""
    status: int = 200  # the HTTP status a refused action answers with
    link: tuple[str, str] | None = None  # (endpoint, label): where to go to change it
    everyone: bool = False  # the same for every member the viewer looks at: a page says it once
    # The reason in a few words, for "Can't start a conversation: ..., as above." after the first, in
    # full: a bare "same reason as above" sat under a different reason's note (a street's tester).
    brief: str = ""

    @property
    def same_as_above(self) -> str:
        return (f"Can't start a conversation: {self.brief}, as above." if self.brief
                else "Can't start a conversation, as above.")

    @property
    def may_write(self) -> bool:
        return self.may == WRITE

    def refusal(self) -> Refusal:
        """This decision as the exception a refused action raises."""
        return Refusal(self.words, self.status, link=self.link)


MAY_WRITE = Decision(WRITE, "allowed")


def join_names(names) -> str:
    """'A', 'A and B', 'A, B and C'."""
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


# --- may not: nothing goes, not even a reply ----------------------------------------------------


def viewer_cannot(viewer) -> Decision:
    return Decision(NO, "your-account", PENDING_EXPLANATION if viewer.status == "pending"
                    else "Your account can't send messages.", 403)


def yourself() -> Decision:
    return Decision(NO, "yourself", "You can't message yourself.", 400)


def no_such_member() -> Decision:
    return Decision(NO, "no-member", "No member has that username.", 404)


def left() -> Decision:
    return Decision(NO, "left", "This member has left WhiteBalloon, so you can't reply. "
                    "The conversation stays here for you.", 403, brief="they left")


def suspended() -> Decision:
    return Decision(NO, "suspended", "This member's account is suspended, so they can't receive messages.", 403,
                    brief="their account is suspended")


def pending() -> Decision:
    return Decision(NO, "pending", "This member is waiting for approval and can't receive messages yet.", 403,
                    brief="waiting for approval")


DAY_LIMIT = "day-limit"


def day_limit_spent(retry_after: int) -> Decision:
    return Decision(NO, DAY_LIMIT, new_conversations_spent_words(retry_after), 429,
                    link=("messaging.inbox", "Go to your conversations"), brief="you've reached today's limit of new conversations")


def you_blocked(person) -> Decision:
    return Decision(NO, "you-blocked", f"You've blocked {User.name_of(person)}. To write to them, unblock them "
                    "under Safety (on their profile or in your conversation) or in your settings.", 403, brief="you blocked them")


def not_accepting(person) -> Decision:
    """Their "Pause messages", and their block: the very same words, so neither can be told apart."""
    return Decision(NO, "not-accepting", f"{User.name_of(person)} isn't accepting messages right now. "
                    "Only they can change that.", 403, brief="not accepting messages")


# --- may reply only: the rules decide who starts ------------------------------------------------


def nobody_new(person) -> Decision:
    return Decision(REPLY_ONLY, "nobody-new", f"{User.name_of(person)} isn't accepting new conversations right now. "
                    "Only they can change that.", 403, brief="not accepting new conversations")


def circles_only(person, joinable: bool = True) -> Decision:
    """joinable False: they are in no circle, or the viewer sees nobody's circles (the directory is off):
    no "ask to join one" (a marketplace tester was told to join the circle of a member in none)."""
    if not joinable:
        return Decision(REPLY_ONLY, "circles-only", f"{User.name_of(person)} accepts new conversations only from "
                        "members who share a circle with them. Once they write to you, you can reply.", 403,
                        brief="only from members of their circles")
    return Decision(REPLY_ONLY, "circles-only", f"{User.name_of(person)} accepts new conversations only from "
                    "members of their circles. Ask an admin if you'd like to join one.", 403, CIRCLES_LINK,
                    brief="only from members of their circles")


def starters_only(rules) -> Decision:
    # What the member can do, not "ask to join": a practice's client read that as joining its therapists.
    names = rules.names_of(rules.starters)
    who = f"members of {join_names(names)}" if names else "staff only at the moment"
    return Decision(REPLY_ONLY, "starters", f"Starting conversations is open to {who}. You can write to the admins, "
                    "and reply to anyone who writes to you or in conversations you already have.",
                    403, CIRCLES_LINK, everyone=True, brief="who may start conversations here")


def in_no_circle() -> Decision:
    return Decision(REPLY_ONLY, "no-circle", "Here, conversations are started between members who share a circle, "
                    "and you aren't in one yet. Ask an admin to add you to a circle; until then you can write to "
                    "staff and reply to anyone who writes to you.", 403, CIRCLES_LINK, everyone=True,
                    brief="you aren't in a circle yet")


def nobody_else_in_my_circles() -> Decision:
    return Decision(REPLY_ONLY, "circles-empty", "Here, conversations are started between members who share a circle, "
                    "and nobody else is in yours yet. Until an admin adds members to your circles, you can write to "
                    "staff and reply to anyone who writes to you.", 403, CIRCLES_LINK, everyone=True,
                    brief="nobody else is in your circles yet")


def protection_starters(rules, circle_id: int) -> str:
    """Who starts conversations with a protected circle's members, in words ("staff and its own members")."""
    open_to = rules.names_of(rules.protected[circle_id])
    # Its own members start them too, unless the admin chose otherwise (it said "by staff" alone, where
    # they did: a marketplace tester).
    who = ["staff"] if circle_id in rules.not_by_own_members else ["staff", "its own members"]
    if open_to:
        return f"{', '.join(who)} and members of {join_names(open_to)}"
    return "staff only" if len(who) == 1 else "staff and its own members"


def protected(person, rules, circle_id: int, names_circle: bool = True) -> Decision:
    """names_circle False: the member directory is off for the viewer, who sees nobody's circles, so
    the words say neither the circle nor whom it is open to (that would tell which circle it is)."""
    if not names_circle:
        return Decision(REPLY_ONLY, "protected", f"Here, new conversations with {User.name_of(person)} are started "
                        "by others. Once they write to you, you can reply.", 403, brief="started by others")
    who = protection_starters(rules, circle_id)
    return Decision(REPLY_ONLY, "protected", f"{User.name_of(person)} is in {rules.names[circle_id]}: new "
                    f"conversations with its members are started by {who}. Once they write to you, you can reply.",
                    403, CIRCLES_LINK, brief=f"started by {who}")


def no_shared_circle(person, joinable: bool = True) -> Decision:
    """joinable False: as for circles_only (they are in no circle, or the viewer sees nobody's circles)."""
    if not joinable:
        return Decision(REPLY_ONLY, "reach", f"You can start conversations with members who share a circle with you, "
                        f"and {User.name_of(person)} isn't in any of yours. Once they write to you, you can reply.",
                        403, brief="no circle in common")
    return Decision(REPLY_ONLY, "reach", f"You can start conversations with members who share a circle with you, "
                    f"and {User.name_of(person)} isn't in any of yours. Ask an admin if you'd like to join one of "
                    "their circles.", 403, CIRCLES_LINK, brief="no circle in common")
