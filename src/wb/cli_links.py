"""The links commands print for an operator to hand on: an invite, a password reset."""
import os

import click
from flask import current_app

from .config import Config


def echo_link(endpoint: str, **values) -> None:
    """Print the absolute link under WB_BASE_URL, and say on stderr when WB_BASE_URL isn't set: the
    link then names the default address, which members may not reach (an operator tester's server ran
    on another port, and the printed reset link led nowhere)."""
    from .notifications.emails import link

    if not os.environ.get("WB_BASE_URL") and current_app.config["BASE_URL"] == Config.BASE_URL:
        click.echo(f"WB_BASE_URL isn't set, so this link assumes {Config.BASE_URL}; "
                   "set it to the address members open.", err=True)
    click.echo(link(endpoint, **values))
