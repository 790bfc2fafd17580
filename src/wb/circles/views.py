"""Circle pages: the list members see (and where refusals lead), and the admins' /admin/circles."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..access import admin_required, login_required, safe_next
from ..extensions import db
from ..models import User
from ..security import whole_number
from . import service
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

    return render_template("circles/directory.html", circles=service.all_circles(), counts=service.member_counts(),
                           admins=admins, rules=describe())


def _circle_or_404(circle_id) -> Circle:
    circle = db.session.get(Circle, circle_id)
    if circle is None:
        abort(404, "That circle doesn't exist (it may have been deleted).")
    return circle


def _admin_page(errors=None, status=200, form=None):
    circles = service.all_circles()
    members = {circle.id: service.members_of(circle) for circle in circles}
    return render_template("circles/admin.html", circles=circles, members=members, errors=errors or {},
                           form=form or {}), status


def _back():
    return redirect(safe_next(request.form.get("next"), url_for("circles.admin")))


@bp.route("/admin/circles")
@admin_required
def admin():
    return _admin_page()


@bp.route("/admin/circles", methods=["POST"])
@admin_required
def create():
    try:
        circle = service.create(request.form.get("name"), actor=current_user)
    except service.CircleError as error:
        return _admin_page({"new": error.message}, 400, request.form)
    flash(f"Circle {circle.name} created.", "success")
    return redirect(url_for("circles.admin"))


@bp.route("/admin/circles/<int:circle_id>/rename", methods=["POST"])
@admin_required
def rename(circle_id):
    circle = _circle_or_404(circle_id)
    old = circle.name
    try:
        service.rename(circle, request.form.get("name"), actor=current_user)
    except service.CircleError as error:
        db.session.rollback()
        return _admin_page({circle_id: error.message}, 400)
    flash(f"{old} is now called {circle.name}.", "success")
    return redirect(url_for("circles.admin"))


@bp.route("/admin/circles/<int:circle_id>/delete", methods=["GET", "POST"])
@admin_required
def delete(circle_id):
    """Deleting asks first, saying what it would change in the messaging rules."""
    circle = _circle_or_404(circle_id)
    if request.method == "GET" or request.form.get("confirm") != "yes":
        from ..messaging.rule_changes import impact_of_deleting

        return render_template("circles/delete.html", circle=circle, count=len(service.members_of(circle)),
                               impact=impact_of_deleting(circle))
    name = circle.name
    changes = service.delete_circle(circle, actor=current_user)
    flash(" ".join([f"Circle {name} deleted. Its members and their messages are untouched.", *changes]), "success")
    return redirect(url_for("circles.admin"))


@bp.route("/admin/circles/<int:circle_id>/members", methods=["POST"])
@admin_required
def add_members(circle_id):
    circle = _circle_or_404(circle_id)
    try:
        added = service.add_members(circle, service.split_usernames(request.form.get("usernames")), actor=current_user)
    except service.CircleError as error:
        if request.form.get("next"):
            flash(error.message, "error")
            return _back()
        return _admin_page({circle_id: error.message}, 400)
    flash(f"Added to {circle.name}: {', '.join(p.name for p in added) or 'nobody new'}.", "success")
    return _back()


@bp.route("/admin/circles/<int:circle_id>/members/<username>/remove", methods=["POST"])
@admin_required
def remove_member(circle_id, username):
    circle = _circle_or_404(circle_id)
    try:
        removed = service.remove_members(circle, [username], actor=current_user)
    except service.CircleError as error:
        abort(404, error.message)
    flash(f"Removed from {circle.name}: {', '.join(p.name for p in removed) or 'nobody (they were not in it)'}.", "success")
    return _back()


@bp.route("/admin/members/<username>/circles", methods=["POST"])
@admin_required
def add_member_to_circle(username):
    """The circle control on a row of /admin/members."""
    circle_id = whole_number(request.form.get("circle_id"))
    circle = db.session.get(Circle, circle_id) if circle_id is not None else None
    if circle is None:
        flash("Choose a circle to add them to.", "error")
        return redirect(url_for("admin.members"))
    try:
        service.add_members(circle, [username], actor=current_user)
    except service.CircleError as error:
        abort(404, error.message)
    flash(f"Added @{username[:32]} to {circle.name}.", "success")
    return redirect(url_for("admin.members", _anchor=f"member-{username[:32]}"))
