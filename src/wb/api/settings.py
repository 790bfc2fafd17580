"""/settings/tokens: a member's personal access tokens for the API (create, see, revoke)."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..access import login_required
from ..models import utcnow
from . import tokens
from .forms import TokenForm

bp = Blueprint("api_tokens", __name__, url_prefix="/settings/tokens")
# The "Expires" choice's options, in the order shown: a key of tokens.LIFETIMES and its words.
LIFETIME_CHOICES = (("30", "In 30 days"), ("90", "In 90 days"), ("365", "In 1 year"), ("never", "Never"))


@bp.route("", methods=["GET"])
@login_required
def index():
    return _render()


@bp.route("", methods=["POST"])
@login_required
def create():
    """Create a named token that works for the chosen time and show it, once: only its hash is kept."""
    form = TokenForm()
    if not form.validate():
        return _render(errors=form.first_errors, status=400)
    try:
        row, token = tokens.issue(current_user, form.name.data, form.expires.data)
    except tokens.TokenRefused as refused:
        return _render(errors={refused.field: str(refused)}, status=400)
    return _render(new_token=token, new_name=row.name, status=201)


@bp.route("/<int:token_id>/revoke", methods=["GET"])
@login_required
def confirm_revoke(token_id):
    """Ask before revoking: an app using the token stops working at once."""
    row = _own_active_token(token_id)
    return render_template("api/revoke_token.html", token=row, gone=row.expired(utcnow()))


@bp.route("/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke(token_id):
    row = tokens.revoke(current_user, token_id)
    if row is None:
        abort(404, "You have no such token.")
    gone = row.expires_at is not None and row.expires_at <= row.revoked_at  # it had expired: only taken off the list
    flash(f"Token \u201c{row.name}\u201d " + ("removed." if gone else "revoked: it no longer works."), "success")
    return redirect(url_for("api_tokens.index"))


def _own_active_token(token_id):
    for row in tokens.active_tokens(current_user):
        if row.id == token_id:
            return row
    abort(404, "You have no such token.")


def _render(new_token=None, new_name=None, errors=None, status=200):
    return render_template(
        "api/tokens.html", tokens=tokens.active_tokens(current_user), new_token=new_token, new_name=new_name,
        errors=errors or {}, form=request.form, name_max=tokens.NAME_MAX, now=utcnow(),
        lifetimes=LIFETIME_CHOICES, default_lifetime=tokens.DEFAULT_LIFETIME,
    ), status
