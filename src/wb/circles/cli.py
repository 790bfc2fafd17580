"""`./wb circles list|create|add|remove`: circles from the command line (audited as "command line")."""
import click

from ..cli_errors import one_line_errors
from ..cli_groups import OperatorAppGroup
from . import service

circles_cli = OperatorAppGroup("circles", help="List, create and fill circles of members.")


def _or_fail(action):
    try:
        return action()
    except service.CircleError as error:
        raise click.ClickException(error.message) from None


@circles_cli.command("list")
@one_line_errors
def list_command():
    """Every circle with its members."""
    found = service.all_circles()
    if not found:
        click.echo("No circles yet. Create one with `./wb circles create NAME`.")
    for circle in found:
        members = service.members_of(circle)
        click.echo(f"{circle.name} ({len(members)}): {', '.join(m.username for m in members) or '-'}")


@circles_cli.command("create")
@click.argument("name")
@one_line_errors
def create_command(name):
    """Create a circle."""
    circle = _or_fail(lambda: service.create(name))
    click.echo(f"Circle {circle.name} created.")


@circles_cli.command("add")
@click.argument("name")
@click.argument("usernames", nargs=-1, required=True)
@one_line_errors
def add_command(name, usernames):
    """Add members to a circle (all or none)."""
    circle = _or_fail(lambda: service.require(name))
    added = _or_fail(lambda: service.add_members(circle, list(usernames)))
    click.echo(f"Added to {circle.name}: {', '.join(m.username for m in added) or 'nobody new'}.")


@circles_cli.command("remove")
@click.argument("name")
@click.argument("usernames", nargs=-1, required=True)
@one_line_errors
def remove_command(name, usernames):
    """Remove members from a circle (all or none)."""
    circle = _or_fail(lambda: service.require(name))
    removed = _or_fail(lambda: service.remove_members(circle, list(usernames)))
    click.echo(f"Removed from {circle.name}: {', '.join(m.username for m in removed) or 'nobody (they were not in it)'}.")
