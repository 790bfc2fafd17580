"""/api/docs: the API's reference, drawn by a vendored Swagger UI from /api/v1/openapi.json."""
from flask import Blueprint, render_template

from ..messaging import policy
from .problems import ApiProblem

bp = Blueprint("api_docs", __name__)
SWAGGER_UI_VERSION = "5.35.0"  # static/vendor/swagger-ui-bundle-<version>.js, from the npm registry


@bp.get("/api/docs")
def index():
    """The reference page; like every API route, not there while messaging is off."""
    if not policy.messaging_enabled():
        raise ApiProblem(404, "There is nothing here.")
    return render_template("api/docs.html", version=SWAGGER_UI_VERSION)
