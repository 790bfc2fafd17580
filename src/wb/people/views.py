"""Profiles, members directory, settings."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..access import login_required
from ..auth.service import update_profile
from ..extensions import db
from ..models import HelpRequest, User
from ..security import page_arg
from . import bp

MEMBERS_PER_PAGE = 50


@bp.route("/people/<username>")
def profile(username):
    user = User.by_username(username)
    if user is None or user.deleted_at is not None:
        abort(404, "No member has that username.")
    requests_ = list(
        db.session.scalars(
            select(HelpRequest).where(HelpRequest.author_id == user.id).order_by(HelpRequest.id.desc()).limit(20)
        )
    )
    return render_template("people/profile.html", person=user, requests=requests_)


@bp.route("/members")
@login_required
def directory():
    page = page_arg()
    query = select(User).where(User.deleted_at.is_(None), User.status != "suspended").order_by(User.username)
    pagination = db.paginate(query, page=page, per_page=MEMBERS_PER_PAGE, error_out=False)
    return render_template("people/directory.html", pagination=pagination, members=pagination.items)


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    errors = {}
    if request.method == "POST":
        errors = update_profile(current_user, request.form).errors
        if not errors:
            flash("Your profile is saved.", "success")
            return redirect(url_for("people.settings"))
    from ..messaging.service import blocked_members

    return render_template(
        "people/settings.html", errors=errors, form=request.form, blocked=blocked_members(current_user)
    ), (400 if errors else 200)
