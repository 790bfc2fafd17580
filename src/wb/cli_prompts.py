"""A yes-or-no question on the command line that ends its own line when input ends."""
from __future__ import annotations

import sys

import click

YES, NO = ("y", "yes"), ("", "n", "no")


def confirm(text: str, refused: str | None = None) -> None:
    """Ask text [y/N]; anything but yes stops the command with exit status 1, saying refused
    ("Nothing restored.") or click's "Aborted!". click.confirm printed "Aborted!" on the question's
    line when input ended without an answer (Ctrl+D, Ctrl+C, a closed pipe: an operator tester), and
    so did a "n" read from a pipe, which nothing echoes; here the line is ended first."""
    while True:
        click.echo(f"{text} [y/N]: ", nl=False)
        try:
            answer = input().strip().lower()
        except (EOFError, KeyboardInterrupt):
            _stop(refused, line_ended=False)
        if answer in YES:
            return
        if answer in NO:
            _stop(refused, line_ended=sys.stdin.isatty())  # a terminal echoed the answer and its Enter
        click.echo("Answer y or n.")


def _stop(refused: str | None, line_ended: bool):
    if not line_ended:
        click.echo()
    if refused is None:
        raise click.Abort()
    click.echo(refused, err=True)
    click.get_current_context().exit(1)
