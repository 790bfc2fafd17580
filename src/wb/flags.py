"""Feature flags: stored in the main database, cached per process, fixed for a request."""
import logging
import os
import time

from blinker import Namespace
from flask import current_app, g
from sqlalchemy import func, select

from .extensions import db
from .models import AuditEvent, FeatureFlag, utcnow

log = logging.getLogger("wb.flags")

# Every flag the app knows, with its default and what it switches.
KNOWN_FLAGS = {
    "direct_messaging": (False, "Private 1:1 messages between members."),
    "member_invites": (True, "Members invite people they trust. Off: only admins make invite links, and the "
                             "links members made don't work until it is back on."),
    "member_directory": (True, "Members see who else belongs: the members list, each circle's members, each "
                               "other's circles. Off: members see the admins, the people they have "
                               "conversations with and those the messaging rules let them start one with; "
                               "admins see everyone."),
    "help_requests": (True, "Members post help requests and comment on them. Off: no page shows requests, for a "
                            "community that only messages (a practice whose clients shouldn't read each other's); "
                            "what was posted is kept until this is back on."),
    "emails_name_who_wrote": (True, "Emails about unread messages name who wrote. Off: a member's email choices "
                                  "start with \"Don't name who wrote\" ticked, for an inbox others may read (a "
                                  "practice's clients); each may change theirs, and those who chose keep theirs."),
}

# Switching these off takes something away from every member: the switch asks first.
OFF_QUESTIONS = {
    "direct_messaging": "Turn direct messaging off? Members can't read or send messages until it is back on;"
                        " nothing stored is deleted.",
    "member_invites": "Stop members inviting? Only admins will make invite links, and the links members made stop"
                      " working until this is back on. Nobody who has joined is affected.",
    "member_directory": "Hide the members list from members? They will see only the admins, the people they"
                        " have conversations with and those the messaging rules let them start one with, and no"
                        " one's circles; admins still see everyone.",
    "help_requests": "Turn help requests off? Members can't read, post or comment on requests until this is back"
                     " on; nothing posted is deleted.",
}

flag_changing = Namespace().signal("flag-changing")  # before: a listener may raise ChangeRefused
flag_changed = Namespace().signal("flag-changed")  # after the commit


class ChangeRefused(Exception):
    """A flag_changing listener refused the change (nothing was changed); str() says why in one line."""


# Every request asks about flags and they almost never change, so each process keeps
# them instead of querying per request. set_flag() replaces a stamp file in the
# instance folder, which every worker on the host stats (microseconds) per request to
# notice a change at once; changes made another way (another host, SQL by hand) are
# picked up within CACHE_SECONDS.
CACHE_SECONDS = 30.0
STAMP_FILE = "flags-changed"


def all_flags() -> dict[str, bool]:
    """Every known flag's state: the same for a whole request, read from the process cache."""
    flags = g.get("wb_flags")
    if flags is None:
        flags = g.wb_flags = _cached_flags()
    return flags


def _stamp() -> tuple | None:
    try:
        stat = os.stat(os.path.join(current_app.instance_path, STAMP_FILE))
    except OSError:
        return None
    return (stat.st_ino, stat.st_mtime_ns)


def _cached_flags() -> dict[str, bool]:
    stamp, now = _stamp(), time.monotonic()  # the stamp is read before the table: a change in between only costs a reread
    cached = current_app.extensions.get("wb_flags")  # (stamp, loaded_at, flags), replaced whole: thread-safe
    if cached is None or cached[0] != stamp or now - cached[1] > CACHE_SECONDS:
        stored = dict(db.session.execute(select(FeatureFlag.name, FeatureFlag.enabled)).all())
        flags = {name: stored.get(name, default) for name, (default, _) in KNOWN_FLAGS.items()}
        cached = current_app.extensions["wb_flags"] = (stamp, now, flags)
    return cached[2]


def _announce_change() -> None:
    """Make every process sharing this instance folder reread the flags; this one rereads now."""
    current_app.extensions.pop("wb_flags", None)
    path = os.path.join(current_app.instance_path, STAMP_FILE)
    scratch = f"{path}.{os.getpid()}-{time.monotonic_ns()}"
    try:
        with open(scratch, "w") as handle:
            handle.write(utcnow().isoformat())
        os.replace(scratch, path)  # a new inode each time, so even same-tick changes are seen
    except OSError as error:
        log.warning("could not write the flag stamp; other processes see the change within %ss", CACHE_SECONDS,
                    extra={"error": type(error).__name__})
    _cached_flags()


def is_enabled(name: str) -> bool:
    """True when the flag is on."""
    return all_flags().get(name, False)


def may_invite(member) -> bool:
    """Whether member may make invite links (and theirs work): admins always; members while
    member_invites is on."""
    return member.role == "admin" or is_enabled("member_invites")


def ensure_flags() -> None:
    """Create a row for every known flag that has none, at its default."""
    existing = set(db.session.scalars(select(FeatureFlag.name)))
    for name, (default, description) in KNOWN_FLAGS.items():
        if name not in existing:
            db.session.add(FeatureFlag(name=name, enabled=default, description=description))
    db.session.commit()


def set_flag(name: str, enabled: bool, actor=None) -> AuditEvent:
    """Switch a flag, record who did it, and tell listeners; returns the audit event. ChangeRefused when
    a listener refused it beforehand (nothing changed)."""
    if name not in KNOWN_FLAGS:
        raise KeyError(name)
    flag_changing.send(name, enabled=enabled)
    flag = db.session.get(FeatureFlag, name)
    if flag is None:
        default, description = KNOWN_FLAGS[name]
        flag = FeatureFlag(name=name, enabled=default, description=description)
        db.session.add(flag)
    old = bool(flag.enabled)
    flag.enabled = enabled
    flag.updated_at = utcnow()
    flag.updated_by_id = actor.id if actor is not None else None
    event = AuditEvent(
        actor_id=flag.updated_by_id,
        action="flag.changed",
        subject=name,
        old_value="on" if old else "off",
        new_value="on" if enabled else "off",
    )
    db.session.add(event)
    db.session.commit()
    g.pop("wb_flags", None)
    _announce_change()
    log.info(
        "flag changed",
        extra={"event": "flag.changed", "flag": name, "old": old, "new": enabled, "actor_id": event.actor_id},
    )
    flag_changed.send(name, enabled=enabled)
    return event


def flag_history(name: str | None = None, limit: int = 10) -> list[AuditEvent]:
    """The latest flag changes, newest first."""
    query = select(AuditEvent).where(AuditEvent.action == "flag.changed")
    if name:
        query = query.where(AuditEvent.subject == name)
    return list(db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)))


def flag_words(name: str) -> str:
    """A flag as the admin page names it: "Direct messaging" (not direct_messaging)."""
    return name.replace("_", " ").capitalize()


def flag_rows(names=None) -> list[dict]:
    """Known flags with state, description and latest change, as the admin pages show them (two queries)."""
    names = list(names or KNOWN_FLAGS)
    states = all_flags()
    newest = (
        select(func.max(AuditEvent.id))
        .where(AuditEvent.action == "flag.changed", AuditEvent.subject.in_(names))
        .group_by(AuditEvent.subject)
    )
    latest = {event.subject: event for event in db.session.scalars(select(AuditEvent).where(AuditEvent.id.in_(newest)))}
    return [
        {"name": name, "enabled": states[name], "description": KNOWN_FLAGS[name][1], "last_change": latest.get(name),
         "off_question": OFF_QUESTIONS.get(name)}
        for name in names
    ]


def flag_row(name: str) -> dict:
    """One flag's row (see flag_rows)."""
    return flag_rows([name])[0]
