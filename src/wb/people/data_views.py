"""A member's data: Settings → Download my conversations and Close my account, and an admin's
erasure on request (behind a typed confirmation)."""
from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user

from ..access import ENDED_KEY, admin_required, login_required
from ..admin import standing
from ..errors import render_error
from ..extensions import db
from ..messaging.ops.database import MessagingUnavailable
from ..models import User
from . import bp, leaving
from . import export as member_export
from .forms import CloseAccountForm, EraseMemberForm


@bp.route("/settings/close", methods=["GET", "POST"])
@login_required
def close_account():
    """What closing does, then (with the member's password) closes their account and signs them out."""
    form = CloseAccountForm(current_user)
    refusal = leaving.why_not_close(current_user)
    if refusal is None and form.validate_on_submit():
        try:
            leaving.close_account(current_user, erase_text=form.erase_text.data, actor=current_user,
                                  remove_posts=form.remove_posts.data)
        except MessagingUnavailable:  # asked before anything changed: the page says the account stays open
            db.session.rollback()
            return render_template(
                "people/close.html", errors={}, refusal=None, erase_checked=True,
                remove_posts_checked=form.remove_posts.data,
                not_closed="Your account was not closed, and nothing was changed: the text of your messages can't be "
                           "erased right now (their database isn't answering as it should; the admins can see why). "
                           "Try again later, or close without erasing the text."), 503
        logout_user()
        session[ENDED_KEY] = "closed"  # this browser's other tabs are told why (access.why_ended)
        flash("Your account is closed and you are signed out everywhere. Thank you for being part of WhiteBalloon.",
              "success")
        return redirect(url_for("auth.login"))
    status = 400 if form.errors else (403 if refusal and form.is_submitted() else 200)
    return render_template("people/close.html", errors=form.first_errors, refusal=refusal,
                           erase_checked=form.erase_text.data, remove_posts_checked=form.remove_posts.data), status


@bp.route("/admin/members/<username>/erase", methods=["GET", "POST"])
@admin_required
def erase_member(username):
    """Erasure on request: a page saying what it does, and the member's username typed to confirm."""
    member = User.by_username(username)
    if member is None:
        abort(404, "No member has that username.")
    if member.id == current_user.id:
        abort(400, "You can't erase your own account here. Close it from Settings instead.")
    refusal = standing.why_not(current_user, member, "erase")
    if refusal:
        abort(400, refusal)
    if member.is_erased:  # it asked again, as if nothing had happened (a re-check tester)
        flash(f"{member.username} was erased already. To finish a wipe the messaging database interrupted, "
              f"an operator runs ./wb members erase {member.username}.", "info")
        return redirect(url_for("admin.members", _anchor=f"member-{member.username}"))
    form = EraseMemberForm(member)
    if form.validate_on_submit():
        name = f"{member.name} (@{member.username})"
        try:
            wiped = leaving.erase_member(member, actor=current_user)
        except MessagingUnavailable as error:  # asked before anything changed: say why, for the operator
            db.session.rollback()
            return render_error(503, f"Nothing was erased. {error}", title="Messages unavailable")
        flash(f"{name} is erased: account closed, profile, email address and tokens removed, "
              f"text of {wiped:,} message{'' if wiped == 1 else 's'} wiped. "
              + " ".join(caveat.replace("`", "") for caveat in leaving.erasure_caveats()),
              "success")
        return redirect(url_for("admin.members"))
    return (render_template("people/erase.html", person=member, errors=form.first_errors,
                            warnings=leaving.erasure_warnings(member),
                            caveats=leaving.erasure_caveats(html=True)), 400 if form.errors else 200)


@bp.route("/settings/export", methods=["GET", "POST"])
@login_required
def export():
    """Download my conversations: a ZIP streamed as it is written (once an hour, WB_EXPORT_RATE_LIMIT).

    Asked with a form (POST, its CSRF token checked): as a link, any other site could spend the
    member's hour's one download with an image tag (an outside tester). A GET leads to the button."""
    if request.method != "POST":
        return redirect(url_for("people.settings", _anchor="your-data"))
    try:
        return member_export.zip_response(current_user)
    except member_export.TooSoon as too_soon:
        # The way back where the download was asked for (a bare "429" led to the start page only).
        body, status = render_error(429, too_soon.message, title="Not yet",
                                    link=("people.settings", "Back to your settings", "your-data"))
        return body, status, too_soon.headers
