"""Accounts: registration through invites, approval, admin creation."""
import logging
import re

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import USERNAME_PATTERN, Invite, User
from ..security import whole_number
from ..text import clean_field, has_control_characters

log = logging.getLogger("wb.auth")

PASSWORD_MIN = 8
PASSWORD_MAX = 200
DISPLAY_NAME_MAX = 80
BIO_MAX = 2000
# Direction controls reorder the text around them ("Bob\u202ekcilA" shows as "BobAlick"), so a
# display name holding one could pass for someone else's. Names in right-to-left scripts need none.
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
BIDI_CONTROLS_MESSAGE = (
    "Display names can't contain direction controls (such as right-to-left override): "
    "they can make a name look like someone else's. Remove them and try again."
)


class Validation:
    """Collects field errors so a form can be re-rendered with all of them at once."""

    def __init__(self, form):
        self.form = form
        self.errors: dict[str, str] = {}

    def require(self, field: str, message: str) -> str:
        value = (self.form.get(field) or "").strip()
        if not value:
            self.errors.setdefault(field, message)
        return value

    def error(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    @property
    def ok(self) -> bool:
        return not self.errors


def validate_username(validation: Validation, field: str = "username") -> str:
    """A lower-cased username that matches the pattern and is not taken."""
    username = validation.require(field, "Choose a username.").lower()
    if username and not USERNAME_PATTERN.match(username):
        validation.error(field, "Usernames are 3 to 32 characters: letters, digits, _ and -.")
    elif username and User.by_username(username) is not None:
        validation.error(field, "That username is taken.")
    return username


def validate_password(validation: Validation, field: str = "password") -> str:
    password = validation.form.get(field) or ""
    if not password:
        validation.error(field, "Choose a password.")
    elif len(password) < PASSWORD_MIN:
        validation.error(field, f"Passwords need at least {PASSWORD_MIN} characters.")
    elif len(password) > PASSWORD_MAX:
        validation.error(field, f"Passwords can be at most {PASSWORD_MAX} characters.")
    return password


def is_first_account() -> bool:
    """True while nobody has registered: the first account becomes admin without an invite."""
    return db.session.scalar(select(func.count(User.id))) == 0


def find_invite(token: str | None) -> Invite | None:
    """The invite with that token, or None (tokens are URL-safe, so anything else can't match)."""
    if not token or has_control_characters(token):
        return None
    return db.session.scalar(select(Invite).where(Invite.token == token.strip()))


def validate_profile(validation: Validation) -> tuple[str, str]:
    """The display name and bio a member typed, trimmed and checked (registration and settings)."""
    form, errors = validation.form, validation.errors
    display_name = clean_field(errors, "display_name", form.get("display_name"), DISPLAY_NAME_MAX, "Display names")
    bio = clean_field(errors, "bio", form.get("bio"), BIO_MAX, "Bios")
    if BIDI_CONTROLS.search(display_name):
        validation.error("display_name", BIDI_CONTROLS_MESSAGE)
    return display_name, bio


def end_sessions(member, reason: str) -> None:
    """Sign a member out of every browser and device they are signed in on."""
    member.end_sessions()
    db.session.commit()
    log.info("sessions ended", extra={"user_id": member.id, "reason": reason})


def change_password(member, form) -> Validation:
    """Set a new password from the settings form, given the current one; ends every session."""
    validation = Validation(form)
    if not member.check_password(form.get("current_password") or ""):
        validation.error("current_password", "That isn't your current password.")
    password = validate_password(validation, "new_password")
    if validation.ok:
        member.set_password(password)
        end_sessions(member, "password_changed")
    return validation


def update_profile(member, form) -> Validation:
    """Save a member's display name and bio from the settings form, unless they are invalid."""
    validation = Validation(form)
    display_name, bio = validate_profile(validation)
    if validation.ok:
        member.display_name = display_name or member.username
        member.bio = bio
        db.session.commit()
    return validation


def register(form, invite: Invite | None) -> tuple[User | None, Validation]:
    """Create a member from the registration form; returns (user, validation)."""
    validation = Validation(form)
    first = is_first_account()
    if not first:
        if invite is None:
            validation.error("invite", "You need a valid invite to join. Ask a member for one.")
        elif problem := invite.problem():
            validation.error("invite", problem)
    username = validate_username(validation)
    password = validate_password(validation)
    display_name, bio = validate_profile(validation)
    if not validation.ok:
        return None, validation
    user = User(
        username=username,
        display_name=display_name or username,
        bio=bio,
        role="admin" if first else "member",
        status="active" if first or invite.auto_approve else "pending",
        invited_by_id=invite.created_by_id if invite else None,
    )
    user.set_password(password)
    db.session.add(user)
    if invite is not None:
        # Atomic: two registrations racing for the last use can't both win.
        claimed = db.session.execute(
            Invite.__table__.update()
            .where(Invite.id == invite.id, Invite.uses < Invite.max_uses)
            .values(uses=Invite.uses + 1)
        ).rowcount
        if not claimed:
            db.session.rollback()
            validation.error("invite", "This invite has already been used. Ask for a new one.")
            return None, validation
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        validation.error("username", "That username is taken.")
        return None, validation
    log.info("member registered", extra={"user_id": user.id, "status": user.status, "role": user.role})
    return user, validation


def create_admin(username: str, password: str) -> User:
    """Create an active admin (CLI), or raise ValueError with the reason."""
    validation = Validation({"username": username, "password": password})
    username = validate_username(validation)
    validate_password(validation)
    if not validation.ok:
        raise ValueError(" ".join(validation.errors.values()))
    user = User(username=username, display_name=username, role="admin", status="active")
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def set_status(user: User, status: str) -> None:
    """Approve, suspend or reinstate a member; a suspension ends their sessions for good."""
    user.status = status
    if status == "suspended":
        user.end_sessions()  # so reinstating them doesn't revive a cookie someone kept
    db.session.commit()
    log.info("member status changed", extra={"user_id": user.id, "status": status})


INVITES_PER_MEMBER_OPEN = 10


def invites_of(member) -> list[Invite]:
    """The invites a member made, newest first."""
    return list(db.session.scalars(select(Invite).where(Invite.created_by_id == member.id).order_by(Invite.id.desc())))


def create_member_invite(member, form) -> tuple[Invite | None, str | None]:
    """A single-use invite from a member (admins may also choose uses and approval); or the reason not."""
    open_invites = [invite for invite in invites_of(member) if invite.problem() is None]
    if not member.is_admin and len(open_invites) >= INVITES_PER_MEMBER_OPEN:
        return None, f"You have {INVITES_PER_MEMBER_OPEN} unused invites already. Share those first."
    max_uses, auto_approve = 1, True
    if member.is_admin:
        max_uses = whole_number((form.get("max_uses") or "1").strip(), maximum=1000)
        if not max_uses:
            return None, "Uses must be a whole number from 1 to 1,000."
        auto_approve = form.get("approval") != "manual"
    invite = Invite.issue(creator=member, max_uses=max_uses, expires_days=14, auto_approve=auto_approve)
    db.session.commit()
    log.info("invite created", extra={"user_id": member.id, "invite_id": invite.id, "max_uses": max_uses})
    return invite, None
