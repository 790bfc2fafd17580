"""The API's request and response shapes: they validate requests, shape answers, and the spec is generated from them."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, field_validator

from ..messaging.models import REPORT_NOTE_MAX, REPORT_REASONS
from ..security import MAX_DATABASE_ID, whole_number
from ..text import BODY_MAX, CONTROL_CHARACTERS, TextRefused, clean_text, fold_line_breaks

MAX_PAGE_SIZE = 100


def _query_number(low: int, high: int):
    """A whole number from low to high in a query string, ASCII digits only ("٣", "1_000", " 1" and "+1"
    are refused), as every number a member sends. Anything else is told the range (the constraints
    inside, so the spec shows them): "-1" was told "the digits 0-9" and a page size "at most" the
    largest database id (an API tester)."""
    words = f"must be a whole number from {low} to {high}, written with the digits 0-9"

    def read(value):
        if isinstance(value, str):
            number = whole_number(value, high)
            if number is None or number < low:
                raise ValueError(words)
            return number
        return value

    return Annotated[Annotated[int, Field(ge=low, le=high)], BeforeValidator(read)]


def _json_integer(value):
    """JSON bodies: a number with no fraction is an integer (JSON Schema says 1.0 is one); strings and
    booleans are not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _utc(value: datetime) -> datetime:
    """Stored timestamps are naive UTC; answers carry the offset, as RFC 3339 wants."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


# A message id in a JSON body: a positive whole number a database id can be.
MessageId = Annotated[Annotated[int, Field(ge=1, le=MAX_DATABASE_ID)], BeforeValidator(_json_integer)]
# The same, and a page size, in a query string.
QueryMessageId = _query_number(0, MAX_DATABASE_ID)
PageSize = _query_number(1, MAX_PAGE_SIZE)
Timestamp = Annotated[datetime, AfterValidator(_utc), PlainSerializer(lambda v: _utc(v).isoformat().replace("+00:00", "Z"), return_type=str)]


class Request(BaseModel):
    """A JSON request body: unknown fields and loose types (a number as a string) are refused."""
    model_config = ConfigDict(extra="forbid", strict=True)


class Query(BaseModel):
    """Query-string arguments: values arrive as text, so types are converted (and checked)."""
    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="before")
    @classmethod
    def _once_and_not_empty(cls, value):
        """A parameter sent twice arrives as a list, one sent empty as "": said so, whatever its type
        ("a valid integer" and "a character this field doesn't take" misled an API tester)."""
        if isinstance(value, list):
            raise ValueError("given more than once: send it once")
        if value == "":
            raise ValueError("is empty: give it a value, or leave it out")
        return value


# --- problems -------------------------------------------------------------------------


class InvalidField(BaseModel):
    """One invalid field of a 422: where it was, which, and what is wrong."""
    location: Literal["body", "query", "header", "path"]
    name: str
    detail: str


class Problem(BaseModel):
    """An error (RFC 9457, application/problem+json)."""
    type: str = Field(description='"about:blank": the status says what kind of error it is')
    title: str = Field(description="The HTTP status phrase")
    status: int
    detail: str = Field(description="What went wrong, in words for a person")
    errors: list[InvalidField] | None = Field(None, description="Each invalid field: in every 422, and in a 400 about the request "
                                                           "body (not JSON, not UTF-8), named (body)")
    reason: Literal["messaging_off"] = Field(None, description=(
        '"messaging_off" in every 404 while the community\'s admins have switched messaging off (for a client that '
        "signs in): nothing is gone, every route answers again once they switch it on. Absent from other problems."))


# --- members --------------------------------------------------------------------------


class Member(BaseModel):
    username: str | None = Field(description="null for a former member")
    display_name: str = Field(description='Their name, or "former member" once they have left or been erased '
                                          '(a suspended member keeps their name)')
    former: bool = Field(description="They closed their account, were erased, or their account is gone (not a suspension)")


class Limits(BaseModel):
    messages_remaining: int = Field(description="Messages you may still send in the current window: a moving "
                                            "one, so each send counts for the length of the window after it "
                                            "(a minute for 20 per minute); a 429 says when to send again (Retry-After)")
    messages_limit: str
    new_conversations_remaining: int = Field(description="New conversations you may still start today (a first "
                                             "message counts one; writing where you have one counts nothing)")
    new_conversations_limit: str


class Me(BaseModel):
    id: int
    username: str
    display_name: str
    # Only these: a suspended member's token and session are refused (401) before /me answers.
    status: Literal["pending", "active"] = Field(description="pending: waiting for an admin's approval")
    is_admin: bool
    may_message: bool = Field(description="Whether you may send messages and start conversations at all")
    why_not: str | None = Field(description="Why not, when you may not")
    may_start: bool = Field(description="Whether you may start a conversation now, as the web says: the community's "
                            "rules let you, and today's new conversations aren't all started "
                            "(limits.new_conversations_remaining is above 0). Replies are always allowed, and so "
                            "is writing to an admin, which counts nothing against the day")
    why_not_start: str | None = Field(description="Why not and what would change it, when you may not start any")
    messages_paused: bool = Field(description="Your own \"Pause messages\" (Settings): while on, nobody but staff "
                                  "can write to you, in new or existing conversations")
    limits: Limits
    unread_total: int
    authenticated_by: Literal["token", "session"]


class UnreadCount(BaseModel):
    unread_total: int


# --- conversations --------------------------------------------------------------------


class ConversationsQuery(Query):
    limit: PageSize = Field(30, description=f"Conversations per page (at most {MAX_PAGE_SIZE})")
    cursor: str | None = Field(None, max_length=200, pattern=r"^[A-Za-z0-9_-]+$", description="next_cursor from the previous page, as it came (opaque: any other value is a 422, as every invalid parameter is)")
    unread: bool = Field(False, description="Only conversations with unread messages")


class OpenConversation(Request):
    with_: str = Field(alias="with", min_length=1, max_length=64, description="The other member's username (a leading @, as pages write it, is read past)")


class Conversation(BaseModel):
    id: int
    other_member: Member
    preview: str = Field(description="What the inbox shows of the newest message: shortened, \"You: \" before yours, or what "
                                     "became of it (\"Message deleted\", \"Message removed from your view\"); \"No messages "
                                     "yet\" while last_message_id is null. Words for a person to read: tell the cases apart by "
                                     "last_message_id")
    last_activity_at: Timestamp
    last_message_id: int | None = Field(description="The conversation's newest message, even one removed from your view "
                                                    "(the messages you list then end before it)")
    unread_count: int
    last_read_message_id: int | None = Field(description="How far you have read")
    other_last_read_message_id: int | None = Field(
        description='How far the other member has read ("Seen"); null unless both of you share read receipts')
    hidden: bool
    muted: bool = Field(description="Muted by you: counted in unread_count, but not in the unread total or emails")
    may_send: bool = Field(description="Whether you may send a message in it now, as the web's box says before "
                                       "you type (the rules, a block or pause, the other member's account)")
    why_not_send: str | None = Field(description="Why you may not, in the web's words; null when you may")


class ConversationPage(BaseModel):
    conversations: list[Conversation]
    next_cursor: str | None = Field(description="Pass as cursor= for the next page; null on the last one")
    unread_total: int


# --- messages ---------------------------------------------------------------------------


class MessagesQuery(Query):
    before: QueryMessageId | None = Field(None, description="Older messages than this id (paging back); with after=, the end of a range")
    after: QueryMessageId | None = Field(None, description="Newer messages than this id (polling; send If-None-Match)")
    limit: PageSize = Field(50, description=f"Messages per page (at most {MAX_PAGE_SIZE})")


def _folded(value):
    """CRLF and CR (and a word processor's breaks) as LF before the length is counted, and the length counted without the spaces
    around the text, as the web form counts (wb.text.clean_text): 5,000 characters and a final line
    break go either way. Spaces are trimmed only from a body that is too long with them, and never
    past a control character, which the send refuses (strip() would take a trailing "\x1f" too)."""
    if not isinstance(value, str):
        return value
    folded = fold_line_breaks(value)
    if len(folded) <= BODY_MAX:
        return folded
    start, end = 0, len(folded)
    while start < end and folded[start].isspace() and not CONTROL_CHARACTERS.match(folded[start]):
        start += 1
    while end > start and folded[end - 1].isspace() and not CONTROL_CHARACTERS.match(folded[end - 1]):
        end -= 1
    return folded[start:end]


def _message_text(value: str) -> str:
    """The web form's rule, in its words (writes.clean_body): pydantic's "String should have at
    least 1 character" read as another app's (an outside tester). The send cleans the text itself."""
    from ..messaging.policy import Refusal
    from ..messaging.writes import clean_body

    try:
        clean_body(value)
    except Refusal as refused:
        raise ValueError(refused.message) from None
    return value


class SendMessage(Request):
    body: Annotated[str, BeforeValidator(_folded), AfterValidator(_message_text)] = Field(
        # Checked by _message_text, in the web's words. No maxLength: the rule counts the text as the
        # server folds and trims it, so a longer raw string ("a\r\n" 2,500 times) is accepted, and a
        # client validating against the spec refused it (an API tester). The request's size bounds it.
        json_schema_extra={"minLength": 1},
        description=f"The message text: at most {BODY_MAX:,} characters, counted after line breaks are folded "
                    "(\\r\\n and \\r count as one character each) and without the spaces around the text, so "
                    "the JSON string itself may be longer. It is stored so too: every line break (\\r\\n, \\r, "
                    "U+0085, U+2028, U+2029) as \\n, without the spaces around the text, and an Idempotency-Key's "
                    "retry is the same message when it is the same once stored. Plain text: "
                    "control characters other than line breaks and tabs, half of a UTF-16 surrogate pair alone "
                    "(\"\\ud800\" in JSON), the two direction overrides (U+202D, "
                    "U+202E) and text that shows nothing (only spaces or zero-width characters) are refused.")


IDEMPOTENCY_KEY_MAX = 255
# Printable ASCII but the space and the comma: a server joins a header sent twice into one value with
# commas ("a,b"), which would then be a key of its own (an outside tester's retry stored the message again).
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x2b\x2d-\x7e]+$"
IDEMPOTENCY_KEY_WORDS = (f"An Idempotency-Key is 1 to {IDEMPOTENCY_KEY_MAX} printable ASCII characters, without "
                         "spaces or commas (a UUID will do).")
SEVERAL_KEYS = "Send one Idempotency-Key header, not several (a comma separates them, so a key has none)."


class SendHeaders(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    idempotency_key: str | None = Field(
        None, alias="Idempotency-Key", min_length=1, max_length=IDEMPOTENCY_KEY_MAX, pattern=IDEMPOTENCY_KEY_PATTERN,
        description=f"Any unique string (a UUID; 1 to {IDEMPOTENCY_KEY_MAX} printable ASCII characters, no space or "
                    "comma, sent once): a retried send with the same key stores the message once and answers it again "
                    "(as it is now: deleted since, deleted); other text with the key is refused (422) for a day",
    )

    @field_validator("idempotency_key", mode="before")
    @classmethod
    def _one_key_as_keys_are(cls, value):
        """Two headers arrive as one value joined by a comma: said so ("Has a character this field doesn't
        take" hid it from an API tester); any other key that isn't one is told what a key is."""
        if isinstance(value, str):
            if "," in value:
                raise ValueError(SEVERAL_KEYS)
            if len(value) > IDEMPOTENCY_KEY_MAX or not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, value):
                raise ValueError(IDEMPOTENCY_KEY_WORDS)
        return value


class Message(BaseModel):
    id: int
    conversation_id: int
    sender_id: int
    from_me: bool
    body: str | None = Field(description="null once its sender deleted it (a member who reported or blocked the "
                                         "sender keeps their copy)")
    deleted: bool
    created_at: Timestamp


class MessagePage(BaseModel):
    messages: list[Message] = Field(description="Oldest first")
    older_cursor: int | None = Field(description="Pass as before= for the page before this one; null when there is "
                                                 "none, and always on an after= page, which pages forward (to go back "
                                                 "from one, pass its first id as before=)")
    has_more_newer: bool = Field(description="For after=: more new messages than fit on this page")
    other_last_read_message_id: int | None = Field(description="null unless both of you share read receipts")


class MarkRead(Request):
    up_to: MessageId | None = Field(None, description="The newest message read (omitted: everything)")


class ReadState(BaseModel):
    conversation_id: int
    last_read_message_id: int | None
    unread_count: int
    unread_total: int


# --- safety -----------------------------------------------------------------------------


class BlockList(BaseModel):
    blocked: list[Member]


def _report_note(value: str) -> str:
    """The report form's text rule (wb.text): folded, trimmed, no control characters."""
    try:
        return clean_text(value, REPORT_NOTE_MAX, "Notes")
    except TextRefused as refused:
        raise ValueError(refused.message) from None


class NewReport(Request):
    username: str = Field(min_length=1, max_length=64, description="The member's username (a leading @, as pages write it, is read past)")
    reason: Literal[tuple(REPORT_REASONS)] = Field(description="; ".join(f"{k}: {v}" for k, v in REPORT_REASONS.items()))
    note: Annotated[str, AfterValidator(_report_note)] = Field("", max_length=REPORT_NOTE_MAX)


class Report(BaseModel):
    id: int
    reason: str
    created_at: Timestamp
    waits_for_another_admin: bool = Field(description="You reported the only admin: reports about an admin go to the "
                                          "other admins, and there are none now, so it waits until there is another "
                                          "(no admin reads it until then)")
    why_waiting: str | None = Field(description="What the web says then, in words for a person; null when an admin "
                                    "will read the report")
