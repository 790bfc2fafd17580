"""The `./wb` command group. App commands also work as `flask --app wb ...`."""
import copy
import os
import resource
import subprocess
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo, routes_command, shell_command, with_appcontext

from . import create_app, ratelimits
from .cli_errors import one_line_errors
from .cli_groups import ListedGroup
from .cli_numbers import WholeNumber
from .config import ConfigError


# The commands that set an instance up where there is none (a fresh clone's `./wb demo`). Every other
# command operates an existing one and refuses a missing folder: at a mistyped WB_INSTANCE_PATH it
# left a new secret key and empty databases, then said to run init (an operator tester).
SETS_UP_INSTANCE = frozenset({"init", "demo"})
# An app that keeps nothing in the instance folder, only to list the commands when the real one can't be made.
COMMANDS_ONLY = {"SECRET_KEY": "listing commands only", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                 "MESSAGING_DATABASE_URI": "sqlite://"}


def _create_app():
    """The app for the command being run (OperatorGroup.get_command says whether it sets one up)."""
    info = click.get_current_context().find_object(ScriptInfo)
    if info and info.data.get("help_only"):
        # Help needs no instance: it neither makes one nor refuses for want of one (`./wb run --help`
        # said "No instance at ...", and `init --help` made the folder: an operator tester).
        try:
            return create_app(create_instance=False)
        except ConfigError:
            return create_app(COMMANDS_ONLY, create_instance=False)
    try:
        return create_app(create_instance=bool(info and info.data.get("sets_up_instance")))
    except ConfigError as error:  # one line saying which setting, not a traceback
        raise click.ClickException(str(error)) from None


class OperatorGroup(FlaskGroup):
    """Flask's command group, with its developer's part out of an operator's `./wb --help` (an
    operator tester read -e/--app/--debug and "python-dotenv must be installed", and found
    `db downgrade` among the commands without a word): those options and commands still work when
    named, for a developer, but the help lists what operating an instance needs."""

    DEVELOPER_COMMANDS = frozenset({"db", "limiter", "routes", "shell"})
    DEVELOPER_OPTIONS = frozenset({"env_file", "app", "debug"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Copies, hidden: Flask's options are shared with its own `flask` command.
        self.params = [self._hidden(param) if param.name in self.DEVELOPER_OPTIONS else param for param in self.params]

    @staticmethod
    def _hidden(param):
        param = copy.copy(param)
        param.hidden = True
        return param

    def resolve_command(self, ctx, args):
        ctx.ensure_object(ScriptInfo).data["help_only"] = _asks_for_help(args[1:])
        return super().resolve_command(ctx, args)

    def get_command(self, ctx, name):
        ctx.ensure_object(ScriptInfo).data["sets_up_instance"] = name in SETS_UP_INSTANCE
        return super().get_command(ctx, name)

    def list_commands(self, ctx):
        return sorted(self._listed_commands(ctx)[0])

    def format_commands(self, ctx, formatter):
        commands, problem = self._listed_commands(ctx)
        if problem:
            click.echo(f"Note: {problem}\n", err=True)
        ListedGroup(commands=commands).format_commands(ctx, formatter)

    def _listed_commands(self, ctx):
        """The commands the help lists, and why the app couldn't be made, if it couldn't. Flask's own
        listing then printed a traceback and left out every command but `bench` and `test` (an
        operator tester, with a mistyped WB_INSTANCE_PATH): they are listed all the same."""
        problem = None
        try:
            app_commands = ctx.ensure_object(ScriptInfo).load_app().cli.commands
        except click.ClickException as error:
            problem = error.format_message()
            try:
                app_commands = create_app(COMMANDS_ONLY, create_instance=False).cli.commands
            except ConfigError:  # a setting no app can start with: the problem names it
                app_commands = {}
        commands = {**app_commands, **self.commands}
        return {name: command for name, command in commands.items() if name not in self.DEVELOPER_COMMANDS}, problem


def _asks_for_help(args) -> bool:
    """The command line asks for a command's help (--help before any `--`)."""
    for arg in args:
        if arg == "--":
            return False
        if arg == "--help":
            return True
    return False


@click.group(cls=OperatorGroup, create_app=_create_app, add_default_commands=False, add_version_option=False)
def cli():
    """WhiteBalloon: run, set up and operate an instance."""


cli.add_command(shell_command)
cli.add_command(routes_command)


# `test` and `bench` run on a fresh clone, where there is no instance: they load no app (Flask's
# commands do by default, which made an instance folder, then refused a missing one).
@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True}, with_appcontext=False)
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def test(pytest_args):
    """Run the test suite (extra arguments go to pytest)."""
    root = os.environ.get("WB_PROJECT_ROOT") or os.getcwd()
    command = [sys.executable, "-m", "pytest", *pytest_args]
    sys.exit(subprocess.call(command, cwd=root))


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []},
             with_appcontext=False)
@click.argument("bench_args", nargs=-1, type=click.UNPROCESSED)
def bench(bench_args):
    """Run the messaging benchmark (benchmarks/run.py; --help for its options)."""
    root = os.environ.get("WB_PROJECT_ROOT") or os.getcwd()
    command = [sys.executable, os.path.join(root, "benchmarks", "run.py"), *bench_args]
    sys.exit(subprocess.call(command, cwd=root))


def register_commands(app) -> None:
    """Attach the core commands to app.cli (feature packages add their own groups)."""
    for command in (init_command, demo_command, run_command, create_admin_command, create_invite_command, approve_command):
        app.cli.add_command(command)


def initialize() -> None:
    """Create or upgrade both databases and the feature flag rows; safe to repeat."""
    from .database import upgrade
    from .flags import ensure_flags
    from .messaging.ops.database import refuse_to_create_beside_conversations
    from .messaging.ops.identity import stamp_messaging_database

    refuse_to_create_beside_conversations()  # a lost messaging file is restored, never silently made anew
    upgrade()
    stamp_messaging_database()  # the community's id, in both databases (restores compare it)
    ensure_flags()


@click.command("init")
@with_appcontext
@one_line_errors
def init_command():
    """Create or upgrade both databases (idempotent)."""
    from .database import redact_url

    initialize()
    click.echo(f"Main database ready: {redact_url(current_app.config['SQLALCHEMY_DATABASE_URI'])}")
    click.echo(f"Messaging database ready: {redact_url(current_app.config['MESSAGING_DATABASE_URI'])}")


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=WholeNumber(1, 65535))
@click.option("--no-serve", is_flag=True, help="Set up and seed, but don't start the server.")
@click.option("--notify-every", default=10.0, type=click.FloatRange(min=0.1), hidden=True,
              help="Seconds between the demo's background notify runs.")
@with_appcontext
def demo_command(host, port, no_serve, notify_every):
    """Set up, seed a demo community with messaging on, and serve it."""
    from .demo import DEMO_PASSWORD, PROMPT_HINT, demo_hint_holds, demo_logins, seed_demo

    from .messaging.ops.database import OperationFailed

    try:
        initialize()
    except OperationFailed as error:
        raise click.ClickException(str(error)) from None
    created = seed_demo()
    click.echo("Demo community " + ("created." if created else "already there (this instance has members)."))
    logins = demo_logins()
    if logins:
        click.echo("Sign in with any of these (password for all: %s):" % DEMO_PASSWORD)
        for name, is_admin in logins:
            click.echo(f"  {name}  (admin)" if is_admin else f"  {name}")
    else:
        click.echo("None of the demo's accounts signs in with the demo password any more.")
    if demo_hint_holds():  # not once the rules or circles were changed since (an operator tester)
        click.echo(PROMPT_HINT)
    from .demo import unused_invite_url

    if no_serve:  # served later, at an address of the operator's choosing (./wb run --port ...)
        click.echo(f"An unused invite, after the address you serve this instance at: {unused_invite_url()}")
        return
    click.echo(f"An unused invite: http://{host}:{port}{unused_invite_url()}")
    _start_demo_mail(host, port, notify_every)
    click.echo(f"Serving on http://{host}:{port}  (Ctrl+C to stop)")
    # Flask's app.run() refuses to start inside a CLI command; werkzeug's server is what it would run.
    from werkzeug.serving import run_simple

    run_simple(host, port, current_app._get_current_object(), threaded=True, use_reloader=False)


def _start_demo_mail(host, port, every_seconds) -> None:
    """The demo prints emails here and runs the notify step itself; a real instance runs it from cron."""
    from .notifications.notify import start_demo_mailer

    config = current_app.config
    if not os.environ.get("WB_MAIL_BACKEND"):
        config["MAIL_BACKEND"] = "console"
    if not os.environ.get("WB_BASE_URL"):
        config["BASE_URL"] = f"http://{host}:{port}"
    start_demo_mailer(current_app._get_current_object(), every_seconds)
    click.echo(f"Emails (address confirmations, unread-message notices) are printed here: the demo runs "
               f"`./wb messaging notify` every {every_seconds:g} seconds (WB_MAIL_BACKEND={config['MAIL_BACKEND']}).")


def default_workers() -> int:
    """One process per core, plus one to use the time another spends waiting on a database."""
    return (os.cpu_count() or 1) + 1


WORKER_CLASSES = ("gevent", "sync", "gthread")
# Connections one worker serves at once (gunicorn's --worker-connections, 1,000 unless set). Every
# open tab holds one for its live channel, so at gunicorn's default three workers took 3,000 tabs,
# and the next connection, a send too, waited for a held one to end (up to a hold, 30 s). A held
# request costs a gevent worker about 30 KB and a file descriptor.
WORKER_CONNECTIONS = 10_000
# More processes than any server has cores for: a typo's 99999999999 would fork until the host gave out.
MAX_WORKERS = 1_000


def default_worker_class(threads: int = 1) -> str:
    return "gthread" if threads > 1 else "gevent"


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=WholeNumber(1, 65535))
@click.option("--workers", type=WholeNumber(1, MAX_WORKERS), help="Processes.  [default: one per core, plus one]")
@click.option("--worker-class", "worker_class", type=click.Choice(WORKER_CLASSES),
              help="gevent (the default) holds each tab's live channel cheaply; sync and gthread answer it "
                   "at once and tabs ask again later.  [default: gevent; gthread with --threads]")
@click.option("--threads", default=1, show_default=True, type=WholeNumber(1),
              help="Threads per worker; more than 1 uses gunicorn's gthread workers.")
def run_command(host, port, workers, worker_class, threads):
    """Serve with gunicorn, as in production (behind a proxy such as nginx)."""
    workers = workers or default_workers()
    storage = current_app.config["RATELIMIT_STORAGE_URI"]
    if workers > 1 and not ratelimits.shared_between_processes(storage):
        raise click.ClickException(
            f"WB_RATELIMIT_STORAGE_URL is {storage}, which each of the {workers} workers would keep to itself, "
            "so every limit would be several times too high. Leave it unset (database://, the default) "
            "or use redis://, or serve with --workers 1."
        )
    limits = ratelimits.storage_check()
    if limits is not None and not limits["ok"]:
        click.echo(f"Warning: WB_RATELIMIT_STORAGE_URL ({limits['storage']}) doesn't answer: until it does, signing in "
                   "and sending answer 503 \"try again\", and /readyz says not ready.", err=True)
    worker_class = worker_class or default_worker_class(threads)
    open_files = allow_open_files(WORKER_CONNECTIONS + 200)  # each connection is a file, and the databases'
    if open_files < WORKER_CONNECTIONS + 200:
        click.echo(f"Warning: this process may open {open_files} files, so a worker holds fewer than "
                   f"{WORKER_CONNECTIONS:,} open tabs; raise the open files limit (ulimit -n, systemd's LimitNOFILE).",
                   err=True)
    if worker_class != "gevent" and not os.environ.get("WB_LIVE_HOLD_SECONDS"):
        # A sync worker holds one request at a time: a held live channel would starve it.
        os.environ["WB_LIVE_HOLD_SECONDS"] = "0"
    os.execv(sys.executable, gunicorn_argv(host, port, workers, threads, worker_class))


def gunicorn_argv(host, port, workers=None, threads=1, worker_class=None) -> list[str]:
    """The production gunicorn command line (the benchmark serves with exactly this).

    gevent workers by default, as gunicorn's design notes advise for long polling: every open
    tab holds one request (messaging/live.py) for up to LIVE_HOLD_SECONDS, and a greenlet waiting
    costs a few kilobytes where a sync worker would be taken whole. The worker patches the
    standard library before the app is imported; psycopg 3 and SQLite then cooperate (a
    waiting request holds no database connection). `--worker-class sync` is the fallback: each
    live request is answered at once and the page asks again after LIVE_RETRY_SECONDS.
    """
    return [
        sys.executable, "-m", "gunicorn",
        "--bind", f"{host}:{port}",
        "--workers", str(workers or default_workers()),
        "--worker-class", worker_class or default_worker_class(threads),
        "--threads", str(threads),
        "--worker-connections", str(WORKER_CONNECTIONS),
        # One request per connection, as sync workers always do. A gthread worker would keep
        # every keep-alive connection it accepted, so a few busy clients could all land on one
        # worker and leave the other cores idle. nginx opens one per request by default.
        "--keep-alive", "0",
        "--access-logfile", "-",
        # Its access and error lines with credential-like query parameters redacted.
        "--logger-class", "wb.gunicorn_logger.RedactingGunicornLogger",
        # gunicorn's control socket sits at one path per user (~/.gunicorn/gunicorn.ctl): a second
        # server on the host would share it, and stopping either removes it. Nothing here uses it.
        "--no-control-socket",
        "wb:create_app()",
    ]


def allow_open_files(wanted: int) -> int:
    """Raise this process's open files limit (its workers inherit it) towards wanted, as far as the
    system's hard limit allows (systemd gives services 1,024 unless LimitNOFILE says otherwise); the limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


@click.command("create-admin")
@click.argument("username")
@click.password_option("--password", help="Prompted for when not given.")
@with_appcontext
@one_line_errors
def create_admin_command(username, password):
    """Create an active admin account."""
    from .auth.service import create_admin

    try:
        user = create_admin(username, password)
    except ValueError as error:
        raise click.ClickException(str(error))
    click.echo(f"Admin {user.username} created.")


@click.command("create-invite")
@click.option("--max-uses", default=1, show_default=True, type=WholeNumber(1, 10_000))
@click.option("--expires-days", default=None, type=WholeNumber(1, 3650), help="Days until it expires (never by default).")
@click.option("--no-auto-approve", is_flag=True, help="Members who join with it wait for an admin's approval.")
@click.option("--circle", default=None, metavar="NAME", help="The circle members who join with it are added to.")
@with_appcontext
@one_line_errors
def create_invite_command(max_uses, expires_days, no_auto_approve, circle):
    """Create an invite and print its registration link."""
    from .circles import service as circles
    from .extensions import db
    from .cli_links import echo_link
    from .models import Invite

    joins = circles.by_name(circle) if circle is not None else None
    if circle is not None and joins is None:
        raise click.ClickException(f"There is no circle called {circle!r} (`./wb circles list` shows them).")
    invite = Invite.issue(max_uses=max_uses, expires_days=expires_days, auto_approve=not no_auto_approve,
                          circle=joins)
    db.session.commit()
    echo_link("auth.register", invite=invite.token)  # under WB_BASE_URL, as emails' links are


@click.command("approve")
@click.argument("username")
@with_appcontext
@one_line_errors
def approve_command(username):
    """Approve a pending member."""
    from .auth.service import set_status, why_not_manage
    from .models import User

    user = User.by_written_username(username)
    if user is None:
        raise click.ClickException(f"No member is called {username!r}.")
    refusal = why_not_manage(user)
    if refusal:
        raise click.ClickException(refusal)
    if user.status == "active":
        click.echo(f"{user.username} is already active.")
        return
    if user.status == "suspended":
        # Lifting a suspension is a different decision from approving a newcomer.
        raise click.ClickException(f"{user.username} is suspended; reinstate them in Admin > Members instead.")
    set_status(user, "active")
    click.echo(f"{user.username} is now active.")


def main():
    from . import logging_setup

    logging_setup.quiet_for_people()
    cli(prog_name="wb")


if __name__ == "__main__":
    main()
