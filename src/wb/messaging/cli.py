"""`./wb messaging ...`: operating the messaging database. The work is done in the ops package."""
import json

import click

from ..cli_errors import one_line_errors
from ..cli_groups import OperatorAppGroup
from ..cli_numbers import WholeNumber
from ..cli_prompts import confirm

from .reconcile import reconcile
from .rules_cli import rules_cli
from .ops.backup import backup
from .ops.database import (conversations_to_lose, engine_name, ensure_schema, location,
                           refuse_to_create_beside_conversations, require_database, sqlite_path)
from .ops.health import describe_age, describe_size, messaging_health
from .ops.purge import MAX_DAYS, purge_deleted
from .ops.restore import check_backup, refuse_while_in_use, restore, start_afresh
from .ops.verify import verify

messaging_cli = OperatorAppGroup("messaging", help="Operate the messaging database.")
messaging_cli.add_command(rules_cli)

# Copies smaller than this finish in a blink; larger ones print their progress.
PROGRESS_THRESHOLD_BYTES = 64 * 1024 * 1024


@messaging_cli.command("init")
@click.option("--empty", is_flag=True, help="Create it empty even though the community has conversations "
              "(their messages are lost; restoring a backup keeps them).")
@click.option("--yes", is_flag=True, help="With --empty: don't ask for confirmation.")
@one_line_errors
def init_command(empty, yes):
    """Create or upgrade the messaging database's schema (idempotent)."""
    if empty:
        lost = conversations_to_lose()
        if lost and not yes:  # as restore, erase and purge ask before what can't be undone
            confirm(f"Create an empty messaging database at {location()}? The messages of the community's "
                    f"{lost:,} conversation(s) are lost (restoring a backup keeps them), and the conversations "
                    "leave the inboxes", refused="Nothing created.")
        created, changes = start_afresh()
    else:
        refuse_to_create_beside_conversations()
        created, changes = ensure_schema(), []
    click.echo(
        f"Messaging database {'created' if created else 'up to date'}: "
        f"{engine_name()} at {location()}"
    )
    if changes:
        click.echo(f"Metadata reconciled ({len(changes)} change(s)): the lost conversations left the inboxes.")


@messaging_cli.command("switch")
@click.argument("state", type=click.Choice(["on", "off"]))
@one_line_errors
def switch_command(state):
    """Switch messaging on or off for everyone, as Admin → Settings does (open pages hear of it)."""
    from ..flags import is_enabled, set_flag
    from .policy import FLAG

    wanted = state == "on"
    if is_enabled(FLAG) == wanted:
        click.echo(f"Messaging is already {state}.")
        return
    set_flag(FLAG, wanted)
    click.echo(f"Messaging is now {state}" + ("." if wanted else ": stored messages are kept, and come back when it is on."))


@messaging_cli.command("backup")
@click.option("--out", type=click.Path(dir_okay=True, file_okay=True), help="Folder or file name for the backup.")
@click.option("--keep", type=WholeNumber(1), help="Keep only the newest N backups in that folder.")
@one_line_errors
def backup_command(out, keep):
    """Write a consistent, verified copy of the messaging database with a SHA-256 beside it."""
    result = backup(out=out, keep=keep, progress=_progress_printer())
    if result.created_folder is not None:
        click.echo(f"Created the folder {result.created_folder}")
    click.echo(f"Backup written: {result.path} ({describe_size(result.size)}, integrity ok)")
    click.echo(f"SHA-256 {result.sha256} in {result.checksum_path}")
    for old in result.removed:
        click.echo(f"Removed old backup: {old}")


def _progress_printer():
    """Print every tenth of a large copy; small copies stay quiet."""
    path = sqlite_path()
    if path is None or not path.exists() or path.stat().st_size < PROGRESS_THRESHOLD_BYTES:
        return None
    printed = set()

    def show(done, total):
        percent = 100 * done // total if total else 100
        step = percent - percent % 10
        if step not in printed:
            printed.add(step)
            click.echo(f"  copied {step}% ({done:,} of {total:,} pages)")

    return show


@messaging_cli.command("restore")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Don't ask for confirmation.")
@one_line_errors
def restore_command(path, yes):
    """Replace the messaging database with a verified backup, keeping the current one."""
    checked = check_backup(path)
    counts = f" ({checked.summary})" if checked.messages is None else f" ({_holding(checked.conversations, checked.messages)})"
    click.echo(f"Checksum and integrity ok: {checked.path}{counts}")
    refuse_while_in_use()  # before asking: a yes that could only be refused wasted the operator's answer
    now = messaging_health()
    if now["messages"] is not None:  # what a restore replaces (only the backup's was said: a residents' building's tester)
        click.echo(f"The current messaging database holds {_holding(now['conversations'], now['messages'])}.")
    if not yes:
        confirm(f"Replace the messaging database at {location()} with this backup? "
                "The current database is kept in the backups folder as pre-restore-<time>",
                refused="Nothing restored.")
    restored = restore(checked)
    if restored.kept_damaged:
        click.echo(f"The current messaging database is damaged ({restored.kept_damaged}): a copy of it is kept as "
                   f"{restored.kept} all the same, and the backup replaced it.")
    elif restored.replaced_empty:
        click.echo("The current messaging database is empty (no tables): no copy of it was needed.")
    elif restored.kept:
        click.echo(f"Previous database kept as {restored.kept} (`backup --keep` never removes it: delete it "
                   "once you no longer need it).")
    if restored.kept_wal:
        click.echo(f"Warning: the messaging database file was missing, but its WAL was left beside it: kept as "
                   f"{restored.kept_wal} (with its -shm). It may hold the last messages written before the file "
                   "was lost. To look, copy the backup you restored to a new name, copy the WAL beside it as "
                   "<new name>-wal, and open the copy (check it with `sqlite3 <new name> 'PRAGMA integrity_check'`).",
                   err=True)
    if restored.rewiped:
        click.echo(f"Wiped again the text of {restored.rewiped:,} message(s) of members erased since the backup.")
    click.echo(f"Restored from {checked.path}; metadata reconciled ({len(restored.changes)} change(s)).")


def _holding(conversations: int, messages: int) -> str:
    return (f"{conversations:,} conversation{'' if conversations == 1 else 's'}, "
            f"{messages:,} message{'' if messages == 1 else 's'}")


@messaging_cli.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@one_line_errors
def stats_command(as_json):
    """Engine, location, size, counts, last backup, schema revision and probe latency."""
    figures = messaging_health()
    if as_json:
        click.echo(json.dumps(figures, indent=2, sort_keys=True))
    else:
        for label, value in _stats_lines(figures):
            click.echo(f"{label:<22}{value}")
    if figures["error"]:
        raise click.ClickException(figures["error"])


def _stats_lines(f):
    yield "messaging", "on" if f["enabled"] else "off"
    yield "engine", f["engine"]
    yield "location", f["location"]
    if not f["reachable"]:
        yield "reachable", "no"
    else:
        yield "reachable", f"yes (probe {f['probe_latency_ms']} ms)"
        wal = f" (WAL {describe_size(f['wal_size_bytes'])})" if f["wal_size_bytes"] is not None else ""
        yield "size", describe_size(f["size_bytes"]) + wal
        yield "schema revision", f["schema_revision"] or "none"
    if f["damaged"]:
        yield "damaged", "yes: restore a backup (below)"
    if f["messages"] is not None:  # read only when the database answers and isn't damaged
        yield "conversations", f"{f['conversations']:,}"
        yield "messages", f"{f['messages']:,} ({f['deleted_messages']:,} deleted, {f['wiped_messages']:,} of them wiped)"
        yield "members with unread", f"{f['members_with_unread']:,}"
    yield "last backup", _backup_line(f)


def _backup_line(f) -> str:
    if f["last_backup"] is None:
        return f"none yet - run `./wb messaging backup` (cadence {f['backup_cadence_hours']:g} h)"
    line = f"{f['last_backup_at']} ({describe_age(f['backup_age_hours'])}) {f['last_backup']}"
    if f["backup_overdue"]:
        line += f"  WARNING: older than the {f['backup_cadence_hours']:g} h cadence"
    return line


@messaging_cli.command("verify")
@click.option("--batch-size", default=5000, show_default=True, type=WholeNumber(1), hidden=True)
@one_line_errors
def verify_command(batch_size):
    """Check that message text lives only in the messaging database and metadata agrees with it."""
    report = verify(batch_size=batch_size)
    for line in report.checked:
        click.echo(f"checked {line}")
    for line in report.notes:
        click.echo(f"note: {line}")
    if report.ok:
        click.echo("Verify passed: no problems found.")
        return
    click.echo(f"Verify FAILED: {len(report.problems)} problem(s):")
    for problem in report.problems:
        click.echo(f"  - {problem}")
    click.get_current_context().exit(1)


@messaging_cli.command("reconcile")
@click.option("--dry-run", is_flag=True, help="Show what would change without changing it.")
@one_line_errors
def reconcile_command(dry_run):
    """Rebuild the main database's messaging metadata from the messaging database."""
    require_database()
    changes = reconcile(dry_run=dry_run)
    for line in changes:
        click.echo(("would fix: " if dry_run else "fixed: ") + line)
    click.echo(f"{len(changes)} change(s) {'found' if dry_run else 'made'}.")


@messaging_cli.command("purge")
@click.option("--deleted-older-than", "days", required=True, type=WholeNumber(0, MAX_DAYS), metavar="DAYS",
              help="Wipe the text of messages deleted more than DAYS days ago.")
@click.option("--yes", is_flag=True, help="Really wipe (without it, only count).")
@one_line_errors
def purge_command(days, yes):
    """Retention: permanently wipe the text of messages deleted long ago (dry run unless --yes)."""
    result = purge_deleted(days, apply=yes)
    when = result.cutoff.strftime("%Y-%m-%d %H:%M UTC")
    if not yes:
        click.echo(f"Dry run: {result.due:,} message(s) deleted before {when} still hold text "
                   f"({result.already_wiped:,} already wiped). Run again with --yes to wipe them.")
        return
    click.echo(f"Wiped the text of {result.wiped:,} message(s) deleted before {when}.")
    if not result.checkpointed:
        click.echo("Note: a reader kept the wiped pages in the WAL; they leave it at the next checkpoint.")
    click.echo("Backups taken earlier still hold that text until they are rotated away.")
