"""Leaving: a member closes their own account, or an admin or operator erases one on request.

What stays is what the other member of each conversation needs (their record of it) and what the
audit log needs (ids and times); never message text in the log or the main database.
"""
from __future__ import annotations

import logging
import re
from datetime import timedelta

from markupsafe import Markup, escape
from sqlalchemy import delete, func, select, update

from ..api.models import AccessToken, IdempotencyKey
from ..auth.models import PasswordReset
from ..circles.models import CircleMember
from ..database import truncate_wal
from ..extensions import db
from ..messaging import live
from ..messaging.metadata import recount_unread
from ..messaging.models import Conversation, ConversationMembership, Message, Report
from ..messaging.ops.backup import PRE_RESTORE, list_backups
from ..messaging.ops.database import messaging_engine, require_messages_readable, schema_present
from ..messaging.ops.purge import checkpoint_after_wipe, wipe_text
from ..models import ERASED_USERNAME_PREFIX, AuditEvent, Comment, HelpRequest, User, utcnow
from ..notifications.models import EmailSettings, Notice
from ..requests.service import remove_posts_of

log = logging.getLogger("wb.people")

CLOSED, ERASED = "member.closed", "member.erased"
ERASED_REQUEST_TITLE = "Erased request"
NAMING_ACTIONS = ("circle.member_added", "circle.member_removed")  # audit events that record a username
ERASED_MARK = re.compile(r"user:\d+")  # what erasure leaves of a username in them (erased_mark)
TEXT_ERASED, TEXT_KEPT = "sent text erased", "sent text kept"


def erased_mark(member_id: int) -> str:
    """What an erased member's username becomes where the audit log recorded it."""
    return f"user:{member_id}"


def is_erased_mark(value) -> bool:
    """Whether an audit value is what erasure left of a username: pages say "former member"."""
    return isinstance(value, str) and ERASED_MARK.fullmatch(value) is not None


def is_only_admin(member: User) -> bool:
    """True when no other active admin would be left without this member."""
    if not member.is_admin:
        return False
    others = db.session.scalar(select(func.count()).select_from(User).where(
        User.role == "admin", User.status == "active", User.deleted_at.is_(None), User.id != member.id))
    return not others


def why_not_close(member: User) -> str | None:
    """Why this member may not close their own account now, or None: the last admin may not."""
    if not is_only_admin(member):
        return None
    return ("You are the community's only admin. Ask an operator to create another admin "
            "(./wb create-admin) before you close your account.")


def close_account(member: User, erase_text: bool = False, actor: User | None = None, action: str = CLOSED,
                  remove_posts: bool = False) -> int:
    """Close a member's account: signed out everywhere (cookies and API tokens), unable to sign in,
    "former member" to others, no more emails; with erase_text, the text of every message they sent
    is wiped ("Message deleted"); with remove_posts, their help requests and comments are removed
    first. Returns how many messages' text was wiped.

    With erase_text the messaging database is asked first: when it can't be reached, the error
    comes before anything is changed (a half-erased member would be told they were erased, and a
    member closing with both boxes ticked lost their posts and kept their account); so does a missing
    or damaged one (MessagingUnavailable)."""
    if erase_text:
        require_messages_readable(member.id)
    if remove_posts:
        remove_posts_of(actor or member, member)
    member.deleted_at = member.deleted_at or utcnow()
    member.end_sessions()
    live.record([member.id], "account")  # their held live requests end now
    for model in (AccessToken, IdempotencyKey, EmailSettings, Notice, PasswordReset):  # an unused reset link too
        db.session.execute(delete(model).where(model.user_id == member.id))
    if db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == action, AuditEvent.subject == f"user:{member.id}")
                         .limit(1)) is None:  # an erasure run again to finish its wipe is no second one (a re-check tester)
        db.session.add(AuditEvent(
            actor_id=actor.id if actor is not None else None, action=action, subject=f"user:{member.id}",
            new_value=TEXT_ERASED if erase_text else TEXT_KEPT,
        ))
    db.session.commit()
    wiped = erase_sent_text(member.id) if erase_text else 0
    # Their conversations' other members see a former member now (and "Message deleted" where the
    # text went): an open thread of theirs is drawn again. Only where they have the conversation
    # (a draft of the leaving member's is nothing to them).
    partners = db.session.execute(select(ConversationMembership.user_id, ConversationMembership.conversation_id)
                                  .where(ConversationMembership.other_user_id == member.id)).all()
    for partner_id, conversation_id in partners:
        live.record([partner_id], "left", conversation_id)
    db.session.commit()
    truncate_wal(db.engine)  # the address, tokens and (erased) profile leave the WAL's old pages too
    log.info(action, extra={"event": action, "user_id": member.id, "wiped": wiped,
                            "actor_id": actor.id if actor is not None else None})
    return wiped


def erase_member(member: User, actor: User | None = None) -> int:
    """Erasure on request: close the account, wipe the text of every message they sent, and remove
    their profile text, username, email address, tokens and circles; ids and times stay for the audit."""
    require_messages_readable(member.id)  # the messaging database answers, or nothing changes (see close_account)
    old_username = member.username
    member.username = _erased_username(member)
    member.display_name = ""
    member.bio = ""
    member.password_hash = "!"  # no password hashes to this: nobody signs in as them again
    # How far they read ("Seen" under the other member's messages, the API's other_last_read_message_id)
    # is theirs too: it stayed after an erasure (an API tester). Their receipts off, nothing moves it again.
    member.read_receipts = False
    db.session.execute(update(ConversationMembership).where(ConversationMembership.user_id == member.id)
                       .values(seen_message_id=None))
    db.session.execute(delete(CircleMember).where(CircleMember.user_id == member.id))
    # What they wrote outside messages: their requests and comments keep their place in others'
    # threads, without their words; the notes of reports they made go; the audit log names them by id.
    db.session.execute(update(HelpRequest).where(HelpRequest.author_id == member.id)
                       .values(title=ERASED_REQUEST_TITLE, body=""))
    db.session.execute(update(Comment).where(Comment.author_id == member.id).values(body=""))
    db.session.execute(update(Report).where(Report.reporter_id == member.id).values(note=""))
    db.session.execute(delete(AuditEvent).where(AuditEvent.action == User.RENAMED, AuditEvent.actor_id == member.id))
    for column in (AuditEvent.old_value, AuditEvent.new_value):
        db.session.execute(update(AuditEvent).where(AuditEvent.action.in_(NAMING_ACTIONS), column == old_username)
                           .values({column: erased_mark(member.id)}))
    _unname_reset_links_made_by(member)
    return close_account(member, erase_text=True, actor=actor, action=ERASED)


def _unname_reset_links_made_by(member: User) -> None:
    """The lines "password set with a link made by <name>" of the links they made (an erased admin's
    name stayed on Admin → Members: an outside tester). Each is the used link's own, written in the
    same transaction as its used_at: found by its member and that moment."""
    from ..auth.resets import RESET_LINK_USED

    used = db.session.execute(select(PasswordReset.user_id, PasswordReset.used_at).where(
        PasswordReset.created_by_id == member.id, PasswordReset.used_at.is_not(None))).all()
    for member_id, used_at in used:
        db.session.execute(update(AuditEvent).where(
            AuditEvent.action == RESET_LINK_USED, AuditEvent.subject == f"user:{member_id}",
            AuditEvent.created_at.between(used_at - timedelta(seconds=5), used_at + timedelta(seconds=5)),
        ).values(new_value="password set with a link made by a former member"))


def erasure_warnings(member: User) -> list[str]:
    """What to weigh before erasing this member, for the admin's page and the operator's prompt: that
    they are an admin, and the open reports about them, whose reported messages go with their text
    (an admin erased a member whose threat was still being looked into, and the evidence went with
    it; an operator erased an admin with one word: outside testers)."""
    warnings = []
    if member.is_admin:
        warnings.append(f"{member.username} is an admin.")
    about = db.session.scalar(select(func.count()).select_from(Report).where(
        Report.reported_id == member.id, Report.status == "open"))
    if about:
        warnings.append(f"{about:,} open report{'' if about == 1 else 's'} {'is' if about == 1 else 'are'} about "
                        "them: erasing wipes the messages reported, the reporter's copy too. Resolve "
                        f"{'it' if about == 1 else 'them'} first if the messages matter.")
    return warnings


def erasure_caveats(html: bool = False) -> list:
    """Where an erased member's words still lie after erase_member, as the admin and the operator are
    told (an outside tester read "wiped for good" and found the text in backups and PostgreSQL's files).
    For a page (html), commands in `backticks` are drawn as code."""
    caveats = ["Backups made before now still hold their text until `./wb messaging backup --keep` rotates them "
               "away; restoring one wipes it again."]
    if list_backups(prefix=PRE_RESTORE):  # never rotated (messaging/ops/backup.py)
        caveats.append("So do the copies restores kept of the database they replaced (`pre-restore-*` in the backups "
                       "folder), until the operator deletes them.")
    postgres = [name for name, engine in (("messaging", messaging_engine()), ("main", db.engine))
                if engine.dialect.name == "postgresql"]
    if postgres:
        caveats.append(f"On PostgreSQL the old row versions stay in the {' and '.join(postgres)} database files until "
                       "`VACUUM FULL` rewrites the tables (messages; users, help_requests, comments, reports, "
                       "audit_events); it locks each table while it runs.")
    # A reporter's note is their own words, and may quote the member's (an operator tester found a message
    # quoted in one after erasure): it stays theirs.
    caveats.append("Reporters' notes stay (Admin → Reports): they are the reporters' own words, even where they "
                   "quote this member's.")
    # A message's text is never in the access log, but paths are, and a path can name the member.
    caveats.append("The server's access log keeps request paths, which can name them (`/people/USERNAME`), "
                   "until it is rotated (logrotate, journald); erasure doesn't reach into it.")
    if html:
        return [Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(caveat)))) for caveat in caveats]
    return caveats


def _erased_username(member: User) -> str:
    """erased-<id>; names with that prefix are kept for erasure (USERNAME_PATTERN's rules), but one
    taken before they were is passed by."""
    name, extra = f"{ERASED_USERNAME_PREFIX}{member.id}", 1
    while (holder := User.by_username(name)) is not None and holder.id != member.id:
        extra += 1
        name = f"{ERASED_USERNAME_PREFIX}{member.id}-{extra}"
    return name


def evidence_kept_in(sender_id: int) -> list[int]:
    """The conversations whose other member blocked or reported this member: closing their account
    with "erase", their messages there stay the other member's copy, as "Delete for both" can't take
    them either (a reported scammer closed his account to wipe his victim's copy: a re-check tester).
    None once erased on request: the operator's erasure takes everything."""
    from ..messaging.safety import holders_of

    if db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == ERASED,
                                                     AuditEvent.subject == f"user:{sender_id}").limit(1)) is not None:
        return []
    holders = list(db.session.scalars(holders_of(sender_id)))
    if not holders:
        return []
    return list(db.session.scalars(select(ConversationMembership.conversation_id).where(
        ConversationMembership.other_user_id == sender_id, ConversationMembership.user_id.in_(holders))))


def erase_sent_text(sender_id: int) -> int:
    """Wipe the text of every message this member sent (but where evidence_kept_in keeps it), then
    bring both members' metadata up to date (unread counts, the list's previews) in each conversation
    it touched."""
    if not schema_present():
        return 0  # messaging was never switched on: no messages to wipe
    unwiped = (Message.sender_id == sender_id) & ((Message.body != "") | Message.deleted_at.is_(None))
    kept = evidence_kept_in(sender_id)
    if kept:
        unwiped &= Message.conversation_id.not_in(kept)
    conversation_ids = list(db.session.scalars(select(Message.conversation_id).where(unwiped).distinct()))
    db.session.commit()  # end the read: SQLite writes wait for it
    wiped = wipe_text(unwiped)
    checkpoint_after_wipe()
    for conversation in db.session.scalars(select(Conversation).where(Conversation.id.in_(conversation_ids))).all():
        CM = ConversationMembership
        db.session.execute(update(CM).where(CM.conversation_id == conversation.id).values(preview_changed_at=utcnow())
                           .execution_options(synchronize_session=False))
        recount_unread(conversation, conversation.other_id(sender_id))
    return wiped


def text_erased_members() -> list[int]:
    """The ids of members whose sent text was erased, from the audit log, for `./wb messaging verify`."""
    subjects = db.session.scalars(select(AuditEvent.subject).where(
        (AuditEvent.action == ERASED) | ((AuditEvent.action == CLOSED) & (AuditEvent.new_value == TEXT_ERASED)))).all()
    return sorted({int(subject.split(":", 1)[1]) for subject in subjects})


def erasure_leftovers() -> list[str]:
    """What remains of members erased on request besides ids and times (profile text, an address,
    tokens), one line per member, for `./wb messaging verify`."""
    erased = db.session.scalars(select(AuditEvent.subject).where(AuditEvent.action == ERASED)).all()
    ids = sorted({int(subject.split(":", 1)[1]) for subject in erased})
    problems = []
    for user in db.session.scalars(select(User).where(User.id.in_(ids))):
        kept = [name for name, value in (("display name", user.display_name), ("bio", user.bio)) if value]
        kept += [what for what, model in (("email address", EmailSettings), ("API tokens", AccessToken))
                 if db.session.scalar(select(func.count()).select_from(model).where(model.user_id == user.id))]
        if not user.username.startswith(ERASED_USERNAME_PREFIX):
            kept.append("username")
        for what, model, wrote in (("request text", HelpRequest, (HelpRequest.body != "") | (HelpRequest.title != ERASED_REQUEST_TITLE)),
                                   ("comment text", Comment, Comment.body != ""), ("report notes", Report, Report.note != "")):
            author = model.reporter_id if model is Report else model.author_id
            if db.session.scalar(select(func.count()).select_from(model).where(author == user.id, wrote)):
                kept.append(what)
        if kept:
            problems.append(f"member {user.id} was erased, yet their account still holds: {', '.join(kept)}")
    return problems
