"""Login, logout, registration."""
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from ..access import ENDED_KEY, active_required, safe_next, why_ended
from ..errors import render_error
from .. import ratelimits
from ..flags import may_invite
from ..security import is_htmx
from . import bp, service
from .forms import USERNAME_CHARACTERS, InviteForm, LoginForm, RegisterForm, no_invite_words


@bp.context_processor
def _username_rule():
    """The registration page's help says what a username takes in the form's own words."""
    return {"username_characters": USERNAME_CHARACTERS}


@bp.route("/login", methods=["GET"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    return render_template("auth/login.html", errors={}, form={}, ended=_ended_as_told())


def _ended_as_told() -> str | None:
    """Why the page that came here was signed out (?ended=), when this browser's session says the same:
    a link made to read "signed out from another device" (or "closed", which forgets the tab's drafts)
    alarmed a member who was never signed in (a re-check tester). "1" (why unknown) says only that
    this browser isn't signed in."""
    ended = request.args.get("ended")
    if ended in ("closed", "suspended", "elsewhere") and why_ended() != ended:
        return None
    return ended


def _login_page(form: LoginForm, status: int):
    return render_template(
        "auth/login.html", errors=form.first_errors, form=request.form, invalid=_refused_fields(form, status)
    ), status


def _refused_fields(form: LoginForm, status: int) -> list[str]:
    """The fields a refused sign-in marks invalid, the first taking the focus: the empty ones, else the
    password (the focus went back to the username, and a screen reader may not say the error: an outside
    tester). A closed or suspended account's right username and password are not marked."""
    if status != 400 or "form" not in form.first_errors:
        return []
    empty = [field.name for field in (form.username, form.password) if not field.data]
    return empty or ["password", "username"]


@bp.route("/login", methods=["POST"])
def login_post():
    # Only failed sign-ins count: 13 neighbours signing in on one building's Wi-Fi met the limit at the
    # 11th (a residents' building's tester). Not Flask-Limiter's deduct_when: it tests before the view and
    # counts after the answer, so guesses in flight together would all be answered; here a failure is
    # answered only once counted, and a right password waits, as before, once failures fill the window.
    limit, address = current_app.config["LOGIN_RATE_LIMIT"], f"addr:{request.remote_addr}"
    try:
        ratelimits.check("login", limit, address)  # over the limit: refused before any password is checked
        form = LoginForm()
        if not form.validate():
            ratelimits.take("login", limit, address)
            return _login_page(form, 400)
        ratelimits.check("login", limit, address)  # failures counted while this one was checked
    except ratelimits.LimitReached as reached:
        return _too_many_sign_ins(reached.retry_after)
    user = form.user
    if not user.is_active:
        form.form_errors.append("This account is closed." if user.deleted_at is not None
                                else "This account is suspended. Contact an admin outside WhiteBalloon (the member "
                                       "who invited you can reach them).")
        return _login_page(form, 403)
    login_user(user)
    session.pop(ENDED_KEY, None)  # a closed account's word (access.why_ended) is not this one's
    flash(f"Welcome back, {user.name}.", "success")
    return redirect(safe_next(request.args.get("next"), url_for("main.dashboard")))


def _too_many_sign_ins(retry_after: int):
    headers = ratelimits.retry_after_headers(retry_after)
    if is_htmx():
        body, status = render_error(429, "Too many sign-in attempts from this internet connection. Wait a minute, then try again.")
        return body, status, headers
    return render_template("auth/rate_limited.html"), 429, headers


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        service.end_sessions(current_user, "signed_out")  # a copy of the cookie dies with it
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/register", methods=["GET", "POST"])
def register():
    token = request.values.get("invite", "")
    invite = service.find_invite(token)
    first = service.is_first_account()
    if request.method == "GET":
        problem = None
        if not first:
            problem = no_invite_words(token) if invite is None else invite.problem()
        return render_template(
            "auth/register.html", invite=invite, token=token, first=first, errors={}, form={}, problem=problem
        ), (400 if problem and token else 200)
    try:
        ratelimits.take("register", current_app.config["REGISTER_RATE_LIMIT"], f"addr:{request.remote_addr}")
    except ratelimits.LimitReached as reached:
        words = ("Too many sign-ups from this internet connection just now. "
                 f"Try again in {ratelimits.wait_words(reached.retry_after)}; what you typed is kept, except the password.")
        return render_template(
            "auth/register.html", invite=invite, token=token, first=first, errors={"invite": words}, form=request.form,
            problem=None,
        ), 429, ratelimits.retry_after_headers(reached.retry_after)
    form = RegisterForm(invite, first)
    user = service.register(form) if form.validate() else None
    if user is None:
        return render_template(
            "auth/register.html",
            invite=invite, token=token, first=first, errors=form.first_errors, form=request.form, problem=None,
        ), 400
    login_user(user)
    if user.is_pending:
        flash("Welcome! An admin will approve your account soon; until then you can look around.", "info")
    else:
        flash(f"Welcome to WhiteBalloon, {user.name}.", "success")
    return redirect(url_for("main.dashboard"))


@bp.route("/invites", methods=["GET", "POST"])
@active_required
def invites():
    made = service.invites_of(current_user)
    if not may_invite(current_user):  # an admin switched members' invites off
        return render_template("auth/invites.html", invites=made, error=None, admins_only=True), (
            403 if request.method == "POST" else 200)
    form = InviteForm(current_user, made)
    if form.validate_on_submit():
        service.create_member_invite(current_user, **form.terms())
        flash("New invite ready: copy the link below and send it to the person you trust.", "success")
        return redirect(url_for("auth.invites"))
    error = next(iter(form.first_errors.values()), None)
    circles = _circles_for(current_user)
    return render_template("auth/invites.html", invites=made, error=error, circles=circles,
                           joining_hint=_joining_hint(circles), **_outside_protection(current_user),
                           joins_no_circle=_reach_needs_a_circle(current_user)), (400 if error else 200)


def _outside_protection(member) -> dict:
    """For an admin's invite form where a circle is protected: who is in no circle, so unprotected, and
    what a newcomer joining none would be (rules.consequences)."""
    from ..messaging.rules.community import load_rules
    from ..messaging.rules.consequences import members_outside_protection, no_circle_hint

    if not member.is_admin:
        return {}
    rules = load_rules()
    return {"unprotected": members_outside_protection(rules), "no_circle_hint": no_circle_hint(rules)}


def _joining_hint(circles) -> str | None:
    """What joining one of the circles lets a newcomer do under the rules now (None: messaging is off, or
    no circle to join). It said "They can then write to its members" whatever the rules said: false where
    only therapists start, and where clients may, the very thing a practice didn't want (an outside tester)."""
    from ..flags import is_enabled
    from ..messaging.rules.community import load_rules
    from ..messaging.rules.consequences import joining_hint

    if not circles or not is_enabled("direct_messaging"):
        return None
    return joining_hint(load_rules(), circles)


def _reach_needs_a_circle(member) -> bool:
    """Whether members here message only those who share a circle, so that a member's newcomer, who
    joins none, and the member who invited them can't message each other until an admin adds them
    to one (an outside tester's newcomer could write to nobody but the admin, unwarned)."""
    from ..flags import is_enabled
    from ..messaging.rules.community import circle_ids_by_member, load_rules

    if member.is_admin or not is_enabled("direct_messaging"):
        return False
    rules = load_rules()
    # Not where only some circles start conversations and hers are none of them: a shared circle
    # would change nothing, and the note promised it would (a re-check tester).
    return rules.shared_circle and (rules.starters is None
                                    or bool(rules.starters & circle_ids_by_member([member.id]).get(member.id, set())))


def _circles_for(member) -> list:
    """The circles an admin may have an invite's newcomers join."""
    from ..circles.service import all_circles

    return all_circles() if member.is_admin else []
