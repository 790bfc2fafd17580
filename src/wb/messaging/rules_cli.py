"""`./wb messaging rules show|set`: the community's messaging rules from the command line (audited as "command line")."""
import click

from ..cli_errors import one_line_errors
from ..cli_groups import OperatorAppGroup
from ..circles import service as circles
from . import rule_changes

rules_cli = OperatorAppGroup("rules", help="Show or change who may start conversations with whom.")

SET_HELP = """Change one rule. RULE and VALUE are one of:

\b
  starters all                         every active member may start conversations
  starters circles:Volunteers,Coordinators   only members of these circles may
  reach anyone                         members may start with anyone
  reach shared-circle                  only with members who share a circle with them
  protect CIRCLE --open-to OTHER[,..]  only staff, CIRCLE's members and OTHER's members
                                       may start with CIRCLE's members
  protect CIRCLE --open-to OTHER --no-own-members-start
                                       as above, but CIRCLE's members don't start with
                                       each other (a practice's clients)
  protect CIRCLE --off                 CIRCLE is no longer protected

Staff may always start a conversation and be written to, and once a conversation
has a message both members may reply whatever the rules say."""


def _circles_named(text: str) -> list:
    """Circles from a comma-separated list of names, or a ClickException naming the unknown ones."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise click.ClickException("Name at least one circle.")
    unknown = [name for name in names if circles.by_name(name) is None]
    if unknown:
        raise click.ClickException(
            f"No circle is called {', '.join(repr(n) for n in unknown)}. `./wb circles list` shows them.")
    return [circles.by_name(name) for name in names]


@rules_cli.command("show")
@one_line_errors
def show_command():
    """Print every rule in words, and under a protected circle what it leaves open that they don't say."""
    from .. import flags
    from ..visibility import FLAG as DIRECTORY
    from .rules.community import load_rules
    from .rules.consequences import protection_notes

    rules = load_rules()
    notes = {f"Protected: {rules.names[circle_id]}": said
             for circle_id, said in protection_notes(rules, flags.is_enabled(DIRECTORY)).items()}
    for what, state in rule_changes.describe(rules):
        click.echo(f"{what}: {state}")
        for note in notes.get(what, []):
            click.echo(f"  {note}")


@rules_cli.command("set", help=SET_HELP)
@click.argument("rule", type=click.Choice(["starters", "reach", "protect"]))
@click.argument("value")
@click.option("--open-to", "open_to", multiple=True, help="protect: circles whose members may start (repeat or comma-separate).")
@click.option("--off", is_flag=True, help="protect: remove the protection.")
@click.option("--own-members-start/--no-own-members-start", "own_members_start", default=None,
              help="protect: whether the circle's own members may start conversations with each other (they may).")
@one_line_errors
def set_command(rule, value, open_to, off, own_members_start):
    if rule != "protect" and (open_to or off or own_members_start is not None):
        raise click.UsageError("--open-to, --off and --[no-]own-members-start go with `protect` only.")
    if rule == "starters":
        if value == "all":
            event = rule_changes.set_starters(None)
        elif value.startswith("circles:"):
            event = rule_changes.set_starters(_circles_named(value[len("circles:"):]))
        else:
            raise click.UsageError("starters takes `all` or `circles:NAME,NAME`.")
    elif rule == "reach":
        if value not in ("anyone", "shared-circle"):
            raise click.UsageError("reach takes `anyone` or `shared-circle`.")
        event = rule_changes.set_reach(value == "shared-circle")
    else:
        if off and (open_to or own_members_start is not None):
            raise click.UsageError("Use either --off or the protection's options.")
        circle = _circles_named(value)[0] if "," not in value else None
        if circle is None:
            raise click.UsageError("protect takes one circle.")
        event = rule_changes.set_protection(circle, None if off else _circles_named(",".join(open_to)) if open_to else [],
                                            own_members_start=own_members_start is not False)
    if event is None:
        click.echo("No change: the rule already says that.")
    else:
        click.echo(f"{event.subject}: {event.old_value} -> {event.new_value}")
