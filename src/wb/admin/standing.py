"""How far one admin's hand reaches: over admins of longer standing, and while a report about them is open.

A therapy practice's tester made a reported clinician an admin. As admin she removed the founding
admin's role (the only one who could read the report), made a password reset link for the client
who reported her, read the complaint as the client, and erased the client, which blanked the
report's note. So:
- an admin suspends, erases or removes the role of only admins who became admins after them (the
  first admin, and one made on the command line, from when their account was made); the server's
  operator (`./wb`) still can;
- while a report about an admin is open that they may not read (messaging.safety: about them, or
  filed before they were made an admin about one who made them one), they make no password reset
  link, erase nobody and remove no one's requests and comments: what takes over a member or wipes
  out their words for good (a re-check tester's reported admin suspended her reporter and deleted
  his posts). Suspending stays theirs (a report any member files would otherwise stop an admin from
  stopping a spammer), and every suspension is listed in Recent member actions for the other admins.
  Where no other admin is active, nobody else could do it on the web: nothing is held back (any
  member's report would otherwise take reset links from a community's only admin for good).
The refusal says a report is open, never by whom.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select

from ..auth.service import MADE_ADMIN
from ..extensions import db
from ..models import AuditEvent, User

# The action's words in a refusal: "... can <words>."
ACTION_WORDS = {"suspend": "suspend them", "remove-admin": "remove their admin role", "erase": "erase them",
                "reset-link": "make a password reset link for them", "remove-posts": "remove their requests and comments"}
AFTER_A_REPORT = frozenset({"erase", "reset-link", "remove-posts"})
ACTION_WORDS_AFTER = {"erase": "erase members", "reset-link": "make password reset links",
                      "remove-posts": "remove a member's requests and comments"}
# What the server's operator runs instead, meanwhile (no command removes a member's posts).
OPERATOR_COMMANDS = {"erase": "./wb members erase {username}", "reset-link": "./wb members reset-link {username}"}
RESOLVE_COMMANDS = "./wb reports list, then ./wb reports resolve ID"


def admin_since(member: User) -> tuple[datetime, int]:
    """When this member last became an admin (their account's making, for one who was an admin from
    the start), with their id to break a tie: the smaller, the longer their standing."""
    made = db.session.scalar(select(AuditEvent.created_at).where(
        AuditEvent.action == MADE_ADMIN, AuditEvent.subject == f"user:{member.id}").order_by(AuditEvent.id.desc()).limit(1))
    return (made or member.created_at, member.id)


def outranks(admin: User, other: User) -> bool:
    """Whether this admin became one before the other admin did."""
    return admin_since(admin) < admin_since(other)


def under_open_report(admin: User) -> bool:
    """Whether a report this admin may not read (about them, or their chain) is open, while another
    admin is active to act instead."""
    from ..messaging.models import Report
    from ..messaging.safety import hidden_from, others_can_handle

    return bool(db.session.scalar(select(exists().where(Report.status == "open", hidden_from(admin))))) \
        and others_can_handle(admin)


def withheld_reports(admin: User) -> tuple[int, int]:
    """While reports this admin may not read hold their hand back (under_open_report): how many, and
    how many of those no admin may read, which only the server's operator resolves (`./wb reports`).
    (0, 0) otherwise. Admin → Reports says so: it said "Nothing to review" to both admins of a
    practice while such a report stopped their reset links (a therapy practice's tester). Never which
    report, nor whom it is about."""
    from ..messaging.models import Report
    from ..messaging.safety import hidden_from, seen_by_no_admin

    if not under_open_report(admin):
        return 0, 0
    hidden = set(db.session.scalars(select(Report.id).where(Report.status == "open", hidden_from(admin))))
    return len(hidden), len(hidden & seen_by_no_admin())


def why_not(admin: User | None, person: User, action: str) -> str | None:
    """Why this admin may not take this action (ACTION_WORDS) on this member, or None; admin None:
    the command line, which may."""
    if admin is None or person.id == admin.id:
        return None
    if action in ACTION_WORDS and person.is_admin and not outranks(admin, person):
        return (f"{person.name} has been an admin longer than you: only an admin of longer standing, or whoever runs "
                f"the server (./wb), can {ACTION_WORDS[action]}.")
    if action in AFTER_A_REPORT and under_open_report(admin):
        return _held_back(admin, person, action)
    return None


def _held_back(admin: User, person: User, action: str) -> str:
    """The refusal while reports this admin may not read are open: who can resolve them, and who can
    act meanwhile, as it is now. Ada, reported while the only admin, made Ben one: neither can see
    it, yet both were told another admin would resolve it and the other admins make the links (a
    re-check tester). When no admin can see one, only the server's operator resolves it (a therapy
    practice's tester found no way to), and runs the command that acts meanwhile."""
    hidden, unseen = withheld_reports(admin)
    them = "it" if hidden == 1 else "them"
    said = ("A report you can't see is open" if hidden == 1 else f"{hidden} reports you can't see are open") \
        + " (about you, or an admin who made you one)"
    if unseen:
        which = them if unseen == hidden else f"{unseen} of them"
        said += (f", and no admin here can see {which}: only whoever runs the server can resolve "
                 f"{'it' if unseen == 1 else 'them'} ({RESOLVE_COMMANDS}).")
    else:
        said += f": another admin can resolve {them}, or whoever runs the server ({RESOLVE_COMMANDS})."
    words, command = ACTION_WORDS_AFTER[action], OPERATOR_COMMANDS.get(action)
    command = command and command.format(username=person.username)
    if _another_admin_acts(admin):
        return said + (f" Until then another admin, or whoever runs the server ({command}), can {words}." if command
                       else f" Until then another admin can {words}.")
    return said + f" Until then no admin can {words}" + (f"; whoever runs the server can ({command})." if command else ".")


def _another_admin_acts(admin: User) -> bool:
    """Whether an active admin other than this one is held back by no report (under_open_report)."""
    others = db.session.scalars(select(User).where(User.role == "admin", User.status == "active",
                                                   User.deleted_at.is_(None), User.id != admin.id))
    return any(not under_open_report(other) for other in others)


def senior_admin_ids(admin: User, people) -> set[int]:
    """The admins among these members who have been admins longer than this one (Members offers no
    Suspend, Remove admin or Erase for them), in one query."""
    admins = {person.id: person for person in people if person.is_admin and person.id != admin.id}
    if not admins:
        return set()
    made = {}
    for subject, at in db.session.execute(select(AuditEvent.subject, AuditEvent.created_at).where(
            AuditEvent.action == MADE_ADMIN, AuditEvent.subject.in_([f"user:{i}" for i in admins]))
            .order_by(AuditEvent.id)):
        made[subject] = at  # the latest counts
    mine = admin_since(admin)
    return {i for i, person in admins.items() if (made.get(f"user:{i}") or person.created_at, i) < mine}
