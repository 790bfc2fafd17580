"""Command groups whose `--help` lists each command with its whole first sentence, wrapped.

click cuts a command's summary to what fits on its line and ends it with "...", which left an operator
reading "Write a consistent, verified copy of the messaging database..." and "Serve with gunicorn, as
in production (behind a proxy..." (a residents' building's tester)."""
import click
from flask.cli import AppGroup

WHOLE_SENTENCE = 10_000  # longer than any summary: click then stops at its first sentence's end


class WholeSummaries:
    """A mixin for a click group: its commands' summaries whole (write_dl wraps them)."""

    def format_commands(self, ctx, formatter):
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(WHOLE_SENTENCE)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class OperatorAppGroup(WholeSummaries, AppGroup):
    """An operator's group of commands (`./wb messaging`, `./wb members`, ...)."""


class ListedGroup(WholeSummaries, click.Group):
    """A plain group of given commands, listed as the operator's groups list theirs."""
