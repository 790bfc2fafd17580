"""`./wb demo` really serves the seeded community (run as a subprocess, as a newcomer would)."""
import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url, opener=None, data=None):
    with (opener or urllib.request.build_opener()).open(url, data=data, timeout=5) as response:
        return response.status, response.read().decode()


def signed_in(base: str, username: str, password: str):
    """An opener holding a demo member's session, signed in through the login form."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    _, form = fetch(f"{base}/login", opener)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    fields = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": token}).encode()
    fetch(f"{base}/login", opener, fields)
    return opener


def test_demo_seeds_prints_logins_and_serves(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WB_")}
    env.update(WB_INSTANCE_PATH=str(tmp_path / "instance"), WB_PROJECT_ROOT=str(ROOT))
    server = subprocess.Popen(
        [sys.executable, "-m", "wb.cli", "demo", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"demo exited early:\n{server.stdout.read()}"
            try:
                status, _ = fetch(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline, "demo never started serving"
                time.sleep(0.2)
        assert status == 200
        base = f"http://127.0.0.1:{port}"
        status, page = fetch(f"{base}/requests")  # members only: a visitor lands on the sign-in page
        assert status == 200 and 'name="password"' in page and "Borrow a ladder" not in page
        alice = signed_in(base, "alice", "demo-password")
        status, page = fetch(f"{base}/requests", alice)
        assert status == 200 and "Borrow a ladder this Saturday?" in page
        status, page = fetch(f"{base}/people/alice", alice)
        assert "Alice Moreno" in page
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)
    assert "password for all: demo-password" in output
    # What the demo prints for people isn't interleaved with the app's INFO log lines.
    assert " INFO wb." not in output, output
    assert "alice" in output and "/register?invite=" in output
