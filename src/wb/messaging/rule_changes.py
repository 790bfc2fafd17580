"""Changing the community's messaging rules: each change stored and audited like a feature flag
(who, when, old, new). The decision that reads them is rules/."""
from __future__ import annotations

import logging
from dataclasses import replace

from sqlalchemy import select

from ..circles.models import Circle, MessagingRule
from ..extensions import db
from ..models import AuditEvent, utcnow
from . import live
from .rules.community import PROTECT, REACH, STARTERS, Rules, load_rules, protection_value

log = logging.getLogger("wb.messaging")
ACTION = "messaging_rule.changed"


def starters_words(rules: Rules) -> str:
    if rules.starters is None:
        return "all active members"
    names = rules.names_of(rules.starters)
    return f"members of {', '.join(names)}" if names else "staff only"


def reach_words(rules: Rules) -> str:
    return "members who share a circle" if rules.shared_circle else "anyone"


def protection_words(rules: Rules, circle_id: int) -> str:
    if circle_id not in rules.protected:
        return "off"
    open_to = rules.names_of(rules.protected[circle_id])
    who = "staff" if circle_id in rules.not_by_own_members else "staff, its own members"
    return who + (f" and members of {', '.join(open_to)}" if open_to else " only")


def describe(rules: Rules | None = None) -> list[tuple[str, str]]:
    """Every rule as (what, its state in words), as `rules show` and the settings page say them."""
    rules = rules or load_rules()
    lines = [("Who may start conversations", starters_words(rules)), ("Whom members may reach", reach_words(rules))]
    # Beside a rule on who may start at all, a protected circle's words say that rule still holds: "started
    # by staff, its own members and members of Therapists" read to a client as if clients could start
    # with each other (a therapy practice's tester).
    first = ", where the first rule lets them start at all" if rules.starters is not None else ""
    for circle_id in sorted(rules.protected, key=lambda i: rules.names[i].lower()):
        lines.append((f"Protected: {rules.names[circle_id]}", f"started by {protection_words(rules, circle_id)}{first}"))
    return lines


DEFAULTS = {STARTERS: "all", REACH: "anyone"}


# What the admin page calls each rule (an audit event's subject is the rule's key).
SUBJECT_WORDS = {"starters": "Who may start conversations", "reach": "Whom members may reach"}


def subject_words(subject: str) -> str:
    """A rule change's subject in the admin page's words ("reach" read as "reac/h" on a phone: a tester)."""
    if subject.startswith("protect "):
        return f"Protected circle {subject.removeprefix('protect ')}"
    return SUBJECT_WORDS.get(subject, subject)


def _store(name: str, value: str | None, subject: str, old: str, new: str, actor) -> AuditEvent | None:
    """Write one rule (None: remove it) and its audit event; nothing when it doesn't change (the caller commits)."""
    row = db.session.get(MessagingRule, name)
    if (row.value if row else DEFAULTS.get(name)) == value:
        return None
    actor_id = actor.id if actor is not None else None
    if value is None:
        db.session.delete(row)
    else:
        if row is None:
            row = MessagingRule(name=name)
            db.session.add(row)
        row.value, row.updated_at, row.updated_by_id = value, utcnow(), actor_id
    event = AuditEvent(actor_id=actor_id, action=ACTION, subject=subject[:128], old_value=old[:128], new_value=new[:128])
    db.session.add(event)
    live.record_for_everyone("rules")
    log.info("messaging rule changed", extra={"event": ACTION, "rule": subject, "actor_id": actor_id})
    return event


def _ids(circles) -> str:
    return ",".join(str(c.id) for c in sorted(circles, key=lambda c: c.id))


def starters_change(circles: list[Circle] | None) -> tuple[str, str]:
    """Who may start conversations, in words, now and with these circles (None: everyone)."""
    before = load_rules()
    after = Rules(starters=None if circles is None else frozenset(c.id for c in circles), names=before.names)
    return starters_words(before), starters_words(after)


def reach_change(shared_circle: bool) -> tuple[str, str]:
    """Whom members may reach, in words, now and so."""
    return reach_words(load_rules()), reach_words(Rules(shared_circle=shared_circle))


def protection_change(circle: Circle, open_to: list[Circle] | None, own_members_start: bool = True) -> tuple[str, str]:
    """Who may start with a circle's members, in words, now and with it protected so (None: not)."""
    before = load_rules()
    return protection_words(before, circle.id), protection_words(protected_as(before, circle, open_to, own_members_start), circle.id)


def set_starters(circles: list[Circle] | None, actor=None) -> AuditEvent | None:
    """Who may start conversations: everyone (None) or members of these circles."""
    before = load_rules()
    value = "all" if circles is None else f"circles:{_ids(circles)}"
    after = Rules(starters=None if circles is None else frozenset(c.id for c in circles), names=before.names)
    event = _store(STARTERS, value, "starters", starters_words(before), starters_words(after), actor)
    db.session.commit()
    return event


def set_reach(shared_circle: bool, actor=None) -> AuditEvent | None:
    """Whom members may reach: anyone, or only members sharing a circle with them."""
    before = load_rules()
    after = Rules(shared_circle=shared_circle)
    event = _store(REACH, "shared-circle" if shared_circle else "anyone", "reach",
                   reach_words(before), reach_words(after), actor)
    db.session.commit()
    return event


def protected_as(rules: Rules, circle: Circle, open_to: list[Circle] | None, own_members_start: bool = True) -> Rules:
    """The rules with the circle protected so (open_to None: not protected), the others as they are."""
    protected, not_by_own = dict(rules.protected), set(rules.not_by_own_members) - {circle.id}
    if open_to is None:
        protected.pop(circle.id, None)
    else:
        protected[circle.id] = frozenset(c.id for c in open_to if c.id != circle.id)
        if not own_members_start:
            not_by_own.add(circle.id)
    return replace(rules, protected=protected, not_by_own_members=frozenset(not_by_own))


def set_protection(circle: Circle, open_to: list[Circle] | None, actor=None,
                   own_members_start: bool = True) -> AuditEvent | None:
    """Protect a circle (only staff, members of open_to and, unless own_members_start is False, its own
    members start with its members), or not (None)."""
    before = load_rules()
    after = protected_as(before, circle, open_to, own_members_start)
    value = None if open_to is None else protection_value(after.protected[circle.id], own_members_start)
    event = _store(f"{PROTECT}{circle.id}", value, f"protect {circle.name}",
                   protection_words(before, circle.id), protection_words(after, circle.id), actor)
    db.session.commit()
    return event


def forget_circle(circle: Circle, actor=None) -> list[str]:
    """Take a circle about to be deleted out of every rule naming it (the caller commits), audited.

    Rules fail closed: a "starters" rule left naming no circle lets staff only start conversations
    (it never silently opens to everyone), and a protection left open to no circle stays on, for
    staff and the circle's own members. The admin is warned before deleting (see impact_of_deleting)."""
    rules = load_rules()
    without = {i: n for i, n in rules.names.items() if i != circle.id}
    changes = []
    if rules.starters is not None and circle.id in rules.starters:
        remaining = rules.starters - {circle.id}
        after = Rules(starters=remaining, names=without)
        _store(STARTERS, "circles:" + ",".join(map(str, sorted(remaining))), "starters",
               starters_words(rules), starters_words(after), actor)
        changes.append(f"Who may start conversations: now {starters_words(after)}.")
    for protected_id, open_to in rules.protected.items():
        if protected_id == circle.id:
            _store(f"{PROTECT}{circle.id}", None, f"protect {circle.name}", protection_words(rules, circle.id), "off", actor)
            changes.append(f"{circle.name} is no longer protected (it no longer exists).")
        elif circle.id in open_to:
            after = replace(rules, protected={protected_id: open_to - {circle.id}}, names=without)
            own_members_start = protected_id not in rules.not_by_own_members
            _store(f"{PROTECT}{protected_id}", protection_value(open_to - {circle.id}, own_members_start),
                   f"protect {rules.names[protected_id]}", protection_words(rules, protected_id),
                   protection_words(after, protected_id), actor)
            changes.append(f"{rules.names[protected_id]}: new conversations now started by {protection_words(after, protected_id)}.")
    return changes


def impact_of_deleting(circle: Circle) -> list[str]:
    """What deleting a circle would change in the rules, in words, for the confirmation page."""
    rules = load_rules()
    impact = []
    if rules.starters is not None and circle.id in rules.starters:
        left = rules.names_of(rules.starters - {circle.id})
        impact.append("Starting conversations would be open to " + (
            f"members of {', '.join(left)}." if left else "staff only, until you change the rule."))
    if circle.id in rules.protected:
        impact.append(f"Its members would no longer be protected as members of {circle.name}.")
    for protected_id, open_to in rules.protected.items():
        if circle.id in open_to and protected_id != circle.id:
            impact.append(f"Its members could no longer start conversations with members of {rules.names[protected_id]}.")
    if rules.shared_circle:  # reach: the circle is what its members share (found missing by an outside tester)
        impact.append("Members reach only those they share a circle with: its members could no longer start "
                      "conversations with each other through it, and one in no other circle with nobody but staff.")
    return impact


def rule_history(limit: int = 20) -> list[AuditEvent]:
    """The latest rule changes, newest first."""
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == ACTION).order_by(AuditEvent.id.desc()).limit(limit)
    ))

