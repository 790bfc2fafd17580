"""Help request pages."""
from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from flask_login import current_user

from ..access import active_required
from ..extensions import db
from ..models import Comment, HelpRequest
from ..security import page_arg
from . import bp, service
from .forms import CommentForm, RequestForm

PER_PAGE = 20


def get_request_or_404(request_id: int) -> HelpRequest:
    help_request = db.session.get(HelpRequest, request_id)
    if help_request is None:
        abort(404, "That request doesn't exist.")
    return help_request


@bp.route("/requests")
def index():
    page = page_arg()
    query = select(HelpRequest).options(selectinload(HelpRequest.author)).order_by(HelpRequest.id.desc())
    pagination = db.paginate(query, page=page, per_page=PER_PAGE, error_out=False)
    return render_template("requests/index.html", pagination=pagination, requests=pagination.items)


@bp.route("/requests/new", methods=["GET", "POST"])
@active_required
def new():
    form = RequestForm()
    if not form.validate_on_submit():
        return render_template("requests/new.html", errors=form.first_errors, form=request.form), (
            400 if form.errors else 200
        )
    help_request = service.create_request(current_user, form.title.data, form.body.data)
    flash("Your request is posted.", "success")
    return redirect(url_for("requests.show", request_id=help_request.id))


@bp.route("/requests/<int:request_id>")
def show(request_id):
    help_request = get_request_or_404(request_id)
    return render_template(
        "requests/show.html", help_request=help_request, comments=_comments_of(help_request), errors={}, form={}
    )


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
    help_request = get_request_or_404(request_id)
    form = CommentForm()
    if not form.validate():
        return render_template(
            "requests/show.html", help_request=help_request, comments=_comments_of(help_request),
            errors=form.first_errors, form=request.form,
        ), 400
    created = service.add_comment(current_user, help_request, form.body.data)
    flash("Comment posted.", "success")
    return redirect(url_for("requests.show", request_id=help_request.id, _anchor=f"comment-{created.id}"))
