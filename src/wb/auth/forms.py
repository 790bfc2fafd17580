"""Account forms: sign in, register, profile and password (the settings page), invites.

The settings page's forms live here too: registration shares their fields and rules.
"""
import re
import unicodedata

from sqlalchemy import select
from wtforms import HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import StopValidation, ValidationError

from ..extensions import db
from ..forms import CleanLine, CleanText, Form, WholeNumberField
from ..models import ERASED_USERNAME_PREFIX, USERNAME_PATTERN, User
from ..text import holds_web_address, sounds_like_staff
from .common_passwords import is_common

PASSWORD_MIN = 8
PASSWORD_MAX = 200
DISPLAY_NAME_MAX = 80
BIO_MAX = 2000
INVITES_PER_MEMBER_OPEN = 10
TAKEN_NAME = "Another member goes by that name, or one that looks just like it; choose one of your own."
RECENTLY_TAKEN_NAME = ("Another member went by that name, or one that looks just like it, until recently; "
                       "choose one of your own.")
STAFF_NAME = "Names that sound like the community's staff are kept for its admins."
# What USERNAME_PATTERN takes, said of every username rule (form, CLI, the page's help): "letters" alone
# refused zoë and مريم, which are letters too (an outside tester).
USERNAME_CHARACTERS = "unaccented letters a–z, digits 0–9, _ and -"
USERNAME_RULE = f"Usernames are 3 to 32 characters: {USERNAME_CHARACTERS}."


def trimmed(value) -> str:
    """A field's text without surrounding spaces; nothing sent reads as ""."""
    return (value or "").strip()


def trimmed_lower(value) -> str:
    """Usernames are stored lower-cased, so "Alice" signs up as "alice"."""
    return trimmed(value).lower()


def _username_like(typed: str) -> str | None:
    """A username made of what was typed that the rules take ("Mary Ann O'Neil" as mary_ann_oneil; it
    suggested mary_ann_o'neil, then refused it: a residents' building's tester), or None."""
    plain = unicodedata.normalize("NFKD", typed.lower())
    words = [_NOT_IN_A_USERNAME.sub("", word) for word in plain.split()]
    suggestion = "_".join(word for word in words if word)[:32].strip("_-")
    return suggestion if USERNAME_PATTERN.match(suggestion) else None


_NOT_IN_A_USERNAME = re.compile(r"[^a-z0-9_-]")  # the complement of USERNAME_PATTERN's characters


def _characters_refused(username: str) -> str:
    """The characters of a (lower-cased) username that usernames don't take, quoted, at most three
    ("“.”", "“ë” or “'”"); one that shows nothing by its code point. "" when there are none."""
    refused = list(dict.fromkeys(_NOT_IN_A_USERNAME.findall(username)))
    words = [f"“{c}”" if c.isprintable() and not c.isspace() else f"U+{ord(c):04X}" for c in refused[:3]]
    if len(refused) > 3:
        words[-1] += " and others"
    return " or ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)


def available_username(form, field):
    """A username that fits the pattern and that nobody has, in any case (the filter lower-cased it)."""
    if not field.data:
        raise StopValidation("Choose a username.")
    if not USERNAME_PATTERN.match(field.data):
        if " " in field.data.strip():  # "Margaret Hill": the rule alone didn't say the space was it (a tester)
            suggestion = _username_like(field.data)
            if suggestion:
                raise StopValidation(f"Usernames can't have spaces: try {suggestion}. (Your display name may have them.)")
            raise StopValidation(f"Usernames can't have spaces: use {USERNAME_CHARACTERS} (3 to 32). "
                                 "(Your display name may have them.)")
        refused = _characters_refused(field.data)
        if refused:  # "Carol.Brown" was told the rule alone: capitals or the dot? (a street's tester)
            suggestion = _username_like(field.data)
            raise StopValidation(f"Usernames can't have {refused}, only {USERNAME_CHARACTERS}"
                                 + (f": try {suggestion}." if suggestion else " (3 to 32)."))
        raise StopValidation(USERNAME_RULE)
    if field.data.startswith(ERASED_USERNAME_PREFIX):
        raise StopValidation(f"Usernames starting with {ERASED_USERNAME_PREFIX} are kept for erased accounts.")
    if User.by_username(field.data) is not None:
        raise StopValidation("That username is taken.")


def acceptable_password(form, field):
    """A password of a sensible length (taken as typed: spaces count)."""
    password = field.data or ""
    if not password:
        raise StopValidation("Choose a password.")
    if len(password) < PASSWORD_MIN:
        raise StopValidation(f"Passwords need at least {PASSWORD_MIN} characters.")
    if len(password) > PASSWORD_MAX:
        raise StopValidation(f"Passwords can be at most {PASSWORD_MAX} characters.")
    if is_common(password):
        raise StopValidation("That password is one of the most common ones, which others try first. Choose another: "
                             "a few words you'll remember make a good one.")


class LoginForm(Form):
    """A username and password that match a member, who is then `user` (suspended or not: the view says)."""

    username = StringField(filters=[trimmed])
    password = PasswordField()

    def validate(self, extra_validators=None) -> bool:
        self.user = None
        if not super().validate(extra_validators):
            return False
        if not self.username.data or not self.password.data:
            self.form_errors.append("Enter your username and password.")
            return False
        user = User.by_username(self.username.data)
        matches = User.check_no_password if user is None else user.check_password
        if not matches(self.password.data):
            self.form_errors.append("That username and password don't match.")
            return False
        self.user = user
        return True


def refuse_name_of_another(name, *, member_id, among, for_admin: bool) -> None:
    """ValidationError when name looks like a name another member goes by (User.named_like) or went
    by lately (User.went_by_recently), or sounds like the staff's (unless for an admin)."""
    if User.named_like(name, but=member_id, among=among) is not None:
        # "or one that looks just like it": a name refused for one that only looks like it ("NlNA HlLL" beside
        # "Nina Hill") read as a mistake without those words (a tester).
        raise ValidationError(TAKEN_NAME)
    if User.went_by_recently(name, but=member_id, among=among) is not None:
        raise ValidationError(RECENTLY_TAKEN_NAME)
    if sounds_like_staff(name) and not for_admin:
        raise ValidationError(STAFF_NAME)


class AccountForm(Form):
    """A new account's username and password (registration, and `./wb create-admin`)."""

    username = StringField(filters=[trimmed_lower], validators=[available_username])
    password = PasswordField(validators=[acceptable_password])

    def validate_username(self, field):
        """A username is a name others see (the one shown while there is no display name, and after
        an @): held to a display name's rules. "bea" beside Bea, "sellersam" beside seller_sam and
        "adrnin" passed for them in inboxes (outside testers)."""
        refuse_name_of_another(field.data, member_id=None, among=self._whom_they_see(), for_admin=self._for_admin())

    def _whom_they_see(self):
        return None  # `./wb create-admin`: an admin, who sees everyone

    def _for_admin(self) -> bool:
        return True


class ProfileForm(Form):
    """A display name and a bio, both optional (settings, and registration's optional part)."""

    display_name = StringField(validators=[CleanLine(DISPLAY_NAME_MAX, "Display names")])
    bio = TextAreaField(validators=[CleanText(BIO_MAX, "Bios")])

    def __init__(self, *args, member_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.member_id = member_id  # whose profile this is (None: joining)

    def validate_display_name(self, field):
        """Nobody may take the name another member goes by (their display name or username, however
        it is written): in an inbox or a notice, the two would look the same. With the member
        directory off, only the members this one sees count (someone joining: the admins): a
        refusal for anyone else's name told a practice's client which names the other clients go
        by (an outside tester listed them all). Whoever sees both tells them apart by username."""
        if not field.data:
            return
        if "@" in unicodedata.normalize("NFKC", field.data):  # "＠" and "﹫" too
            # The app writes a username after an @: "Ada Admin (@admin)" read as the admin's own
            # marker in a therapist's inbox (an outside tester).
            raise ValidationError("Display names can't contain @: the app shows usernames with it.")
        member = db.session.get(User, self.member_id) if self.member_id is not None else None
        if member is not None and field.data == member.display_name:
            # Kept, not chosen: a name is checked when a member takes it, so an admin who stops being one
            # (Ada Admin) or a name from before a rule keeps it until the member's next rename.
            return
        if holds_web_address(field.data):
            # A name is written into emails and desktop notices, where a mail client makes a link of an
            # address: "Account notice: sign in at https://evil.example/wb" came from the app's own
            # sender (an outside attacker).
            raise ValidationError("Display names can't hold a web address: emails and notices show your name.")
        refuse_name_of_another(field.data, member_id=self.member_id, among=self._whom_they_see(),
                               for_admin=self._for_admin())

    def _whom_they_see(self):
        """The members whose names count: those this one sees. Not the members of protected circles
        besides (a clinician's name, "Dr. Jane Smith", once was): where the protected circle was the
        clients, a refusal told a client, or anyone holding an invite, which names the other clients
        go by (a therapy practice's tester). A name another member goes by reads with its @username to
        everyone but its holder (User.note_name_shared), so the clinician's inbox tells the two apart."""
        from ..visibility import listed_for, listed_for_newcomer

        return listed_for_newcomer() if self.member_id is None else listed_for(db.session.get(User, self.member_id))

    def _for_admin(self) -> bool:
        member = db.session.get(User, self.member_id) if self.member_id is not None else None
        return member is not None and member.is_admin


def no_invite_words(token) -> str:
    """Why there is no invite to join with: none in the link, or one that matches none (a link cut
    short or mistyped, not "you need an invite": the newcomer has one, a building's tester)."""
    if not (token or "").strip():
        return "You need an invite to join. Ask a member for one."
    return ("This invite link doesn't work: it may be cut short or mistyped. Open the whole link from the message "
            "it came in, or ask the member who invited you for a new one.")


class RegisterForm(AccountForm, ProfileForm):
    """Joining: an account and a profile, through a usable invite unless this is the first account."""

    invite = HiddenField()  # the token; the view found its invite, `joining_with`

    def __init__(self, joining_with, first_account: bool, **kwargs):
        super().__init__(**kwargs)
        self.joining_with, self.first_account = joining_with, first_account

    def _whom_they_see(self):
        return ProfileForm._whom_they_see(self)  # someone joining, for the username as for the display name

    def _for_admin(self) -> bool:
        return self.first_account  # the first account becomes the admin

    def validate_invite(self, field):
        if self.first_account:
            return
        if self.joining_with is None:
            raise ValidationError(no_invite_words(field.data))
        if problem := self.joining_with.problem():
            raise ValidationError(problem)


class CurrentPasswordForm(Form):
    """A form that asks for the member's current password before it does something."""

    current_password = PasswordField()

    def __init__(self, member, **kwargs):
        super().__init__(**kwargs)
        self.member = member

    def validate_current_password(self, field):
        if not self.member.check_password(field.data or ""):
            raise ValidationError("That isn't your current password.")


class ChangePasswordForm(CurrentPasswordForm):
    """The member's current password and a new one."""

    new_password = PasswordField(validators=[acceptable_password])


class InviteForm(Form):
    """A new invite. Admins choose how many may use it and whether newcomers wait for approval;
    a member's invite is single-use, approved, and they may hold only so many unused ones."""

    max_uses = WholeNumberField(default=1, maximum=1000, message="Uses must be a whole number from 1 to 1,000.")
    approval = StringField()
    circle_id = StringField()  # an admin's: the circle newcomers join ("" for none)

    def __init__(self, member, invites, **kwargs):
        super().__init__(**kwargs)
        self.member = member
        self.open_invites = sum(1 for invite in invites if invite.problem() is None)
        self.circle = None
        if not member.is_admin:  # not on their page, so nothing they post there counts
            del self.max_uses
            del self.approval
            del self.circle_id

    def validate_circle_id(self, field):
        from ..circles.models import Circle
        from ..extensions import db
        from ..security import whole_number

        if not field.data:
            return
        circle_id = whole_number(field.data)
        self.circle = db.session.get(Circle, circle_id) if circle_id else None
        if self.circle is None:
            raise ValidationError("That circle is gone: choose another, or none.")

    def validate(self, extra_validators=None) -> bool:
        if not self.member.is_admin and self.open_invites >= INVITES_PER_MEMBER_OPEN:
            self.form_errors.append(f"You have {INVITES_PER_MEMBER_OPEN} unused invites already. Share those first.")
            return False
        return super().validate(extra_validators)

    def terms(self) -> dict:
        """The invite's terms as Invite.issue takes them."""
        if not self.member.is_admin:
            return {"max_uses": 1, "auto_approve": True}
        return {"max_uses": self.max_uses.data, "auto_approve": self.approval.data != "manual", "circle": self.circle}


class ResetPasswordForm(Form):
    """A new password, typed twice, from a password reset link (the same rules as Settings → Password)."""

    new_password = PasswordField(validators=[acceptable_password])
    new_password_again = PasswordField()

    def validate_new_password_again(self, field):
        if self.new_password.data and field.data != self.new_password.data:
            raise ValidationError("The two passwords aren't the same: type the new password twice.")
