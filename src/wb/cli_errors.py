"""Every command's expected faults as one `Error:` line and exit status 1, never a traceback."""
import functools

import click
from sqlalchemy.exc import SQLAlchemyError

from .flags import ChangeRefused
from .messaging.ops.database import OperationFailed, fault_line


def one_line_errors(command):
    """Turn every expected fault into one line on stderr and a non-zero exit, never a traceback:
    a database that can't be reached or has no tables yet is named (fault_line), an operation's own
    refusal is said, a file that can't be read or written is named."""

    @functools.wraps(command)
    def wrapped(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (OperationFailed, ChangeRefused) as error:
            raise click.ClickException(str(error)) from None
        except SQLAlchemyError as error:
            raise click.ClickException(fault_line(error)) from None
        except OSError as error:
            where = f" ({error.filename})" if error.filename else ""
            raise click.ClickException(f"{error.strerror or error}{where}") from None

    return wrapped
