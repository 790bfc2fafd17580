"""`./wb reports list|resolve`: moderation reports from the command line (resolving audited as "command line").

A report about an admin is hidden from them and from the admins they made afterwards; when they are
all the admins there are, no admin can read it, and while it is open they make no password reset
links and erase nobody (admin/standing.py). Whoever runs the server reads and resolves it here (a
therapy practice's tester found no way to). Like the admins' Reports page, a report shows who, whom,
when, why and the reporter's own note; never a message.
"""
from datetime import datetime

import click

from ..cli_errors import one_line_errors
from ..cli_groups import OperatorAppGroup
from ..cli_numbers import DatabaseId
from ..extensions import db
from ..models import User, utcnow
from . import safety
from .inbox import users_by_id
from .models import REPORT_REASONS, Report

reports_cli = OperatorAppGroup("reports", help="List and resolve members' reports (what Admin → Reports shows).")


def _age(moment: datetime) -> str:
    """How long ago, in whole units: "just now", "5 minutes", "3 hours", "2 days"."""
    seconds = (utcnow() - moment).total_seconds()
    for unit, length in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= length:
            count = int(seconds // length)
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return "just now"


def _name(person: User | None) -> str:
    if person is None or person.deleted_at is not None:
        return "a former member" + (f" ({person.username})" if person is not None else "")
    return person.username + (" (admin)" if person.is_admin else "")


@reports_cli.command("list")
@one_line_errors
def list_command():
    """Open reports, newest first: id, when, about whom, by whom, the reason, and the reporter's note."""
    found = safety.reports("open")
    if not found:
        click.echo("No open reports.")
        return
    people = users_by_id({r.reporter_id for r in found} | {r.reported_id for r in found})
    unseen = safety.seen_by_no_admin()
    for report in found:
        click.echo(f"#{report.id}  {report.created_at:%Y-%m-%d %H:%M} UTC ({_age(report.created_at)})  "
                   f"about {_name(people.get(report.reported_id))}, by {_name(people.get(report.reporter_id))}: "
                   f"{REPORT_REASONS.get(report.reason, report.reason)}"
                   + ("  [no admin can see it]" if report.id in unseen else ""))
        for line in report.note.splitlines():
            click.echo(f"    {line}" if line else "")
    click.echo(f"{len(found)} open. Resolve one with `./wb reports resolve ID`.")


@reports_cli.command("resolve")
@click.argument("report_id", type=DatabaseId("report", listed_by="./wb reports list"), metavar="ID")
@one_line_errors
def resolve_command(report_id):
    """Mark a report resolved, as Admin → Reports does (recorded as done on the command line)."""
    report = db.session.get(Report, report_id)
    if report is None:
        raise click.ClickException(f"No report has the id {report_id}; `./wb reports list` shows the open ones.")
    about = _name(db.session.get(User, report.reported_id))
    if report.status == "resolved":
        click.echo(f"Report #{report.id} about {about} was resolved already.")
        return
    safety.resolve_report(None, report.id)
    click.echo(f"Report #{report.id} about {about} is resolved.")
