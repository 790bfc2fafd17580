"""Messaging routes. Thin: read input, call one service function, render or redirect."""
import hashlib
import re
import secrets
from urllib.parse import parse_qsl

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from ..access import active_required, admin_required, get_leads_to, login_required, safe_next
from ..api import idempotency
from ..api.problems import ApiProblem
from ..api.schemas import SendHeaders
from ..errors import csrf_error, http_error, note_csrf_refused, render_error
from ..main.views import viewer_zone
from ..models import User
from ..requests import FLAG as REQUESTS_FLAG
from ..visibility import member_seen_by
from ..security import MAX_PAGE, is_htmx, number_arg, page_arg, whole_number
from ..text import BODY_MAX
from ..extensions import db, only_reads_from_here, reads_first, writes_from_here
from . import conversations, directory_search, live, policy, reads, rules, safety, writes
from .forms import ReportForm
from .inbox import blocked_count, dashboard_summary, hidden_count, hidden_found, inbox_page, unread_total, users_by_id
from .models import REPORT_REASONS, Report
from .policy import Refusal

bp = Blueprint("messaging", __name__, url_prefix="/messages")
THREAD_PANE = "thread-pane"  # the inbox's thread pane: a conversation picked in its list swaps only this
safety_bp = Blueprint("safety", __name__)


@bp.before_request
def _switched_on():
    """Every /messages route answers 404 while messaging is switched off."""
    if not policy.messaging_enabled():
        if request.endpoint == "messaging.live_channel":
            if current_user.is_authenticated and live.missed_switch_off(current_user.id, number_arg("since", "a cursor")):
                return live.switched_off_answer()
            if not current_user.is_authenticated or live.wait_while_switched_off(current_user):
                return None  # answered as usual: sent to sign in, or messaging is on again
            return live.switched_off_answer()
        if request.endpoint == "messaging.send" and current_user.is_authenticated:
            return _send_while_switched_off()
        if current_user.is_authenticated and (
                request.method != "GET" or not is_htmx() or request.endpoint not in PAGELESS_ENDPOINTS):
            # A member's bookmark or reload, a conversation picked in an inbox left open, or an action
            # pressed there (Hide, Mute: a street's tester): not "nothing here", which reads as
            # messages gone (an operator's tester).
            return render_error(404, SWITCHED_OFF_FOR_ADMINS if current_user.is_admin else SWITCHED_OFF,
                                title="Messaging is switched off")
        abort(404)


SWITCHED_OFF = ("The community's admins have switched messaging off for now. Your conversations are kept, "
                "and they come back here when messaging is switched on again.")
# An admin's own open pages: not the members' words about "the admins" (an outside tester).
SWITCHED_OFF_FOR_ADMINS = ("Members' conversations are kept, and members are told so; switch it on again in "
                           "Admin → Settings.")


def _send_while_switched_off():
    """A send that arrives after messaging was switched off: say so, and give back what was
    written (in the compose area for htmx, on a page of its own without JavaScript)."""
    # The draft's key, as the compose box names it: only this member's tab keeps it.
    context = {"body": request.form.get("body", ""), "draft": f"{current_user.id}-{request.view_args['conversation_id']}"}
    if is_htmx():
        return render_template("messaging/_compose_switched_off.html", **context), 404
    return render_template("messaging/switched_off.html", **context), 404


def _message_number_arg(name):
    """An optional message id cursor from the query string (after, seen, before); malformed is a 400."""
    return number_arg(name, "a message number")


def _refusal_response(refusal: Refusal):
    body, status = render_error(refusal.status, refusal.message, title="Can't do that", link=refusal.link)
    return body, status, refusal.headers


# --- inbox and threads ----------------------------------------------------------------


@bp.route("")
@active_required
def inbox():
    return _render_inbox(_listing_asked(), just_hidden=_just_hidden())


def _list_place() -> dict:
    """The list's page, filter and search this address asks for (?page=, ?filter=unread, ?q=), as
    url_for arguments: an inbox page, and a thread picked there (its rows carry them), so a reload or
    the thread's "All conversations" shows the list it was opened from (not always page 1: a tester)."""
    page = page_arg()
    return {"page": page if page > 1 else None,
            "filter": "unread" if request.args.get("filter") == "unread" else None,
            "q": directory_search.typed_name(request.args.get("q", "")) or None}


def _listing_asked(**kwargs):
    place = _list_place()
    return inbox_page(current_user, page=place["page"] or 1, unread_only=place["filter"] is not None,
                      search=place["q"], **kwargs)


def _just_hidden():
    """(conversation id, other member's name) of the conversation the member just hid (?hidden=ID,
    where Hide leads), while it is still hidden: the page offers Undo (a street's tester hid one by
    mistake and found no way back). Anything else in ?hidden= is ignored."""
    hidden_id = whole_number(request.args.get("hidden"))
    row = conversations.membership(current_user.id, hidden_id) if hidden_id else None
    if row is None or not row.hidden:
        return None
    return hidden_id, reads.display_name(db.session.get(User, row.other_user_id))


def _render_inbox(listing, conversation=None, **thread_context):
    """The inbox page, with a conversation open or not. Its navigation badge shows the
    unread total the listing read along with its rows."""
    active_id = conversation.id if conversation is not None else None
    return render_template(
        # The nav badge comes with the list's answers (/messages/list), which carry its total.
        "messaging/inbox.html", listing=listing, nav_unread=listing.unread_total, badge_follows=True,
        thread=conversation is not None, conversation=conversation, active_id=active_id,
        cant_start=rules.starting_refusal(current_user),
        hidden_found=hidden_found(current_user, listing.search) if listing.search else [], **thread_context,
    )


@bp.route("/new")
@active_required
def new_message():
    """Members to start a conversation with: the results for the inbox's search box (htmx),
    or a page of its own with a plain form, which works without JavaScript."""
    found = directory_search.search_members(current_user, request.args.get("q", ""))
    if is_htmx():
        return render_template("messaging/_new_message_results.html", found=found)
    return render_template("messaging/new_message.html", found=found, cant_start=rules.starting_refusal(current_user))


@bp.route("/with/<username>", methods=["POST"])
@active_required
def open_with(username):
    # One the viewer doesn't see is answered as nobody by that name (the member directory is off for them).
    recipient = member_seen_by(current_user, username, closed_too=True)
    try:
        conversation, _created = writes.open_conversation(current_user, recipient)
    except Refusal as refusal:
        return _refusal_response(refusal)
    return redirect(url_for("messaging.thread", conversation_id=conversation.id))


@bp.route("/<int:conversation_id>")
@active_required
def thread(conversation_id):
    """The inbox with this thread open; only the thread for the inbox's pane, or only older messages, to htmx."""
    conversation = conversations.get_conversation_for(current_user, conversation_id)
    before = _message_number_arg("before")
    if is_htmx() and before is not None:  # "Show older messages": just those
        page = reads.thread_page(current_user, conversation, before=before)
        response = make_response(render_template("messaging/_older.html", conversation=conversation, page=page))
    else:
        view = reads.thread_view(current_user, conversation, before=before)
        if is_htmx() and request.headers.get("HX-Target") == THREAD_PANE:  # picked in the list
            response = make_response(render_template("messaging/_thread_pane.html", **vars(view)))
        else:
            response = make_response(_full_page(view))
    # Which of the three answers depends on these headers too (security.py adds HX-Request).
    response.vary.update(("HX-Target", "HX-History-Restore-Request"))
    return response


def _full_page(view: reads.ThreadView, status=200, headers=None):
    """The inbox with this thread open (also what no-JavaScript form posts get back)."""
    return _render_inbox(_listing_asked(), **vars(view)), status, headers or {}


@bp.route("/<int:conversation_id>", methods=["POST"])
@reads_first  # until writes.send_message writes
@active_required
def send(conversation_id):
    conversation = conversations.get_conversation_for(current_user, conversation_id)
    # The thread's poller cursors (live.js adds them to an htmx send): malformed is a 400, before
    # anything is written.
    after, seen = _message_number_arg("after"), _message_number_arg("seen")
    body = request.form.get("body", "")
    try:
        sent = _send_once(conversation, body)
    except Refusal as refusal:
        return _compose_error(conversation, body, refusal)
    only_reads_from_here()  # the message and its metadata are committed: what is left draws the answer
    if not is_htmx():
        # No #message-N: jumping to it would scroll the whole page and hide the thread's
        # header; the thread opens at its newest message by itself (app.css).
        return redirect(url_for("messaging.thread", conversation_id=conversation.id))
    # The send itself proved the compose box stays open (the rules let it through),
    # so the empty box needs only the other member's name, not the whole thread.
    compose = dict(conversation=conversation, other_name=reads.display_name(sent.recipient),
                   compose_blocked=None, compose_body="", compose_error=None)
    # The new message comes with the answer as a poll's answer brings messages: what is new since
    # the thread's cursors and a new poller, out of band (a poll on its way at the same time may
    # bring some of them too: the page keeps one of each, app.js). Without the cursors the
    # answer fires the thread's poll instead.
    update = reads.poll(current_user, conversation, after, seen or 0) if after is not None else None
    if update is None:
        body = render_template("messaging/_compose.html", **compose)
    else:
        body = render_template("messaging/_send_answer.html", **{**compose, **vars(update)})
    # This tab skips its own live event for the send, so its answer brings or names all that
    # changed here: the badge too when replying read what had come in.
    return _answer_changing_list(body, conversation.id, (["wb:poll-now"] if update is None else [])
                                 + ["wb:list-changed"] + (["wb:unread-changed"] if sent.read_unread else []))


# A resend whose first try (its answer lost) the server is still storing, or has just failed: the
# page keeps the text and the key, so the next resend stores it once either way.
SEND_IN_FLIGHT = ("Not sent yet: this message may still be on its way. Send it again in a moment: it won't be "
                  "sent twice.")
# The page's key for this message was used for other words (a page can't do that: a tampered or
# stale one). What was written stays in the box; the next send goes with a new key.
SEND_KEY_REFUSED = "Not sent: this page mixed the message up with another one. Send it again."


def _send_once(conversation, body) -> writes.Sent:
    """Send the compose form's message, once per Idempotency-Key: the page makes one for each message, so
    a resend after a lost answer stores nothing new (the API's keys and rules, api/idempotency.py).
    Without JavaScript the form's own key (send_key, drawn with it) stands in, with the words: a
    form sent twice (a double click, Back and Send again) stores its message once."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        key = _form_send_key(body)
        if key is None:  # a form drawn before forms had keys, or a tampered one
            return writes.send_message(current_user, conversation, body)
    try:
        SendHeaders.model_validate({"Idempotency-Key": key})
    except ValidationError:
        raise Refusal(SEND_KEY_REFUSED, 400) from None
    writes_from_here()  # the key is written first, as the API writes it
    try:
        return idempotency.send_once(current_user, conversation, body, key)[0]
    except ApiProblem as problem:
        if problem.code == 409:
            raise Refusal(SEND_IN_FLIGHT, 409, retry_after=1) from None
        raise Refusal(SEND_KEY_REFUSED, problem.code) from None


# The compose form's own key (_compose.html's send_key): drawn by the server, so a page without
# JavaScript has one too.
SEND_KEY_FORM = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_send_key() -> str:
    return secrets.token_urlsafe(18)


def _posted_send_key() -> str | None:
    """The form's send_key as drawn (new_send_key), or None (none, or a body too large to read)."""
    try:
        key = request.form.get("send_key", "")
    except HTTPException:  # 413: the box is drawn again with a new key (nothing was read, nothing stored)
        return None
    return key if SEND_KEY_FORM.fullmatch(key) else None


def _form_send_key(body) -> str | None:
    """The Idempotency-Key a form sent without JavaScript stands for: its key with its words, so other
    words from the same form (Back, then a new message) are another message, not a refusal."""
    key = _posted_send_key()
    if key is None:
        return None
    return "form-" + hashlib.sha256(f"{key}\n{writes.clean_body(body)}".encode()).hexdigest()


CSRF_EXPIRED_SEND = ("This page's security token has expired, so your message wasn't sent. Reload the page and "
                     "send it again: what you wrote stays in the box.")
# Without JavaScript the answer is the page itself, drawn again with a new token.
CSRF_EXPIRED_SEND_PAGE = ("This page's security token had expired, so your message wasn't sent. It is in the box "
                          "below: send it again.")


@bp.errorhandler(CSRFError)
def _send_without_a_valid_token(error: CSRFError):
    """A send refused for its token: the box comes back with the text in it and says what to do (the
    "Form expired" page took the box's place, and what was typed with it: a marketplace tester).
    Without JavaScript, the thread's page with the text in its box (a marketplace tester lost it so
    too). Everything else refused for its token answers as anywhere else."""
    if request.endpoint != "messaging.send" or not current_user.is_authenticated or not current_user.is_active_member:
        return csrf_error(error)
    note_csrf_refused(error)
    try:
        conversation = conversations.get_conversation_for(current_user, request.view_args["conversation_id"])
    except HTTPException:  # not theirs, or gone: the usual answer
        return csrf_error(error)
    words = CSRF_EXPIRED_SEND if is_htmx() else CSRF_EXPIRED_SEND_PAGE
    return _compose_error(conversation, request.form.get("body", ""), Refusal(words, 400))


@bp.errorhandler(413)
def _send_too_large(error):
    """A send of more than a request may carry: the box comes back saying so (the "Too large" box
    took its place: an operator tester); what was typed is still in the tab's kept draft."""
    if request.endpoint != "messaging.send" or not is_htmx() or not current_user.is_authenticated:
        return http_error(error)
    try:
        conversation = conversations.get_conversation_for(current_user, request.view_args["conversation_id"])
    except HTTPException:
        return http_error(error)
    return _compose_error(conversation, "", Refusal(
        f"Messages can be at most {BODY_MAX:,} characters, and this one is far longer: nothing was sent.", 413))


def _compose_error(conversation, body, refusal: Refusal):
    # The form drawn again keeps its key: sent again, it is the same message (still on its way, 409).
    view = reads.thread_view(current_user, conversation, compose_body=body, compose_error=refusal.message,
                             compose_retry_after=refusal.retry_after if refusal.status == 429 else None,
                             compose_send_key=_posted_send_key())
    if is_htmx():
        # A refusal of the text itself (empty, too long) goes once the member types (app.js): "Write
        # something before sending" stayed above what they wrote (a residents' building's tester).
        return (render_template("messaging/_compose.html", compose_error_about_text=refusal.field == "body", **vars(view)),
                refusal.status, refusal.headers)
    return _full_page(view, refusal.status, refusal.headers)


# --- the tab's live channel ---------------------------------------------------------------


@bp.route("/live")
@login_required
def live_channel():
    """What changed for this member since the tab's cursor (?since=), held until something does
    or LIVE_HOLD_SECONDS pass: the page fetches the parts that changed (static/js/live.js).
    ?wait=0: answered at once, for a tab that another tab of the browser holds the ask for.
    A member waiting for approval listens too, for the approval."""
    if not live.may_listen(current_user):
        abort(403)
    changes = live.wait_for_changes(current_user, number_arg("since", "a cursor"), hold_it=request.args.get("wait") != "0")
    tab = live.acting_tab()
    hold = current_app.config["LIVE_HOLD_SECONDS"]
    response = jsonify(
        cursor=changes.cursor,
        refresh=changes.refresh,
        # unread: the change may move this member's unread count (else the tab skips the badge);
        # list: it moves the member's inbox list;
        # tab: the tab whose request made it (that tab skips it: its answer refreshed what changed).
        events=[{"kind": e.kind, "conversation": e.conversation_id, "message": e.message_id,
                 "unread": e.unread, "list": e.kind in live.LIST_KINDS, "tab": e.origin} for e in changes.events],
        # The inbox list and the nav badge drawn now, for a tab that shows the list (X-WB-List)
        # when its list changed (only the rows that changed, with the list's order): the page
        # asks no /messages/list for it.
        list=_list_along(changed=changes.list_rows_for(tab), cursor=changes.cursor) if changes.moves_list_for(tab) else None,
        # Held: ask again at once. Answered at once (a server that can't hold): after a while.
        retry=0 if hold > 0 and changes.held else current_app.config["LIVE_RETRY_SECONDS"],
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# Requests that never draw a whole page (partials answer them with or without HX-Request).
PAGELESS_ENDPOINTS = frozenset({
    None, "static", "main.healthz", "main.readyz", "messaging.live_channel", "messaging.poll",
    "messaging.badge", "messaging.conversation_list", "messaging.dashboard_conversations",
})


def note_live_cursor():
    """A page's live channel starts from the newest change before the page reads anything."""
    if request.method != "GET" or is_htmx() or request.endpoint in PAGELESS_ENDPOINTS or request.blueprint == "api":
        return
    if current_user.is_authenticated and live.may_listen(current_user):
        # While messaging is off too: the channel then waits for it to be switched on (the page is
        # drawn again) and hears of a session ended elsewhere (a page drawn while off heard of
        # neither: an operator tester).
        g.live_cursor = live.newest_for(current_user.id)
        g.live_drawn_off = not policy.messaging_enabled()


@bp.route("/<int:conversation_id>/poll")
@active_required
def poll(conversation_id):
    """New messages, shown messages that changed (?changed=ids) and the read marker since the
    client's cursors, or 204 when nothing changed: the live channel says when to ask."""
    conversation = conversations.get_conversation_for(current_user, conversation_id)
    after, seen = _message_number_arg("after") or 0, _message_number_arg("seen") or 0
    update = reads.poll(current_user, conversation, after, seen, _message_numbers_arg("changed"))
    if update is None:
        return "", 204
    return render_template("messaging/_poll.html", **vars(update))


def _message_numbers_arg(name) -> list[int]:
    """A comma-separated list of message ids from the query string; malformed is a 400."""
    numbers = [whole_number(part) for part in request.args.get(name, "").split(",") if part]
    if None in numbers:
        abort(400, f"'{name}' must be message numbers separated by commas.")
    return numbers


@bp.route("/<int:conversation_id>/read", methods=["POST"])
@active_required
def read(conversation_id):
    conversation = conversations.get_conversation_for(current_user, conversation_id)
    writes.mark_read(current_user, conversation)
    if is_htmx():
        return _answer_changing_list("", conversation.id, ["wb:unread-changed", "wb:list-changed"], status=204)
    return redirect(url_for("messaging.thread", conversation_id=conversation.id))


@bp.route("/<int:conversation_id>/messages/<bigint:message_id>/actions")
@active_required
def message_actions(conversation_id, message_id):
    """What a member can do with one message: loaded into the thread when its menu opens
    (so the thread page carries no forms per message), or a page of its own without JavaScript."""
    conversation = conversations.get_conversation_for(current_user, conversation_id)
    message = reads.visible_message(current_user, conversation, message_id)
    context = {
        "message": message,
        "conversation": conversation,
        "offer_delete": policy.offers_delete_for_both(current_user, message),
    }
    if is_htmx():
        return render_template("messaging/_message_actions.html", inline=True, **context)
    other = reads.other_member(current_user, conversation)
    return render_template("messaging/message_actions.html", other_name=reads.display_name(other), **context)


@bp.route("/<int:conversation_id>/messages/<bigint:message_id>/delete", methods=["POST"])
@active_required
def delete(conversation_id, message_id):
    conversation = conversations.get_conversation_for(current_user, conversation_id)
    try:
        message = writes.delete_message(current_user, conversation, message_id)
    except Refusal as refusal:
        return _refusal_response(refusal)
    if is_htmx():  # the list's preview changes too
        return _answer_changing_list(render_template("messaging/_message.html", message=message, conversation=conversation),
                                     conversation.id, ["wb:list-changed"])
    flash("Message deleted.", "info")
    return redirect(url_for("messaging.thread", conversation_id=conversation.id))


@bp.route("/<int:conversation_id>/messages/<bigint:message_id>/remove", methods=["POST"])
@active_required
def remove(conversation_id, message_id):
    conversation = conversations.get_conversation_for(current_user, conversation_id)
    writes.remove_message_for_me(current_user, conversation, message_id)
    if is_htmx():  # an unread message removed from view counts no more
        return _answer_changing_list("", conversation.id, ["wb:list-changed", "wb:unread-changed"])
    flash("Message removed from your view.", "info")
    return redirect(url_for("messaging.thread", conversation_id=conversation.id))


@bp.route("/<int:conversation_id>/hide", methods=["POST"])
@active_required
def hide(conversation_id):
    conversation = conversations.get_conversation_for(current_user, conversation_id)
    if request.form.get("confirmed") != "1":
        # With JavaScript a dialog asked (app.js says so in `confirmed`); a plain form asks on a
        # page of its own, as every action that takes something away does.
        other = db.session.get(User, conversation.other_id(current_user.id))
        return render_template("messaging/confirm_hide.html", conversation=conversation,
                               other_name=reads.display_name(other))
    writes.hide_conversation(current_user, conversation)
    return redirect(url_for("messaging.inbox", hidden=conversation.id))


@bp.route("/<int:conversation_id>/unhide", methods=["POST"])
@active_required
def unhide(conversation_id):
    """Undo a Hide: the conversation is back in the inbox, open."""
    conversation = conversations.get_conversation_for(current_user, conversation_id)
    writes.unhide_conversation(current_user, conversation)
    flash("The conversation is back in your inbox.", "success")
    return redirect(url_for("messaging.thread", conversation_id=conversation.id))


@bp.route("/<int:conversation_id>/mute", methods=["POST"])
@active_required
def mute(conversation_id):
    """Mute or (with muted=0) unmute a conversation for the member, from the thread header."""
    conversation = conversations.get_conversation_for(current_user, conversation_id)
    muted = request.form.get("muted", "1") != "0"
    writes.mute_conversation(current_user, conversation, muted)
    flash("Conversation muted: it keeps its unread count here but adds nothing to your badge, notices or emails."
          if muted else "Conversation unmuted.", "info")
    # At the thread (#thread): the note goes under its header, by Mute, not to the page's top, from
    # where a keyboard took 13 presses back to Unmute (a newcomer's tester).
    return redirect(url_for("messaging.thread", conversation_id=conversation.id, _anchor="thread"))


@bp.route("/list")
@active_required
def conversation_list():
    """The inbox list's rows for its page and filter, with the open conversation (?active=), and the
    nav badge out of band (the list's version holds its total); 304 when they are what the list
    already shows (its ETag)."""
    cursor = live.newest_for(current_user.id)  # read first: the rows show at least every change up to it
    active_id = number_arg("active", "a conversation number") or None
    listing = _listing_asked(open_id=active_id)
    return _unless_unchanged(
        f"list-{listing.version}-{active_id or 0}",
        lambda: render_template("messaging/_conversation_list_answer.html", listing=listing, active_id=active_id,
                                list_cursor=cursor),
    )


# The inbox list's own query (its page and filter), which the inbox page sends with its htmx
# requests (live.js): an action there that changes the list brings the list along.
LIST_SHOWN_HEADER = "X-WB-List"


def _answer_changing_list(body: str, active_id: int, events: list[str], status: int = 200):
    """The htmx answer to an action that changed the inbox list (a send, a read, a delete, a
    remove). Taken on the inbox, the answer brings the list's rows for its page and filter (and the
    nav badge that comes with them) out of band, so the page asks no /messages/list for it: a
    request fewer per send and per read. From anywhere else, or with a list query that isn't the
    list's, the answer fires wb:list-changed among its events (HX-Trigger) and the list asks."""
    only_reads_from_here()  # the action's changes are committed: what is left draws its answer
    along = _list_along(active_id, changed={active_id})
    if along is not None:
        events = [event for event in events if event != "wb:list-changed"]
        body, status = body + along, 200 if status == 204 else status
    response = make_response(body, status)
    if events:
        response.headers["HX-Trigger"] = ", ".join(events)
    return response


def _list_along(active_id: int | None = None, changed=None, cursor: int | None = None) -> str | None:
    """The list and the nav badge, out of band, as the X-WB-List query asks (its page and filter;
    the open conversation, `active`, unless an action names it); None without it.

    With changed (conversation ids; None: any), only their rows are drawn, with the order and
    times of all the page's rows: the page keeps the rest (app.js), so an answer draws one row
    or two, not thirty. The list carries the newest change it shows at least (cursor: the live
    answer's; else read now, after the action's change), by which app.js orders the lists it gets."""
    shown = request.headers.get(LIST_SHOWN_HEADER)
    if shown is None:
        return None
    query = dict(parse_qsl(shown))
    page = whole_number(query.get("page", "1"), maximum=MAX_PAGE)
    if active_id is None:
        active_id = whole_number(query.get("active", "0"))
    if not page or active_id is None:
        return None
    if cursor is None:
        cursor = live.newest_for(current_user.id)
    listing = inbox_page(current_user, page=page, unread_only=query.get("filter") == "unread", drawn=changed,
                         open_id=active_id, search=directory_search.typed_name(query.get("q", "")) or None)
    if not listing.rows:  # nothing to keep: the empty list is drawn whole
        listing.drawn = None
    return render_template("messaging/_conversation_list_answer.html", listing=listing, active_id=active_id,
                           list_oob=True, list_cursor=cursor)


@bp.route("/badge")
@active_required
def badge():
    """The unread badge (or the dashboard's line, ?variant=dashboard); 304 when it shows that number already."""
    dashboard = request.args.get("variant") == "dashboard"
    unread = unread_total(current_user)
    # The dashboard's line brings the nav badge along (the dashboard's badge asks nothing itself).
    template = "messaging/_dashboard_unread_answer.html" if dashboard else "messaging/_badge.html"
    return _unless_unchanged(f"badge-{int(dashboard)}-{unread}", lambda: render_template(template, unread=unread))


@bp.route("/dashboard-conversations")
@active_required
def dashboard_conversations():
    """The dashboard's latest conversations, asked again when the live channel says the list moved;
    304 while they show the same."""
    rows = dashboard_summary(current_user)["conversations"]
    cant_start = None if rows else rules.starting_refusal(current_user)
    shown = "|".join(f"{row.conversation_id}:{row.unread_count}:{int(row.muted)}:{row.last_activity_at.isoformat()}:"
                     f"{row.other_name}" for row in rows)
    etag = "dashboard-" + hashlib.sha256(f"{shown}|{cant_start and cant_start.words}".encode()).hexdigest()[:20]
    return _unless_unchanged(etag, lambda: render_template("messaging/_dashboard_conversations.html",
                                                           conversations=rows, cant_start=cant_start))


def _unless_unchanged(etag: str, render):
    """304 when the client holds this ETag already (nothing drawn), else render() with it. Times are
    drawn in the viewer's time zone: the ETag names it."""
    etag = f"{etag}-{getattr(viewer_zone(), 'key', 'UTC')}"
    if etag in request.if_none_match:
        response = make_response("", 304)
    else:
        response = make_response(render())
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache, private"  # revalidated; one member's, never a shared cache's
    return response


# --- safety: block, unblock, report ----------------------------------------------------


def _member_or_404(username) -> User:
    person = member_seen_by(current_user, username)
    if person is None:
        abort(404, "No member has that username.")
    return person


@safety_bp.route("/people/<username>/block", methods=["POST"])
@active_required
def block(username):
    person = _member_or_404(username)
    try:
        if request.form.get("confirmed") != "1":
            # With JavaScript a dialog asked (app.js says so in `confirmed`); a plain form asks
            # on a page of its own, as every destructive action does.
            safety.check_can_block(current_user, person)
            return render_template("messaging/confirm_block.html", person=person, back=_back_to(person))
        safety.block(current_user, person)
    except Refusal as refusal:
        return _refusal_response(refusal)
    flash(f"You blocked {person.name}. They can't message you, and they aren't told.", "info")
    return redirect(_back_to(person))


@safety_bp.route("/people/<username>/unblock", methods=["POST"])
@active_required
def unblock(username):
    person = _member_or_404(username)
    safety.unblock(current_user, person)
    flash(f"You unblocked {person.name}.", "info")
    return redirect(url_for("people.settings", _anchor="blocked") if request.form.get("from") == "settings" else _back_to(person))


@safety_bp.route("/people/<username>/report", methods=["GET", "POST"])
@active_required
def report(username):
    person = _member_or_404(username)
    form = ReportForm()
    if not form.validate_on_submit():
        error = next(iter(form.first_errors.values()), None)
        return _report_page(person, error), (400 if error else 200)
    try:
        _row, new = safety.report(current_user, person, form.reason.data, form.note.data)  # or added to their open one
    except Refusal as refusal:
        return _report_page(person, refusal.message), refusal.status, refusal.headers
    if not new:  # it said "Thanks. An admin will look at your report" again, as if filed twice (a street's tester)
        flash(f"You reported {person.name} for this reason already, and an admin hasn't resolved it yet: "
              + ("your note is added to that report." if form.note.data else "it stays one report.")
              + " The member isn't told about it.", "info")
    elif waiting := safety.waiting_for_another_admin(person):
        flash(f"Thanks. {waiting}", "success")
    else:
        flash("Thanks. An admin will look at your report; the member isn't told about it.", "success")
    return redirect(_back_to(person))


def _back_to(person) -> str:
    """Where a safety action returns: the page it was asked from (the profile or the
    conversation, as ?next= or a form field), else the member's profile."""
    return safe_next(request.values.get("next"), url_for("people.profile", username=person.username))


def _report_page(person, error):
    return render_template(
        "messaging/report.html", person=person, reasons=REPORT_REASONS, error=error, form=request.form, back=_back_to(person),
    )


@safety_bp.route("/admin/reports")
@admin_required
def admin_reports():
    status = "resolved" if request.args.get("status") == "resolved" else "open"
    reports = safety.reports(status, current_user)
    people = users_by_id({r.reporter_id for r in reports} | {r.reported_id for r in reports}
                         | {r.resolved_by_id for r in reports if r.resolved_by_id})
    from ..admin.standing import withheld_reports

    return render_template("admin/reports.html", reports=reports, people=people, status=status, reasons=REPORT_REASONS,
                           just_resolved=_just_changed("resolved"), just_reopened=_just_changed("reopened"),
                           withheld=withheld_reports(current_user))


def _just_changed(how: str):
    """(report, reported member's name) of the report this admin just resolved or reopened
    (?resolved=ID, where Mark resolved leads: the page offers Undo, as Hide does in the inbox; or
    ?reopened=ID), while it still is so. Said in the same place, under the tabs, and the keyboard
    goes on from there (a reopened one's note sat above the heading, the focus left on the page: an
    admin tester)."""
    report_id = whole_number(request.args.get(how))
    row = db.session.get(Report, report_id) if report_id else None
    if row is None or row.status != ("resolved" if how == "resolved" else "open") or row.reported_id == current_user.id:
        return None
    return row, reads.display_name(db.session.get(User, row.reported_id))


def _report_row(report_id: int, status: str = "open") -> str:
    """A report's row in Admin → Reports (where a GET of Mark resolved or Reopen leads)."""
    return url_for("safety.admin_reports", status="resolved" if status == "resolved" else None, _anchor=f"report-{report_id}")


@safety_bp.route("/admin/reports/<int:report_id>/resolve", methods=["GET", "POST"])
@admin_required
@get_leads_to(_report_row)
def resolve_report(report_id):
    safety.resolve_report(current_user, report_id)
    return redirect(url_for("safety.admin_reports", resolved=report_id))


@safety_bp.route("/admin/reports/<int:report_id>/reopen", methods=["GET", "POST"])
@admin_required
@get_leads_to(lambda report_id: _report_row(report_id, "resolved"))
def reopen_report(report_id):
    """A resolved report open again (Undo after Mark resolved, or Reopen among the resolved)."""
    try:
        safety.reopen_report(current_user, report_id)
    except Refusal as refusal:
        return _refusal_response(refusal)
    return redirect(url_for("safety.admin_reports", reopened=report_id))


# --- template helpers and the flag hook ---------------------------------------------------


def _said_on_page(reason: str, person_id: int) -> str:
    """How much this page still says of why the viewer can't write to a member: "full" the first time
    for this reason, "brief" for another member after it, "" for a member it has said it of (a request's
    author and each commenter, the directory's rows: an outside tester found it four times, and at 200 %
    a residents' building's tester found the brief line a block under every comment of the same two)."""
    said = g.setdefault("wb_reasons_said", {})
    members = said.setdefault(reason, set())
    how = "" if person_id in members else "brief" if members else "full"
    members.add(person_id)
    return how


def _day_limit_for(people):
    """Why the viewer can't start a conversation with one of these members today, if that is it for any
    of them: said once at the top of a page listing them, whose rows then say it in a few words (drawn
    in the first such row, it read as about that member, or as part of their comment: a marketplace's
    tester)."""
    for person in people:
        if person is not None and policy.show_message_button(current_user, person):
            decision = rules.page_decision(current_user, person)
            if decision.reason == rules.DAY_LIMIT:
                _said_on_page(rules.DAY_LIMIT, 0)
                return decision
    return None


def template_helpers():
    """What every page's templates may ask about messaging; the decisions live in policy.py and rules/."""
    return {
        "show_message_button": lambda person: policy.show_message_button(current_user, person),
        "start_refusal": lambda person: rules.page_decision(current_user, person),
        "said_on_page": _said_on_page,
        "day_limit_for": _day_limit_for,
        "show_inbox_badge": lambda: policy.show_inbox_badge(current_user),
        "messaging_on": policy.messaging_enabled,
        "unread_total": lambda: unread_total(current_user),
        "has_blocked": lambda person: safety.has_blocked(current_user, person),
        "hidden_conversations": lambda: hidden_count(current_user),
        "list_place": _list_place,
        "blocked_conversations": lambda: blocked_count(current_user),
        "open_report_count": lambda: safety.open_report_count(current_user),
        "live_cursor": g.get("live_cursor"),
        "new_send_key": new_send_key,
        "live_drawn_off": g.get("live_drawn_off", False),
        "messaging_switched_off_text": SWITCHED_OFF_FOR_ADMINS if getattr(current_user, "is_admin", False) else SWITCHED_OFF,
    }


def before_flag_changes(name, enabled=False, **_):
    """Switching messaging on first creates the messaging database's schema if it is missing, and is
    refused (messaging stays off) where that would lose conversations: a lost file beside the main
    database's record of them is restored, not silently made anew (an operator tester), or where the
    database can't be reached."""
    if name != policy.FLAG or not enabled:
        return
    from sqlalchemy.exc import SQLAlchemyError

    from ..flags import ChangeRefused
    from .ops.database import OperationFailed, ensure_schema, fault_line, refuse_to_create_beside_conversations

    try:
        refuse_to_create_beside_conversations()
        ensure_schema()
    except OperationFailed as error:
        raise ChangeRefused(f"Messaging stays off. {error}") from None
    except SQLAlchemyError as error:
        raise ChangeRefused(f"Messaging stays off. {fault_line(error)}") from None


def on_flag_changed(name, enabled=False, **_):
    """Every tab's live channel hears of messaging switched (off ends it; on, waiting while off, has
    the page drawn again)."""
    if name == policy.FLAG:  # the tabs hear of it: off ends their channel, on has their page drawn again
        live.record_for_everyone("messaging")
        db.session.commit()
    elif name == REQUESTS_FLAG:  # every open page is drawn again, with or without requests (a re-check tester's
        live.record_for_everyone("features")  # home page kept "Latest requests" after they were switched off)
        db.session.commit()
