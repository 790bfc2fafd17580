"""A real `wb run` (gunicorn, several worker processes) and a member's browser-like HTTP client.

Limits and races hide between processes, so these tests talk to the production server
over loopback, as members would, instead of the in-process test client.
"""
from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
POLLER = re.compile(r'hx-get="/messages/\d+/poll\?after=(\d+)&amp;seen=(\d+)"')
MESSAGE_IDS = re.compile(r'id="message-(\d+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`python -m wb.cli run --workers N` on a free port, with only the given WB_* settings."""

    def __init__(self, tmp_path: Path, database_urls: dict, workers: int = 3, **settings: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / f"server-{self.port}.log"
        env = {key: value for key, value in os.environ.items() if not key.startswith("WB_")}
        env.update(
            WB_PROJECT_ROOT=str(ROOT),
            WB_INSTANCE_PATH=database_urls["INSTANCE_PATH"],
            WB_DATABASE_URL=database_urls["SQLALCHEMY_DATABASE_URI"],
            WB_MESSAGING_DATABASE_URL=database_urls["MESSAGING_DATABASE_URI"],
            WB_SECRET_KEY="served-test-secret",  # every server signs the same cookies
            **settings,
        )
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wb.cli", "run", "--port", str(self.port), "--workers", str(workers)],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )

    def __enter__(self) -> "Server":
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"wb run exited early:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"wb run never answered:\n{self.log()}")
            time.sleep(0.2)

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


@dataclass
class Answer:
    status: int
    headers: dict
    text: str


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Member:
    """One browser: its own cookies and CSRF token, talking to one server."""

    def __init__(self, server_url: str):
        self.base = server_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirects())
        self.csrf = None

    def on(self, server_url: str) -> "Member":
        """The same browser (same cookies) talking to another server."""
        other = Member(server_url)
        other.jar, other.csrf = self.jar, self.csrf
        other.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirects())
        return other

    def request(self, method: str, path: str, form: dict | None = None, htmx: bool = False) -> Answer:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method)
        if htmx:
            request.add_header("HX-Request", "true")
        if method == "POST" and self.csrf:
            request.add_header("X-CSRFToken", self.csrf)
        try:
            with self.opener.open(request, timeout=30) as response:
                return Answer(response.status, dict(response.headers), response.read().decode())
        except urllib.error.HTTPError as error:
            return Answer(error.code, dict(error.headers), error.read().decode())

    def get(self, path: str, **kwargs) -> Answer:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, form: dict | None = None, **kwargs) -> Answer:
        return self.request("POST", path, form or {}, **kwargs)

    def fetch_csrf(self, path: str = "/login") -> None:
        self.csrf = CSRF_META.search(self.get(path).text).group(1)

    def sign_in(self, username: str, password: str) -> Answer:
        if self.csrf is None:
            self.fetch_csrf()
        answer = self.post("/login", {"username": username, "password": password})
        if answer.status == 302:
            self.fetch_csrf("/")  # the signed-in session's token
        return answer
