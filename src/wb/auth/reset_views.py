"""/reset/<token>: a member who forgot their password chooses a new one with the link an admin gave them."""
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import login_user

from .. import ratelimits
from ..access import ENDED_KEY
from ..extensions import db
from ..models import User
from . import bp, resets
from .forms import ResetPasswordForm

# The page keeps the app's Referrer-Policy: same-origin (security.py): the link's token reaches no
# other site. no-referrer would also drop the Referer that CSRF's HTTPS check needs on the POST.


@bp.route("/reset/<token>", methods=["GET"])
def reset_password(token):
    try:
        row = resets.usable_link(token)
    except resets.ResetRefused as refused:
        return _refused(refused)
    return _form_page(token, row.member)


@bp.route("/reset/<token>", methods=["POST"])
def reset_password_post(token):
    try:
        ratelimits.take("reset", current_app.config["LOGIN_RATE_LIMIT"], f"addr:{request.remote_addr}")
    except ratelimits.LimitReached as reached:
        words = f"Too many tries from this internet connection just now. Try again in {ratelimits.wait_words(reached.retry_after)}."
        return _form_page(token, None, {"form": words}, 429, ratelimits.retry_after_headers(reached.retry_after))
    try:
        row = resets.usable_link(token)
        form = ResetPasswordForm()
        if not form.validate():
            return _form_page(token, row.member, form.first_errors, 400)
        member = resets.set_password_with(row, form.new_password.data)
    except resets.ResetRefused as refused:
        return _refused(refused)
    login_user(db.session.get(User, member.id))  # a cookie of the generation the new password began
    session.pop(ENDED_KEY, None)
    flash("Your new password is set and you are signed in. Every other device was signed out.", "success")
    return redirect(url_for("main.dashboard"))


def _form_page(token, member, errors=None, status=200, headers=None):
    return render_template("auth/reset.html", token=token, member=member, errors=errors or {},
                           refusal=None), status, headers or {}


def _refused(refused):
    return render_template("auth/reset.html", token=None, member=None, errors={},
                           refusal=refused.message), refused.status
