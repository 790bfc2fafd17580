"""`./wb members erase USERNAME` (erasure on request) and `./wb members reset-link USERNAME`, from the
command line (audited as "command line")."""
import click
from sqlalchemy.exc import SQLAlchemyError

from ..cli_prompts import confirm
from ..extensions import db
from ..cli_errors import one_line_errors
from ..cli_groups import OperatorAppGroup
from ..messaging.ops.database import MessagingUnavailable, fault_line
from ..models import User
from . import leaving

members_cli = OperatorAppGroup("members", help="Operate on members' accounts.")


@members_cli.command("erase")
@click.argument("username")
@click.option("--yes", is_flag=True, help="Don't ask first.")
@one_line_errors
def erase_command(username, yes):
    """Erase a member on request: close the account, wipe the text of every message they sent,
    remove their profile text, email address and tokens (ids and times stay for the audit log)."""
    member = User.by_written_username(username)
    if member is None:
        raise click.ClickException(f"No member is called {username!r}.")
    if leaving.is_only_admin(member):
        raise click.ClickException(f"{member.username} is the community's only admin; create another admin first "
                                   "(./wb create-admin), then erase this one.")
    user_id = member.id
    again = member.is_erased
    # Erased already: nothing left to decide (it asked, then said so: an outside tester). Running it
    # again finishes what an unreachable messaging database left, and says what it did.
    if not yes and not again:
        for warning in leaving.erasure_warnings(member):
            click.echo(warning)
        confirm(f"Erase {member.name} (@{member.username}) for good? Their account closes and the text of every "
                "message they sent is wiped; this can't be undone",
                refused="Nothing erased.")  # not click's "Aborted!" (a re-check tester)
    try:
        wiped = leaving.erase_member(member)
    except MessagingUnavailable as error:  # asked before anything changed
        db.session.rollback()
        raise click.ClickException(f"{str(error).rstrip('.')}; nothing was erased.") from None
    except SQLAlchemyError as error:
        db.session.rollback()
        erased = db.session.get(User, user_id)
        if erased.deleted_at is None:  # the messaging database is asked first
            raise click.ClickException(f"{fault_line(error)}; nothing was erased.") from None
        raise click.ClickException(f"{fault_line(error)}; the account is closed, but the text of their "
                                   f"messages isn't wiped yet: run `./wb members erase {erased.username}` again once "
                                   "it answers.") from None
    if again:  # the way to finish an erasure the messaging database interrupted: say what this run did
        click.echo(f"{member.username} was erased already; text of {wiped:,} more message(s) wiped now. "
                   "Check with `./wb messaging verify`.")
    else:
        click.echo(f"Erased {username} (member {user_id}, now {member.username}): account closed, profile, email "
                   f"address and tokens removed, text of {wiped:,} message(s) wiped. Check with "
                   "`./wb messaging verify`.")
    for caveat in leaving.erasure_caveats():
        click.echo(caveat)


FIND_LIMIT = 50  # members a search lists; past it, it says to type more


@members_cli.command("find")
@click.argument("text")
@one_line_errors
def find_command(text):
    """List members whose name, username or email address holds TEXT, to see whom a request is about.

    Any case, with or without accents, as the members directory finds them; each with their username
    (what `erase` and `reset-link` take), name, state, when they joined and email address, if any."""
    # There was no way from the command line to learn the username an erasure request needs (a
    # residents' building's tester).
    from sqlalchemy import func, or_, select

    from ..messaging.directory_search import like_pattern, name_matches, sort_name, typed_name
    from ..notifications.models import EmailSettings
    from ..text import one_line

    query = typed_name(text)
    if not query:
        raise click.ClickException("Say what to look for: part of a name, a username or an email address.")
    rows = db.session.execute(
        select(User, EmailSettings.address, EmailSettings.confirmed_at).outerjoin(EmailSettings, EmailSettings.user_id == User.id)
        .where(or_(name_matches(query), func.lower(EmailSettings.address).like(like_pattern(query.lower()), escape="\\")))
        .order_by(sort_name(), User.username).limit(FIND_LIMIT + 1)).all()
    if not rows:
        click.echo(f"No member's name, username or email address holds {query!r}.")
        return
    for member, address, confirmed_at in rows[:FIND_LIMIT]:
        state = ("erased" if member.is_erased else "closed" if member.deleted_at else member.status) \
            + (", admin" if member.role == "admin" else "")
        click.echo(f"{member.username}  {one_line(member.display_name or '-')}  {state}  "
                   f"joined {member.created_at:%Y-%m-%d}  "
                   + (f"{address}{'' if confirmed_at else ' (not confirmed)'}" if address else "no email address"))
    if len(rows) > FIND_LIMIT:
        click.echo(f"More than {FIND_LIMIT} members match: type more of what you look for.")


@members_cli.command("reset-link")
@click.argument("username")
@one_line_errors
def reset_link_command(username):
    """Print a single-use password reset link for a member who forgot their password (valid 24
    hours; an earlier link of theirs stops working). Give it to them in person."""
    from ..auth import resets
    from ..cli_links import echo_link

    member = User.by_written_username(username)
    if member is None:
        raise click.ClickException(f"No member is called {username!r}.")
    try:
        token = resets.make_link(member)
    except resets.ResetRefused as refused:
        raise click.ClickException(refused.message) from None
    echo_link("auth.reset_password", token=token)  # under WB_BASE_URL, as create-invite's link is
