"""Help request pages."""
from flask import current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from flask_login import current_user

from ..access import active_required, login_required
from .. import ratelimits
from ..extensions import db
from ..models import Comment, HelpRequest
from ..security import is_htmx, page_arg
from . import bp, service
from .forms import CommentForm, RequestForm

PER_PAGE = 20


@bp.route("/requests")
@login_required  # members only, as every page with what members wrote
def index():
    page = page_arg()
    query = select(HelpRequest).options(selectinload(HelpRequest.author)).order_by(HelpRequest.id.desc())
    pagination = db.paginate(query, page=page, per_page=PER_PAGE, error_out=False)
    _prepare_message_buttons([r.author for r in pagination.items])
    return render_template("requests/index.html", pagination=pagination, requests=pagination.items)


@bp.route("/requests/new", methods=["GET", "POST"])
@active_required
def new():
    form = RequestForm()
    if not form.validate_on_submit():
        return render_template("requests/new.html", errors=form.first_errors, form=request.form), (
            400 if form.errors else 200
        )
    too_fast = _too_fast("request", "REQUEST_RATE_LIMIT", "requests")
    if too_fast:
        message, retry_after = too_fast
        return render_template("requests/new.html", errors={"body": message}, form=request.form), 429, \
            {"Retry-After": str(retry_after)}
    help_request = service.create_request(current_user, form.title.data, form.body.data)
    flash("Your request is posted.", "success")
    return redirect(url_for("requests.show", request_id=help_request.id))


@bp.route("/requests/<int:request_id>")
@login_required
def show(request_id):
    help_request = service.get_request_for(current_user, request_id)
    return _page(help_request, {}, {})


def _prepare_message_buttons(authors) -> None:
    """Whom the viewer may write to, for every author on the page at once (a fixed number of queries)."""
    from ..messaging import policy, rules

    if policy.show_inbox_badge(current_user):
        rules.prepare_page(current_user, authors)


def _comments_of(help_request: HelpRequest) -> list[Comment]:
    """The request's comments, oldest first, with their authors loaded in one query."""
    return list(
        db.session.scalars(
            select(Comment).options(selectinload(Comment.author))
            .where(Comment.request_id == help_request.id).order_by(Comment.id)
        )
    )


@bp.route("/requests/<int:request_id>/comments", methods=["POST"])
@active_required
def comment(request_id):
    help_request = service.get_request_for(current_user, request_id)
    if current_user.is_active_member and not is_htmx() and not service.may_comment(current_user, help_request):
        # Refused after the form was drawn (its author blocked them meanwhile): the request's page says
        # so, with what was typed to copy (a bare 403 page took it, with no way back: a street's tester).
        return _page(help_request, {}, request.form), 403
    service.check_may_comment(current_user, help_request)  # before the text is checked or counted
    form = CommentForm()
    if not form.validate():
        return _page_with_errors(help_request, form.first_errors, 400)
    too_fast = _too_fast("comment", "COMMENT_RATE_LIMIT", "comments")
    if too_fast:  # what was typed stays in the box
        return _page_with_errors(help_request, {"body": too_fast[0]}, 429, {"Retry-After": str(too_fast[1])})
    created = service.add_comment(current_user, help_request, form.body.data)
    flash("Comment posted.", "success")
    return redirect(url_for("requests.show", request_id=help_request.id, _anchor=f"comment-{created.id}"))


def _page_with_errors(help_request: HelpRequest, errors: dict, status: int, headers=None):
    """The request's page with the comment form's errors and what was typed."""
    return _page(help_request, errors, request.form), status, headers or {}


def _page(help_request: HelpRequest, errors: dict, form) -> str:
    """The request's page: its comments, which of them the viewer may remove, and the comment form
    only for a member who may comment (a block is never named: service.may_comment)."""
    comments = _comments_of(help_request)
    _prepare_message_buttons([help_request.author, *(c.author for c in comments)])
    removable = {c.id for c in comments if service.may_remove_comment(current_user, help_request, c)}
    return render_template("requests/show.html", help_request=help_request, comments=comments, errors=errors,
                           form=form, removable=removable,
                           may_comment=service.may_comment(current_user, help_request),
                           may_remove_request=service.may_remove_request(current_user, help_request))


def _too_fast(name: str, config_key: str, things: str) -> tuple[str, int] | None:
    """Count one post of the member's against its limit: None when it may go, else what to tell
    them and the seconds until it may (a member posting much faster is a flood, not a neighbour)."""
    try:
        ratelimits.take(name, current_app.config[config_key], f"user:{current_user.id}")
    except ratelimits.LimitReached as reached:
        return (f"You've posted {reached.limit.amount} {things} in a short time, the most one member can. "
                f"Try again in {ratelimits.wait_words(reached.retry_after)}."), reached.retry_after
    return None


@bp.route("/requests/<int:request_id>/comments/<int:comment_id>/remove", methods=["POST"])
@active_required
def remove_comment(request_id, comment_id):
    comment = service.get_comment_for_removal(current_user, request_id, comment_id)
    if request.form.get("confirmed") != "1":
        # With JavaScript a dialog asked (app.js says so in `confirmed`); a plain form asks on a page.
        return render_template("requests/confirm_remove_comment.html", comment=comment)
    service.remove_comment(current_user, comment)
    flash("Comment removed.", "success")
    return redirect(url_for("requests.show", request_id=request_id, _anchor="comments"))


@bp.route("/requests/<int:request_id>/remove", methods=["POST"])
@active_required
def remove(request_id):
    help_request = service.get_request_for(current_user, request_id, check_remover=True)
    if request.form.get("confirmed") != "1":
        return render_template("requests/confirm_remove.html", help_request=help_request)
    service.remove_request(current_user, help_request)
    flash("The request and its comments are removed.", "success")
    return redirect(url_for("requests.index"))
