"""Profiles, members directory, settings."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user
from sqlalchemy import select

from ..access import login_required
from ..api import tokens
from ..auth import service as accounts
from ..auth.forms import ChangePasswordForm, ProfileForm
from ..circles import service as circle_service
from ..circles.models import CircleMember
from ..circles.service import circles_by_member
from ..visibility import listed_for, member_seen_by, sees_every_member
from ..messaging import reads, rules, safety
from ..messaging.directory_search import name_matches, sort_name, typed_name
from ..messaging.policy import show_inbox_badge
from ..messaging.rules import MESSAGE_FROM
from ..extensions import db
from .. import ratelimits
from ..models import HelpRequest, User
from ..requests import requests_on
from ..security import page_arg
from . import bp
from .forms import MessageFromForm, PauseForm, ReadReceiptsForm

MEMBERS_PER_PAGE = 50


@bp.route("/people/<username>")
@login_required  # an invite-only community: who is a member, and what they wrote, is for members
def profile(username):
    user = member_seen_by(current_user, username)
    if user is None:
        abort(404, "No member has that username.")
    requests_ = list(
        db.session.scalars(
            select(HelpRequest).where(HelpRequest.author_id == user.id).order_by(HelpRequest.id.desc()).limit(20)
        )
    ) if requests_on() else []
    # Where members see only the admins and their conversations, nobody's circles or status show.
    everything = user.id == current_user.id or sees_every_member(current_user)
    circles = circles_by_member([user.id]).get(user.id, []) if everything else []
    return render_template("people/profile.html", person=user, requests=requests_, circles=circles,
                           show_status=everything or user.is_admin)


@bp.route("/members")
@login_required
def directory():
    """Every member (or a circle's, with ?circle=NAME; those whose name holds ?q=, in any case,
    accents or not), each with their circles and a "Message" button or why not: decided for the
    whole page in a fixed number of queries."""
    page = page_arg()
    # By the name shown, not the username behind it ("Greta Buys" (@buyer2) came before "Carol": a
    # marketplace tester)
    query = select(User).where(User.deleted_at.is_(None), User.status != "suspended").order_by(sort_name(), User.username)
    name = typed_name(request.args.get("q"))
    listed = listed_for(current_user)
    # Where members see only some members, nobody's circles either: no circle to filter by.
    circle_name = request.args.get("circle", "") if listed is None else ""
    circle = circle_service.by_name(circle_name) if circle_name else None
    shown = dict(q=name, all_circles=circle_service.all_circles() if listed is None else [])
    if circle_name and circle is None:
        return render_template("people/directory.html", pagination=None, members=[], circle=None,
                               unknown_circle=circle_name[:60], member_circles={}, viewer_refusal=None, **shown), 404
    if circle is not None:
        query = query.join(CircleMember, CircleMember.user_id == User.id).where(CircleMember.circle_id == circle.id)
    if name:
        query = query.where(name_matches(name))
    if listed is not None:
        query = query.where(listed)
    pagination = db.paginate(query, page=page, per_page=MEMBERS_PER_PAGE, error_out=False)
    members = pagination.items
    viewer_refusal = None
    if show_inbox_badge(current_user):
        viewer_refusal = rules.viewer_wide_refusal(rules.prepare_page(current_user, members))
    return render_template(
        "people/directory.html", pagination=pagination, members=members, circle=circle, unknown_circle=None,
        member_circles=circles_by_member([member.id for member in members]) if listed is None else {},
        viewer_refusal=viewer_refusal, only_some=listed is not None,
        circle_ignored=listed is not None and bool(request.args.get("circle")), **shown,
    )


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    form = ProfileForm(member_id=current_user.id)
    if form.validate_on_submit():
        try:
            accounts.update_profile(current_user, form.display_name.data, form.bio.data)
        except ratelimits.LimitReached as reached:
            db.session.rollback()
            form.display_name.errors.append(
                f"You've taken {reached.limit.amount} new display names today, the most one member can. Try again "
                f"in {ratelimits.wait_words(reached.retry_after)}; nothing was saved.")
            body, _status = _render_settings(form)
            return body, 429, ratelimits.retry_after_headers(reached.retry_after)
        flash("Your profile is saved.", "success")
        return redirect(url_for("people.settings"))
    return _render_settings(form)


def _render_settings(form=None, message_form=None, pause_form=None):
    """The settings page, with the errors of the form just posted (a GET has none)."""
    from ..messaging.safety import blocked_members

    errors = form.first_errors if form is not None else {}
    message_form = message_form or MessageFromForm(formdata=None, message_from=current_user.message_from)
    pause_errors = pause_form.first_errors if pause_form is not None else {}
    return render_template(
        "people/settings.html", errors=errors, form=request.form, blocked=blocked_members(current_user),
        message_form=message_form, pause_errors=pause_errors,
    ), (400 if errors or message_form.errors or pause_errors else 200)


@bp.route("/settings/messaging", methods=["POST"])
@login_required
def message_from():
    """The member's own "who can start a conversation with me" (messaging/rules/ reads it)."""
    form = MessageFromForm()
    if not form.validate_on_submit():
        return _render_settings(message_form=form)
    if current_user.message_from != form.message_from.data:
        current_user.message_from = form.message_from.data
        # Who may start a conversation changed: an open draft with them (no message yet) shows its
        # box closed (or open) now, as a pause does; conversations with a message are replies, unchanged.
        safety.tell_compose_changed(current_user.id, unwritten_only=True)
    db.session.commit()
    # The choice in its own words, quoted: lower-cased it read "people i already have".
    flash(f"Saved. Who can start a conversation with you: “{MESSAGE_FROM[form.message_from.data]}”.", "success")
    return redirect(url_for("people.settings", _anchor="messaging"))


@bp.route("/settings/read-receipts", methods=["POST"])
@login_required
def read_receipts():
    """The member's own read receipts (messaging/reads.py shares them only between two who both keep them on)."""
    form = ReadReceiptsForm()
    if current_user.read_receipts != form.read_receipts.data:  # saved unchanged: nothing to tell
        current_user.read_receipts = form.read_receipts.data
        reads.tell_receipts_changed(current_user)
    db.session.commit()
    flash("Saved. Others " + ("see when you've read their messages, and you see when they've read yours."
                              if form.read_receipts.data else "don't see when you've read their messages, and you "
                              "don't see when they've read yours."), "success")
    return redirect(url_for("people.settings", _anchor="read-receipts"))


@bp.route("/settings/messaging/pause", methods=["POST"])
@login_required
def pause_messages():
    """The member's own "Pause messages" (messaging/rules reads it): nobody but staff may write to
    them, in new or existing conversations, until they turn it off."""
    form = PauseForm()
    if not form.validate_on_submit():
        return _render_settings(pause_form=form)
    current_user.messages_paused = form.paused.data == "on"
    # Their conversations' other members with the thread open see its box close (or open) now.
    safety.tell_compose_changed(current_user.id)
    db.session.commit()
    if current_user.messages_paused:
        flash("Messages paused: nobody but staff can write to you until you turn it off.", "success")
    else:
        flash("Messages are back on: members can write to you again.", "success")
    return redirect(url_for("people.settings", _anchor="pause"))


@bp.route("/settings/password", methods=["POST"])
@login_required
def change_password():
    form = ChangePasswordForm(current_user)
    if not form.validate():
        return _render_settings(form)
    revoked = _revoke_tokens_if_asked()
    accounts.change_password(current_user, form.new_password.data)
    _keep_this_browser_signed_in()
    flash("Your password is changed, and every other device is signed out." + revoked, "success")
    return redirect(url_for("people.settings"))


@bp.route("/settings/sign-out-everywhere", methods=["POST"])
@login_required
def sign_out_everywhere():
    revoked = _revoke_tokens_if_asked()
    accounts.end_sessions(current_user, "everywhere")
    _keep_this_browser_signed_in()
    flash("Signed out of every other device. This browser stays signed in." + revoked, "success")
    return redirect(url_for("people.settings"))


def _revoke_tokens_if_asked() -> str:
    """Revoke the member's API tokens when the form's "also revoke my API tokens" is ticked (the
    caller's commit saves it with the sessions' end); what to add to the confirmation."""
    if request.form.get("revoke_tokens") != "yes":
        return " Your API tokens still work."
    count = tokens.revoke_all(current_user)
    return f" Your API tokens are revoked ({count})." if count else " You had no API tokens to revoke."


def _keep_this_browser_signed_in():
    """After every session ended, this browser signs back in with a cookie of the new generation."""
    login_user(db.session.get(User, current_user.id))
