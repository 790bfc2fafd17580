"""Feature flags and member administration."""
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import case, exists, func, select

from .. import flags
from ..access import admin_required, get_leads_to, safe_next
from ..auth.service import invitees_of, inviters_of, set_role, set_status, why_not_manage
from ..extensions import db
from ..models import ERASED_USERNAME_PREFIX, User
from ..messaging.safety import open_reports_about
from ..requests.service import posts_count, remove_posts_of
from ..security import is_htmx, page_arg
from . import bp, history, standing
from .forms import FlagForm, ProtectForm, ReachForm, StartersForm

RULE_FORMS = {"starters": StartersForm, "reach": ReachForm, "protect": ProtectForm}
STATUS_ACTIONS = {"approve": "active", "suspend": "suspended", "reinstate": "active"}
ROLE_ACTIONS = {"make-admin": "admin", "remove-admin": "member"}
MEMBERS_PER_PAGE = 50


@bp.route("/", strict_slashes=False)
@admin_required
def index():
    """/admin, typed by hand: Admin's own first page (it answered "Not found": a marketplace tester)."""
    return redirect(url_for("admin.settings"))


@bp.route("/waiting")
@admin_required
def waiting():
    """The count beside Admin (open reports, members waiting for approval), out of band: the page asks
    when its live channel says it changed (admin/_waiting.html)."""
    from ..messaging.safety import open_report_count
    from . import _pending_member_count

    return render_template("admin/_waiting_answer.html", reports_waiting=open_report_count(current_user),
                           members_waiting=_pending_member_count())


@bp.route("/settings")
@admin_required
def settings():
    return render_template("admin/settings.html", flag_rows=flags.flag_rows(), history=flags.flag_history(),
                           **_rules_context())


def _rules_context() -> dict:
    """The "Messaging rules" section: the rules, every circle, and the rules' change history."""
    from ..circles.service import all_circles
    from ..messaging import rule_changes, rules
    from ..messaging.rules.consequences import protection_notes
    from ..visibility import FLAG as DIRECTORY

    loaded = rules.load_rules()
    # Beside a protected circle's rule, what it leaves open that its words don't say (its clients, who
    # share it, wrote to each other: a practice's tester), keyed as describe() names the rule.
    notes = {f"Protected: {loaded.names[circle_id]}": said
             for circle_id, said in protection_notes(loaded, flags.is_enabled(DIRECTORY)).items()}
    return {"rules": loaded, "rule_lines": rule_changes.describe(loaded), "rule_notes": notes,
            "directory_on": flags.is_enabled(DIRECTORY),
            "all_circles": all_circles(), "rule_history": rule_changes.rule_history()}


def _rules_section(rule: str) -> str:
    """Settings' messaging rules (where a GET of a rule's form leads)."""
    if rule not in RULE_FORMS:
        abort(404, "There is no such rule.")
    return url_for("admin.settings", _anchor="messaging-rules")


@bp.route("/settings/rules/<rule>", methods=["GET", "POST"])
@admin_required
@get_leads_to(_rules_section)
def set_rule(rule):
    """Change one messaging rule (starters, reach or protect), audited."""
    from ..messaging import rule_changes

    if rule not in RULE_FORMS:
        abort(404, "There is no such rule.")
    form = RULE_FORMS[rule]()
    if not form.validate():
        # Settings again, the refusal beside the rule's form and what was chosen kept: a bare error page
        # lost the admin's place and choices (a residents' building's tester).
        return render_template("admin/settings.html", flag_rows=flags.flag_rows(), history=flags.flag_history(),
                               rule_error=(rule, next(iter(form.first_errors.values()))), **_rules_context()), 400
    asked = form.confirmed.data == "1"
    if rule == "starters":
        chosen = form.circle_id.circles if form.mode.data == "circles" else None
        if not asked and (question := _ask_first(
                rule, rule_changes.SUBJECT_WORDS[rule], rule_changes.starters_change(chosen),
                "Change who may start conversations?", EVERY_MEMBER_AT_ONCE, "Save who may start",
                [("mode", form.mode.data)] + [("circle_id", circle.id) for circle in chosen or []])):
            return question
        event = rule_changes.set_starters(chosen, actor=current_user)
    elif rule == "reach":
        shared_circle = form.reach.data == "shared-circle"
        if not asked and (question := _ask_first(
                rule, rule_changes.SUBJECT_WORDS[rule], rule_changes.reach_change(shared_circle),
                "Change whom members may reach?", EVERY_MEMBER_AT_ONCE, "Save whom members may reach",
                [("reach", form.reach.data)])):
            return question
        event = rule_changes.set_reach(shared_circle, actor=current_user)
    else:
        off = form.action.data == "off"
        circle, open_to = form.circle_id.circle, None if off else form.open_to.circles
        if off and not asked and (question := _ask_first(
                rule, rule_changes.subject_words(f"protect {circle.name}"), rule_changes.protection_change(circle, None),
                f"Stop protecting {circle.name}?",
                "Any member the other rules allow may then start conversations with its members.",
                f"Stop protecting {circle.name}", [("action", "off"), ("circle_id", circle.id)])):
            return question
        if not off and not asked and _protection_changes(circle, open_to, form.own_members_start):
            return _confirm_protection(circle, open_to, form.own_members_start)
        event = rule_changes.set_protection(circle, open_to, actor=current_user, own_members_start=form.own_members_start)
    if event is None:
        flash("Nothing changed: the rule already said that.", "info")
    else:
        flash(f"{rule_changes.subject_words(event.subject)}: {event.old_value} → {event.new_value}.", "success")
    return redirect(url_for("admin.settings", _anchor="messaging-rules"))


EVERY_MEMBER_AT_ONCE = "It applies to every member at once."


def _ask_first(rule: str, subject: str, change: tuple[str, str], question: str, meaning: str, button: str,
               fields: list[tuple[str, object]]):
    """A rule that would change asks first: with JavaScript a dialog asked (app.js sets `confirmed`);
    without it, this page asks the same, saying the rule now and after (saved at one tap without
    JavaScript, it applied to every member at once, unasked). None: nothing would change."""
    old, new = change
    if old == new:
        return None
    return render_template("admin/confirm_rule.html", rule=rule, subject=subject, old=old, new=new,
                           question=question, meaning=meaning, button=button, fields=fields)


def _protection_changes(circle, open_to, own_members_start) -> bool:
    """Whether protecting the circle so would change its rule (saved as it stands, nothing is asked)."""
    from ..messaging.rule_changes import protected_as
    from ..messaging.rules.community import load_rules

    before = load_rules()
    after = protected_as(before, circle, open_to, own_members_start)
    return (before.protected.get(circle.id), circle.id in before.not_by_own_members) != (
        after.protected.get(circle.id), circle.id in after.not_by_own_members)


def _confirm_protection(circle, open_to, own_members_start):
    """Protecting a circle asks first, saying what it means for its own members and the circles it is open
    to (saved at one tap, it let a practice's clients write to each other, unwarned: an outside tester)."""
    from ..messaging.conversations import begun_within
    from ..messaging.rule_changes import protected_as
    from ..messaging.rules.community import load_rules
    from ..messaging.rules.consequences import protection_consequences
    from ..visibility import FLAG as DIRECTORY

    before = load_rules()
    after = protected_as(before, circle, open_to, own_members_start)
    return render_template("admin/confirm_protect.html", circle=circle, open_to=open_to,
                           own_members_start=own_members_start, already=circle.id in before.protected,
                           consequences=protection_consequences(after, circle.id, flags.is_enabled(DIRECTORY),
                                                                begun_within(circle.id)))


def _flag_row(flag: str) -> str:
    """The setting's row in Settings (where a GET of its switch leads)."""
    if flag not in flags.KNOWN_FLAGS:
        abort(404, "There is no such setting.")
    return url_for("admin.settings", _anchor=f"flag-{flag}")


@bp.route("/settings/<flag>", methods=["GET", "POST"])
@admin_required
@get_leads_to(_flag_row)
def toggle_flag(flag):
    if flag not in flags.KNOWN_FLAGS:
        abort(404, "There is no such setting.")
    form = FlagForm()
    if not form.validate():
        abort(400, form.enabled.errors[0])  # the switch is a button, not a page to re-render
    enabled = form.enabled.data == "1"
    question = flags.OFF_QUESTIONS.get(flag)
    if question and not enabled and form.confirmed.data != "1":
        # htmx asked in a dialog (and says so); a plain form asks on a page of its own.
        return render_template("admin/confirm_flag.html", flag=flag, question=question,
                               next_url=safe_next(form.next.data, url_for("admin.settings")))
    refused = None
    try:
        flags.set_flag(flag, enabled, actor=current_user)
    except flags.ChangeRefused as error:
        refused = str(error)
    if is_htmx():
        row = flags.flag_row(flag)
        next_url = safe_next(form.next.data, "") or None  # keeps the plain-form fallback on its page
        return render_template("admin/_flag_toggle.html", row=row, history=flags.flag_history(), oob_history=True,
                               next_url=next_url, refused=refused)
    if refused:
        flash(refused, "error")
    else:
        flash(f"{flag.replace('_', ' ').capitalize()} is now {'on' if enabled else 'off'}.", "success")
    return redirect(safe_next(form.next.data, url_for("admin.settings")))


@bp.route("/members")
@admin_required
def members():
    """Every member, those waiting for approval first, 50 a page; ?q= finds them by name (as the
    members directory does). Each action comes back to the same page, at the member's row."""
    from ..auth import resets
    from ..circles.service import all_circles, circles_by_member
    from ..messaging.directory_search import name_matches, typed_name

    name = typed_name(request.args.get("q"))
    no_circle = request.args.get("circle") == "none"
    inviter = _inviter_arg()
    pending_first = case((User.status == "pending", 0), else_=1)
    query = select(User).where(User.deleted_at.is_(None)).order_by(pending_first, User.username)
    if name:
        query = query.where(name_matches(name))
    if no_circle:  # those the notice counts (_circleless_who_cant_start)
        query = query.where(_in_no_circle(), User.role != "admin", User.status != "suspended")
    if inviter is not None:
        query = query.where(User.invited_by_id == inviter.id)
    pagination = db.paginate(query, page=page_arg(), per_page=MEMBERS_PER_PAGE, error_out=False)
    people = pagination.items
    found_by = {**({"q": name} if name else {}), **({"circle": "none"} if no_circle else {}),
                **({"invited_by": inviter.username} if inviter is not None else {})}
    here = url_for("admin.members", **found_by, **({"page": pagination.page} if pagination.page > 1 else {}))
    actions = history.recent_member_actions(current_user)
    return render_template("admin/members.html", people=people, pagination=pagination, q=name, here=here,
                           found_by=found_by, no_circle=no_circle, circleless=_circleless_who_cant_start(),
                           unprotected=_members_outside_protection(),
                           all_circles=all_circles(), member_circles=circles_by_member([person.id for person in people]),
                           member_actions=actions, member_action_words=history.ACTION_WORDS,
                           action_members=history.members_of(actions), former_admins=resets.former_admin_ids(),
                           admin_reset_links=current_app.config["ADMIN_RESET_LINKS"], inviter=inviter,
                           inviters=inviters_of(people), invitees=invitees_of(people),
                           senior_admins=standing.senior_admin_ids(current_user, people),
                           reported_open=open_reports_about([person.id for person in people]),
                           closed=_closed_accounts())


CLOSED_SHOWN = 20


def _closed_accounts() -> dict:
    """Accounts their members closed and nobody erased yet, the latest first, by username only (their
    name is "former member" on every admin page): Members listed none of them, so an admin could neither
    see that a resident had left nor erase one who asked afterwards (a residents' building's tester)."""
    closed = (User.deleted_at.is_not(None), ~User.username.startswith(ERASED_USERNAME_PREFIX))
    return {"shown": db.session.scalars(select(User).where(*closed).order_by(User.deleted_at.desc(), User.id.desc())
                                        .limit(CLOSED_SHOWN)).all(),
            "count": db.session.scalar(select(func.count(User.id)).where(*closed))}


def _inviter_arg():
    """The member ?invited_by= names (Members lists whom they invited), None without it; 404 for nobody."""
    username = request.args.get("invited_by")
    if not username:
        return None
    inviter = User.by_username(username.lstrip("@"))
    if inviter is None:
        abort(404, "No member has that username.")
    return inviter


def _in_no_circle():
    from ..circles.models import CircleMember

    return ~exists().where(CircleMember.user_id == User.id)


def _circleless_who_cant_start() -> int:
    """Where members reach only those who share a circle: how many members (not admins, whom anyone
    may write to and who write to anyone) are in no circle, so can start a conversation with nobody
    but the admins. A newcomer invited by a neighbour joins none, and nobody told the admin, who
    alone can add them (a building's tester). 0 where reach is anyone."""
    from ..messaging.rules.community import load_rules

    if not load_rules().shared_circle:
        return 0
    return db.session.scalar(select(func.count(User.id)).where(
        User.deleted_at.is_(None), User.role != "admin", User.status != "suspended", _in_no_circle()))


def _members_outside_protection() -> dict | None:
    """The members no protected circle covers (rules.consequences), for the notice above the list."""
    from ..messaging.rules.community import load_rules
    from ..messaging.rules.consequences import members_outside_protection

    return members_outside_protection(load_rules())


def _back_to_members(person) -> str:
    """The members page the action was taken on (its search and page), at the member's row."""
    back = safe_next(request.form.get("next"), url_for("admin.members"))
    return f"{back.split('#', 1)[0]}#member-{person.username}"


@bp.route("/members/<username>/reset-link", methods=["GET", "POST"])
@admin_required
def reset_link(username):
    """Make a single-use password reset link for a member who forgot their password (asked first,
    as Suspend is) and show it once: only its hash is kept. A GET (the page reloaded) makes none."""
    from ..auth import resets

    person = User.by_username(username)
    if person is None:
        abort(404, "No member has that username.")
    if request.method == "GET":
        return render_template("admin/reset_link.html", person=person, link=None,
                               back=url_for("admin.members", _anchor=f"member-{person.username}"))
    if person.id == current_user.id:
        abort(400, "Change your own password in Settings → Password.")
    refusal = resets.why_not_make(person, by_admin=True) or standing.why_not(current_user, person, "reset-link")
    if refusal:
        abort(400, refusal)
    if request.form.get("confirmed") != "1":
        return render_template("admin/confirm_reset_link.html", person=person, back=_back_to_members(person))
    token = resets.make_link(person, actor=current_user)
    return render_template("admin/reset_link.html", person=person, back=_back_to_members(person),
                           link=url_for("auth.reset_password", token=token, _external=True))


def member_row(username: str, action: str | None = None) -> str:
    """A member's row in Admin → Members, found by their username (where a GET of an action on them leads)."""
    if action is not None and action not in STATUS_ACTIONS and action not in ROLE_ACTIONS:
        abort(404)
    return url_for("admin.members", q=username, _anchor=f"member-{username}")


@bp.route("/members/<username>/<action>", methods=["GET", "POST"])
@admin_required
@get_leads_to(member_row)
def member_action(username, action):
    if action not in STATUS_ACTIONS and action not in ROLE_ACTIONS:
        abort(404)
    person = User.by_username(username)
    if person is None:
        abort(404, "No member has that username.")
    if person.id == current_user.id:
        abort(400, "You can't change your own account's status or role.")
    refusal = why_not_manage(person) or standing.why_not(current_user, person, action)
    if refusal:
        abort(400, refusal)
    if action in ROLE_ACTIONS:
        return _change_role(person, ROLE_ACTIONS[action], action)
    if action == "suspend" and request.form.get("confirmed") != "1":
        # Always asked on a page of its own: a dialog can't offer "Also remove their requests and comments".
        return render_template("admin/confirm_suspend.html", person=person, back=_back_to_members(person),
                               posts=posts_count(person), posts_refused=standing.why_not(current_user, person, "remove-posts"))
    removing = action == "suspend" and request.form.get("remove_posts") == "1"
    if removing and (refusal := standing.why_not(current_user, person, "remove-posts")):
        abort(400, refusal)  # nothing done: not the suspension either, which was asked with it
    set_status(person, STATUS_ACTIONS[action], actor=current_user)
    flash(f"{person.name} is now {STATUS_ACTIONS[action]}.", "success")
    if removing:
        removed = remove_posts_of(current_user, person)
        flash(f"Removed {removed[0]} of their requests and {removed[1]} of their comments." if any(removed)
              else "They had no requests or comments to remove.", "success")
    return redirect(_back_to_members(person))


def _change_role(person, role: str, action: str):
    """Make an active member an admin, or an admin a member again: asked first, as Suspend is."""
    if role == "admin" and not person.is_active_member:
        abort(400, f"Only an active member can be made an admin; {person.name} is {person.status}.")
    if person.role == role:
        flash(f"{person.name} is already {'an admin' if role == 'admin' else 'not an admin'}.", "info")
        return redirect(_back_to_members(person))
    if request.form.get("confirmed") != "1":
        return render_template("admin/confirm_role.html", person=person, action=action, role=role,
                               back=_back_to_members(person), reported_open=open_reports_about([person.id]))
    set_role(person, role, actor=current_user)
    flash(f"{person.name} is now an admin." if role == "admin" else f"{person.name} is no longer an admin.", "success")
    return redirect(_back_to_members(person))
