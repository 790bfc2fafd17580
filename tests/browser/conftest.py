"""Browser fixtures: the real app under gunicorn on a free loopback port, and Debian's Chromium.

Each server gets its own temporary instance folder (fresh SQLite files, its own
config.py with short polling periods), so nothing here touches the databases of
the unit tests or of a developer's instance. Playwright's own browser download
is never used: we drive /usr/bin/chromium. Without it the tests skip, unless
WB_REQUIRE_BROWSER=1 (CI), where a missing browser is an error.
"""
from __future__ import annotations

import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
PROJECT_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
PASSWORD = "browser-test-password"

# News reaches a page through its live channel as soon as the server hears of it (under a
# second); nothing else would bring it before the hold time (LIVE_HOLD_SECONDS: 25-30 s) is up.
# The waits allow room for the round trips on a busy CI machine.
THREAD_WAIT_MS = 5000
BADGE_WAIT_MS = 5000
# Per member, and every test uses fresh members: low enough that a test reaches it in a
# few sends, high enough for every other scenario.
MESSAGE_RATE_LIMIT = "5 per minute"

# Chromium's own line for a response with an error status; tests that provoke one on
# purpose allow exactly that status, never console errors in general.
def failed_resource(status: int) -> re.Pattern:
    return re.compile(rf"^Failed to load resource: the server responded with a status of {status}\b")


# --- the browser --------------------------------------------------------------------------


def _browser_missing(reason: str):
    if os.environ.get("WB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"WB_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def playwright_driver():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _browser_missing("the playwright package is not installed (pip install -e '.[dev]')")
    if not os.access(CHROMIUM, os.X_OK):
        _browser_missing(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver):
    """One headless Chromium for the run; launch() gives it a fresh temporary profile."""
    chromium = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


# --- the server ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """The real app, served by gunicorn from its own temporary instance folder."""

    def __init__(self, folder: Path, worker_class: str = "gevent", **config):
        self.worker_class = worker_class
        self.instance = folder / "instance"
        self.instance.mkdir(parents=True)
        self.log_path = folder / "server.log"
        self.config = {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{self.instance / 'wb.sqlite3'}",
            "MESSAGING_DATABASE_URI": f"sqlite:///{self.instance / 'messaging.sqlite3'}",
            "RATELIMIT_STORAGE_URI": "memory://",
            "MESSAGE_RATE_LIMIT": MESSAGE_RATE_LIMIT,
            # Every browser signs in from 127.0.0.1.
            "LOGIN_RATE_LIMIT": "1000 per minute",
            "REGISTER_RATE_LIMIT": "1000 per minute",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            **config,
        }
        self.process = None
        self.url = None
        self._app = None
        self._names = itertools.count(1)

    def _environment(self) -> dict:
        # A developer's or CI's WB_* variables must not point the server elsewhere.
        env = {key: value for key, value in os.environ.items() if not key.startswith("WB_")}
        env.update(WB_INSTANCE_PATH=str(self.instance), WB_PROJECT_ROOT=str(PROJECT_ROOT))
        return env

    def start(self) -> "LiveServer":
        lines = [f"{key} = {value!r}" for key, value in self.config.items()]
        (self.instance / "config.py").write_text("\n".join(lines) + "\n")
        subprocess.run(
            [sys.executable, "-m", "wb.cli", "init"], env=self._environment(), cwd=PROJECT_ROOT,
            check=True, capture_output=True, text=True, timeout=120,
        )
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "--workers", "1",
                 "--worker-class", self.worker_class, "--access-logfile", "-", "wb:create_app()"],
                env=self._environment(), cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
            )
        self._wait_until_healthy()
        return self

    def _wait_until_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"the server did not answer /healthz in {timeout}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # gunicorn's quick shutdown (SIGINT): its graceful one (SIGTERM) waits for the held live
            # requests of pages still open, and at the end of a run three servers took 30 s.
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._app is not None:
            from wb.extensions import db

            with self._app.app_context():
                for engine in db.engines.values():
                    engine.dispose()

    # Seeding goes straight to the server's databases through an app of our own;
    # everything a member does afterwards goes through the browser.

    @property
    def app(self):
        if self._app is None:
            from wb import create_app

            self._app = create_app({"INSTANCE_PATH": str(self.instance), **self.config})
        return self._app

    def create_member(self, name: str, role: str = "member", display_name: str | None = None, status: str = "active"):
        """A new member (active unless status says) with a unique username that starts with name; returns the username."""
        from wb.extensions import db
        from wb.models import User

        username = f"{name}-{next(self._names)}"
        with self.app.app_context():
            user = User(username=username, display_name=display_name or name.capitalize(), role=role, status=status)
            user.set_password(PASSWORD)
            db.session.add(user)
            db.session.commit()
        return username

    def set_messaging(self, enabled: bool) -> None:
        from wb.flags import set_flag

        with self.app.app_context():
            set_flag("direct_messaging", enabled)


@pytest.fixture(scope="session")
def start_server(tmp_path_factory):
    """start_server(**config) -> a running LiveServer; all are stopped at the end of the run."""
    servers = []

    def start(worker_class="gevent", **config) -> LiveServer:
        server = LiveServer(tmp_path_factory.mktemp("browser-server"), worker_class, **config)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def server(start_server, browser):
    """The shared server, messaging switched on. Tests create their own members on it."""
    live = start_server()
    live.set_messaging(True)
    return live


# --- pages, sign-in and the console watch ----------------------------------------------------

# Chromium reports CSP violations on the console too; this makes sure each one is an error
# line we see, whatever the wording. Init scripts run outside the page's CSP.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (event) {
  console.error("CSP violation: " + event.violatedDirective + " blocked " + (event.blockedURI || "inline code"));
});
"""


def sign_in_here(page, username: str) -> None:
    """Sign in as username on this page, through the real login form (its browser's storage kept: the
    next member on a shared computer), and wait for the dashboard."""
    from playwright.sync_api import expect

    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".whoami")).to_be_visible()
    page.wait_for_load_state("load")


class Browsing:
    """Browser contexts for one test, each page's console errors and page errors collected."""

    def __init__(self, browser, server):
        self.browser = browser
        self.server = server
        self.contexts = []
        self.problems: list[tuple[str, str, str]] = []  # (kind, page url, text)
        self.allowed: list[re.Pattern] = []
        self.allowed_server_errors: list[re.Pattern] = []

    def allow_console_error(self, pattern: re.Pattern) -> None:
        """This test provokes an error line on purpose (a 400, 404 or 429 response)."""
        self.allowed.append(pattern)

    def allow_server_error(self, pattern: re.Pattern) -> None:
        """This test answers a request with a 5xx on purpose (a route it fulfills), as a failing server would."""
        self.allowed_server_errors.append(pattern)

    def new_page(self, viewport=None, server=None, **options):
        """A page in a fresh context (its own cookies), watched for errors; options go to
        Playwright's new_context (bypass_csp=True lets a test inject a script tag of its own)."""
        context = self.browser.new_context(
            base_url=(server or self.server).url, viewport=viewport or {"width": 1280, "height": 800}, **options
        )
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self.problems.append(("page error", page.url, str(error))))
        page.on("response", lambda response: self._response(page, response))
        return page

    def _console(self, page, message) -> None:
        if message.type == "error":
            self.problems.append(("console error", page.url, message.text))

    def _response(self, page, response) -> None:
        if response.status >= 500:
            self.problems.append(("server error", page.url, f"{response.status} for {response.request.method} {response.url}"))

    def sign_in(self, username: str, viewport=None, server=None, **options):
        """A new page signed in as username through the real login form, left on the dashboard."""
        page = self.new_page(viewport, server, **options)
        sign_in_here(page, username)
        return page

    def unexpected_problems(self) -> list[str]:
        return [
            f"{kind} on {url}: {text}" for kind, url, text in self.problems
            if not (kind == "console error" and any(pattern.search(text) for pattern in self.allowed))
            and not (kind == "server error" and any(pattern.search(text) for pattern in self.allowed_server_errors))
        ]

    def close(self) -> None:
        # A route handler still waiting on its route.fetch() as the test ends would otherwise
        # raise "Response has been disposed" into the next test's first call (Playwright #23781).
        for context in self.contexts:
            for page in context.pages:
                page.unroute_all(behavior="ignoreErrors")
            context.unroute_all(behavior="ignoreErrors")
            context.close()


@pytest.fixture
def browsing(browser, server):
    """Pages for this test; fails it if any page logged a console error, a page error or a CSP violation."""
    session = Browsing(browser, server)
    yield session
    session.close()
    problems = session.unexpected_problems()
    assert not problems, "the browser reported problems:\n" + "\n".join(problems)


@pytest.fixture(scope="session")
def artifacts():
    """test-artifacts/ (git-ignored): screenshots worth looking at after a run."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
