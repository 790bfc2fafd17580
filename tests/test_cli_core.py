"""The core `./wb` commands: init, demo, create-admin, create-invite, approve."""
import re
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, inspect, select

from conftest import PASSWORD
from wb import create_app
from wb.config import TestConfig
from wb.extensions import db
from wb.models import Comment, FeatureFlag, HelpRequest, Invite, User
from helpers import admin_link, reload, text

# A whole link under WB_BASE_URL (TestConfig's), not a path to paste after an address.
LINK = re.compile(r"^https?://[^/\s]+/register\?invite=([A-Za-z0-9_-]+)$", re.M)
NEW_PASSWORD = "a long enough password"




# --- a fresh instance: init and demo ---------------------------------------------------------------

@pytest.fixture
def fresh_app(tmp_path):
    """An app on empty SQLite files of its own (not the suite's shared databases)."""
    config = {key: value for key, value in vars(TestConfig).items() if key.isupper()}
    config.update(
        INSTANCE_PATH=str(tmp_path / "instance"),
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        MESSAGING_DATABASE_URI=f"sqlite:///{tmp_path / 'fresh-messaging.sqlite3'}",
        RATELIMIT_STORAGE_URI="memory://",
    )
    app = create_app(config)
    yield app
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def table_names(app, bind=None) -> set[str]:
    with app.app_context():
        return set(inspect(db.engines[bind]).get_table_names())


def test_init_creates_both_databases_and_is_safe_to_repeat(fresh_app):
    runner = fresh_app.test_cli_runner()

    first = runner.invoke(args=["init"])
    second = runner.invoke(args=["init"])

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert "Main database ready: sqlite:///" in first.output
    assert "Messaging database ready: sqlite:///" in first.output
    assert second.output == first.output
    main_tables = table_names(fresh_app)
    assert {"users", "invites", "help_requests", "comments", "feature_flags", "audit_events",
            "alembic_version"} <= main_tables
    assert "messages" not in main_tables  # message text never lives in the main database
    assert {"conversations", "messages", "alembic_version"} <= table_names(fresh_app, "messaging")
    with fresh_app.app_context():
        flags = dict(db.session.execute(select(FeatureFlag.name, FeatureFlag.enabled)).all())
        assert flags == {"direct_messaging": False, "member_invites": True, "member_directory": True,
                         "help_requests": True, "emails_name_who_wrote": True}


def test_demo_seeds_a_community_once(fresh_app):
    runner = fresh_app.test_cli_runner()

    first = runner.invoke(args=["demo", "--no-serve"])

    assert first.exit_code == 0, first.output
    assert "Demo community created." in first.output
    assert "password for all: demo-password" in first.output
    for name in ("admin", "alice", "bob", "carol", "dave"):
        assert f"  {name}" in first.output
    # Not served here, so no address of its own: the path, for whichever address it is served at (a
    # street's tester opened :5000's link while ./wb run served on another port).
    link = re.search(r"An unused invite, after the address you serve this instance at: (/register\?invite=\S+)",
                     first.output).group(1)
    assert "Serving on" not in first.output and "http://127.0.0.1:5000/register" not in first.output

    with fresh_app.app_context():
        members = db.session.scalars(select(User).order_by(User.id)).all()
        assert [(u.username, u.role, u.status) for u in members][0] == ("admin", "admin", "active")
        assert len([u for u in members if u.role == "member" and u.status == "active"]) >= 4
        assert all(u.bio for u in members)
        assert db.session.scalar(select(func.count(HelpRequest.id))) >= 4
        assert db.session.scalar(select(func.count(Comment.id))) >= 3
        assert db.session.get(FeatureFlag, "direct_messaging").enabled is True
        assert User.by_username("alice").check_password("demo-password")

        # Whoever wrote a conversation's last message has nothing unread in it.
        from wb.messaging.conversations import CONVERSATION_IDS
        from wb.messaging.models import Conversation, ConversationMembership, Message

        ids = db.session.scalars(select(Conversation.id)).all()  # numbered at random, as the README says
        assert ids and all(CONVERSATION_IDS[0] <= id_ <= CONVERSATION_IDS[1] for id_ in ids), ids

        for membership in db.session.scalars(select(ConversationMembership)):
            last = db.session.scalars(select(Message).where(Message.conversation_id == membership.conversation_id)
                                      .order_by(Message.id.desc())).first()
            if last.sender_id == membership.user_id:
                assert membership.unread_count == 0, membership.conversation_id

        client = fresh_app.test_client()
        assert client.get(link).status_code == 200
        assert 'name="username"' in text(client.get(link))
        # the admin's own link is one Invite would make: it was listed "never expires" under "expires
        # after 14 days" (a street's tester)
        from wb.models import Invite

        assert all(invite.expires_at is not None for invite in db.session.scalars(select(Invite)))

    assert "alice sees the messaging rule" in first.output
    again = runner.invoke(args=["demo", "--no-serve"])
    assert again.exit_code == 0, again.output
    assert "Demo community already there (this instance has members)." in again.output
    assert "alice sees the messaging rule" in again.output  # still true
    with fresh_app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == len(members)
        from wb.messaging import rule_changes

        rule_changes.set_reach(False)  # an admin opened reach to anyone: the hint would be untrue
    changed = runner.invoke(args=["demo", "--no-serve"])
    assert changed.exit_code == 0 and "alice sees the messaging rule" not in changed.output


def test_the_demo_starts_again_after_its_admin_was_erased_and_lists_only_logins_that_work(fresh_app):
    """Once `admin` was erased, `./wb demo` seeded again and died on a UNIQUE constraint; and it said
    "password for all" after carol had changed hers (an outside operator)."""
    runner = fresh_app.test_cli_runner()
    assert runner.invoke(args=["demo", "--no-serve"]).exit_code == 0
    with fresh_app.app_context():
        from wb.people.leaving import erase_member

        User.by_username("dave").role = "admin"  # another admin, so the first may go
        erase_member(User.by_username("admin"))
        carol = User.by_username("carol")
        carol.set_password("carol's own passphrase")
        db.session.commit()
        members = db.session.scalar(select(func.count(User.id)))
    again = runner.invoke(args=["demo", "--no-serve"])
    assert again.exit_code == 0, again.output
    assert again.exception is None
    assert "Demo community already there (this instance has members)." in again.output
    listed = re.findall(r"^  (\w+)(  \(admin\))?$", again.output, re.MULTILINE)
    assert listed == [("alice", ""), ("bob", ""), ("dave", "  (admin)")]
    with fresh_app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == members  # nobody seeded twice


def test_the_demos_unused_invite_is_one_nobody_used_that_needs_no_approval(fresh_app):
    """After a restart the demo printed, as "an unused invite", one made on the command line with a
    use taken and approval to wait for (a building's tester)."""
    runner = fresh_app.test_cli_runner()
    first = runner.invoke(args=["demo", "--no-serve"])
    token = re.search(r"/register\?invite=(\S+)", first.output).group(1)
    with fresh_app.app_context():
        shown = db.session.scalar(select(Invite).where(Invite.token == token))
        shown.uses, shown.max_uses, shown.auto_approve = 1, 3, False  # since used once, and changed by hand
        db.session.commit()
    again = runner.invoke(args=["demo", "--no-serve"])
    token = re.search(r"/register\?invite=(\S+)", again.output).group(1)
    with fresh_app.app_context():
        printed = db.session.scalar(select(Invite).where(Invite.token == token))
        assert (printed.uses, printed.auto_approve, printed.circle_id, printed.problem()) == (0, True, None, None)


def test_help_lists_every_core_command(monkeypatch, tmp_path):
    monkeypatch.setenv("WB_INSTANCE_PATH", str(tmp_path / "instance"))
    from wb.cli import cli

    result = CliRunner().invoke(cli, ["--help"])

    assert result.exit_code == 0, result.output
    for command in ("demo", "test", "init", "run", "create-admin", "create-invite", "approve", "messaging"):
        assert re.search(rf"^\s+{command}\s", result.output, re.M), command
    # Flask's developer part is left out of an operator's help (an operator tester found `db
    # downgrade` listed, and "python-dotenv must be installed"), and still works when named.
    for developer in ("db", "limiter", "routes", "shell"):
        assert not re.search(rf"^\s+{developer}\s", result.output, re.M), developer
    for option in ("--env-file", "--app", "--debug", "python-dotenv"):
        assert option not in result.output
    (tmp_path / "instance").mkdir()  # a named command loads the app, which refuses a missing instance
    (tmp_path / "instance" / "secret_key").write_text("a key an earlier init made\n")  # or an empty folder
    assert CliRunner().invoke(cli, ["db", "--help"]).exit_code == 0
    from flask.cli import cli as flask_cli
    assert "--env-file" in CliRunner().invoke(flask_cli, ["--help"]).output  # Flask's own command keeps them


HELP_ASKED = [["run"], ["messaging"], ["messaging", "backup"], ["messaging", "init"], ["members"],
              ["members", "erase"], ["reports"], ["approve"], ["create-invite"], ["create-admin"], ["circles"],
              ["init"], ["demo"]]


@pytest.mark.parametrize("instance", ["missing", "empty folder"])
@pytest.mark.parametrize("command", HELP_ASKED, ids=" ".join)
def test_every_command_prints_its_help_without_an_instance(monkeypatch, tmp_path, command, instance):
    """`./wb run --help`, `./wb messaging --help` and others said "Error: No instance at ..." and exited
    1 where there was none yet (an operator tester); `init --help` made the instance folder."""
    folder = tmp_path / "instance"
    if instance == "empty folder":
        folder.mkdir()
    monkeypatch.setenv("WB_INSTANCE_PATH", str(folder))
    from wb.cli import cli

    result = CliRunner().invoke(cli, [*command, "--help"])

    assert result.exit_code == 0, result.output
    assert f"Usage: cli {' '.join(command)} [OPTIONS]" in result.output and "Error" not in result.output
    assert folder.exists() == (instance == "empty folder") and not any(folder.glob("*") if folder.exists() else [])


@pytest.mark.parametrize("group", [[], ["messaging"], ["members"], ["reports"], ["circles"], ["messaging", "rules"]],
                         ids=lambda group: " ".join(group) or "wb")
def test_a_groups_help_gives_each_commands_summary_whole(monkeypatch, tmp_path, group):
    """"backup     Write a consistent, verified copy of the messaging database..." (a residents' building's
    tester): each summary is its whole first sentence, wrapped."""
    monkeypatch.setenv("WB_INSTANCE_PATH", str(tmp_path / "instance"))
    from wb.cli import cli

    result = CliRunner().invoke(cli, [*group, "--help"], terminal_width=80)

    assert result.exit_code == 0, result.output
    listed = result.output.split("Commands:", 1)[1]
    assert listed.strip() and "..." not in listed
    assert all(len(line) <= 80 for line in listed.splitlines())
    if group == ["messaging"]:
        assert "backup Write a consistent, verified copy of the messaging database with a SHA-256 beside it." \
            in " ".join(listed.split())  # wrapped under itself


def test_flask_command_sees_the_same_commands(monkeypatch, tmp_path):
    monkeypatch.setenv("WB_INSTANCE_PATH", str(tmp_path / "instance"))
    from flask.cli import cli as flask_cli

    result = CliRunner().invoke(flask_cli, ["--app", "wb", "--help"])

    assert result.exit_code == 0, result.output
    for command in ("init", "create-admin", "create-invite", "approve", "messaging"):
        assert re.search(rf"^\s+{command}\s", result.output, re.M), command


def test_run_offers_host_port_and_workers(runner):
    result = runner.invoke(args=["run", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--workers", "--worker-class", "--threads"):
        assert option in result.output


def _option(argv, name):
    return argv[argv.index(name) + 1]


def test_run_serves_with_gevent_workers_one_per_core_plus_one(monkeypatch):
    from wb.cli import gunicorn_argv

    monkeypatch.setattr("os.cpu_count", lambda: 2)
    argv = gunicorn_argv("127.0.0.1", 8000)

    assert (_option(argv, "--worker-class"), _option(argv, "--workers"), _option(argv, "--threads")) == ("gevent", "3", "1")
    assert _option(argv, "--bind") == "127.0.0.1:8000" and argv[-1] == "wb:create_app()"


def test_run_with_threads_uses_threaded_workers():
    from wb.cli import gunicorn_argv

    argv = gunicorn_argv("0.0.0.0", 9000, workers=2, threads=4)

    assert (_option(argv, "--worker-class"), _option(argv, "--workers"), _option(argv, "--threads")) == ("gthread", "2", "4")
    assert _option(argv, "--keep-alive") == "0"


def test_run_with_sync_workers_answers_the_live_channel_at_once():
    from wb.cli import gunicorn_argv

    assert _option(gunicorn_argv("127.0.0.1", 8000, worker_class="sync"), "--worker-class") == "sync"


@pytest.mark.parametrize("hard", [2048, None])
def test_run_raises_its_open_files_limit_for_the_tabs_its_workers_hold(hard):
    """Every held tab is a connection, so a file: `wb run` raises its soft limit (what systemd gives
    a service: 1,024) as far as the hard limit allows (the next test: and says when that is short)."""
    import resource
    import subprocess
    import sys

    from wb.cli import WORKER_CONNECTIONS

    machine_hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    hard = machine_hard if hard is None or machine_hard < hard else hard  # a child can't raise its hard limit
    wanted = WORKER_CONNECTIONS + 200
    code = ("import resource; from wb.cli import allow_open_files; "
            "print(allow_open_files(%d), resource.getrlimit(resource.RLIMIT_NOFILE)[0])" % wanted)
    limits = (1024, hard)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, limits)).stdout.split()
    expected = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    assert out == [str(expected), str(expected)]


def test_run_says_when_the_system_lets_it_open_too_few_files(runner, monkeypatch):
    started = []
    monkeypatch.setattr("wb.cli.allow_open_files", lambda wanted: 1024)
    monkeypatch.setattr("os.execv", lambda path, argv: started.append(argv))
    result = runner.invoke(args=["run", "--workers", "1"])
    assert result.exit_code == 0 and started  # it still serves, with what it has
    assert "may open 1024 files" in result.output and "LimitNOFILE" in result.output


def test_run_lets_each_worker_hold_many_more_tabs_than_gunicorns_default():
    from wb.cli import WORKER_CONNECTIONS, gunicorn_argv

    assert int(_option(gunicorn_argv("127.0.0.1", 8000), "--worker-connections")) == WORKER_CONNECTIONS >= 10 * 1000


# --- create-admin ---------------------------------------------------------------------------------

def test_create_admin_makes_an_active_admin_who_can_sign_in(runner, client):
    result = runner.invoke(args=["create-admin", "Boss", "--password", NEW_PASSWORD])

    assert result.exit_code == 0, result.output
    assert "Admin boss created." in result.output
    boss = User.by_username("boss")
    assert (boss.role, boss.status) == ("admin", "active")
    client.login("boss", NEW_PASSWORD)
    assert client.get("/admin/settings").status_code == 200


def test_create_admin_prompts_for_the_password_twice(runner):
    result = runner.invoke(args=["create-admin", "boss"], input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")

    assert result.exit_code == 0, result.output
    assert User.by_username("boss").check_password(NEW_PASSWORD)


@pytest.mark.parametrize(
    "username, password, message",
    [("no spaces", NEW_PASSWORD, "Usernames can't have spaces: try no_spaces."),
     ("ab", NEW_PASSWORD, "Usernames are 3 to 32 characters: unaccented letters a–z, digits 0–9, _ and -."),
     ("zoë", NEW_PASSWORD, "Usernames can't have “ë”, only unaccented letters a–z, digits 0–9, _ and -: try zoe."),
     ("Carol.Brown", NEW_PASSWORD, "Usernames can't have “.”, only unaccented letters a–z, digits 0–9, _ and -: try carolbrown."),
     ("o'neil.j@home", NEW_PASSWORD, "Usernames can't have “'”, “.” or “@”, only unaccented letters a–z, digits 0–9, _ and -: try oneiljhome."),
     ("ab.", NEW_PASSWORD, "Usernames can't have “.”, only unaccented letters a–z, digits 0–9, _ and - (3 to 32)."),
     ("alice", NEW_PASSWORD, "That username is taken."),
     ("ALICE", NEW_PASSWORD, "That username is taken."),
     ("boss", "short", "Passwords need at least 8 characters.")],
)
def test_create_admin_refuses_bad_input(runner, alice, username, password, message):
    result = runner.invoke(args=["create-admin", username, "--password", password])

    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert db.session.scalar(select(func.count(User.id))) == 1


# --- create-invite --------------------------------------------------------------------------------

UNSET_BASE_URL = ("WB_BASE_URL isn't set, so this link assumes http://127.0.0.1:8000; "
                  "set it to the address members open.\n")


@pytest.mark.parametrize("command", [["create-invite"], ["members", "reset-link", "alice"]])
def test_a_printed_link_says_when_wb_base_url_is_not_set(runner, alice, monkeypatch, command):
    """The link named 127.0.0.1:8000 while the server ran on another port, without a word (an operator
    tester handed on a reset link that led nowhere)."""
    monkeypatch.delenv("WB_BASE_URL", raising=False)
    runner.app.config["BASE_URL"] = "http://127.0.0.1:8000"

    unset = runner.invoke(args=command)

    assert unset.exit_code == 0, unset.output
    assert unset.stderr == UNSET_BASE_URL
    assert re.fullmatch(r"http://127\.0\.0\.1:8000/\S+\n", unset.stdout)  # the link alone, for a script
    runner.app.config["BASE_URL"] = "https://help.example.org"  # as WB_BASE_URL or instance/config.py sets it
    given = runner.invoke(args=command)
    assert given.exit_code == 0 and given.stderr == "" and given.stdout.startswith("https://help.example.org/")


def test_create_invite_prints_a_link_that_registers_a_member(runner, client, admin):
    result = runner.invoke(args=["create-invite"])

    assert result.exit_code == 0, result.output
    token = LINK.search(result.output).group(1)
    assert result.stdout == f"{runner.app.config['BASE_URL']}/register?invite={token}\n"
    invite = db.session.scalar(select(Invite).where(Invite.token == token))
    assert (invite.max_uses, invite.uses, invite.auto_approve, invite.expires_at) == (1, 0, True, None)

    link = f"/register?invite={token}"
    assert client.get(link).status_code == 200
    response = client.post("/register", data={"invite": token, "username": "newbie", "password": NEW_PASSWORD})
    assert response.status_code == 302
    assert User.by_username("newbie").status == "active"
    assert reload(Invite, invite.id).uses == 1


def test_create_invite_options(runner, client, admin, app):
    result = runner.invoke(args=["create-invite", "--max-uses", "2", "--expires-days", "3", "--no-auto-approve"])

    assert result.exit_code == 0, result.output
    token = LINK.search(result.output).group(1)
    invite = db.session.scalar(select(Invite).where(Invite.token == token))
    assert (invite.max_uses, invite.auto_approve) == (2, False)
    lifetime = invite.expires_at - invite.created_at
    assert timedelta(days=3) - timedelta(minutes=1) < lifetime <= timedelta(days=3)

    statuses = [app.test_client().post("/register", data={"invite": token, "username": name,
                                                          "password": NEW_PASSWORD}).status_code
                for name in ("first", "second", "third")]
    assert statuses == [302, 302, 400]
    assert User.by_username("first").status == "pending"
    assert User.by_username("second").status == "pending"
    assert User.by_username("third") is None


@pytest.mark.parametrize("args", [["--max-uses", "0"], ["--max-uses", "many"], ["--expires-days", "0"],
                                  ["--expires-days", "-1"]])
def test_create_invite_rejects_bad_options(runner, args):
    result = runner.invoke(args=["create-invite", *args])
    assert result.exit_code == 2
    assert "Invalid value" in result.output
    assert db.session.scalar(select(func.count(Invite.id))) == 0


def test_each_invite_has_its_own_token(runner):
    outputs = [runner.invoke(args=["create-invite"]).output for _ in range(3)]
    tokens = {LINK.search(output).group(1) for output in outputs}
    assert len(tokens) == 3


# --- approve --------------------------------------------------------------------------------------

def test_approve_activates_a_pending_member(runner, make_user, client):
    penny = make_user("penny", status="pending")
    client.login("penny")
    assert client.get("/requests/new").status_code == 403

    result = runner.invoke(args=["approve", "PENNY"])

    assert result.exit_code == 0, result.output
    assert "penny is now active." in result.output
    assert reload(User, penny.id).status == "active"
    assert client.get("/requests/new").status_code == 200
    assert "Waiting for approval" not in text(client.get("/"))


def test_approve_an_active_member_says_so(runner, alice):
    result = runner.invoke(args=["approve", "alice"])
    assert result.exit_code == 0
    assert "alice is already active." in result.output


def test_approve_unknown_member_fails_clearly(runner):
    result = runner.invoke(args=["approve", "ghost"])
    assert result.exit_code == 1
    assert "No member is called 'ghost'." in result.output


def test_approve_does_not_let_a_suspended_member_back_in_silently(runner, make_user):
    sam = make_user("sam", status="suspended")
    result = runner.invoke(args=["approve", "sam"])
    assert result.exit_code == 1
    assert "suspended" in result.output
    assert reload(User, sam.id).status == "suspended"


def test_created_admin_can_sign_in_through_the_form(runner, client):
    runner.invoke(args=["create-admin", "boss", "--password", PASSWORD])
    client.login("boss")
    assert admin_link(text(client.get("/"))) == ("/admin/settings", "Admin")


@pytest.mark.parametrize("args, words", [
    (["messaging", "backup", "--keep", "abc"], "'abc' isn't a whole number of 1 or more."),
    (["create-invite", "--expires-days", "٣"], "'٣' isn't a whole number from 1 to 3,650."),
    (["create-invite", "--max-uses", "0"], "'0' isn't a whole number from 1 to 10,000."),
    (["messaging", "purge", "--deleted-older-than", "-1"], "'-1' isn't a whole number from 0 to 36,500."),
    # Past what the option holds, a number is too large, not "not a number"; purge went back past
    # the year 1 (a traceback, OverflowError: an outside tester).
    (["messaging", "purge", "--deleted-older-than", "1000000"], "'1000000' is too large: at most 36,500."),
    (["messaging", "purge", "--deleted-older-than", "99999999999"], "'99999999999' is too large: at most 36,500."),
    (["messaging", "backup", "--keep", "99999999999999999999"],
     "'99999999999999999999' is too large: at most 1,000,000,000,000,000,000."),
    (["create-invite", "--expires-days", "3651"], "'3651' is too large: at most 3,650."),
    (["demo", "--no-serve", "--port", "9" * 5000], "is too large: at most 65,535."),
    (["run", "--workers", "99999999999"], "'99999999999' is too large: at most 1,000."),
    # A report's id was click's int: one past SQLite's INTEGER was a traceback (OverflowError), and
    # fullwidth digits resolved report 12 (a re-check tester).
    (["reports", "resolve", "99999999999999999999999"],
     "'99999999999999999999999' is too large: at most 9,223,372,036,854,775,807."),
    # An id is refused as one: "isn't a whole number from 1 to 9,223,..." read as arithmetic (a building's tester).
    (["reports", "resolve", "１２"], "'１２' isn't a report id; report ids are whole numbers from 1, as `./wb reports list` shows them."),
    (["reports", "resolve", "0"], "'0' isn't a report id; report ids are whole numbers from 1, as `./wb reports list` shows them."),
])
def test_a_number_the_command_line_cant_take_is_refused_in_words(app, args, words):
    """click said "'abc' is not a valid integer range" (an operator tester)."""
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 2 and words in result.output
    assert "integer range" not in result.output and "Traceback" not in result.output
