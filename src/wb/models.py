"""Main-database models: members, invites, help requests, comments, flags, audit events."""
from __future__ import annotations

import functools
import re
import secrets
from datetime import datetime, timedelta, timezone

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, and_, bindparam, false, func, select, true
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db
from .security import whole_number
from .text import (
    different_numbers,
    has_control_characters,
    holds_name,
    misspells_name,
    name_keys,
    name_words,
    run_together,
)

USERNAME_PATTERN = re.compile(r"^[a-z0-9_-]{3,32}$")
ERASED_USERNAME_PREFIX = "erased-"  # erasure renames an account erased-<id>; nobody else may take such a name
ROLES = ("member", "admin")
STATUSES = ("pending", "active", "suspended")


@functools.lru_cache(maxsize=4)
def _unmatchable_hash(method: str) -> str:
    """A hash, made once per method, of a random password nobody types (User.check_no_password)."""
    return generate_password_hash(secrets.token_urlsafe(32), method=method)


def utcnow() -> datetime:
    """Naive UTC now: what every timestamp column stores, on SQLite and PostgreSQL alike."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased; the allowed alphabet has no upper case, so unique == unique in any case.
    username: Mapped[str] = mapped_column(String(32), unique=True)
    display_name: Mapped[str] = mapped_column(String(80), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="member")
    status: Mapped[str] = mapped_column(String(16), default="active")
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    # Part of every session cookie (see get_id): raising it turns away every cookie made before.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    # Who may start a conversation with this member (messaging/rules/): "rules" (whoever the
    # community's rules allow), "circles" (only members sharing a circle), "nobody" (nobody new).
    message_from: Mapped[str] = mapped_column(String(16), default="rules", server_default="rules")
    # Whether the other member of a conversation sees "Seen" for this member's reads; reciprocal
    # (messaging/reads.py): a member who hides theirs sees nobody's.
    read_receipts: Mapped[bool] = mapped_column(default=True, server_default=true())
    # The member's own "Pause messages": nobody but staff may write to them, in new or existing
    # conversations, until they turn it off (messaging/rules reads it; it reads like a block).
    messages_paused: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The name this member goes by was another member's too when they chose it (with the directory
    # off only names the member sees are refused: visibility.py). Others see it with the @username,
    # so a client who took another's name reads apart from them; the member themselves doesn't
    # (it would tell them the name was taken). See note_name_shared and name_of.
    name_shared: Mapped[bool] = mapped_column(default=False, server_default=false())
    # A member's change of display name is kept (an audit event, erased with them), and the name they
    # left stays theirs this long: another member took "Alice Moreno" the minute Alice became
    # "Alice M", and her neighbours' inboxes showed him under her name (an outside tester).
    RENAMED = "member.renamed"
    FORMER_NAME_DAYS = 30
    NAME_HELD = timedelta(days=1)  # a name left sooner than this was only tried: it stays free

    def set_password(self, password: str) -> None:
        """Store a salted hash of the password."""
        from flask import current_app

        self.password_hash = generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])

    def check_password(self, password: str) -> bool:
        """True when the password matches the stored hash."""
        if "$" not in self.password_hash:  # an erased account's "!" matches nothing, as long as any wrong password
            return User.check_no_password(password)
        return check_password_hash(self.password_hash, password)

    @staticmethod
    def check_no_password(password: str) -> bool:
        """False, after the work check_password does: a sign-in for a username nobody has costs as long
        as a wrong password, so its answer's time doesn't tell who has an account (an outside tester
        timed ~10 ms against scrypt's 200-1000)."""
        from flask import current_app

        check_password_hash(_unmatchable_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
        return False

    @property
    def name(self) -> str:
        """What other members see: the display name, or the username."""
        return User.name_of(self)

    @property
    def own_name(self) -> str:
        """The name as its holder sees it, never with the "(@username)" others may read after it: an
        email greeting a member with it told them another member goes by their name (a re-check tester)."""
        return self.display_name or self.username

    @staticmethod
    def name_of(account) -> str:
        """name, for a User or for a plain row with its display_name, username and name_shared:
        with "(@username)" after it when the name was another's too (name_shared), except to the
        member themselves."""
        name = account.display_name or account.username
        if account.name_shared and not _is_the_viewer(account.username) and _viewer_sees_a_namesake(account, name):
            return f"{name} (@{account.username})"
        return name

    def note_name_shared(self) -> None:
        """Mark whether the name this member now goes by is also another member's (anyone's, seen or
        not): call when they choose it (registration, a new display name). The caller commits."""
        name = self.display_name or self.username
        self.name_shared = (User.named_like(name, but=self.id) or User.went_by_recently(name, but=self.id)) is not None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_erased(self) -> bool:
        """Erased on request (leaving.erase_member): closed, and named erased-<id>."""
        return self.deleted_at is not None and self.username.startswith(ERASED_USERNAME_PREFIX)

    @property
    def is_pending(self) -> bool:
        return self.status == "pending"

    @property
    def is_active_member(self) -> bool:
        """Account may act: active, not suspended, not deleted."""
        return User.may_act(self)

    @staticmethod
    def may_act(account) -> bool:
        """is_active_member for a User or for a plain row with its status and deleted_at."""
        return account.status == "active" and account.deleted_at is None

    @property
    def is_active(self) -> bool:  # Flask-Login: suspended and deleted members cannot sign in
        return self.status != "suspended" and self.deleted_at is None

    def get_id(self) -> str:
        """What the session cookie stores (Flask-Login's alternative token): id and generation."""
        return f"{self.id}:{self.session_generation}"

    @staticmethod
    def parse_session_id(session_id) -> tuple[int, int] | None:
        """(id, generation) from what get_id wrote; None for anything else, old id-only cookies too."""
        user_id, _, generation = session_id.partition(":") if isinstance(session_id, str) else ("", "", "")
        user_id, generation = whole_number(user_id), whole_number(generation)
        return None if user_id is None or generation is None else (user_id, generation)

    @staticmethod
    def holds_session(account, generation: int) -> bool:
        """True when a cookie of that generation still signs this account in (User or plain row)."""
        return account.session_generation == generation

    def end_sessions(self) -> None:
        """Every session cookie issued so far stops working (the caller commits).

        Counted up in SQL, so two ends at once both count."""
        self.session_generation = User.session_generation + 1

    @classmethod
    def signed_in(cls, user_id: int, generation: int) -> "User | None":
        """The member a session names, if the session is still theirs: loaded on every request
        that needs them, so from one statement built once (session.get rebuilds its query each time)."""
        user = db.session.execute(_signed_in_statement(), {"user_id": user_id}).scalar_one_or_none()
        return user if user is not None and User.holds_session(user, generation) else None

    @classmethod
    def by_username(cls, username: str) -> "User | None":
        """The member with that username, in any case."""
        name = (username or "").strip().lower()
        if has_control_characters(name):
            return None  # no username has one (see USERNAME_PATTERN), and PostgreSQL refuses NUL
        return db.session.scalar(select(cls).where(cls.username == name))

    @classmethod
    def by_written_username(cls, written: str) -> "User | None":
        """The member a username names as a person writes it, with its @ ("@bob", as pages write it) or
        not: "@bob" answered "no member by that name" in the API (a marketplace tester, then an API
        tester) and in `./wb members erase` (a re-check tester)."""
        return cls.by_username((written or "").strip().removeprefix("@"))

    @classmethod
    def named_like(cls, name: str, but: int | None = None, among=None) -> "User | None":
        """Another member (not but; among: a condition on User, if given) whose display name or
        username looks like name (text.name_keys, text.run_together) or is held whole in it
        (text.holds_name), or an admin whose name it is with a letter wrong (text.misspells_name), if any."""
        looks_like = look_alike_test(name)
        if looks_like is None:
            return None
        words = name_words(name)
        # The role in the same select: the admins' names cost no query of their own.
        others = select(cls.id, cls.username, cls.display_name, cls.role).where(
            cls.deleted_at.is_(None), cls.id != (but or 0))
        for row in db.session.execute(others if among is None else others.where(among)).all():
            if looks_like(row.display_name) or looks_like(row.username) \
                    or row.role == "admin" and misspells_name(words, row.display_name or row.username) \
                    and not different_numbers(name, row.display_name or row.username):
                return db.session.get(cls, row.id)
        return None

    @classmethod
    def went_by_recently(cls, name: str, but: int | None = None, among=None) -> "User | None":
        """A member (as named_like) who went by a name that looks like name in the last
        FORMER_NAME_DAYS: one they left after holding it a day or more (RENAMED; a name tried for a
        moment holds nothing: an outside tester's tries locked names away), or theirs when they
        closed their account (another took "Dave Ng" the minute Dave left: an outside tester)."""
        looks_like = look_alike_test(name)
        if looks_like is None:
            return None
        since = utcnow() - timedelta(days=cls.FORMER_NAME_DAYS)
        left = select(cls.id, cls.username, cls.display_name).where(cls.deleted_at >= since, cls.id != (but or 0))
        for row in db.session.execute(left if among is None else left.where(among)).all():
            if looks_like(row.display_name) or looks_like(row.username):
                return db.session.get(cls, row.id)
        renamed = (select(cls.id, cls.created_at.label("joined"), AuditEvent.old_value, AuditEvent.created_at)
                   .join(AuditEvent, AuditEvent.actor_id == cls.id)
                   .where(AuditEvent.action == cls.RENAMED,  # a member renames themselves: the actor
                          AuditEvent.created_at >= since, cls.deleted_at.is_(None), cls.id != (but or 0)))
        for row in db.session.execute(renamed if among is None else renamed.where(among)).all():
            if looks_like(row.old_value) and row.created_at - cls._took_name(row) >= cls.NAME_HELD:
                return db.session.get(cls, row.id)
        return None

    @classmethod
    def _took_name(cls, left) -> datetime:
        """When the member took the name a rename (left) left: their rename to it before, or joining."""
        took = db.session.scalar(select(func.max(AuditEvent.created_at)).where(
            AuditEvent.action == cls.RENAMED, AuditEvent.actor_id == left.id, AuditEvent.new_value == left.old_value,
            AuditEvent.created_at <= left.created_at))
        return took or left.joined

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username}>"


def look_alike_test(name):
    """A test of whether another name looks like name, for User.named_like and went_by_recently: the
    two look alike (text.name_keys, text.run_together) or name holds the other whole (text.holds_name),
    unless a digit of one stands where the other has another (text.different_numbers: "Flat 6", "Flat 9");
    None when name has no visible letter to compare."""
    keys, letters, words = name_keys(name), run_together(name), name_words(name)
    if not keys:
        return None
    return lambda other: (bool(keys & name_keys(other) or letters & run_together(other)) or holds_name(words, other)) \
        and not different_numbers(name, other)


def _is_the_viewer(username: str) -> bool:
    """Whether this request is signed in as that member (outside a request, as in emails: no); by
    username, which every row that draws a name carries."""
    from flask import has_request_context
    from flask_login import current_user

    return has_request_context() and current_user.is_authenticated and current_user.username == username


def _viewer_sees_a_namesake(account, name: str) -> bool:
    """Whether this request's member sees another member who goes, or lately went, by a name like it:
    the "(@username)" is what tells those two apart. To a member who sees only some members it told
    that someone they can't see goes by that name (a client read "Dave Ng (@nina)" and so learnt of a
    Dave Ng: a re-check tester). Outside a request (emails) and to whoever sees every member: yes.
    Asked once a request for each name (few are shared)."""
    from flask import g, has_request_context
    from flask_login import current_user

    from .visibility import listed_for

    if not (has_request_context() and current_user.is_authenticated):
        return True
    among = listed_for(current_user)
    if among is None:
        return True
    seen = g.setdefault("wb_namesakes_seen", {})
    if account.username not in seen:
        others = and_(among, User.username != account.username)
        seen[account.username] = (User.named_like(name, among=others) or User.went_by_recently(name, among=others)) is not None
    return seen[account.username]


@functools.cache
def _signed_in_statement():
    return select(User).where(User.id == bindparam("user_id"))


class Invite(db.Model):
    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True, default=lambda: secrets.token_urlsafe(16))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    max_uses: Mapped[int] = mapped_column(default=1)
    uses: Mapped[int] = mapped_column(default=0)
    auto_approve: Mapped[bool] = mapped_column(default=True)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The circle its newcomers join (an admin's choice), so that under "reach: a shared circle" they
    # can write to their neighbours at once; None: none, or the circle was deleted since.
    circle_id: Mapped[int | None] = mapped_column(
        ForeignKey("circles.id", ondelete="SET NULL", name="fk_invites_circle_id_circles"), default=None)

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    circle = relationship("Circle", foreign_keys=[circle_id])

    @classmethod
    def issue(cls, creator=None, max_uses=1, expires_days=None, auto_approve=True, circle=None) -> "Invite":
        """A new invite, added to the session (caller commits)."""
        invite = cls(
            created_by=creator,
            max_uses=max_uses,
            auto_approve=auto_approve,
            expires_at=utcnow() + timedelta(days=expires_days) if expires_days else None,
            circle=circle,
        )
        db.session.add(invite)
        return invite

    def problem(self) -> str | None:
        """Why this invite can't be used now, or None when it can."""
        if self.expires_at is not None and self.expires_at <= utcnow():
            return "This invite has expired. Ask the member who invited you for a new one."
        if self.uses >= self.max_uses:
            return "This invite has already been used. Ask the member who invited you for a new one."
        creator = self.created_by
        if creator is not None and (creator.status != "active" or creator.deleted_at is not None):
            # A suspended member's links would let them (or whoever they gave them to) back in.
            return "This invite no longer works: the member who made it can't invite anyone now. Ask another member for one."
        from .flags import may_invite

        if creator is not None and not may_invite(creator):
            return "This invite no longer works: here only admins invite new members now. Ask an admin for one."
        return None


class HelpRequest(db.Model):
    __tablename__ = "help_requests"
    # SQLite never hands a removed request's id to a new one: an old link would open another member's.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    author: Mapped[User] = relationship()
    comments: Mapped[list["Comment"]] = relationship(
        back_populates="request", order_by="Comment.id", cascade="all, delete-orphan"
    )


class Comment(db.Model):
    __tablename__ = "comments"
    # SQLite never hands a removed comment's id to a new one: its link (#comment-<id>) and a
    # confirmation page still open for it would point at another member's comment.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("help_requests.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User] = relationship()
    request: Mapped[HelpRequest] = relationship(back_populates="comments")


class FeatureFlag(db.Model):
    __tablename__ = "feature_flags"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str] = mapped_column(String(255), default="")
    updated_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    updated_by: Mapped[User | None] = relationship()


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_action_created", "action", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128), default="")
    old_value: Mapped[str | None] = mapped_column(String(128))
    new_value: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())

    actor: Mapped[User | None] = relationship()


class Community(db.Model):
    """Which community this is: one row, a random id drawn the first time it is asked for
    (messaging/ops/identity.py). The messaging database carries the same id, so a restore can tell
    another community's backup from ours: member ids start at 1 in every community."""

    __tablename__ = "community"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, default=1)
    community_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
