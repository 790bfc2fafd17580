"""Email settings, the confirmation link, unsubscribe. Thin: read input, call one function, render or redirect."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..access import login_required
from ..extensions import csrf
from . import addresses
from .addresses import AddressRefused
from .forms import AddressForm, FrequencyForm
from .models import FREQUENCIES
from .tokens import LinkRefused

bp = Blueprint("notifications", __name__)


def _settings_page():
    return url_for("people.settings") + "#email"


@bp.route("/settings/email")
@login_required
def email_settings():
    """The email section on a page of its own (Settings includes the same partial)."""
    return _render_email_page({})


def _render_email_page(errors, status=200):
    return render_template("notifications/email_settings.html", email_errors=errors,
                           email_typed=request.form.get("email", "")), status


@bp.route("/settings/email", methods=["POST"])
@login_required
def set_address():
    form = AddressForm()
    if not form.validate():
        return _render_email_page(form.first_errors, 400)
    try:
        address = addresses.set_address(current_user, form.email.data)
    except AddressRefused as refused:
        return _render_email_page({"email": refused.message}, refused.status)
    settings = addresses.settings_of(current_user)
    if settings.confirmed:
        flash(f"{address} is already confirmed.", "success")
    else:
        # The Email section says what happens next; the note only says it was saved (a tester read both).
        flash(f"Saved {address}: look in that inbox for our link.", "success")
    return redirect(_settings_page())


@bp.route("/settings/email/remove", methods=["POST"])
@login_required
def remove_address():
    addresses.remove_address(current_user)
    flash("Your email address is removed. We won't email you.", "success")
    return redirect(_settings_page())


@bp.route("/settings/email/frequency", methods=["POST"])
@login_required
def set_frequency():
    form = FrequencyForm()
    if not form.validate():
        return _render_email_page(form.first_errors, 400)
    try:
        frequency = addresses.set_frequency(current_user, form.frequency.data, name_writers=not form.discreet.data)
    except AddressRefused as refused:
        return _render_email_page({"frequency": refused.message}, refused.status)
    without_names = ", without naming who wrote" if form.discreet.data and frequency != "never" else ""
    # Saved before an address is confirmed, it says nothing goes out yet (a tester read "saved" as "on").
    waiting = "" if frequency == "never" or addresses.settings_of(current_user).confirmed else \
        " Nothing is sent until you confirm an email address."
    flash(f"Email about unread messages: {FREQUENCIES[frequency].lower()}{without_names}.{waiting}", "success")
    return redirect(_settings_page())


@bp.route("/settings/email/confirm/<token>")
def confirm(token):
    """The link in the confirmation email; works signed in or not (the signature is the proof)."""
    try:
        settings = addresses.confirm(token)
    except LinkRefused as refused:
        return render_template("notifications/link_result.html", title="Link not valid",
                               message=refused.message, ok=False), 400
    return render_template("notifications/link_result.html", title="Address confirmed", ok=True,
                           message=f"{settings.address} is confirmed. Choose in Settings when to hear "
                                   "about unread messages.")


@bp.route("/email/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click: the mail client POSTs without a session; the signed token is the proof
def unsubscribe(token):
    """GET: a page with one button (link scanners must not unsubscribe anyone). POST: unsubscribe."""
    if request.method == "GET":
        try:
            addresses.unsubscribing(token)
        except LinkRefused as refused:
            return render_template("notifications/link_result.html", title="Link not valid",
                                   message=refused.message, ok=False), 400
        return render_template("notifications/unsubscribe.html", token=token)
    try:
        addresses.unsubscribe(token)
    except LinkRefused as refused:
        return render_template("notifications/link_result.html", title="Link not valid",
                               message=refused.message, ok=False), 400
    return render_template("notifications/link_result.html", title="Unsubscribed", ok=True,
                           message="You won't get emails about unread messages any more. "
                                   "You can switch them on again in Settings.")
