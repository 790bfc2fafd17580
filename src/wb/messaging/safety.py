"""Blocks and reports. A report records who, whom, when and why, never message text."""
from __future__ import annotations

from flask import abort
from sqlalchemy import and_, case, func, literal, or_, select, union, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import AuditEvent, User, utcnow
from . import live, policy
from .conversations import audit
from .models import REPORT_NOTE_MAX, Block, ConversationMembership, Report, random_id
from .policy import Refusal


BLOCKED = "member.blocked"  # the audit log's record that a block was made, kept after it is lifted


def check_can_block(blocker, blocked) -> None:
    """Refuse a block that can't be (asked before the confirmation, and again at the block)."""
    if blocked.id == blocker.id:
        raise Refusal("You can't block yourself.", 400)


def block(blocker, blocked) -> None:
    """Block a member; idempotent."""
    check_can_block(blocker, blocked)
    exists = db.session.scalar(
        select(Block).where(Block.blocker_id == blocker.id, Block.blocked_id == blocked.id)
    )
    if exists is None:
        db.session.add(Block(blocker_id=blocker.id, blocked_id=blocked.id))
        # Kept after an unblock, for keeps_as_evidence (admins' pages never list it: a block is private).
        db.session.add(AuditEvent(actor_id=blocker.id, action=BLOCKED, subject=f"user:{blocked.id}"))
        live.record([blocker.id], "blocked")
        tell_compose_changed(blocker.id, [blocked.id])
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            return
        audit("member.blocked", user_id=blocker.id, other_user_id=blocked.id)


def unblock(blocker, blocked) -> None:
    """Lift a block; idempotent."""
    row = db.session.scalar(select(Block).where(Block.blocker_id == blocker.id, Block.blocked_id == blocked.id))
    if row is not None:
        db.session.delete(row)
        live.record([blocker.id], "blocked")
        tell_compose_changed(blocker.id, [blocked.id])
        db.session.commit()
        audit("member.unblocked", user_id=blocker.id, other_user_id=blocked.id)


def tell_compose_changed(member_id: int, others=None, unwritten_only: bool = False) -> None:
    """Whether others may write to member_id changed (a pause, a block): their open thread with them
    is drawn again, its box closed or open. The event's kind ("compose") is the same for a block as
    for a pause, so a block is never told (with the session's next commit).

    unwritten_only: only conversations with no message yet (who may *start* one changed; a reply
    is always allowed)."""
    query = select(ConversationMembership.user_id, ConversationMembership.conversation_id).where(
        ConversationMembership.other_user_id == member_id)
    if others is not None:
        query = query.where(ConversationMembership.user_id.in_(list(others)))
    if unwritten_only:
        query = query.where(ConversationMembership.last_message_id.is_(None))
    for other_id, conversation_id in db.session.execute(query).all():
        live.record([other_id], "compose", conversation_id)


def has_blocked(blocker, other) -> bool:
    if not blocker.is_authenticated or other is None:
        return False
    return db.session.scalar(
        select(func.count(Block.id)).where(Block.blocker_id == blocker.id, Block.blocked_id == other.id)
    ) > 0


def keeps_as_evidence(holder_id: int, sender_id: int) -> bool:
    """Whether holder_id blocked (ever: lifting a block gave it back: an API tester) or reported
    sender_id: then they keep their copy of the sender's messages, which the sender's "Delete for both"
    deletes for the sender only (a reported scammer deleted every message from his victim's copy,
    leaving nothing to show an admin: an outside tester), and the sender isn't told."""
    return holder_id in set(db.session.scalars(holders_of(sender_id)))


def holders_of(sender_id: int):
    """Who keeps sender_id's messages to them (keeps_as_evidence): every member who blocks or ever
    blocked them, or reported them (a statement of one column)."""
    return union(
        select(Block.blocker_id).where(Block.blocked_id == sender_id),
        select(AuditEvent.actor_id).where(AuditEvent.action == BLOCKED, AuditEvent.subject == f"user:{sender_id}",
                                          AuditEvent.actor_id.is_not(None)),
        select(Report.reporter_id).where(Report.reported_id == sender_id))


def blocked_members(member) -> list[User]:
    """Members this member has blocked, for their settings page."""
    return list(
        db.session.scalars(
            select(User).join(Block, Block.blocked_id == User.id)
            .where(Block.blocker_id == member.id).order_by(User.username)
        )
    )


def report(reporter, reported, reason: str, note: str = "") -> tuple[Report, bool]:
    """File a moderation report (reason and note as ReportForm checked them); never stores message text.
    Returns the report and whether it is new (False: added to the reporter's open one about them)."""
    if reported.id == reporter.id:
        raise Refusal("You can't report yourself.", 400)
    for _turn in range(5):  # each turn that ends without an answer lost a race that has now ended
        waiting = _open_report(reporter.id, reported.id, reason)
        if waiting is not None:  # one open report per pair and reason for the admins: more of the same joins it
            # A note added counts nothing against the day's reports (the open report's note holds 1,000
            # characters at most): eight notes on one had used a day's ten, and a second person couldn't be
            # reported (an API tester).
            if _added_to(waiting, note):
                return waiting, False
            continue  # resolved since (then this is a new report), or changed: asked again
        row = _filed(reporter, reported, reason, note)
        if row is not None:
            return row, True
    raise Refusal("Your report couldn't be filed just now: try again in a moment.", 409)


def _filed(reporter, reported, reason: str, note: str) -> Report | None:
    """A new report (its id drawn at random, as a conversation's), counted against the reporter's day;
    None when the same report (reporter, member and reason) was filed at the same moment by another
    request (uq_reports_open): the note then joins that one (or, the id drawn being taken, report draws again).
    Twelve at once had filed two, each counting, and lost two notes (an outside tester). Counted only
    by the request whose report was filed; refused by the count (another report took the day's last
    since the check), the report is taken back before anyone is told of it."""
    policy.refuse_when_spent("report", "REPORT_RATE_LIMIT", reporter)  # the usual refusal writes nothing
    row = Report(id=random_id(), reporter_id=reporter.id, reported_id=reported.id, reason=reason, note=note,
                 conversation_id=_written_between(reporter.id, reported.id))
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    policy.count_or_take_back("report", "REPORT_RATE_LIMIT", reporter, Report, row.id)
    _tell_the_admins_who_read(row)
    db.session.commit()
    audit("member.reported", report_id=row.id, user_id=reporter.id, other_user_id=reported.id)
    return row


def _written_between(reporter_id: int, reported_id: int) -> int | None:
    """Their conversation's id, if a message was written in it (an unsent draft is no conversation
    between them: an API tester saw "Yes"), from the main database's metadata alone: a report is filed
    while the messaging database is down or damaged too (it was a 503 that lost the note: a re-check
    tester)."""
    CM = ConversationMembership
    return db.session.scalar(select(CM.conversation_id).where(
        CM.user_id.in_((reporter_id, reported_id)), CM.other_user_id.in_((reporter_id, reported_id)),
        CM.user_id != CM.other_user_id, CM.last_message_id.is_not(None)).limit(1))


def _open_report(reporter_id: int, reported_id: int, reason: str) -> Report | None:
    """The reporter's open report about the member for that reason. Another reason is a report of its
    own: added to the first as a line of its note, it kept the first reason in the admins' Reason column
    and, once the note was full, a threat could no longer be reported at all (a re-check tester)."""
    return db.session.scalar(select(Report).where(
        Report.reporter_id == reporter_id, Report.reported_id == reported_id, Report.reason == reason,
        Report.status == "open").order_by(Report.created_at.desc(), Report.id.desc()).limit(1))


# A report's notes, one under another (_added_to): what a reporter added later follows a blank line.
NOTE_SEPARATOR = "\n\n"


def _as_entry(note: str) -> str:
    """The note as it stands among the others, separators on both sides (notes are trimmed: none
    begins or ends with a line break)."""
    return f"{NOTE_SEPARATOR}{note}{NOTE_SEPARATOR}"


def _holds(notes: str, note: str) -> bool:
    """Whether the report's notes have this very note as one of them, whole: a request sent again
    (its answer lost) adds its note once. Found anywhere inside the notes, a shorter note was taken
    for there: one of 87 "y" after one of 88 was answered 200 and added nowhere, though the report
    had no room for it (a re-check tester). A note with blank lines of its own reads as several
    entries: one of its paragraphs sent alone later counts as there."""
    return _as_entry(note) in _as_entry(notes)


def _added_to(waiting: Report, note: str) -> bool:
    """Add the note under the open report's own, in one statement (a read, then a write, lost notes
    that other requests added in between, and checked the length against a note since grown: an
    outside tester). True when the note is in the open report now (added, there already, or none
    given); False when the report was resolved meanwhile (or changed: asked again); a Refusal when
    the note doesn't fit."""
    if not note:
        return True
    table = Report.__table__
    # Where a note is found in another: instr on SQLite, strpos on PostgreSQL (LIKE ignores case on SQLite).
    position = func.instr if db.session.get_bind(mapper=Report).dialect.name == "sqlite" else func.strpos
    separator = case((table.c.note == "", ""), else_=NOTE_SEPARATOR)
    between_separators = literal(NOTE_SEPARATOR) + table.c.note + literal(NOTE_SEPARATOR)
    added = db.session.execute(
        update(table).where(table.c.id == waiting.id, table.c.status == "open",
                            position(between_separators, _as_entry(note)) == 0,
                            func.length(table.c.note) + func.length(separator) + len(note) <= REPORT_NOTE_MAX)
        .values(note=table.c.note + separator + note)).rowcount
    ids = {"report_id": waiting.id, "user_id": waiting.reporter_id, "other_user_id": waiting.reported_id}
    db.session.commit()
    if added:
        audit("member.reported", **ids)
        return True
    now = db.session.scalar(select(Report).where(Report.id == ids["report_id"]).execution_options(populate_existing=True))
    if now is None or now.status != "open":
        return False
    return _refuse_unless_fits(now, note)


def _refuse_unless_fits(waiting: Report, note: str) -> bool:
    """A note that would make the open report's notes longer than a note may be is refused, saying
    how much still fits (it was a report of its own: a blocked member filed ten at once with long
    notes, an outside tester). True when the note is there already; False when it fits (after all:
    asked again)."""
    if _holds(waiting.note, note):
        return True
    room = REPORT_NOTE_MAX - len(waiting.note) - (len(NOTE_SEPARATOR) if waiting.note else 0)
    if len(note) > room:
        raise Refusal(
            f"Your open report about this member for this reason holds {len(waiting.note):,} characters of notes, and "
            f"a report's notes hold {REPORT_NOTE_MAX:,} at most; an admin will read them. "
            + (f"Shorten this note to at most {room:,} characters to add it." if room > 0
               else "It has no room for more: wait until an admin has resolved it."), 422, field="note")
    return False


def _for_admin(admin):
    """The reports this admin handles: all but those about themselves (a practice made a therapist
    an admin, as the README says, and she read a client's report about her, note and name, and
    could mark it resolved: an outside tester). Not even when no other admin is left: one who
    removed the other admin read it then. It waits for another admin."""
    if admin is None:
        return True
    chain, since = made_admin_by(admin)
    mine = Report.reported_id == admin.id
    if chain:  # filed before they were made an admin, by one of the admins who made them one
        mine = or_(mine, and_(Report.reported_id.in_(chain), Report.created_at < since))
    return ~mine


def _tell_the_admins_who_read(row: Report) -> None:
    """The count beside Admin changed on the open pages of the admins who read this report (_for_admin): not
    of one it is about, who would learn of it from their page being told of a change they can't see
    (caller commits). A query per admin; a community has a few."""
    with db.session.no_autoflush:  # beside a change that is written (and checked) at its commit
        readers = [admin.id for admin in active_admins()
                   if db.session.scalar(select(Report.id).where(Report.id == row.id, _for_admin(admin))) is not None]
    live.record(readers, "admin")


def tell_every_admin() -> None:
    """What waits for every admin changed (a member waiting for approval, or approved): their open pages
    draw the count beside Admin again (caller commits). A report tells only its readers (above)."""
    with db.session.no_autoflush:  # beside a change that is written at its commit
        live.record([admin.id for admin in active_admins()], "admin")


def active_admins() -> list[User]:
    """Every admin who may act now (not suspended, not gone)."""
    return list(db.session.scalars(select(User).where(User.role == "admin", User.status == "active",
                                                      User.deleted_at.is_(None))))


def hidden_from(admin):
    """The reports this admin may not read (a condition on Report): the rest of _for_admin's."""
    return ~_for_admin(admin)


def made_admin_by(admin) -> tuple[set[int], object]:
    """Who made this admin an admin, who made them one, and so on, and when this one was made: a
    report filed before then about any of them is not theirs to read. A reported admin made a new
    account an admin and read, as it, the report about them, who filed it and the note (a therapy
    practice's tester); an admin made one before the report reads it, as before."""
    from ..auth.service import MADE_ADMIN

    promoted = {}
    for subject, actor_id, at in db.session.execute(select(AuditEvent.subject, AuditEvent.actor_id, AuditEvent.created_at)
                                                    .where(AuditEvent.action == MADE_ADMIN).order_by(AuditEvent.id)).all():
        promoted[subject] = (actor_id, at)  # the latest promotion of each member counts
    since = promoted.get(f"user:{admin.id}", (None, None))[1]
    chain, member_id = set(), admin.id
    while (actor_id := promoted.get(f"user:{member_id}", (None, None))[0]) is not None and actor_id not in chain | {admin.id}:
        chain.add(actor_id)
        member_id = actor_id
    return chain, since


def others_can_handle(admin) -> bool:
    """Whether an active admin other than this one exists (one made an admin before a report reads it)."""
    return db.session.scalar(select(User.id).where(
        User.role == "admin", User.status == "active", User.deleted_at.is_(None), User.id != admin.id).limit(1)) is not None


def waiting_for_another_admin(reported) -> str | None:
    """Why a report about this member reaches no admin yet, in words for the reporter (reports about an
    admin go to the other admins, and there are none now), or None: an admin will read it."""
    if reported.is_admin and not others_can_handle(reported):
        return (f"{reported.name} is the only admin here, so your report waits until there is another; "
                "they aren't told about it.")
    return None


def seen_by_no_admin() -> set[int]:
    """The open reports no active admin may read (_for_admin), by id: whoever runs the server resolves
    them (`./wb reports`). Reported Ada, the only admin, made Ben one: neither reads it (a therapy
    practice's tester). A query per admin; a community has a few."""
    unseen = set(db.session.scalars(select(Report.id).where(Report.status == "open")))
    for admin in active_admins():
        if not unseen:
            break
        unseen -= set(db.session.scalars(select(Report.id).where(Report.id.in_(unseen), _for_admin(admin))))
    return unseen


def open_reports_about(member_ids) -> dict[int, int]:
    """How many open reports are about each of these members (those with none left out), in one query:
    making one of them an admin says so first (a reported clinician was made an admin without a word
    of it: a therapy practice's tester)."""
    if not member_ids:
        return {}
    return dict(db.session.execute(select(Report.reported_id, func.count(Report.id)).where(
        Report.status == "open", Report.reported_id.in_(member_ids)).group_by(Report.reported_id)).all())


def reports(status: str = "open", admin=None) -> list[Report]:
    """The reports this admin handles, newest first (by when: ids are drawn at random)."""
    return list(db.session.scalars(select(Report).where(Report.status == status, _for_admin(admin))
                                   .order_by(Report.created_at.desc(), Report.id.desc())))


def open_report_count(admin=None) -> int:
    """How many reports wait for an admin (this one): the count beside "Admin" in the navigation."""
    return db.session.scalar(select(func.count(Report.id)).where(Report.status == "open", _for_admin(admin)))


REPORT_RESOLVED = "report.resolved"  # the audit log's names for them (Admin → Members lists them)
REPORT_REOPENED = "report.reopened"


def report_for(admin, report_id) -> Report:
    """A report this admin handles (not one about themselves: _for_admin), or 404."""
    row = db.session.get(Report, report_id)
    if row is None or db.session.scalar(select(Report.id).where(Report.id == row.id, _for_admin(admin))) is None:
        abort(404, "That report doesn't exist.")
    return row


def resolve_report(admin, report_id) -> Report:
    """Mark a report resolved, recorded in the audit log with the admin (None: the command line, `./wb
    reports resolve`) and the member it is about."""
    row = report_for(admin, report_id)
    if row.status != "resolved":
        admin_id = admin.id if admin is not None else None
        row.status = "resolved"
        row.resolved_at = utcnow()
        row.resolved_by_id = admin_id
        db.session.add(AuditEvent(actor_id=admin_id, action=REPORT_RESOLVED, subject=f"user:{row.reported_id}",
                                  new_value=f"report {row.id}"))
        _tell_the_admins_who_read(row)
        db.session.commit()
        audit("report.resolved", report_id=row.id, user_id=admin_id)
    return row


def reopen_report(admin, report_id) -> Report:
    """Open a resolved report again (a volunteer admin's tap on "Mark resolved" had no way back: an
    outside tester), recorded as resolving is. Refused while the reporter has another open report
    about the member for that reason (one filed since): that one is listed already."""
    row = report_for(admin, report_id)
    if row.status == "open":
        return row
    taken = Refusal("The same member filed another report like it since, and that one is open: it is listed "
                    "under Open reports.", 409)
    if _open_report(row.reporter_id, row.reported_id, row.reason) is not None:
        raise taken
    row.status, row.resolved_at, row.resolved_by_id = "open", None, None
    db.session.add(AuditEvent(actor_id=admin.id, action=REPORT_REOPENED, subject=f"user:{row.reported_id}",
                              new_value=f"report {row.id}"))
    _tell_the_admins_who_read(row)
    try:
        db.session.commit()
    except IntegrityError:  # filed at the same moment (uq_reports_open)
        db.session.rollback()
        raise taken from None
    audit("report.reopened", report_id=row.id, user_id=admin.id)
    return row
