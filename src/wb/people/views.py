"""Profiles, members directory, settings."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user
from sqlalchemy import select

from ..access import login_required
from ..auth import service as accounts
from ..auth.forms import ChangePasswordForm, ProfileForm
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
    form = ProfileForm()
    if form.validate_on_submit():
        accounts.update_profile(current_user, form.display_name.data, form.bio.data)
        flash("Your profile is saved.", "success")
        return redirect(url_for("people.settings"))
    return _render_settings(form)


def _render_settings(form):
    """The settings page, with the errors of the form just posted (a GET has none)."""
    from ..messaging.safety import blocked_members

    errors = form.first_errors
    return render_template(
        "people/settings.html", errors=errors, form=request.form, blocked=blocked_members(current_user)
    ), (400 if errors else 200)


@bp.route("/settings/password", methods=["POST"])
@login_required
def change_password():
    form = ChangePasswordForm(current_user)
    if not form.validate():
        return _render_settings(form)
    accounts.change_password(current_user, form.new_password.data)
    _keep_this_browser_signed_in()
    flash("Your password is changed, and every other device is signed out.", "success")
    return redirect(url_for("people.settings"))


@bp.route("/settings/sign-out-everywhere", methods=["POST"])
@login_required
def sign_out_everywhere():
    accounts.end_sessions(current_user, "everywhere")
    _keep_this_browser_signed_in()
    flash("Signed out of every other device. This browser stays signed in.", "success")
    return redirect(url_for("people.settings"))


def _keep_this_browser_signed_in():
    """After every session ended, this browser signs back in with a cookie of the new generation."""
    login_user(db.session.get(User, current_user.id))
