"""Idempotent sends: an Idempotency-Key names one send, so a retried request stores its message once.

The main database keeps the key's hash, the conversation and the stored message's id, never
the text: a retry is compared with the stored message in the messaging database."""
from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..messaging import writes
from ..messaging.models import Message
from ..models import utcnow
from .models import IdempotencyKey
from .problems import ApiProblem

KEPT_FOR = timedelta(hours=24)  # a key may be reused for another message after this
# A send takes well under a second; a claim older than this belongs to a request that died
# before it stored anything (or before it noted what it stored): the next retry may take it over.
ABANDONED_AFTER = timedelta(minutes=1)


def send_once(member, conversation, raw_body, key: str) -> tuple[Message, bool]:
    """(the message, whether it was stored by an earlier request with this key)."""
    key_hash = hashlib.sha256(key.encode()).hexdigest()
    claimed = _claim(member.id, conversation.id, key_hash)
    if claimed is None:
        return _replay(member.id, conversation, raw_body, key_hash), True
    try:
        sent = writes.send_message(member, conversation, raw_body)
    except BaseException:
        db.session.rollback()
        _release(claimed)  # refused or failed: nothing was stored, so the key is free for a retry
        raise
    message_id = sent.message.id
    db.session.execute(update(IdempotencyKey).where(IdempotencyKey.id == claimed).values(message_id=message_id))
    db.session.commit()
    return sent.message, False


def _claim(member_id: int, conversation_id: int, key_hash: str) -> int | None:
    """Insert the key's row (the unique constraint makes exactly one request its owner); None when taken."""
    db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < utcnow() - KEPT_FOR))
    row = IdempotencyKey(user_id=member_id, key_hash=key_hash, conversation_id=conversation_id)
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return row.id


def _release(row_id: int) -> None:
    db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row_id))
    db.session.commit()


def _replay(member_id: int, conversation, raw_body, key_hash: str) -> Message:
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
    # A message deleted since has no text to compare with: the retry gets it, deleted, as it is now.
    if message is None or (message.deleted_at is None and message.body != writes.clean_body(raw_body)):
        raise _key_refused("This Idempotency-Key was already used for a different message.")
    return message


def _key_refused(words: str) -> ApiProblem:
    """A 422 names its invalid field, as every 422 does (a client looping over errors broke: an API tester)."""
    return ApiProblem(422, words, errors=[{"location": "header", "name": "Idempotency-Key", "detail": words}])
