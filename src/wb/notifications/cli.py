"""`./wb messaging notify`: the cron job that emails members about unread messages."""
from datetime import datetime, timezone

import click
from flask.cli import with_appcontext

from ..cli_errors import one_line_errors
from .notify import run_notify


def _naive_utc(_context, _parameter, value):
    """--now as a naive UTC datetime, what every timestamp column stores."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use an ISO time such as 2026-01-31T09:30:00 (UTC)") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


@click.command("notify")
@click.option("--now", "now", metavar="TIME", hidden=True, callback=_naive_utc,
              help="Act as if it were this UTC time (tests and drills).")
@with_appcontext
@one_line_errors
def notify_command(now):
    """Email members about unread messages (run it every minute from cron)."""
    result = run_notify(now)
    delivered = result.delivered
    if not result.messaging_on:
        click.echo("Messaging is switched off: nothing new claimed.")
    # "0 notice(s) claimed, 2 email(s) sent" read as a contradiction (an outside operator): the emails
    # were those of notices queued by an earlier run.
    click.echo(f"{result.claimed} new notice(s) queued; {delivered.sent} email(s) sent, "
               f"{delivered.dropped} no longer needed, {delivered.failed} failed (of all queued).")
    if delivered.failed:
        raise click.ClickException(
            f"{delivered.failed} email(s) could not be sent; they stay queued for the next run (see the log).")
