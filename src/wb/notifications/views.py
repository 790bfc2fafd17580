"""Email settings, the confirmation link, unsubscribe. Thin: read input, call one function, render or redirect."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..access import login_required
from ..extensions import csrf
from . import addresses
from .addresses import AddressRefused
from .forms import EmailForm
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


def _render_email_page(errors, status=200, form=None):
    """The section again with what was sent in it: the address typed, and the choices as ticked."""
    choices = {"frequency": form.frequency.raw_data[0], "discreet": bool(form.discreet.data)} \
        if form is not None and form.choices_sent else None
    return render_template("notifications/email_settings.html", email_errors=errors,
                           email_typed=request.form.get("email", ""), email_choices_typed=choices), status


# "Save email choices" refused for the address above it: the member pressed a button far below it
# and is told that nothing was saved and what to press (an address was dropped silently: a tester).
NOTHING_SAVED = {400: " Nothing was saved. Correct the address, or empty this box to save just your email choices,"
                      " then press Save email choices again.",
                 429: " Nothing was saved. To save just your email choices, empty this box and press Save email"
                      " choices again."}


@bp.route("/settings/email", methods=["POST"])
@login_required
def set_address():
    """Add (or Change) address: the address, and the choices the card shows with it."""
    return _save_email_card(address_required=True)


@bp.route("/settings/email/remove", methods=["POST"])
@login_required
def remove_address():
    addresses.remove_address(current_user)
    flash("Your email address is removed. We won't email you.", "success")
    return redirect(_settings_page())


@bp.route("/settings/email/frequency", methods=["POST"])
@login_required
def set_frequency():
    """Save email choices: the choices, and an address typed above them (it was dropped: a tester)."""
    return _save_email_card(address_required=False)


def _save_email_card(address_required: bool):
    form = EmailForm(address_required)
    if not form.validate():
        errors = form.first_errors
        if "email" in errors and not address_required:
            errors["email"] += NOTHING_SAVED[400]
        return _render_email_page(errors, 400, form)
    try:
        choices_changed = addresses.save_card(current_user, form.email.data, form.frequency.data,
                                              name_writers=not form.discreet.data)
    except AddressRefused as refused:
        words = refused.message + ("" if address_required else NOTHING_SAVED.get(refused.status, ""))
        return _render_email_page({"email": words}, refused.status, form)
    said = [_address_saved(form.email.data)] if form.email.data else []
    if form.frequency.data and (choices_changed or not address_required):
        said.append(_choices_saved(form.frequency.data, form.discreet.data))
    flash(" ".join(said), "success")
    return redirect(_settings_page())


def _address_saved(address: str) -> str:
    if addresses.settings_of(current_user).confirmed:
        return f"{address} is already confirmed."
    # The Email section says what happens next; the note only says it was saved (a tester read both).
    return f"Saved {address}: look in that inbox for our link."


def _choices_saved(frequency: str, discreet: bool) -> str:
    without_names = ", without naming who wrote" if discreet and frequency != "never" else ""
    # Saved before an address is confirmed, it says nothing goes out yet (a tester read "saved" as "on").
    waiting = "" if frequency == "never" or addresses.settings_of(current_user).confirmed else \
        " Nothing is sent until you confirm an email address."
    return f"Email about unread messages: {FREQUENCIES[frequency].lower()}{without_names}.{waiting}"


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
