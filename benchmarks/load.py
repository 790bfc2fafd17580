"""Serve the app with gunicorn, sign members in over HTTP, and drive load with wrk."""
from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
WRK_SCRIPT = HERE / "wrk.lua"
# The same User-Agent on sign-in and under load: Flask-Login's session protection
# hashes it, and a mismatch would rewrite the session cookie on every request.
USER_AGENT = "wb-bench"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- /proc readings ------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_mb(pid: int) -> dict:
    """Current (VmRSS) and peak (VmHWM) resident memory of a process, in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            name, amount = line.split(":")
            values[name] = round(int(amount.split()[0]) / 1024, 1)
    return {"rss_mb": values.get("VmRSS"), "peak_rss_mb": values.get("VmHWM")}


def children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            match = re.search(r"^PPid:\s+(\d+)", status, re.M)
            if match and int(match.group(1)) == pid:
                kids.append(int(entry.name))
    return sorted(kids)


# --- the server ----------------------------------------------------------------------


class Server:
    """gunicorn serving wb:create_app() on a free loopback port, with `./wb run`'s command line."""

    def __init__(self, env: dict, workers: int, threads: int, log_path: Path, worker_class: str | None = None,
                 keep_alive: float | None = None):
        self.keep_alive = keep_alive  # gunicorn's --keep-alive instead of `./wb run`'s (None: as it is)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers, self.threads, self.requested_class = workers, threads, worker_class
        self.log_path = log_path
        self.env = {**os.environ, **env}
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> None:
        from wb.cli import WORKER_CONNECTIONS, allow_open_files, gunicorn_argv

        # exactly `./wb run` (with --worker-class as given to it), with the open files it allows itself
        allow_open_files(WORKER_CONNECTIONS + 200)
        self.command = gunicorn_argv("127.0.0.1", self.port, self.workers, self.threads, self.requested_class)
        self.worker_class = self.command[self.command.index("--worker-class") + 1]
        if self.keep_alive is not None:
            self.command[self.command.index("--keep-alive") + 1] = f"{self.keep_alive:g}"
        if self.worker_class != "gevent":  # as `./wb run` does: a held request would take the worker
            self.env.setdefault("WB_LIVE_HOLD_SECONDS", "0")
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.command, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200 and len(self.worker_pids()) == self.workers:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not become ready in {timeout} s; see {self.log_path}")

    def worker_pids(self) -> list[int]:
        return children(self.process.pid) if self.process else []

    def cpu_seconds(self) -> float:
        """CPU used so far by the master and its workers."""
        total = 0.0
        for pid in [self.process.pid, *self.worker_pids()]:
            try:
                total += cpu_seconds(pid)
            except OSError:
                pass
        return total

    def cpu_by_worker(self) -> dict[int, float]:
        """CPU used so far by each worker."""
        usage = {}
        for pid in self.worker_pids():
            try:
                usage[pid] = cpu_seconds(pid)
            except OSError:
                pass
        return usage

    def memory(self) -> list[dict]:
        return [{"pid": pid, **memory_mb(pid)} for pid in self.worker_pids()]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # graceful: workers finish what they hold
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


# --- signed-in sessions --------------------------------------------------------------


@dataclass
class Session:
    user_id: int
    username: str
    cookie: str  # "session=..." as a Cookie header
    csrf: str


def sign_in(base_url: str, user_id: int, username: str, password: str) -> Session:
    """Log one member in through the real form; returns their cookie and CSRF token."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(base_url + "/login", timeout=30).read().decode()
    token = CSRF_META.search(page).group(1)
    form = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": token}).encode()
    # The redirect lands on the dashboard, which also consumes the welcome flash,
    # so the cookie we keep is the steady-state one.
    landing = opener.open(base_url + "/login", data=form, timeout=30)
    page = landing.read().decode()
    if landing.url.rstrip("/").endswith("/login"):
        raise RuntimeError(f"sign-in failed for {username}")
    cookies = {cookie.name: cookie.value for cookie in jar}
    return Session(user_id, username, f"session={cookies['session']}", CSRF_META.search(page).group(1))


def sign_in_many(base_url: str, members: list[tuple[int, str]], password: str, parallel: int = 8) -> list[Session]:
    with ThreadPoolExecutor(parallel) as pool:
        return list(pool.map(lambda m: sign_in(base_url, m[0], m[1], password), members))


def probe(base_url: str, line: tuple) -> tuple[int, bool]:
    """Send one target line once (outside wrk): its status, and whether it set a cookie."""
    method, path, cookie, csrf, kind, hx = line
    headers = {"User-Agent": USER_AGENT}
    if cookie:
        headers["Cookie"] = cookie
    if csrf:
        headers["X-CSRFToken"] = csrf
    if hx:
        headers["HX-Request"] = "true"
    data = urllib.parse.urlencode({"body": "Benchmark probe"}).encode() if kind == "send" else None

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(base_url + path, data=data, headers=headers, method=method)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, "Set-Cookie" in response.headers
    except urllib.error.HTTPError as error:
        return error.code, "Set-Cookie" in error.headers


# --- wrk -----------------------------------------------------------------------------


def require_wrk() -> str:
    path = shutil.which("wrk")
    if not path:
        raise SystemExit("wrk not found: install it (Debian/Ubuntu: apt-get install wrk)")
    return path


def run_wrk(base_url: str, lines: list[tuple], connections: int, duration: float, workdir: Path) -> dict:
    """One wrk run (a single thread) over the target lines; results plus wrk's own CPU time."""
    targets = workdir / "targets.tsv"
    targets.write_text("".join("\t".join(str(f) for f in line) + "\n" for line in lines))
    command = [
        require_wrk(), "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "10s",
        "-s", str(WRK_SCRIPT), base_url + "/", "--", str(targets),
    ]
    with tempfile.TemporaryFile(dir=workdir) as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    match = re.search(r"^WB_BENCH_RESULT (.*)$", text, re.M)
    if process.returncode != 0 or not match:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{text}")
    result = json.loads(match.group(1))
    result["wrk_cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 3)
    return result
