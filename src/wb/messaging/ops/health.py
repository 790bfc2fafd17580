"""Messaging health figures: one function for the admin page and `stats --json`. Counts only, never text."""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError

from ... import flags
from ...database import check_database, damage_known
from ...extensions import db
from ...models import utcnow
from ..models import Conversation, ConversationMembership, Message
from ..policy import FLAG
from .backup import last_backup
from .database import (BIND, DatabaseDamaged, OperationFailed, damaged_line, database_error_line, engine_name,
                       is_damaged, location, messaging_engine, require_database, sqlite_path)


def messaging_health() -> dict:
    """Every figure the admin page and `stats --json` show. Counts only: no text, no pairs."""
    cadence = float(current_app.config["MESSAGING_BACKUP_CADENCE_HOURS"])
    figures = {
        "enabled": flags.is_enabled(FLAG),
        "engine": engine_name(),
        "location": location(),
        "ok": False,  # reachable, and every figure read (a damaged file answers, then fails its reads)
        "reachable": False,
        "damaged": False,
        "error": None,
        "probe_latency_ms": None,
        "size_bytes": None,
        "wal_size_bytes": None,
        "schema_revision": None,
        "conversations": None,
        "messages": None,
        "deleted_messages": None,
        "wiped_messages": None,
        "members_with_unread": None,
        "backup_cadence_hours": cadence,
        **_backup_figures(cadence),
        "generated_at": utc_stamp(utcnow()),
    }
    try:
        require_database()
        figures.update(_storage_figures())
        figures.update(_count_figures())
        figures["ok"] = True
    except OperationFailed as error:
        figures["error"], figures["damaged"] = str(error), isinstance(error, DatabaseDamaged)
    except SQLAlchemyError as error:
        figures["error"], figures["damaged"] = database_error_line(error), is_damaged(error)
    return figures


def _storage_figures() -> dict:
    probe = check_database(BIND)
    if probe.get("error") == "Damaged":  # found by a request of this process's: as its reads would fail
        raise DatabaseDamaged(damaged_line(damage_known(messaging_engine().url.database) or "found by the app"))
    if not probe["ok"]:
        raise OperationFailed(f"Can't reach the messaging database at {location()}: {probe['error']}")
    figures = {"reachable": True, "probe_latency_ms": probe["latency_ms"], "schema_revision": _schema_revision()}
    path = sqlite_path()
    if path is not None:
        wal = path.with_name(path.name + "-wal")
        figures["size_bytes"] = path.stat().st_size
        figures["wal_size_bytes"] = wal.stat().st_size if wal.exists() else 0
    elif engine_name() == "postgresql":
        with messaging_engine().connect() as connection:
            figures["size_bytes"] = connection.scalar(
                text("SELECT pg_total_relation_size('conversations') + pg_total_relation_size('messages')")
            )
    return figures


def _schema_revision() -> str | None:
    """The messaging database's own Alembic revision."""
    if "alembic_version" not in inspect(messaging_engine()).get_table_names():
        return None
    with messaging_engine().connect() as connection:
        return connection.scalar(text("SELECT version_num FROM alembic_version"))


def _count_figures() -> dict:
    deleted = Message.deleted_at.is_not(None)
    with messaging_engine().connect() as connection:
        figures = {
            "conversations": connection.scalar(select(func.count()).select_from(Conversation)),
            "messages": connection.scalar(select(func.count()).select_from(Message)),
            "deleted_messages": connection.scalar(select(func.count()).select_from(Message).where(deleted)),
            "wiped_messages": connection.scalar(
                select(func.count()).select_from(Message).where(deleted, Message.body == "")
            ),
        }
    figures["members_with_unread"] = db.session.scalar(
        select(func.count(func.distinct(ConversationMembership.user_id))).where(ConversationMembership.unread_count > 0)
    )
    return figures


def _backup_figures(cadence_hours: float) -> dict:
    latest = last_backup()
    if latest is None:
        return {"last_backup": None, "last_backup_at": None, "backup_age_hours": None, "backup_overdue": True}
    age = (utcnow() - latest.taken_at).total_seconds() / 3600
    return {
        "last_backup": str(latest.path),
        "last_backup_at": utc_stamp(latest.taken_at),
        "backup_age_hours": round(age, 2),
        "backup_overdue": age > cadence_hours,
    }


def utc_stamp(moment: datetime) -> str:
    """A naive UTC datetime as ISO 8601 to the second, with a Z."""
    return moment.isoformat(timespec="seconds") + "Z"


def describe_age(hours: float) -> str:
    """How long ago, as times are said elsewhere: "2 min ago", "5 h ago", "3 days ago" (not "0.03
    hours ago", on the admin page and in `stats`: outside testers)."""
    if hours < 0.75:
        return f"{round(hours * 60) or 1} min ago"
    if hours < 48:
        return f"{round(hours)} h ago"
    return f"{round(hours / 24)} days ago"


def describe_size(size: int | None) -> str:
    """1536 -> '1.5 KiB'."""
    if size is None:
        return "unknown"
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"
