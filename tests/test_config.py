"""Configuration: WB_* environment variables, instance/config.py, the generated secret key."""
import os
from pathlib import Path
import stat

import pytest

from wb import config as wb_config
from wb import create_app

ALL_VARIABLES = [*wb_config.ENVIRONMENT, "WB_INSTANCE_PATH"]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """No WB_* variable leaks in from the shell; the instance folder is a fresh temporary one."""
    for variable in ALL_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("WB_INSTANCE_PATH", str(tmp_path / "instance"))


def test_defaults_put_both_databases_and_the_key_in_the_instance_folder(tmp_path):
    app = create_app()

    instance = tmp_path / "instance"
    assert app.instance_path == str(instance)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'wb.sqlite3'}"
    assert app.config["MESSAGING_DATABASE_URI"] == f"sqlite:///{instance / 'messaging.sqlite3'}"
    assert app.config["SQLALCHEMY_BINDS"]["messaging"]["url"] == app.config["MESSAGING_DATABASE_URI"]
    assert app.config["RATELIMIT_STORAGE_URI"] == "database://"  # shared by every worker: the main database
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert (instance / "secret_key").exists()


def test_environment_variables_are_respected(monkeypatch, tmp_path):
    monkeypatch.setenv("WB_DATABASE_URL", f"sqlite:///{tmp_path / 'main.db'}")
    monkeypatch.setenv("WB_MESSAGING_DATABASE_URL", "postgresql://wb:s3cret@db.internal:5432/wb_messaging")
    monkeypatch.setenv("WB_RATELIMIT_STORAGE_URL", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("WB_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("WB_SECURE_COOKIES", "1")
    monkeypatch.setenv("WB_LOGIN_RATE_LIMIT", "4 per hour")

    app = create_app()

    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'main.db'}"
    assert app.config["MESSAGING_DATABASE_URI"] == "postgresql+psycopg://wb:s3cret@db.internal:5432/wb_messaging"
    assert app.config["SQLALCHEMY_BINDS"]["messaging"]["url"] == app.config["MESSAGING_DATABASE_URI"]
    assert app.config["SQLALCHEMY_BINDS"]["messaging"]["hide_parameters"] is True
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/3"
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["LOGIN_RATE_LIMIT"] == "4 per hour"
    assert not (tmp_path / "instance" / "secret_key").exists()  # a given key is not replaced by a file


def test_the_postgresql_pool_size_is_the_operators_to_set(monkeypatch):
    """Servers x workers x 2 databases x (size + overflow) must fit PostgreSQL's max_connections."""
    from wb.extensions import db

    monkeypatch.setenv("WB_DATABASE_URL", "postgresql://u@h/main")
    monkeypatch.setenv("WB_MESSAGING_DATABASE_URL", "postgresql://u@h/messages")
    app = create_app()
    with app.app_context():
        assert {bind: engine.pool.size() for bind, engine in db.engines.items()} == {None: 5, "messaging": 5}
    monkeypatch.setenv("WB_DATABASE_POOL_SIZE", "3")
    monkeypatch.setenv("WB_DATABASE_POOL_OVERFLOW", "2")
    app = create_app()
    with app.app_context():
        assert {bind: engine.pool.size() for bind, engine in db.engines.items()} == {None: 3, "messaging": 3}
    options = [app.config["SQLALCHEMY_ENGINE_OPTIONS"], app.config["SQLALCHEMY_BINDS"]["messaging"]]
    assert [(o["pool_size"], o["max_overflow"]) for o in options] == [(3, 2), (3, 2)]
    with app.app_context():
        assert all(engine.hide_parameters for engine in db.engines.values())  # never message text in a log


@pytest.mark.parametrize("url", ["postgres://u@h/db", "postgresql://u@h/db"])
def test_postgres_urls_are_driven_by_psycopg(monkeypatch, url):
    monkeypatch.setenv("WB_DATABASE_URL", url)
    assert create_app().config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize("value, secure", [("1", True), ("true", True), ("YES", True), ("on", True),
                                           ("0", False), ("false", False), ("no", False)])
def test_secure_cookies_switch(monkeypatch, value, secure):
    monkeypatch.setenv("WB_SECURE_COOKIES", value)
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is secure
    assert app.config["REMEMBER_COOKIE_SECURE"] is secure


def test_explicit_config_beats_the_environment(monkeypatch):
    monkeypatch.setenv("WB_LOGIN_RATE_LIMIT", "4 per hour")
    assert create_app({"LOGIN_RATE_LIMIT": "9 per hour"}).config["LOGIN_RATE_LIMIT"] == "9 per hour"


def test_instance_config_file_is_read_and_environment_wins(monkeypatch, tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text('LOGIN_RATE_LIMIT = "7 per hour"\nMESSAGES_PER_PAGE = 12\n')

    assert create_app().config["LOGIN_RATE_LIMIT"] == "7 per hour"

    monkeypatch.setenv("WB_LOGIN_RATE_LIMIT", "4 per hour")
    app = create_app()
    assert app.config["LOGIN_RATE_LIMIT"] == "4 per hour"
    assert app.config["MESSAGES_PER_PAGE"] == 12


def test_instance_path_moves_with_wb_instance_path(monkeypatch, tmp_path):
    elsewhere = tmp_path / "deep" / "elsewhere"
    monkeypatch.setenv("WB_INSTANCE_PATH", str(elsewhere))

    app = create_app()

    assert app.instance_path == str(elsewhere)
    assert elsewhere.is_dir()
    assert str(elsewhere) in app.config["SQLALCHEMY_DATABASE_URI"]


def test_instance_path_of_an_installed_package_is_in_the_current_folder(monkeypatch, tmp_path):
    # Installed from a wheel, the package sits in site-packages: its databases must not.
    installed = tmp_path / "venv" / "lib" / "python3" / "site-packages" / "wb" / "config.py"
    monkeypatch.setattr(wb_config, "__file__", str(installed))
    monkeypatch.delenv("WB_INSTANCE_PATH")
    monkeypatch.delenv("WB_PROJECT_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)

    assert wb_config.default_instance_path() == str(tmp_path / "instance")
    monkeypatch.setenv("WB_INSTANCE_PATH", str(tmp_path / "chosen"))
    assert wb_config.default_instance_path() == str(tmp_path / "chosen")


# --- the secret key -------------------------------------------------------------------------------

def test_secret_key_is_generated_once_with_mode_600(tmp_path):
    key_file = tmp_path / "instance" / "secret_key"

    first = create_app()

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) == 64 and int(key, 16) >= 0
    assert first.config["SECRET_KEY"] == key
    assert create_app().config["SECRET_KEY"] == key  # read back, not regenerated
    assert [p.name for p in key_file.parent.iterdir() if p.name.startswith(".secret_key")] == []


def test_each_instance_gets_its_own_key(monkeypatch, tmp_path):
    first = create_app().config["SECRET_KEY"]
    monkeypatch.setenv("WB_INSTANCE_PATH", str(tmp_path / "other"))
    assert create_app().config["SECRET_KEY"] != first


def test_an_existing_key_file_is_kept(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "secret_key").write_text("operator-chosen-key\n")
    assert create_app().config["SECRET_KEY"] == "operator-chosen-key"


def test_when_two_workers_race_the_first_key_wins(monkeypatch, tmp_path):
    """Another process writes the key between our check and our link: we use theirs."""
    real_link = os.link

    def link_after_a_rival(source, target):
        with open(target, "w") as rival:
            rival.write("rival-worker-key")
        return real_link(source, target)

    monkeypatch.setattr(wb_config.os, "link", link_after_a_rival)

    assert create_app().config["SECRET_KEY"] == "rival-worker-key"
    leftovers = [p.name for p in (tmp_path / "instance").iterdir() if p.name != "secret_key"]
    assert leftovers == []


def test_sessions_survive_a_new_app_on_the_same_instance(tmp_path):
    """Signed cookies made by one process are valid in the next (the key is shared through the file)."""
    from itsdangerous import URLSafeTimedSerializer

    first, second = create_app(), create_app()
    signed = URLSafeTimedSerializer(first.secret_key).dumps({"user": 1})
    assert URLSafeTimedSerializer(second.secret_key).loads(signed) == {"user": 1}


def test_every_folder_of_the_package_is_a_package_to_setuptools(monkeypatch):
    """Each folder under src/wb that setuptools doesn't list as a package (migrations/, templates/,
    static/...) made every install print a warning about it: the first `./wb` printed pages of them."""
    from pathlib import Path

    from setuptools.config.setupcfg import read_configuration

    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)
    packages = set(read_configuration(root / "setup.cfg")["options"]["packages"])
    folders = {
        ".".join(path.relative_to(root / "src").parts)
        for path in (root / "src" / "wb").rglob("*")
        if path.is_dir() and "__pycache__" not in path.parts and any(child.is_file() for child in path.iterdir())
    }
    assert folders - packages == set()


@pytest.mark.parametrize("variable, value, words", [
    ("WB_MAIL_PORT", "abc", "WB_MAIL_PORT must be a number (it is 'abc')."),
    ("WB_DATABASE_POOL_SIZE", "x", "WB_DATABASE_POOL_SIZE must be a number (it is 'x')."),
    ("WB_BACKUP_CADENCE_HOURS", "soon", "WB_BACKUP_CADENCE_HOURS must be a number (it is 'soon')."),
    # "older than the -3 h cadence" (an operator tester)
    ("WB_BACKUP_CADENCE_HOURS", "-3", "WB_BACKUP_CADENCE_HOURS must be a number of hours above 0 (it is '-3')."),
    ("WB_BACKUP_CADENCE_HOURS", "0", "WB_BACKUP_CADENCE_HOURS must be a number of hours above 0 (it is '0')."),
    ("WB_BACKUP_CADENCE_HOURS", "nan", "WB_BACKUP_CADENCE_HOURS must be a number of hours above 0 (it is 'nan')."),
    ("WB_DATABASE_URL", "nonsense", "WB_DATABASE_URL isn't a database URL"),
    ("WB_MESSAGING_DATABASE_URL", "mysql://user:hunter2@db/wb", "WB_MESSAGING_DATABASE_URL names a mysql database"),
    ("WB_RATELIMIT_STORAGE_URL", "bogus://", "WB_RATELIMIT_STORAGE_URL can't be used"),
    ("WB_LOGIN_RATE_LIMIT", "lots", "WB_LOGIN_RATE_LIMIT isn't a limit like \"20 per minute\" (it is 'lots')."),
    ("WB_MESSAGE_RATE_LIMIT", "20 per fortnight", "WB_MESSAGE_RATE_LIMIT isn't a limit"),
])
def test_a_setting_that_cannot_be_used_is_one_line_at_start_not_a_traceback(monkeypatch, variable, value, words):
    """Said when the app starts (every command, `./wb run` before it serves), not as a 500 on every
    request the setting guards."""
    from click.testing import CliRunner

    from wb.cli import cli

    monkeypatch.setenv(variable, value)
    with pytest.raises(wb_config.ConfigError, match=None) as refused:
        create_app()
    assert words in str(refused.value) and "hunter2" not in str(refused.value)
    result = CliRunner().invoke(cli, ["messaging", "stats"])
    assert result.exit_code == 1 and result.output.strip() == f"Error: {refused.value}"


def test_an_empty_secret_key_file_is_one_line_at_start(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "secret_key").write_text("\n")
    with pytest.raises(wb_config.ConfigError, match="The secret key is empty"):
        create_app()


@pytest.mark.parametrize("command", [["init"], ["approve", "alice"], ["create-invite"],
                                     ["create-admin", "boss", "--password", "a-long-enough-password"],
                                     ["messaging", "stats"], ["members", "erase", "alice", "--yes"]])
def test_a_main_database_that_cannot_be_reached_is_named_in_one_line(monkeypatch, tmp_path, command):
    from click.testing import CliRunner

    from wb.cli import cli

    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "secret_key").write_text("a key an earlier init made\n")
    monkeypatch.setenv("WB_DATABASE_URL", f"sqlite:///{tmp_path / 'no-such-folder' / 'wb.sqlite3'}")
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: Can't reach the main database at sqlite:///") and "no-such-folder" in line, line


@pytest.mark.parametrize("command", [["approve", "alice"], ["create-invite"], ["messaging", "stats"],
                                     # a traceback with exit status 0 (a building's tester, by accident)
                                     ["messaging", "rules", "show"], ["messaging", "rules", "set", "reach", "anyone"],
                                     ["circles", "list"], ["circles", "create", "Floor 2"], ["circles", "add", "Floor 2", "alice"],
                                     ["circles", "remove", "Floor 2", "alice"], ["members", "reset-link", "alice"],
                                     ["messaging", "notify"]])
def test_an_instance_never_initialised_says_to_run_init(tmp_path, command):
    """The folder is there (an earlier version's, with its key), the tables aren't."""
    from click.testing import CliRunner

    from wb.cli import cli

    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "secret_key").write_text("a key an earlier init made\n")
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: A database has no tables yet (no such table: ") and line.endswith("run `./wb init`.")


# --- the instance folder: made only by the commands that set an instance up ------------------------

OPERATING_COMMANDS = [["messaging", "stats"], ["circles", "list"], ["approve", "alice"], ["create-invite"],
                      ["create-admin", "boss", "--password", "a-long-enough-password"], ["members", "reset-link", "alice"],
                      ["messaging", "init"], ["run", "--workers", "1"]]


def run_wb(*args):
    from click.testing import CliRunner

    from wb.cli import cli

    return CliRunner().invoke(cli, list(args))


def one_error_line(result) -> str:
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    [line] = result.output.strip().splitlines()
    return line


@pytest.fixture
def no_serving(monkeypatch):
    """`run` that got past its checks would turn this process into gunicorn."""
    def refuse(*args):
        raise AssertionError("run went on to serve")

    monkeypatch.setattr(os, "execv", refuse)


@pytest.mark.parametrize("command", OPERATING_COMMANDS)
def test_a_command_that_operates_an_instance_creates_none_at_a_mistyped_path(monkeypatch, tmp_path, no_serving,
                                                                            command):
    """A typo in WB_INSTANCE_PATH made a folder, a new secret key and empty databases there, then said
    to run `./wb init`, steering the operator to set up an empty community at the wrong path."""
    typo = tmp_path / "srv" / "whiteballon"
    monkeypatch.setenv("WB_INSTANCE_PATH", str(typo))

    line = one_error_line(run_wb(*command))

    assert line == (f"Error: No instance at {typo}: the folder doesn't exist. Check WB_INSTANCE_PATH, "
                    "or run `./wb init` to create one there.")
    assert not (tmp_path / "srv").exists()


@pytest.mark.parametrize("command", OPERATING_COMMANDS)
def test_a_folder_that_holds_no_instance_gets_no_files_either(monkeypatch, tmp_path, no_serving, command):
    """An existing folder that isn't an instance (its parent, a fresh mkdir) got a secret key and
    empty databases (a re-check tester)."""
    monkeypatch.setenv("WB_INSTANCE_PATH", str(tmp_path))
    (tmp_path / "notes.txt").write_text("mine\n")

    line = one_error_line(run_wb(*command))

    assert line == (f"Error: No instance at {tmp_path}: the folder holds no WhiteBalloon files. Check "
                    "WB_INSTANCE_PATH, or run `./wb init` to create one there.")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("command", [["test", "--version"], ["bench", "--help"]])
def test_the_test_suite_and_the_benchmark_run_where_there_is_no_instance(monkeypatch, tmp_path, command):
    """`./wb test` on a fresh clone, the README's second command, refused the missing instance/ (CI
    caught it): they load no app, and make no folder."""
    import subprocess
    import sys

    missing = tmp_path / "instance"
    monkeypatch.setenv("WB_INSTANCE_PATH", str(missing))
    monkeypatch.setenv("WB_PROJECT_ROOT", str(Path(__file__).resolve().parents[1]))
    result = subprocess.run([sys.executable, "-m", "wb.cli", *command], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No instance" not in result.stdout + result.stderr and not missing.exists()


def test_without_wb_instance_path_the_missing_folder_says_how_to_make_it(monkeypatch, tmp_path):
    monkeypatch.delenv("WB_INSTANCE_PATH")
    monkeypatch.setenv("WB_PROJECT_ROOT", str(tmp_path))

    line = one_error_line(run_wb("messaging", "stats"))

    assert line == (f"Error: No instance at {tmp_path / 'instance'} yet: run `./wb init` (or `./wb demo`) to create "
                    "one, or set WB_INSTANCE_PATH to where it is.")
    assert not (tmp_path / "instance").exists()


@pytest.mark.parametrize("command", [["init"], ["demo", "--no-serve"], *OPERATING_COMMANDS])
def test_an_instance_path_that_is_a_file_is_one_line(monkeypatch, tmp_path, no_serving, command):
    """It was a traceback ending in FileExistsError (an operator tester)."""
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not an instance\n")
    monkeypatch.setenv("WB_INSTANCE_PATH", str(a_file))

    line = one_error_line(run_wb(*command))

    assert line == f"Error: The instance folder {a_file} is a file, not a folder. Check WB_INSTANCE_PATH."
    assert a_file.read_text() == "not an instance\n"


def test_an_instance_folder_that_cannot_be_made_is_one_line(monkeypatch, tmp_path):
    """/proc/nope was a traceback ending in FileNotFoundError (an operator tester)."""
    (tmp_path / "a-file").write_text("")
    impossible = tmp_path / "a-file" / "instance"
    monkeypatch.setenv("WB_INSTANCE_PATH", str(impossible))

    line = one_error_line(run_wb("init"))

    assert line == f"Error: Can't create the instance folder {impossible}: Not a directory. Check WB_INSTANCE_PATH."


@pytest.mark.parametrize("instance", ["missing", "a file", "under a file"])
def test_help_lists_every_command_whatever_the_instance_folder(monkeypatch, tmp_path, instance):
    """With a wrong folder `./wb --help` listed only `bench` and `test` (after a traceback)."""
    import re

    path = {"missing": tmp_path / "typo", "a file": tmp_path / "notes.txt",
            "under a file": tmp_path / "notes.txt" / "instance"}[instance]
    (tmp_path / "notes.txt").write_text("")
    monkeypatch.setenv("WB_INSTANCE_PATH", str(path))

    result = run_wb("--help")

    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    for command in ("demo", "test", "init", "run", "create-admin", "create-invite", "approve", "members",
                    "circles", "messaging", "bench"):
        assert re.search(rf"^\s+{command}\s", result.output, re.M), command
    assert "Note: " in result.output and str(path) in result.output  # says what is wrong with the folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("command", [["init"], ["demo", "--no-serve"]])
def test_init_and_demo_set_up_an_instance_where_there_is_none(monkeypatch, tmp_path, command):
    """The fresh clone's `./wb demo` (and `./wb init` at a new WB_INSTANCE_PATH) make the folder."""
    instance = tmp_path / "srv" / "whiteballoon"
    monkeypatch.setenv("WB_INSTANCE_PATH", str(instance))

    result = run_wb(*command)

    assert result.exit_code == 0, result.output
    assert {"secret_key", "wb.sqlite3", "messaging.sqlite3"} <= {p.name for p in instance.iterdir()}
    assert run_wb("circles", "list").exit_code == 0  # and the commands that operate it find it


def test_a_folder_nothing_is_kept_in_need_not_exist(monkeypatch, tmp_path):
    """Databases elsewhere (a database server) and a given key: the folder is not asked for, nor made."""
    monkeypatch.setenv("WB_DATABASE_URL", f"sqlite:///{tmp_path / 'wb.sqlite3'}")
    monkeypatch.setenv("WB_MESSAGING_DATABASE_URL", f"sqlite:///{tmp_path / 'messaging.sqlite3'}")
    monkeypatch.setenv("WB_SECRET_KEY", "given")

    app = create_app(create_instance=False)

    assert app.config["SECRET_KEY"] == "given" and not (tmp_path / "instance").exists()
