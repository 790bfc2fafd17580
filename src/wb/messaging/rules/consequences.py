"""What the messaging rules mean for circles' members, in words for admins: beside each protected
circle in Admin → Settings, on the page that asks before protecting one, and under an invite's circle.

Every answer is the decision's own (checks.start_refused_between), never worked out again here: a
practice protected its Clients circle, and nothing said that clients, who share it, could then write to
each other, nor that its therapists, who shared no circle with them, could not (an outside tester).
"""
from __future__ import annotations

from .checks import NoSharedCircle, Protected, StartersOnly, start_refused_between
from .community import Rules
from .words import join_names, protection_starters


def _starters_words(rules: Rules) -> str:
    names = rules.names_of(rules.starters or ())
    return f"only members of {join_names(names)} start conversations" if names else "only staff start conversations"


def _why_not(rules: Rules, rule, circle_id: int) -> str:
    """Why members don't start with a circle's members, in a few words (rule: what refused)."""
    if isinstance(rule, StartersOnly):
        return _starters_words(rules)
    if isinstance(rule, Protected):
        return f"only {protection_starters(rules, circle_id).removesuffix(' only')} start conversations with its members"
    return "members reach only those they share a circle with"


def own_members_start(rules: Rules, circle_id: int) -> bool:
    """Whether one member of the circle may start a conversation with another (staff aside)."""
    return start_refused_between(rules, {circle_id}, {circle_id}) is None


def _each_other(rules: Rules, circle_id: int, directory_on: bool) -> str:
    """'Members of Clients can start conversations with each other: they share it…' (they may)."""
    name = rules.names[circle_id]
    why = ": they share it" if rules.shared_circle else ""
    seen = (", and New message's search offers them each other" if directory_on
            else ", so they see each other in the members list and search")
    return f"Members of {name} can start conversations with each other{why}{seen}."


def _open_to_notes(rules: Rules, circle_id: int) -> list[str]:
    """For each circle a protection is open to whose members reach only those they share a circle with:
    so (a protection opens nothing the other rules shut; "who may start" is said beside the rule already)."""
    notes = []
    for other_id in sorted(rules.protected[circle_id], key=lambda i: rules.names[i].lower()):
        if isinstance(start_refused_between(rules, {other_id}, {circle_id}), NoSharedCircle):
            other, name = rules.names[other_id], rules.names[circle_id]
            notes.append(f"Members of {other} can start conversations only with the members of {name} they share a "
                         f"circle with: add them to {name}, or let members reach anyone.")
    return notes


def protection_notes(rules: Rules, directory_on: bool) -> dict[int, list[str]]:
    """{protected circle id: what its protection leaves open or shut that its words don't say}, for Settings."""
    notes = {}
    for circle_id in rules.protected:
        found = [_each_other(rules, circle_id, directory_on)] if own_members_start(rules, circle_id) else []
        found += _open_to_notes(rules, circle_id)
        if found:
            notes[circle_id] = found
    return notes


def protection_consequences(after: Rules, circle_id: int, directory_on: bool, begun_within: int = 0) -> list[str]:
    """What protecting a circle as chosen would mean, for the page that asks first (after: the rules
    then; the page reads "Once saved:" above them). begun_within: conversations its members have
    begun with each other already (a count: admins never see who talks with whom)."""
    name = after.names[circle_id]
    first = ", where “Who may start conversations” lets them start at all" if after.starters is not None else ""
    said = [f"New conversations with members of {name} are started by {protection_starters(after, circle_id)}{first}. "
            "Anyone written to can reply."]
    own = start_refused_between(after, {circle_id}, {circle_id})
    if own is None:
        said.append(_each_other(after, circle_id, directory_on) + " If they shouldn't (a practice's clients), go back "
                    "and untick “Its own members may start conversations with each other”.")
    elif isinstance(own, Protected):
        unseen = "" if directory_on else ", nor see each other in the members list and search (unless already in a conversation)"
        said.append(f"Members of {name} can't start conversations with each other{unseen}; they can reply when one writes.")
    else:
        said.append(f"Members of {name} can't start conversations with each other: {_why_not(after, own, circle_id)}.")
    if own is not None and begun_within:
        # A practice that moved its clients in found their conversations with each other still open, with
        # no word of them (a therapy practice's tester).
        said.append(f"{begun_within:,} conversation{'s' if begun_within != 1 else ''} between members of {name} "
                    f"{'have' if begun_within != 1 else 'has'} begun already: {'they stay' if begun_within != 1 else 'it stays'}, "
                    "and both members may go on writing (either may block the other).")
    return said + _open_to_notes(after, circle_id)


def joining_hint(rules: Rules, circles) -> str:
    """What joining one of these circles lets a newcomer do, true of each under the current rules."""
    refused: dict[str, list[str]] = {}
    allowed, protected_allowed = [], []
    for circle in circles:
        rule = start_refused_between(rules, {circle.id}, {circle.id})
        if rule is None:
            allowed.append(circle.name)
            if circle.id in rules.protected:
                protected_allowed.append(circle.name)
        else:
            refused.setdefault(_why_not(rules, rule, circle.id), []).append(circle.name)
    groups = [(join_names(names), words) for words, names in refused.items()]
    if not refused:
        said = "They can then start conversations with its members."
    elif allowed:
        said = ("They can then start conversations with its members, except "
                + "; ".join(f"in {names}, where {words}" for names, words in groups) + ".")
    elif len(groups) == 1:
        said = f"Joining a circle doesn't let them start conversations with its members: {groups[0][1]}."
    else:
        said = ("Joining a circle doesn't let them start conversations with its members: "
                + "; ".join(f"in {names}, {words}" for names, words in groups) + ".")
    if refused:
        said += " They can reply to anyone who writes to them."
    if protected_allowed:
        one = len(protected_allowed) == 1
        said += (f" {join_names(protected_allowed)} {'is' if one else 'are'} protected, but {'its' if one else 'their'} "
                 "own members may start conversations with each other (Admin → Settings → Messaging rules).")
    return said


UNPROTECTED_NAMED = 10  # named in the notice; the rest are a count and the link to them


def _protection_applies(rules: Rules) -> bool:
    """A circle is protected and messaging is on: while it is off the rules protect nobody from
    messages there are none of (the joining hint says nothing then either)."""
    from ..policy import messaging_enabled

    return bool(rules.protected) and messaging_enabled()


def members_outside_protection(rules: Rules) -> dict | None:
    """Where a circle is protected, the members it can't cover: in no circle (not admins, not suspended or
    closed), so open to everyone the rules let start. A newcomer whose invite joined no circle was listed,
    found and written to by every other client of a practice, and nothing told the admin (an outside
    tester). {"count", "named": the first by username, "protected": "Clients is protected"}; None
    where no circle is protected, or messaging is off (nothing to protect anyone from). Two queries."""
    from sqlalchemy import exists, func, select

    from ...circles.models import CircleMember
    from ...extensions import db
    from ...models import User

    if not _protection_applies(rules):
        return None
    outside = (User.deleted_at.is_(None), User.role != "admin", User.status != "suspended",
               ~exists().where(CircleMember.user_id == User.id))
    count = db.session.scalar(select(func.count(User.id)).where(*outside))
    named = db.session.scalars(select(User).where(*outside).order_by(User.username).limit(UNPROTECTED_NAMED)).all()
    names = rules.names_of(rules.protected)
    return {"count": count, "named": named, "protected": f"{join_names(names)} {'is' if len(names) == 1 else 'are'} protected"}


def no_circle_hint(rules: Rules) -> str | None:
    """Under an invite's circle, where one is protected: what joining none means (None: none is protected).
    "none" stays the default: an invite for a therapist must not quietly join them to the clients."""
    if not _protection_applies(rules):
        return None
    names = rules.names_of(rules.protected)
    return (f"Newcomers who join no circle are open to everyone: no protection applies to them (only members of "
            f"{join_names(names)} are protected). Choose {'it' if len(names) == 1 else 'one of those'} for a "
            f"newcomer who needs {'its' if len(names) == 1 else 'their'} protection.")
