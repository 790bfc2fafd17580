"""Where the messaging database is, whether it answers, and its schema."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError

from ...database import create_sqlite_file, engine_for, is_missing_table, redact_url, upgrade

BIND = "messaging"
TABLES = ("conversations", "messages")


class OperationFailed(Exception):
    """An operation that could not be done; str() is one line saying why.

    The CLI turns it into an error and a non-zero exit, the admin page into a notice.
    """


class DatabaseDamaged(OperationFailed):
    """SQLite finds the messaging database's file damaged: only a restore mends it."""


class MessagingUnavailable(OperationFailed):
    """The messaging database can't be used now (missing, without its tables, unreachable, damaged):
    a change that needs it must not begin. Pages answer it as they do its own errors (errors.failed_in)."""

    wb_database = "messaging"


def messaging_engine():
    """The messaging database's engine."""
    return engine_for(BIND)


def engine_name() -> str:
    """The messaging database's dialect: sqlite, postgresql, ..."""
    return messaging_engine().dialect.name


def sqlite_path() -> Path | None:
    """The messaging database's file, or None when it is not a SQLite file."""
    url = messaging_engine().url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def location() -> str:
    """Where the messaging database is, safe to print (passwords redacted)."""
    path = sqlite_path()
    return str(path) if path is not None else redact_url(messaging_engine().url)


def error_reason(error: Exception) -> str:
    """The driver's first line, without parameters or passwords."""
    original = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    return lines[0] if lines else type(original).__name__


def database_error_line(error: Exception) -> str:
    """One printable line for an error the messaging database gave."""
    if is_damaged(error):
        return damaged_line(error_reason(error))
    return f"Can't reach the messaging database at {location()}: {error_reason(error)}"


def damaged_line(reason: str, outcome: str = "") -> str:
    """What to say of a damaged messaging database (and what came of it: outcome), and what to do."""
    return (f"The messaging database at {location()} is damaged ({reason}){outcome}: stop the app and restore a "
            "backup (`./wb messaging restore PATH`).")


# SQLite's words for a file it can read but whose pages are wrong, or that isn't a database at all.
DAMAGED_ERRORS = ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def is_damaged(error: Exception) -> bool:
    """The error is SQLite finding the file damaged (a page overwritten, a truncated file)."""
    original = getattr(error, "orig", None) or error
    return str(getattr(original, "sqlite_errorname", "")).startswith(DAMAGED_ERRORS)


def fault_line(error: Exception) -> str:
    """One printable line for a database error in a command, naming the database at fault: each is
    asked again now (a command uses both), the one the error came from first (database.failed_in: both
    may fail, the messaging SQLite file when it was never created)."""
    from ...database import MESSAGING, failed_in

    reason = error_reason(error)
    databases = [(messaging_engine(), "messaging", location),
                 (engine_for(None), "main", lambda: redact_url(engine_for(None).url))]
    for engine, name, where in (databases if failed_in(error, MESSAGING) else databases[::-1]):
        if name == "messaging" and sqlite_path() is not None and not sqlite_path().exists():
            if failed_in(error, MESSAGING):  # not there to connect to (the app never creates it)
                return missing_line(sqlite_path())
            continue  # not yet created (a new instance): not what this error is about
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return f"Can't reach the {name} database at {where()}: {reason}"
    if is_missing_table(error):
        return f"A database has no tables yet ({reason}): run `./wb init`."
    return f"The database refused it: {reason}"


def missing_line(path: Path) -> str:
    """What to say of a messaging SQLite file that isn't there."""
    # Restoring first: "run init" alone led an operator to a fresh, empty database (an operator tester).
    return (f"The messaging database {path} doesn't exist; restore a backup (`./wb messaging restore PATH`) or, "
            f"{_starting_afresh()}.")


def _starting_afresh() -> str:
    """How to start a messaging database anew: `init` refuses while the community has conversations,
    which the advice "for a new one, run `./wb messaging init`" led to (an operator tester)."""
    try:
        recorded = recorded_conversations()
    except SQLAlchemyError:  # the main database fails too: say the general way
        recorded = 0
    if recorded:
        return "to start afresh without their messages, run `./wb messaging init --empty`"
    return "for a new one, run `./wb messaging init`"


def recorded_conversations() -> int:
    """How many conversations the main database's metadata records (0 on a new instance without tables)."""
    from ..models import ConversationMembership

    if ConversationMembership.__tablename__ not in inspect(engine_for(None)).get_table_names():
        return 0
    with engine_for(None).connect() as connection:
        return connection.scalar(select(func.count(func.distinct(ConversationMembership.conversation_id))))


def require_database() -> None:
    """Go on only when the messaging database exists, answers, and has its tables."""
    path = sqlite_path()
    if path is not None and not path.exists():  # (something else there, a folder: can't be opened, below)
        # Connecting would silently create an empty file; say what is wrong instead.
        raise OperationFailed(missing_line(path))
    try:
        with messaging_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
        present = schema_present()
    except SQLAlchemyError as error:
        raise (DatabaseDamaged if is_damaged(error) else OperationFailed)(database_error_line(error)) from None
    if not present:
        raise OperationFailed(
            f"The messaging database at {location()} has no messaging tables; restore a backup "
            f"(`./wb messaging restore PATH`) or, {_starting_afresh()}."
        )


def require_messages_readable(sender_id: int) -> None:
    """Before a change that must not be left half done (an erasure): the messaging database exists,
    answers, has its tables, and reads the sender's messages about to be changed; MessagingUnavailable
    otherwise, before anything is changed (a missing file passed as "0 messages wiped", a damaged one
    failed after the account was closed: an operator tester)."""
    from .backup import integrity_findings

    try:
        require_database()
        with messaging_engine().connect() as connection:
            connection.execute(text("SELECT count(*), sum(length(body)) FROM messages WHERE sender_id = :id"),
                               {"id": sender_id}).one()
            # Every page, as verify reads them: damage in an index the wipe writes (or any other) was
            # found only after the account was closed (a re-check tester). An erasure is rare; this
            # reads the file once, stopping at the first finding.
            findings = ["ok"] if sqlite_path() is None else integrity_findings(
                connection.exec_driver_sql("PRAGMA quick_check(1)").fetchall())
    except OperationFailed as error:
        raise MessagingUnavailable(str(error)) from None
    except SQLAlchemyError as error:
        raise MessagingUnavailable(database_error_line(error)) from None
    if findings != ["ok"]:
        raise MessagingUnavailable(damaged_line(f"quick_check: {findings[0]}"))


def refuse_to_create_beside_conversations() -> None:
    """OperationFailed when the main database holds conversations' metadata but the messaging database
    is missing or has no tables: creating it would silently lose them (`./wb demo` said "already
    there" over an empty one: an operator re-check tester)."""
    if not conversations_to_lose():
        return
    path = sqlite_path()
    state = "is missing" if path is not None and not path.exists() else "has no tables"
    raise OperationFailed(
        f"The messaging database {location()} {state} while the community has conversations: restore a backup "
        "(`./wb messaging restore PATH`), or start afresh without their messages with `./wb messaging init --empty`.")


def conversations_to_lose() -> int:
    """How many conversations the main database records while the messaging database is missing or has
    no tables: a new, empty one would lose their messages. 0 when it is there with its tables."""
    path = sqlite_path()
    if (path is None or path.exists()) and schema_present():
        return 0
    return recorded_conversations()


def schema_present() -> bool:
    """True when the messaging database has its tables."""
    names = set(inspect(messaging_engine()).get_table_names())
    return all(table in names for table in TABLES)


def ensure_schema() -> bool:
    """Create or upgrade the messaging schema, carrying this community's id; returns True when it had
    to create it."""
    from .identity import stamp_messaging_database

    create_sqlite_file(messaging_engine())  # the app's connections never create it
    missing = not schema_present()
    upgrade([BIND])
    stamp_messaging_database()
    return missing
