"""JSON API v1 routes: read input (validated by the schemas), call messaging's functions, answer JSON."""
from __future__ import annotations

from flask import Blueprint, current_app, g, request, url_for

from ..messaging import conversations, policy, reads, rules, safety, writes
from ..messaging.conversations import membership, message_in
from ..messaging.inbox import unread_total
from ..messaging.policy import Refusal
from ..messaging.reads import display_name
from ..models import User
from ..security import MAX_DATABASE_ID
from ..visibility import member_seen_by
from . import auth, idempotency, limits, schemas, tokens
from .body import check_body, refuse_keys
from .problems import ApiProblem, SwitchedOff, problem_response
from .reads import conversation_page, conversation_row, message_page, send_decision, send_decisions
from .spec import answers, api, document

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PUBLIC_ENDPOINTS = ("api.openapi",)
# Ids in paths: one that is no id ("abc", "-1", "1e3", "١٠١٥", past the largest) is read as 0, which no
# row has, so it answers as an unknown id of its kind does ("That conversation doesn't exist.").
CONVERSATION_ID = "<int(malformed=0):conversation_id>"
MESSAGE_ID = f"<int(max={MAX_DATABASE_ID}, malformed=0):message_id>"
# What a status means on one route, for the spec ("Conflict" and "Forbidden" told a client nothing: an API tester).
SEND_IN_FLIGHT = ("An earlier request with this Idempotency-Key is still being sent, or has just failed: this one "
                  "stored nothing. Retry it, with the same key and text, after Retry-After seconds.")
NOT_DELETABLE = ("Not yours to delete for both (it is the other member's): remove it from your own view instead "
                 "(POST .../remove). Also a pending account, or a browser session's write without X-CSRFToken.")


@bp.before_request
def _switched_on_signed_in_and_json():
    """Every route 404s while messaging is off (saying why to a client that signs in); then who is
    asking; then a body must be a JSON object."""
    if not policy.messaging_enabled():
        try:
            auth.sign_in()
        except ApiProblem:  # a visitor learns nothing about the community
            raise ApiProblem(404, "There is nothing here.") from None
        raise SwitchedOff()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    # Refused even beside a good header: the client learns of the leak. Wherever it is in the query:
    # ?api_key= and ?foo_token= went through (a therapy practice's tester), then a token as a name,
    # after "Bearer " or inside an escaped "=" (a re-check tester); a token holds its prefix.
    if "access_token" in request.args or any(
            tokens.PREFIX in name or tokens.PREFIX in value for name, value in request.args.items(multi=True)):
        raise ApiProblem(400, "Send your token in the Authorization header, never in the address: addresses end up "
                              "in logs and browser history. Revoke the token that was sent this way.")
    auth.sign_in()
    if request.endpoint != "api.me":
        auth.require_active()
    body = check_body(auth.SAFE_METHODS)
    if getattr(current_app.view_functions.get(request.endpoint), "takes_no_body", False):
        refuse_keys(body)


@bp.url_value_preprocessor
def _nul_names_nobody(_endpoint, values):
    """A username in a path with a NUL (which no username has) is read as an empty one: it answers as
    an unknown name does, not with the bare "Not Found" the app gives any path with a NUL."""
    if values and "\x00" in values.get("username", ""):
        values["username"] = ""


def takes_no_body(view):
    """Marks a write whose request carries nothing: a body naming keys is refused (under @bp.post, so
    the blueprint registers the marked function)."""
    view.takes_no_body = True
    return view


@bp.after_request
def _varies_on_the_token(response):
    """Who is asking decides every answer: a cache keyed without the Authorization header (Flask
    adds Cookie, for the session) could hand one member's answer to another."""
    response.vary.add("Authorization")
    return response


@bp.errorhandler(Refusal)
def _refused(refusal: Refusal):
    """Messaging's own refusals (the rules, the limits) keep their status, words and Retry-After; a
    422 names its field, as every 422 does."""
    errors = ([{"location": "body", "name": refusal.field or "(body)", "detail": refusal.message}]
              if refusal.status == 422 else None)
    return problem_response(refusal.status, refusal.message, errors=errors, headers=refusal.headers)


def _no_content():
    """A 204, with no type: Flask's ("", 204) is text/html, so it varied on HX-Request as a page does."""
    response = current_app.response_class(status=204)
    del response.headers["Content-Type"]
    response.headers["Cache-Control"] = "no-store"
    return response


def _json(model, status=200, headers=None):
    response = current_app.response_class(model.model_dump_json(by_alias=True), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this API."""
    return current_app.json.response(document())


# --- me ------------------------------------------------------------------------------------


@bp.get("/me")
@api.validate(resp=answers(HTTP_200=schemas.Me), tags=["me"])
def me():
    """Who I am and what I may do: whether I may message, why not, my remaining limits."""
    member = auth.member()
    why_not = None if member.is_active_member else rules.words.viewer_cannot(member).words
    not_starting = rules.starting_refusal_today(member) if why_not is None else None
    why_not_start = why_not or (not_starting.words if not_starting else None)
    return _json(schemas.Me(
        id=member.id, username=member.username, display_name=member.name, status=member.status,
        is_admin=member.is_admin, may_message=why_not is None, why_not=why_not,
        may_start=why_not_start is None, why_not_start=why_not_start, messages_paused=member.messages_paused,
        limits=limits.remaining_for(member), unread_total=unread_total(member), authenticated_by=g.api_auth,
    ))


@bp.get("/me/export")
@api.validate(resp=answers(HTTP_200=None), tags=["me"])
def export_mine():
    """All my conversations as a ZIP (application/zip): one HTML page per conversation and
    conversations.json with every message I can see; at most once an hour (429 with Retry-After)."""
    from ..people import export as member_export

    auth.require_own_page()  # with the browser session: the X-CSRFToken header, as on writes
    try:
        return member_export.zip_response(auth.member())
    except member_export.TooSoon as too_soon:
        raise ApiProblem(429, too_soon.message, headers=too_soon.headers) from None


@bp.get("/unread-count")
@api.validate(resp=answers(HTTP_200=schemas.UnreadCount, HTTP_304=None, HTTP_412=schemas.Problem), tags=["conversations"])
def unread_count():
    """The unread badge: unread messages across my visible conversations (ETag: 304 while the same)."""
    return _revalidated(_json(schemas.UnreadCount(unread_total=unread_total(auth.member()))))


# --- conversations ---------------------------------------------------------------------------


def _member_out(row) -> schemas.Member:
    former = policy.is_former(row)
    return schemas.Member(username=None if former else row.username, display_name=display_name(row), former=former)


def _conversation_out(member, row, previews, decision) -> schemas.Conversation:
    """row: my membership with the other member's account (their read_receipts) and read marker;
    decision: the rules' answer for writing to them now."""
    seen = row.their_last_read if reads.shares_read_receipts(member, row) else None
    return schemas.Conversation(
        id=row.conversation_id, other_member=_member_out(row),
        preview=previews.get(row.last_message_id, "No messages yet"),
        last_activity_at=row.last_activity_at, last_message_id=row.last_message_id, unread_count=row.unread_count,
        last_read_message_id=row.last_read_message_id, other_last_read_message_id=seen, hidden=row.hidden,
        muted=row.muted, may_send=decision.may_write, why_not_send=None if decision.may_write else decision.words,
    )


def _one_conversation_out(member, row, previews) -> schemas.Conversation:
    return _conversation_out(member, row, previews, send_decision(member, row))


@bp.get("/conversations")
@api.validate(query=schemas.ConversationsQuery, resp=answers(HTTP_200=schemas.ConversationPage, HTTP_304=None,
                                                              HTTP_412=schemas.Problem), tags=["conversations"])
def list_conversations():
    """My conversations, newest activity first, a page at a time (ETag: 304 while the page is the same)."""
    query, member = request.context.query, auth.member()
    rows, previews, next_cursor, total = conversation_page(member, query.limit, query.cursor, query.unread)
    hidden = conversations.hidden_drafts(member)  # as the inbox: a draft with someone no longer seen isn't listed
    rows = [row for row in rows if row.conversation_id not in hidden]
    decisions = send_decisions(member, rows)
    return _revalidated(_json(schemas.ConversationPage(
        conversations=[_conversation_out(member, row, previews, decisions[row.other_user_id]) for row in rows],
        next_cursor=next_cursor, unread_total=total,
    )))


@bp.post("/conversations")
@api.validate(json=schemas.OpenConversation, resp=answers(HTTP_200=schemas.Conversation, HTTP_201=schemas.Conversation), tags=["conversations"])
def open_conversation():
    """Find or start my conversation with a member: 200 with one I have (even when I can't write in it now:
    may_send and why_not_send say why), 201 with a new one, started under the same rules as the button.
    As the button does, it brings a conversation I hid back to my inbox (hidden becomes false).
    Opening counts nothing against the day's new conversations (its first message does); 429 once they are spent."""
    member = auth.member()
    other = member_seen_by(member, request.context.json.with_, closed_too=True)  # one unseen: nobody, as on the web
    conversation, created = writes.open_conversation(member, other)
    row, previews = conversation_row(member, conversation)
    location = url_for("api.get_conversation", conversation_id=conversation.id)
    return _json(_one_conversation_out(member, row, previews), 201 if created else 200, {"Location": location})


@bp.get(f"/conversations/{CONVERSATION_ID}")
@api.validate(resp=answers(HTTP_200=schemas.Conversation), tags=["conversations"])
def get_conversation(conversation_id):
    """One of my conversations."""
    member = auth.member()
    conversation = conversations.get_conversation_for(member, conversation_id)
    return _json(_one_conversation_out(member, *conversation_row(member, conversation)))


@bp.post(f"/conversations/{CONVERSATION_ID}/hide")
@takes_no_body
@api.validate(resp=answers(HTTP_204=None), tags=["conversations"])
def hide_conversation(conversation_id):
    """Hide a conversation from my list until a new message arrives."""
    member = auth.member()
    writes.hide_conversation(member, conversations.get_conversation_for(member, conversation_id))
    return _no_content()


@bp.delete(f"/conversations/{CONVERSATION_ID}/hide")
@takes_no_body
@api.validate(resp=answers(HTTP_204=None), tags=["conversations"])
def unhide_conversation(conversation_id):
    """List a hidden conversation again now, as the web's Undo does."""
    # A client had no way back (an API tester).
    member = auth.member()
    writes.unhide_conversation(member, conversations.get_conversation_for(member, conversation_id))
    return _no_content()


@bp.put(f"/conversations/{CONVERSATION_ID}/mute")
@takes_no_body
@api.validate(resp=answers(HTTP_204=None), tags=["conversations"])
def mute_conversation(conversation_id):
    """Mute a conversation: it keeps its unread_count, but adds nothing to the unread total or emails."""
    _set_muted(conversation_id, True)
    return _no_content()


@bp.delete(f"/conversations/{CONVERSATION_ID}/mute")
@takes_no_body
@api.validate(resp=answers(HTTP_204=None), tags=["conversations"])
def unmute_conversation(conversation_id):
    """Unmute a conversation."""
    _set_muted(conversation_id, False)
    return _no_content()


def _set_muted(conversation_id: int, muted: bool) -> None:
    member = auth.member()
    writes.mute_conversation(member, conversations.get_conversation_for(member, conversation_id), muted)


# --- messages ------------------------------------------------------------------------------------


def _message_out(member, conversation_id: int, message) -> schemas.Message:
    """A message as the API shows it: a deleted one keeps its place, never its text."""
    deleted = conversations.deleted_for(member.id, message)
    return schemas.Message(
        id=message.id, conversation_id=conversation_id,
        sender_id=message.sender_id, from_me=message.sender_id == member.id,
        body=None if deleted else message.body, deleted=deleted, created_at=message.created_at,
    )


@bp.get(f"/conversations/{CONVERSATION_ID}/messages")
@api.validate(query=schemas.MessagesQuery, resp=answers(HTTP_200=schemas.MessagePage, HTTP_304=None, HTTP_412=schemas.Problem),
              tags=["messages"])
def list_messages(conversation_id):
    """A page of messages, oldest first: the newest, those before= an id, or those after= one (polling:
    send the ETag back as If-None-Match and get 304 while nothing changed; If-Match answers 412 when it fails)."""
    member = auth.member()
    conversation = conversations.get_conversation_for(member, conversation_id)
    query = request.context.query
    rows, older, more_newer, theirs = message_page(member, conversation, query.before, query.after, query.limit)
    response = _json(schemas.MessagePage(
        messages=[_message_out(member, conversation.id, row) for row in rows], older_cursor=older,
        has_more_newer=more_newer, other_last_read_message_id=theirs,
    ))
    return _revalidated(response)


def _revalidated(response):
    """Stored by the client but asked again every time: its ETag answers 304 while nothing changed."""
    response.headers["Cache-Control"] = "no-cache, private"
    return _conditional(response)


def _conditional(response):
    """response, a 304 or a 412 problem, by the request's preconditions in RFC 9110's order (13.2.2).

    If-Match first, by Werkzeug's strong comparison, where "*" matches any current representation;
    then If-None-Match, by its weak comparison ("*" too). Not Werkzeug's make_conditional: it adds
    a Date header of its own, and the server sends one already (two, then, in every answer).
    """
    response.add_etag()
    etag, _weak = response.get_etag()
    # Sent but unreadable ('"unterminated') matches nothing: the client asked for a precondition.
    # Sent empty (some HTTP libraries do) it asks nothing: an empty list (RFC 9110, 5.6.1).
    if request.headers.get("If-Match", "").strip(" \t,") and not request.if_match.contains(etag):
        raise ApiProblem(412, "This changed since the ETag in If-Match: read it again.")
    if request.if_none_match.contains_weak(etag):
        response.status_code = 304  # Werkzeug drops the body and its headers; the ETag stays
    return response


@bp.post(f"/conversations/{CONVERSATION_ID}/messages")
@api.validate(json=schemas.SendMessage, headers=schemas.SendHeaders,
              resp=answers(HTTP_201=schemas.Message, HTTP_409=(schemas.Problem, SEND_IN_FLIGHT)), tags=["messages"])
def send_message(conversation_id):
    """Send a message (201 with it). A conversation's first message is one of the day's new conversations (429
    once they are spent). With an Idempotency-Key, a retry stores it once and answers the same."""
    member = auth.member()
    conversation = conversations.get_conversation_for(member, conversation_id)
    raw_body, key = request.context.json.body, request.context.headers.idempotency_key
    try:
        writes.clean_body(raw_body)
    except Refusal as refusal:
        raise ApiProblem(422, refusal.message, errors=[{"location": "body", "name": "body", "detail": refusal.message}]) from None
    if key is None:
        message = writes.send_message(member, conversation, raw_body).message
        replayed = False
    else:
        sent, replayed = idempotency.send_once(member, conversation, raw_body, key)
        message = sent.message
    headers = {"Location": url_for("api.list_messages", conversation_id=conversation.id)}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return _json(_message_out(member, conversation.id, message), 201, headers)


@bp.post(f"/conversations/{CONVERSATION_ID}/read")
@api.validate(json=schemas.MarkRead, resp=answers(HTTP_200=schemas.ReadState), tags=["messages"])
def mark_read(conversation_id):
    """Mark messages read up to an id (omitted: the newest); read markers only move forward."""
    member = auth.member()
    conversation = conversations.get_conversation_for(member, conversation_id)
    up_to = request.context.json.up_to if request.context.json else None
    if up_to is not None:
        message_in(conversation, up_to)  # a message of this conversation, or 404
    writes.mark_read(member, conversation, up_to)
    mine = membership(member.id, conversation.id)
    return _json(schemas.ReadState(
        conversation_id=conversation.id, last_read_message_id=mine.last_read_message_id,
        unread_count=mine.unread_count, unread_total=unread_total(member),
    ))


@bp.delete(f"/conversations/{CONVERSATION_ID}/messages/{MESSAGE_ID}")
@takes_no_body
@api.validate(resp=answers(HTTP_204=None, HTTP_403=(schemas.Problem, NOT_DELETABLE)), tags=["messages"])
def delete_message(conversation_id, message_id):
    """Delete a message I sent, for both of us.

    A member who has reported or blocked me keeps their copy; the answer is the same either way."""
    member = auth.member()
    writes.delete_message(member, conversations.get_conversation_for(member, conversation_id), message_id)
    return _no_content()


@bp.post(f"/conversations/{CONVERSATION_ID}/messages/{MESSAGE_ID}/remove")
@takes_no_body
@api.validate(resp=answers(HTTP_204=None), tags=["messages"])
def remove_message(conversation_id, message_id):
    """Remove a message from my own view only."""
    member = auth.member()
    writes.remove_message_for_me(member, conversations.get_conversation_for(member, conversation_id), message_id)
    return _no_content()


# --- safety ----------------------------------------------------------------------------------------


def _someone(username) -> User:
    person = member_seen_by(auth.member(), username)
    if person is None:
        raise ApiProblem(404, "No member has that username.")
    return person


@bp.get("/blocks")
@api.validate(resp=answers(HTTP_200=schemas.BlockList), tags=["safety"])
def list_blocks():
    """Members I have blocked (they aren't told)."""
    return _json(schemas.BlockList(blocked=[_member_out(person) for person in safety.blocked_members(auth.member())]))


@bp.put("/blocks/<username>")
@takes_no_body
@api.validate(resp=answers(HTTP_204=None), tags=["safety"])
def block(username):
    """Block a member (their username; a leading @ is read past): they can't message me, and they aren't told."""
    safety.block(auth.member(), _someone(username))
    return _no_content()


@bp.delete("/blocks/<username>")
@takes_no_body
@api.validate(resp=answers(HTTP_204=None), tags=["safety"])
def unblock(username):
    """Lift a block (the member's username; a leading @ is read past)."""
    safety.unblock(auth.member(), _someone(username))
    return _no_content()


@bp.post("/reports")
@api.validate(json=schemas.NewReport, resp=answers(HTTP_201=schemas.Report, HTTP_200=schemas.Report), tags=["safety"])
def report():
    """Report a member to the admins (they aren't told about it): 201, a new report; 200, the note
    added to your open report about that member for the same reason (another reason is a new report).
    Reporting the only admin, the report waits for another: waits_for_another_admin and why_waiting say so."""
    body, reported = request.context.json, _someone(request.context.json.username)
    row, new = safety.report(auth.member(), reported, body.reason, body.note)
    waiting = safety.waiting_for_another_admin(reported)
    return _json(schemas.Report(id=row.id, reason=row.reason, created_at=row.created_at,
                                waits_for_another_admin=waiting is not None, why_waiting=waiting), 201 if new else 200)
