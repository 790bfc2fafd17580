"""The messaging database itself: `init`, and one-line errors when it is missing or unreachable."""
import re

import pytest

from messaging_ops_helpers import assert_one_line_error, invoke, member, messaging_file
from wb import create_app
from wb.config import TestConfig
from wb.database import upgrade
from wb.extensions import db
from wb.flags import ensure_flags
from wb.messaging.ops import backup


def test_init_is_idempotent_and_says_where(sqlite_app):
    first = invoke(sqlite_app, "init")
    again = invoke(sqlite_app, "init")
    assert first.exit_code == 0 and again.exit_code == 0
    assert "up to date: sqlite at" in again.output and str(messaging_file(sqlite_app)) in again.output


def test_a_missing_messaging_database_is_a_one_line_error(sqlite_app, pair):
    path = messaging_file(sqlite_app)
    db.session.remove()
    db.engines["messaging"].dispose()
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    for command in (["backup"], ["stats"], ["verify"], ["reconcile"], ["purge", "--deleted-older-than", "1"]):
        # restoring offered first: "run init" alone led an operator to a fresh, empty one (an operator tester)
        assert_one_line_error(invoke(sqlite_app, *command), "doesn't exist; restore a backup (`./wb messaging restore PATH`)")
    assert not path.exists(), "no command may create an empty database in its place"
    assert not backup.backup_folder().exists() or not list(backup.backup_folder().iterdir())


def test_switching_messaging_on_while_its_file_is_lost_is_refused(sqlite_app, pair, tmp_path):
    """`switch on` made an empty database where the lost one was (an operator tester): refused."""
    from messaging_ops_helpers import converse, remove_messaging_file
    from wb.flags import is_enabled

    converse(*pair, ["a word kept in the lost file"])
    assert invoke(sqlite_app, "switch", "off").exit_code == 0
    remove_messaging_file(tmp_path)
    assert_one_line_error(invoke(sqlite_app, "switch", "on"), "Messaging stays off.", "restore a backup")
    assert not messaging_file(sqlite_app).exists() and not is_enabled("direct_messaging")


def test_the_app_never_makes_an_empty_file_in_place_of_a_lost_one_and_is_not_ready(sqlite_app, pair, tmp_path):
    """A lost messaging file came back empty at the next request; /readyz said ready and the inboxes
    "No messages yet" (an operator tester). The app doesn't create it, and isn't ready without it."""
    from conftest import WBClient
    from messaging_ops_helpers import converse, remove_messaging_file

    converse(*pair, ["a word kept in the lost file"])
    path = messaging_file(sqlite_app)
    put_back = remove_messaging_file(tmp_path)
    sqlite_app.test_client_class = WBClient
    client = sqlite_app.test_client()
    client.login("ann", "correct horse battery")
    assert client.get("/").status_code == 200  # the rest of the site works
    inbox = client.get("/messages")  # not "Busy, try again in a few seconds": the admins must see to it
    assert inbox.status_code == 503 and "Messages unavailable" in inbox.get_data(as_text=True)
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["databases"]["messaging"]["ok"] is False
    assert not path.exists()
    assert_one_line_error(invoke(sqlite_app, "stats"), "doesn't exist", "restore a backup")
    put_back()
    assert client.get("/readyz").status_code == 200


def test_readyz_is_not_ready_when_the_messaging_file_goes_while_the_app_runs(sqlite_app, pair, tmp_path):
    """Deleted or moved under a running server, the file's pooled connections went on writing into it
    (lost at the next start) and /readyz said ready (a re-check tester)."""
    client = sqlite_app.test_client()
    assert client.get("/readyz").status_code == 200  # its connections are open now
    path, moved = messaging_file(sqlite_app), tmp_path / "gone.sqlite3"
    path.rename(moved)
    try:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.get_json()["databases"]["messaging"] == {"ok": False, "engine": "sqlite", "error": "FileMissing"}
    finally:
        moved.rename(path)
    assert client.get("/readyz").status_code == 200


def test_an_empty_messaging_database_is_not_ready_and_every_message_offers_a_restore(sqlite_app, pair, tmp_path):
    """An empty file in place of the messaging database: "run ./wb messaging init" alone led an
    operator to a fresh, empty one (an operator tester); restoring a backup is offered first."""
    from conftest import WBClient
    from messaging_ops_helpers import remove_messaging_file
    from wb.flags import set_flag

    path = messaging_file(sqlite_app)
    remove_messaging_file(tmp_path)
    path.touch()
    client = sqlite_app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["databases"]["messaging"] == {"ok": False, "engine": "sqlite", "error": "NoSchema"}
    for command in (["stats"], ["verify"], ["backup"]):
        assert_one_line_error(invoke(sqlite_app, *command), "has no messaging tables", "restore a backup",
                              "./wb messaging init")
    member("boss", role="admin", status="active")
    sqlite_app.test_client_class = WBClient
    admin = sqlite_app.test_client()
    admin.login("boss", "correct horse battery")
    page = admin.get("/admin/messaging").get_data(as_text=True)
    assert "has no messaging tables" in page and "restore a backup" in page
    set_flag("direct_messaging", False)  # off, the site needs no messaging tables: ready
    assert client.get("/readyz").status_code == 200


# --- an unreachable PostgreSQL --------------------------------------------------------


def _app_without_messaging(tmp_path, messaging_url):
    config = {key: value for key, value in vars(TestConfig).items() if key.isupper()}
    config.update(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'wb.sqlite3'}",
        MESSAGING_DATABASE_URI=messaging_url,
        INSTANCE_PATH=str(tmp_path / "instance"),
        RATELIMIT_STORAGE_URI="memory://",
    )
    app = create_app(config)
    with app.app_context():
        upgrade(["main"])
        ensure_flags()
        yield app
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def unreachable_app(tmp_path):
    # Port 1: nothing listens there, so the connection is refused at once.
    yield from _app_without_messaging(tmp_path, "postgresql://wb:sekrit-password@127.0.0.1:1/wb_messaging")


@pytest.fixture(params=["unreachable", "damaged"])
def messaging_down_app(request, tmp_path):
    """The messaging database refused (a server down) or its file damaged (an operator's tester
    truncated it: a 500 after every sign-in)."""
    if request.param == "unreachable":
        yield from _app_without_messaging(tmp_path, "postgresql://wb:sekrit-password@127.0.0.1:1/wb_messaging")
        return
    damaged = tmp_path / "messaging.sqlite3"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\x10\x00" + b"\xff" * 8000)
    yield from _app_without_messaging(tmp_path, f"sqlite:///{damaged}")


@pytest.mark.parametrize("command", [
    ["init"], ["stats"], ["stats", "--json"], ["backup"], ["verify"], ["reconcile"],
    ["purge", "--deleted-older-than", "30", "--yes"],
])
def test_an_unreachable_postgresql_is_a_one_line_error(unreachable_app, command):
    result = invoke(unreachable_app, *command)
    assert_one_line_error(result, "Can't reach the messaging database", "***")
    assert "sekrit-password" not in result.output


def test_admin_page_says_when_storage_is_unreachable(unreachable_app):
    member("boss", role="admin")
    client = unreachable_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    client.post("/login", data={"username": "boss", "password": "correct horse battery"}, headers={"X-CSRFToken": token})
    html = client.get("/admin/messaging").get_data(as_text=True)
    assert "Not reachable" in html and "sekrit-password" not in html


def test_the_database_files_are_readable_by_their_owner_alone(sqlite_app, tmp_path):
    """They hold message text, email addresses and password hashes: not for other local users,
    whatever the umask made of them (and one made wider later is narrowed at the next connection)."""
    import os
    import stat

    from messaging_ops_helpers import converse

    converse(member("ann"), member("ben"), ["a private word"])
    files = [tmp_path / name for name in ("wb.sqlite3", "messaging.sqlite3")]
    files += [path for path in (tmp_path / f"{f.name}{suffix}" for f in files for suffix in ("-wal", "-shm")) if path.exists()]
    assert len(files) >= 4  # both databases and their WAL
    assert {path.name: stat.S_IMODE(os.stat(path).st_mode) for path in files} == {path.name: 0o600 for path in files}

    os.chmod(tmp_path / "messaging.sqlite3", 0o644)
    db.session.remove()
    for engine in db.engines.values():
        engine.dispose()
    converse(member("cat"), member("dan"), ["another"])
    assert stat.S_IMODE(os.stat(tmp_path / "messaging.sqlite3").st_mode) == 0o600


def test_the_home_page_still_works_without_the_messaging_database(messaging_down_app, caplog, request):
    """It was a 503 "busier than we can answer" for everyone (an outside tester): requests and the
    rest of the page don't need the messaging database; the messages card says they can't be shown."""
    from sqlalchemy import update

    from wb.messaging.models import ConversationMembership
    from wb.models import FeatureFlag, HelpRequest

    # On, as it was before the database went down (switching it on now would create its tables there).
    db.session.execute(update(FeatureFlag).where(FeatureFlag.name == "direct_messaging").values(enabled=True))
    boss, other = member("boss"), member("other")
    db.session.add(HelpRequest(author_id=boss.id, title="Borrow a ladder", body="Saturday morning"))
    # A conversation the metadata knows of: its preview is read from the messaging database.
    db.session.add(ConversationMembership(user_id=boss.id, other_user_id=other.id, conversation_id=1,
                                          last_message_id=1, unread_count=1))
    db.session.commit()
    client = messaging_down_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    client.post("/login", data={"username": "boss", "password": "correct horse battery"}, headers={"X-CSRFToken": token})
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Borrow a ladder" in html and "Your messages can't be shown right now." in html
    down = request.node.callspec.params["messaging_down_app"] == "unreachable"
    # "try again" where it comes back by itself; a damaged file needs the admins (an operator tester)
    assert ("Nothing is lost: try again in a few minutes." in html) == down
    assert ("The admins can see why" in html) != down
    assert "home page drawn without messages: the messaging database failed" in caplog.text
    assert "sekrit-password" not in html + caplog.text
    assert client.get("/requests").status_code == 200
    # a report is filed all the same, its note kept: it was a 503 that lost it (a re-check tester)
    from sqlalchemy import select

    from wb.messaging.models import Report
    filed = client.post("/people/other/report", data={"reason": "harassment", "note": "kept pestering me"},
                        headers={"X-CSRFToken": token})
    assert filed.status_code == 302, filed.get_data(as_text=True)
    report = db.session.scalar(select(Report))
    assert (report.reason, report.note, report.conversation_id) == ("harassment", "kept pestering me", 1)
    if request.node.callspec.params["messaging_down_app"] == "unreachable":
        return  # no connection to be had: the busy page, with Retry-After (test_errors_security)
    # a damaged database: the inbox and the API say what is unavailable and that the rest works,
    # never "something went wrong"
    inbox = client.get("/messages")
    assert inbox.status_code == 503 and "Messages unavailable" in inbox.get_data(as_text=True)
    assert "Nothing else is affected" in inbox.get_data(as_text=True)
    api = client.get("/api/v1/conversations")
    assert api.status_code == 503 and "Nothing else is affected" in api.get_json()["detail"]


@pytest.mark.parametrize("lost", ["moved away", "no tables"])
@pytest.mark.parametrize("command", [["demo", "--no-serve"], ["init"], ["messaging", "init"]])
def test_a_lost_messaging_file_beside_conversations_is_not_created_anew(sqlite_app, pair, tmp_path, lost, command):
    """`./wb demo` said "Demo community already there" over a new, empty messaging database, and
    readyz then said ready, when the file had been lost (an operator re-check tester)."""
    import sqlite3
    from contextlib import closing

    from messaging_ops_helpers import converse, remove_messaging_file

    converse(*pair, ["kept in the lost file"])
    path = messaging_file(sqlite_app)
    remove_messaging_file(tmp_path)
    if lost == "no tables":
        with closing(sqlite3.connect(path)) as connection:
            connection.execute("PRAGMA user_version = 1")

    result = sqlite_app.test_cli_runner().invoke(args=command)

    state = "is missing" if lost == "moved away" else "has no tables"  # it said "is missing" of both
    assert_one_line_error(result, f"The messaging database {path} {state} while the community has conversations: "
                                  "restore a backup (`./wb messaging restore PATH`), or start afresh without their "
                                  "messages with `./wb messaging init --empty`.")
    assert "Demo community" not in result.output
    if lost == "moved away":
        assert not path.exists(), "no empty database may be created in its place"
    else:
        with closing(sqlite3.connect(path)) as connection:
            assert connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    assert (tmp_path / "moved" / path.name).exists()


def test_messaging_init_empty_starts_afresh_deliberately_beside_conversations(sqlite_app, pair, tmp_path):
    from sqlalchemy import func, select

    from conftest import WBClient
    from messaging_helpers import messages_in, open_conversation, send
    from messaging_ops_helpers import converse, remove_messaging_file
    from wb.messaging.models import ConversationMembership, Message

    converse(*pair, ["kept in the lost file"])
    path = messaging_file(sqlite_app)
    remove_messaging_file(tmp_path)

    lost_id = db.session.scalar(select(func.max(ConversationMembership.last_message_id)))
    # It asks first, as restore, erase and purge do: every conversation left the inboxes without a word.
    for answer in ("n\n", ""):  # no, and no answer at all (a closed input)
        refused = invoke(sqlite_app, "init", "--empty", input=answer)
        assert refused.exit_code == 1 and "Traceback" not in refused.output, refused.output
        assert (f"Create an empty messaging database at {path}? The messages of the community's 1 conversation(s) "
                "are lost (restoring a backup keeps them), and the conversations leave the inboxes [y/N]: "
                in refused.output)
        assert refused.stderr == "Nothing created.\n"
        assert not path.exists() and db.session.query(ConversationMembership).count() == 2

    result = invoke(sqlite_app, "init", "--empty", "--yes")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"Messaging database created: sqlite at {path}",
        "Metadata reconciled (1 change(s)): the lost conversations left the inboxes."]
    assert db.session.query(Message).count() == 0
    # the lost conversation left the inboxes (it stayed, "No messages yet", and its id was handed out again)
    assert db.session.query(ConversationMembership).count() == 0
    sqlite_app.test_client_class = WBClient
    ann = sqlite_app.test_client()
    ann.login("ann", "correct horse battery")
    assert "ben" not in ann.get("/messages").get_data(as_text=True).lower()
    new_cid = open_conversation(ann, "ben")
    send(ann, new_cid, "a new start")
    assert messages_in(new_cid)[0].id > lost_id  # a client that saw the lost message's id sees this one
    assert "--empty" in invoke(sqlite_app, "init", "--help").output
    assert "--yes" in invoke(sqlite_app, "init", "--help").output


def test_init_empty_asks_nothing_when_nothing_would_be_lost(sqlite_app, pair):
    from messaging_ops_helpers import converse

    converse(*pair, ["kept: the database is there"])
    result = invoke(sqlite_app, "init", "--empty")
    assert result.exit_code == 0 and "[y/N]" not in result.output, result.output
    assert "Messaging database up to date" in result.output


@pytest.mark.parametrize("lost", ["moved away", "no tables"])
def test_a_lost_file_beside_conversations_names_init_empty_where_init_would_refuse(sqlite_app, pair, tmp_path, lost):
    """"For a new one, run `./wb messaging init`", which then refused while the community had
    conversations (an operator tester): it names `--empty` then."""
    import sqlite3
    from contextlib import closing

    from messaging_ops_helpers import converse, remove_messaging_file

    converse(*pair, ["kept in the lost file"])
    path = messaging_file(sqlite_app)
    remove_messaging_file(tmp_path)
    if lost == "no tables":
        with closing(sqlite3.connect(path)) as connection:
            connection.execute("PRAGMA user_version = 1")
    for command in (["backup"], ["stats"], ["verify"], ["reconcile"], ["purge", "--deleted-older-than", "1"]):
        assert_one_line_error(invoke(sqlite_app, *command), "restore a backup (`./wb messaging restore PATH`) or, "
                              "to start afresh without their messages, run `./wb messaging init --empty`.")
