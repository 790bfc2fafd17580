"""Circle pages: the list members see (and where refusals lead), and the admins' /admin/circles."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..access import admin_required, get_leads_to, login_required, safe_next
from ..admin.views import member_row
from ..extensions import db
from ..models import User
from ..visibility import sees_every_member
from . import service
from .forms import DeleteForm, MemberCircleForm, MembersForm, NameForm, NextForm
from .models import Circle

bp = Blueprint("circles", __name__)


@bp.route("/circles")
@login_required
def directory():
    """Every circle and how many are in it, and the admins to ask about joining one."""
    admins = list(db.session.scalars(
        select(User).where(User.role == "admin", User.status == "active", User.deleted_at.is_(None)).order_by(User.username)
    ))
    from ..messaging.rule_changes import describe

    from ..messaging.rules.community import circle_ids_by_member, load_rules

    circles = service.all_circles()
    counts = None
    if sees_every_member(current_user):
        counts = service.member_counts()
    else:
        # The directory is off: the circles the member is in and those the rules name, not every
        # circle's name (a practice's "Addiction recovery" would tell what its members share: a tester).
        shown = load_rules().named_circle_ids() | circle_ids_by_member([current_user.id]).get(current_user.id, frozenset())
        circles = [circle for circle in circles if circle.id in shown]
    return render_template("circles/directory.html", circles=circles, counts=counts, everyone=counts is not None,
                           admins=admins, rules=describe())


def _circle_or_404(circle_id) -> Circle:
    circle = db.session.get(Circle, circle_id)
    if circle is None:
        abort(404, "That circle doesn't exist (it may have been deleted).")
    return circle


def _admin_page(errors=None, status=200, form=None):
    circles = service.all_circles()
    return render_template("circles/admin.html", circles=circles, members=service.members_by_circle(circles),
                           history=service.history(), errors=errors or {}, form=form or {}), status


def _circle_card(circle_id, **_) -> str:
    """The circle's card in Admin → Circles (where a GET of a change to it leads)."""
    return url_for("circles.admin", _anchor=f"circle-{circle_id}")


def _back(form: NextForm):
    return redirect(safe_next(form.next.data, url_for("circles.admin")))


@bp.route("/admin/circles")
@admin_required
def admin():
    return _admin_page()


@bp.route("/admin/circles", methods=["POST"])
@admin_required
def create():
    form = NameForm()
    if not form.validate():
        return _admin_page({"new": form.name.errors[0]}, 400, request.form)
    try:
        circle = service.create(form.name.data, actor=current_user)
    except service.CircleError as error:
        return _admin_page({"new": error.message}, 400, request.form)
    flash(f"Circle {circle.name} created.", "success")
    return redirect(url_for("circles.admin"))


@bp.route("/admin/circles/<int:circle_id>/rename", methods=["GET", "POST"])
@admin_required
@get_leads_to(_circle_card)
def rename(circle_id):
    circle = _circle_or_404(circle_id)
    old = circle.name
    form = NameForm()
    if not form.validate():
        return _admin_page({f"rename-{circle_id}": form.name.errors[0]}, 400, request.form)
    try:
        service.rename(circle, form.name.data, actor=current_user)
    except service.CircleError as error:
        db.session.rollback()
        return _admin_page({f"rename-{circle_id}": error.message}, 400, request.form)
    flash(f"{old} is now called {circle.name}.", "success")
    return redirect(url_for("circles.admin"))


@bp.route("/admin/circles/<int:circle_id>/delete", methods=["GET", "POST"])
@admin_required
def delete(circle_id):
    """Deleting asks first, saying what it would change in the messaging rules."""
    circle = _circle_or_404(circle_id)
    if request.method == "GET" or not DeleteForm().validate():
        from ..messaging.rule_changes import impact_of_deleting

        return render_template("circles/delete.html", circle=circle, count=len(service.members_of(circle)),
                               impact=impact_of_deleting(circle) + service.invites_joining(circle))
    name = circle.name
    changes = service.delete_circle(circle, actor=current_user)
    flash(" ".join([f"Circle {name} deleted. Its members and their messages are untouched.", *changes]), "success")
    return redirect(url_for("circles.admin"))


@bp.route("/admin/circles/<int:circle_id>/members", methods=["GET", "POST"])
@admin_required
@get_leads_to(_circle_card)
def add_members(circle_id):
    circle = _circle_or_404(circle_id)
    form = MembersForm()
    try:
        added = service.add_members(circle, form.usernames.data, actor=current_user)
    except service.CircleError as error:
        if form.next.data:
            flash(error.message, "error")
            return _back(form)
        return _admin_page({circle_id: error.message}, 400, request.form)
    flash(f"Added to {circle.name}: {', '.join(p.name for p in added) or 'nobody new'}.", "success")
    return _back(form)


@bp.route("/admin/circles/<int:circle_id>/members/<username>/remove", methods=["GET", "POST"])
@admin_required
@get_leads_to(_circle_card)
def remove_member(circle_id, username):
    circle = _circle_or_404(circle_id)
    try:
        removed = service.remove_members(circle, [username], actor=current_user)
    except service.CircleError as error:
        abort(404, error.message)
    flash(f"Removed from {circle.name}: {', '.join(p.name for p in removed) or 'nobody (they were not in it)'}.", "success")
    return _back(NextForm())


@bp.route("/admin/members/<username>/circles", methods=["GET", "POST"])
@admin_required
@get_leads_to(member_row)
def add_member_to_circle(username):
    """The circle control on a row of /admin/members."""
    form = MemberCircleForm()
    if not form.validate():
        flash(form.circle_id.errors[0], "error")
        return redirect(url_for("admin.members"))
    circle = form.circle_id.circle
    try:
        added = service.add_members(circle, [username], actor=current_user)
    except service.CircleError as error:
        abort(404, error.message)
    if added:
        flash(f"Added @{username[:32]} to {circle.name}.", "success")
    else:  # it said "Added" of a member already in it, while nothing was done (a residents' building's tester)
        flash(f"@{username[:32]} is already in {circle.name}.", "info")
    back = safe_next(request.form.get("next"), url_for("admin.members")).split("#", 1)[0]  # its search and page
    return redirect(f"{back}#member-{username[:32]}")
