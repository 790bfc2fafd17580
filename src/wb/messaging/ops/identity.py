"""Which community a messaging database, or a backup of one, belongs to.

Member ids start at 1 in every community, so the ids a backup names can't tell ours from another
instance's (an outside tester restored one). The main database draws a random community id the first
time it is asked for; the messaging database carries the same id, written when its schema is made or
upgraded and before every backup, and a restore refuses a backup that carries another.
"""
from __future__ import annotations

import secrets

from sqlalchemy import inspect, insert, select
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import Community
from ..models import MessagingCommunity
from .database import messaging_engine


def community_id() -> str:
    """This community's id, drawn and stored in the main database the first time it is asked for."""
    found = stored_community_id()
    if found is None:
        db.session.add(Community(community_id=secrets.token_hex(16)))
        try:
            db.session.commit()
        except IntegrityError:  # drawn at the same moment by another process: theirs stands
            db.session.rollback()
        found = stored_community_id()
    return found


def stored_community_id() -> str | None:
    """The main database's community id, or None while none has been drawn (only reads)."""
    found = db.session.scalar(select(Community.community_id))
    db.session.commit()  # end the read
    return found


def carried_community_id() -> str | None:
    """The community id the messaging database carries, or None (made before it carried one)."""
    with messaging_engine().connect() as connection:
        return connection.scalar(select(MessagingCommunity.community_id))


def stamp_messaging_database() -> str | None:
    """Write this community's id into the messaging database when it carries none yet; the id it
    carries now. None when either database's schema is older than the id (`./wb init` brings both)."""
    # The main database is asked on the session's own connection: called as messaging is switched on,
    # in the middle of a request, another from the pool may have to wait for it.
    if not (inspect(db.session.connection()).has_table(Community.__tablename__)
            and inspect(messaging_engine()).has_table(MessagingCommunity.__tablename__)):
        db.session.commit()  # end the read
        return None
    carried = carried_community_id()
    if carried is not None:
        return carried
    ours = community_id()
    try:
        with messaging_engine().begin() as connection:
            connection.execute(insert(MessagingCommunity).values(community_id=ours))
    except IntegrityError:  # written at the same moment by another process
        pass
    return carried_community_id()
