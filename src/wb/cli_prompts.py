"""A yes-or-no question on the command line that ends its own line when input ends."""
from __future__ import annotations

import click

YES, NO = ("y", "yes"), ("", "n", "no")


def confirm(text: str) -> None:
    """Ask text [y/N]; anything but yes stops the command (click.Abort: "Aborted!"). click.confirm
    printed "Aborted!" on the question's line when input ended without an answer (Ctrl+D, Ctrl+C,
    a closed pipe: an operator tester); here the line is ended first."""
    while True:
        click.echo(f"{text} [y/N]: ", nl=False)
        try:
            answer = input().strip().lower()
        except (EOFError, KeyboardInterrupt):
            click.echo()
            raise click.Abort() from None
        if answer in YES:
            return
        if answer in NO:
            raise click.Abort()
        click.echo("Answer y or n.")
