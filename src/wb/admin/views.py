"""Feature flags and member administration."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import case, select

from .. import flags
from ..access import admin_required, safe_next
from ..auth.service import set_status
from ..extensions import db
from ..models import User
from ..security import is_htmx, whole_number
from . import bp
from .forms import FlagForm

STATUS_ACTIONS = {"approve": "active", "suspend": "suspended", "reinstate": "active"}


@bp.route("/settings")
@admin_required
def settings():
    return render_template("admin/settings.html", flag_rows=flags.flag_rows(), history=flags.flag_history(),
                           **_rules_context())


def _rules_context() -> dict:
    """The "Messaging rules" section: the rules, every circle, and the rules' change history."""
    from ..circles.service import all_circles
    from ..messaging import rule_changes, rules

    return {"rules": rules.load_rules(), "rule_lines": rule_changes.describe(), "all_circles": all_circles(),
            "rule_history": rule_changes.rule_history()}


def _chosen_circles(field: str) -> list:
    """The circles ticked in a form's checkboxes (ids); unknown ones are a 400."""
    from ..circles.models import Circle

    ids = [whole_number(value) for value in request.form.getlist(field)]
    chosen = [db.session.get(Circle, i) if i is not None else None for i in ids]
    if any(circle is None for circle in chosen):
        abort(400, "One of the chosen circles doesn't exist any more. Reload the page and try again.")
    return chosen


@bp.route("/settings/rules/<rule>", methods=["POST"])
@admin_required
def set_rule(rule):
    """Change one messaging rule (starters, reach or protect), audited."""
    from ..circles.models import Circle
    from ..messaging import rule_changes

    if rule == "starters":
        mode = request.form.get("mode")
        if mode not in {"all", "circles"}:
            abort(400, "Say who may start conversations.")
        chosen = _chosen_circles("circle_id") if mode == "circles" else None
        if mode == "circles" and not chosen:
            abort(400, "Tick at least one circle whose members may start conversations.")
        event = rule_changes.set_starters(chosen, actor=current_user)
    elif rule == "reach":
        if request.form.get("reach") not in {"anyone", "shared-circle"}:
            abort(400, "Say whom members may reach.")
        event = rule_changes.set_reach(request.form["reach"] == "shared-circle", actor=current_user)
    elif rule == "protect":
        circle_id = whole_number(request.form.get("circle_id"))
        circle = db.session.get(Circle, circle_id) if circle_id is not None else None
        if circle is None:
            abort(400, "Choose the circle to protect.")
        off = request.form.get("action") == "off"
        event = rule_changes.set_protection(circle, None if off else _chosen_circles("open_to"), actor=current_user)
    else:
        abort(404, "There is no such rule.")
    if event is None:
        flash("Nothing changed: the rule already said that.", "info")
    else:
        flash(f"Messaging rule {event.subject}: {event.old_value} → {event.new_value}.", "success")
    return redirect(url_for("admin.settings", _anchor="messaging-rules"))


@bp.route("/settings/<flag>", methods=["POST"])
@admin_required
def toggle_flag(flag):
    if flag not in flags.KNOWN_FLAGS:
        abort(404, "There is no such setting.")
    form = FlagForm()
    if not form.validate():
        abort(400, form.enabled.errors[0])  # the switch is a button, not a page to re-render
    enabled = form.enabled.data == "1"
    flags.set_flag(flag, enabled, actor=current_user)
    if is_htmx():
        row = flags.flag_row(flag)
        next_url = safe_next(form.next.data, "") or None  # keeps the plain-form fallback on its page
        return render_template("admin/_flag_toggle.html", row=row, history=flags.flag_history(), oob_history=True,
                               next_url=next_url)
    flash(f"{flag.replace('_', ' ').capitalize()} is now {'on' if enabled else 'off'}.", "success")
    return redirect(safe_next(form.next.data, url_for("admin.settings")))


@bp.route("/members")
@admin_required
def members():
    pending_first = case((User.status == "pending", 0), else_=1)
    people = list(db.session.scalars(select(User).where(User.deleted_at.is_(None)).order_by(pending_first, User.username)))
    from ..circles.service import all_circles, circles_by_member

    return render_template("admin/members.html", people=people, all_circles=all_circles(),
                           member_circles=circles_by_member([person.id for person in people]))


@bp.route("/members/<username>/<action>", methods=["POST"])
@admin_required
def member_action(username, action):
    if action not in STATUS_ACTIONS:
        abort(404)
    person = User.by_username(username)
    if person is None:
        abort(404, "No member has that username.")
    if person.id == current_user.id:
        abort(400, "You can't change your own account's status.")
    set_status(person, STATUS_ACTIONS[action])
    flash(f"{person.name} is now {STATUS_ACTIONS[action]}.", "success")
    return redirect(url_for("admin.members"))
