"""Idempotent sends: an Idempotency-Key names one send, so a retried request stores its message once.

The main database keeps the key's hash, the conversation, the stored message's id and a hash of
the request's text keyed with the secret key, never the text: a retry is compared with that hash,
which stays when the message's text is deleted (a short text's plain SHA-256 could be guessed)."""
from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..messaging import writes
from ..messaging.models import Message
from ..models import User, utcnow
from .models import IdempotencyKey
from .problems import ApiProblem

BODY_HASH_SALT = b"wb.api.idempotency-body"
KEPT_FOR = timedelta(hours=24)  # a key may be reused for another message after this
# A send takes well under a second; a claim older than this belongs to a request that died
# before it stored anything (or before it noted what it stored): the next retry may take it over.
ABANDONED_AFTER = timedelta(minutes=1)


def send_once(member, conversation, raw_body, key: str) -> tuple[writes.Sent, bool]:
    """(the send, whether its message was stored by an earlier request with this key). The API's sends
    and the compose form's (its page makes a key for each message) alike."""
    key_hash = hashlib.sha256(key.encode()).hexdigest()
    body_hash = _body_hash(writes.clean_body(raw_body))
    claimed = _claim(member.id, conversation.id, key_hash, body_hash)
    if claimed is None:
        message = _replay(member.id, conversation, raw_body, key_hash, body_hash)
        return writes.Sent(message, db.session.get(User, conversation.other_id(member.id))), True
    def note_message(message_id):  # committed with the message (one commit a send, not two)
        db.session.execute(update(IdempotencyKey).where(IdempotencyKey.id == claimed).values(message_id=message_id))

    try:
        sent = writes.send_message(member, conversation, raw_body, on_stored=note_message)
    except BaseException:
        db.session.rollback()
        _release(claimed)  # refused or failed: nothing was stored, so the key is free for a retry
        raise
    return sent, False


def _body_hash(body: str) -> str:
    """What the key's row says of the text it sent: enough to tell it from another, nothing to read it by."""
    secret = current_app.secret_key.encode() if isinstance(current_app.secret_key, str) else current_app.secret_key
    return hmac.new(secret + BODY_HASH_SALT, body.encode("utf-8"), hashlib.sha256).hexdigest()


# Keys past KEPT_FOR are cleared by a send at most once a minute in each process: every web send has a
# key now, and clearing on each one was a statement more per message for nothing.
CLEARED_EVERY = timedelta(minutes=1)
_cleared_at = None


def _claim(member_id: int, conversation_id: int, key_hash: str, body_hash: str) -> int | None:
    """Insert the key's row (the unique constraint makes exactly one request its owner); None when taken.
    One INSERT ... RETURNING, not an ORM object: every web send claims a key."""
    global _cleared_at
    now = utcnow()
    if _cleared_at is None or now - _cleared_at >= CLEARED_EVERY:
        _cleared_at = now
        db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < now - KEPT_FOR))
    for _ in range(2):
        try:
            claimed = db.session.execute(insert(IdempotencyKey).values(
                user_id=member_id, key_hash=key_hash, conversation_id=conversation_id, body_hash=body_hash,
                created_at=now).returning(IdempotencyKey.id)).scalar_one()
            db.session.commit()
            return claimed
        except IntegrityError:
            db.session.rollback()
        # Taken: by a key past KEPT_FOR that no clearing has reached yet, it is this send's to take.
        gone = db.session.execute(delete(IdempotencyKey).where(
            IdempotencyKey.user_id == member_id, IdempotencyKey.key_hash == key_hash,
            IdempotencyKey.created_at < now - KEPT_FOR)).rowcount
        db.session.commit()
        if not gone:
            return None
    return None


def _release(row_id: int) -> None:
    db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row_id))
    db.session.commit()


def _replay(member_id: int, conversation, raw_body, key_hash: str, body_hash: str) -> Message:
    """The message an earlier request with this key stored, if this retry is the same send."""
    row = db.session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == member_id, IdempotencyKey.key_hash == key_hash)
    )
    if row is None:  # released between our insert and this read: the first attempt failed
        raise ApiProblem(409, "A request with this Idempotency-Key just failed; retry it.", headers={"Retry-After": "1"})
    if row.conversation_id != conversation.id:
        raise _key_refused("This Idempotency-Key was already used for a message to another conversation.")
    if row.message_id is None:
        if row.created_at < utcnow() - ABANDONED_AFTER:
            _release(row.id)
        raise ApiProblem(409, "A request with this Idempotency-Key is still being sent; retry it in a moment.",
                         headers={"Retry-After": "1"})
    message = db.session.get(Message, row.message_id)
    if message is None or not _same_text(row, message, body_hash, raw_body):
        raise _key_refused("This Idempotency-Key was already used for a different message.")
    return message  # deleted since: as it is now (201, deleted), the answer a retry of that send gets


def _same_text(row: IdempotencyKey, message: Message, body_hash: str, raw_body) -> bool:
    """Whether this retry sends what the key's first request sent. By the kept hash: the message's text
    is gone once deleted, and another text with the key was then replayed as that send (an API tester)."""
    if row.body_hash is not None:
        return hmac.compare_digest(row.body_hash, body_hash)
    # A key claimed before the hash was kept (gone within KEPT_FOR): by the text, while it is there.
    return message.deleted_at is not None or message.body == writes.clean_body(raw_body)


def _key_refused(words: str) -> ApiProblem:
    """A 422 names its invalid field, as every 422 does (a client looping over errors broke: an API tester)."""
    return ApiProblem(422, words, errors=[{"location": "header", "name": "Idempotency-Key", "detail": words}])
