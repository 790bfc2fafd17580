"""Fixtures: a fresh app per test on shared, emptied databases; clients that log in through the form.

Databases: SQLite files in a temporary folder by default. WB_TEST_DATABASE_URL and
WB_TEST_MESSAGING_DATABASE_URL point the suite at other servers (CI uses PostgreSQL);
WB_TEST_RATELIMIT_STORAGE_URL at another limiter storage than the default database://
(CI's second pass uses Redis). Every table
is emptied after each test, so never point these at data you want to keep.
"""
import gc
import os
import re
import uuid
from contextlib import contextmanager

import jinja2
import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, select

from messaging_ops_helpers import SECRET_BODY, converse, member
from wb import create_app
from wb.config import TestConfig
from wb.database import upgrade
from wb import ratelimits
from wb.extensions import db
from wb.flags import ensure_flags, set_flag
from wb.messaging import writes
from wb.messaging.models import Message
from wb.models import User

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
PASSWORD = "correct horse battery"


# --- several processes (pytest-xdist's -n): each worker on databases of its own -------------------


def pytest_configure(config):
    """A worker of `-n` gets PostgreSQL databases of its own beside the ones WB_TEST_* name (created
    here, dropped at its end) and the next Redis database (/1, /2, ...): the suite empties every
    table and every count after each test, which one worker's tests must not do to another's. SQLite
    files are each worker's already (its own temporary folder)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    for name in ("WB_TEST_DATABASE_URL", "WB_TEST_MESSAGING_DATABASE_URL"):
        url = os.environ.get(name, "")
        if url.startswith("postgres"):
            os.environ[name] = _database_of_its_own(url, worker)
    redis = os.environ.get("WB_TEST_RATELIMIT_STORAGE_URL", "")
    if redis.startswith("redis://"):
        number = int(worker.removeprefix("gw")) + 1
        os.environ["WB_TEST_RATELIMIT_STORAGE_URL"] = re.sub(r"(/\d*)?$", f"/{number}", redis.split("?")[0], count=1)


_WORKER_DATABASES = []  # (the URL it was made beside, its own name): dropped at the worker's end


def _database_of_its_own(url: str, worker: str) -> str:
    """A new database named after the given one and the worker, with its settings (synchronous_commit)."""
    import psycopg
    from sqlalchemy.engine import make_url

    given = make_url(url)
    own = f"{given.database}_{worker}"
    plain = given.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as connection:
        synchronous_commit = connection.execute("SHOW synchronous_commit").fetchone()[0]
        connection.execute(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{own}"')
        connection.execute(f'ALTER DATABASE "{own}" SET synchronous_commit = {synchronous_commit}')
    _WORKER_DATABASES.append((plain, own))
    return given.set(database=own).render_as_string(hide_password=False)


def pytest_collection_finish(session):
    """The garbage collector, tuned for a run of short tests (Python's own knobs, this process only).
    What the imports and collection made lives as long as the run: frozen, the collector no longer
    goes through it. And it runs less often: each test makes and drops tens of thousands of objects
    (an app, its engines and pages). A quarter of a run's time went to the collector before, a
    twelfth now (tests/test_messaging_send.py tests/test_people.py tests/test_requests.py
    tests/test_numeric_arguments.py: 20.0 s -> 16.9 s)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def pytest_unconfigure(config):
    import psycopg

    for plain, own in _WORKER_DATABASES:
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory):
    """Both database URLs for this run, migrated once with Alembic."""
    folder = tmp_path_factory.mktemp("databases")
    urls = {
        "SQLALCHEMY_DATABASE_URI": os.environ.get("WB_TEST_DATABASE_URL") or f"sqlite:///{folder / 'wb.sqlite3'}",
        "MESSAGING_DATABASE_URI": os.environ.get("WB_TEST_MESSAGING_DATABASE_URL")
        or f"sqlite:///{folder / 'messaging.sqlite3'}",
        "INSTANCE_PATH": str(folder / "instance"),
    }
    app = create_app({**_config(urls), "RATELIMIT_STORAGE_URI": "memory://"})
    with app.app_context():
        upgrade()
        for engine in db.engines.values():
            engine.dispose()
    return urls


class _CompiledTemplates(jinja2.BytecodeCache):
    """Templates compiled once for the whole run, not once per test's app: Jinja's own cache of
    compiled templates, keyed by each template's name and source, so an edited template compiles
    anew. Compiling them again for every test's app took about a tenth of the suite's time."""

    def __init__(self):
        self.compiled = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket):
        self.compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = _CompiledTemplates()


def _config(urls, **extra):
    config = {key: value for key, value in vars(TestConfig).items() if key.isupper()}
    config.update(urls)
    config.update(extra)
    return config


def _empty_all_tables():
    for bind, metadata in db.metadatas.items():
        engine = db.engines[bind]
        with engine.begin() as connection:
            for table in reversed(metadata.sorted_tables):
                connection.execute(table.delete())


@pytest.fixture
def app_config():
    """Per-test config overrides; a test may update this dict before using `app`."""
    return {}


@pytest.fixture
def app(database_urls, app_config):
    """A fresh app on emptied databases, its flag rows in place, inside an app context."""
    storage = os.environ.get("WB_TEST_RATELIMIT_STORAGE_URL", "database://")
    config = _config(
        database_urls,
        RATELIMIT_STORAGE_URI=storage,
        RATELIMIT_KEY_PREFIX=f"wbtest-{uuid.uuid4().hex[:12]}",
        **app_config,
    )
    app = create_app(config)
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    app.test_client_class = WBClient
    with app.app_context():
        _empty_all_tables()
        ensure_flags()
        yield app
        db.session.remove()
        _empty_all_tables()
        ratelimits.reset()
        for engine in db.engines.values():
            engine.dispose()


class WBClient(FlaskClient):
    """A test client that sends the CSRF token with every POST unless told `csrf=False`."""

    _csrf_token = None

    def open(self, *args, **kwargs):
        # A request reuses an app context that is already pushed (the `app` fixture
        # keeps one open), which would share `g` - the signed-in user, cached flags -
        # between requests. A real server gives every request its own; so do we.
        with self.application.app_context():
            return super().open(*args, **kwargs)

    def csrf_token(self) -> str:
        if self._csrf_token is None:
            page = self.open("/login", method="GET").get_data(as_text=True)
            self._csrf_token = CSRF_META.search(page).group(1)
        return self._csrf_token

    def post(self, *args, csrf=True, **kwargs):
        if csrf:
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("X-CSRFToken", self.csrf_token())
            kwargs["headers"] = headers
        return super().post(*args, **kwargs)

    def htmx(self, method, url, **kwargs):
        """A request as htmx sends it (HX-Request header)."""
        headers = dict(kwargs.pop("headers", None) or {})
        headers["HX-Request"] = "true"
        if method == "POST":
            return self.post(url, headers=headers, **kwargs)
        return self.open(url, method=method, headers=headers, **kwargs)

    def login(self, username, password=PASSWORD):
        """Sign in through the real login form."""
        response = self.post("/login", data={"username": username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """Create a member: make_user('alice', role='admin', status='pending')."""

    def make(username, role="member", status="active", display_name=None, bio=""):
        user = User(username=username, display_name=display_name or username.capitalize(), bio=bio,
                    role=role, status=status)
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def help_request(alice):
    """Alice's open request for a ladder."""
    from wb.models import HelpRequest

    item = HelpRequest(author_id=alice.id, title="Borrow a ladder", body="Mine is too short for the gutters.")
    db.session.add(item)
    db.session.commit()
    return item


@pytest.fixture
def admin(make_user):
    return make_user("root", role="admin", display_name="Rita Root")


@pytest.fixture
def login(app):
    """login(user) -> a new client signed in as that member through the form."""

    def sign_in(user):
        member_client = app.test_client()
        member_client.login(user.username)
        return member_client

    return sign_in


@pytest.fixture
def messaging_on(app):
    """Switch direct messaging on (it is off by default)."""
    set_flag("direct_messaging", True)
    return True


@pytest.fixture
def count_queries(app):
    """with count_queries() as queries: ... -> list of SQL statements run on either database."""

    @contextmanager
    def counting():
        statements = []

        def record(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        engines = list(db.engines.values())
        for engine in engines:
            event.listen(engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            for engine in engines:
                event.remove(engine, "before_cursor_execute", record)

    return counting


# --- messaging operations: a SQLite instance of their own, and a few messages ---------


@pytest.fixture
def sqlite_app(tmp_path):
    """A fresh app on SQLite files in tmp_path, migrated, messaging on, inside an app context."""
    config = {key: value for key, value in vars(TestConfig).items() if key.isupper()}
    config.update(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'wb.sqlite3'}",
        MESSAGING_DATABASE_URI=f"sqlite:///{tmp_path / 'messaging.sqlite3'}",
        INSTANCE_PATH=str(tmp_path / "instance"),
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_KEY_PREFIX=f"wbops-{uuid.uuid4().hex[:12]}",
        MESSAGE_RATE_LIMIT="100000 per minute",
        NEW_CONVERSATION_RATE_LIMIT="100000 per day",
    )
    app = create_app(config)
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    with app.app_context():
        upgrade()
        ensure_flags()
        set_flag("direct_messaging", True)
        yield app
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def pair(sqlite_app):
    return member("ann"), member("ben")


@pytest.fixture
def some_messages(app, alice, bob, messaging_on):
    conversation = converse(alice, bob, [SECRET_BODY, "second message, quite ordinary", "third one"])
    last = db.session.scalar(select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id.desc()))
    writes.delete_message(alice, conversation, last.id)  # one deleted for both (its text with it)
    return conversation


@pytest.fixture
def chat(app, alice, bob, login, messaging_on):
    """Alice and Bob signed in, with their conversation opened by Alice: (alice_client, bob_client, id)."""
    from messaging_helpers import open_conversation

    alice_client, bob_client = login(alice), login(bob)
    return alice_client, bob_client, open_conversation(alice_client, "bob")


@pytest.fixture
def alice_wrote_to_bob(chat):
    """Alice's client and the conversation in which she has written Bob one message."""
    from messaging_helpers import send

    alice_client, _bob_client, cid = chat
    send(alice_client, cid, "Hello Bob")
    return alice_client, cid


# --- email notifications: a real SMTP server the app sends to -------------------------


@pytest.fixture
def smtp(app):
    """A real SMTP server (aiosmtpd) on a loopback port, and the app configured to send to it."""
    from notify_helpers import BASE_URL, MAIL_FROM, SmtpServer

    with SmtpServer() as server:
        app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port,
                          MAIL_USE_TLS=False, MAIL_FROM=MAIL_FROM, BASE_URL=BASE_URL, MAIL_TIMEOUT_SECONDS=5)
        yield server.inbox
