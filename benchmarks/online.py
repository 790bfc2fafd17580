"""The "online" scenario: N members, each with an open inbox tab doing what static/js/live.js does.

Each tab holds GET /messages/live?since=<cursor>, asks again at once, and for what the answer
says changed fetches exactly those parts (the open thread's poll, the list and the badge with
their ETags), as the page does. Meanwhile every member sends a message every ~2 minutes on
average (Poisson) to a random partner of theirs. A message's delivery is the moment the
recipient's tab holds its text (in its open thread or its list's preview), measured from the
send's answer. The first phase sends nothing: it measures what an idle tab costs.
"""
from __future__ import annotations

import json
import random
import re
import statistics
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field

import load

LIVE_KINDS_FOR_LIST = {"message", "deleted", "removed", "read", "hidden", "blocked", "listed", "rules"}
LIVE_CURSOR = re.compile(r'data-live-cursor="(\d+)"')
POLLER = re.compile(r'hx-get="(/messages/\d+/poll\?after=\d+&amp;seen=\d+)"')
TOKEN = re.compile(r"bench-[0-9a-f]{12}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


@dataclass
class Tally:
    """What every tab and sender counts, shared (a lock guards it)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    errors: list = field(default_factory=list)
    answered: dict = field(default_factory=dict)  # token -> when the send's answer came
    delivered: dict = field(default_factory=dict)  # token -> when the recipient's tab held it
    send_ms: list = field(default_factory=list)
    recipients: dict = field(default_factory=dict)  # token -> recipient user id

    def count(self):
        with self.lock:
            self.requests += 1


def request(session, method, path, tally, base, data=None, headers=None, timeout=60):
    """One request as the page sends it: (status, headers, text)."""
    all_headers = {"User-Agent": load.USER_AGENT, "Cookie": session.cookie, **(headers or {})}
    if method == "POST":
        all_headers["X-CSRFToken"] = session.csrf
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    tally.count()
    try:
        with _OPENER.open(urllib.request.Request(base + path, data=body, headers=all_headers, method=method),
                          timeout=timeout) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        if error.code != 304:
            with tally.lock:
                tally.errors.append(f"{error.code} {method} {path.split('?')[0]}")
        return error.code, error.headers, ""
    except OSError as error:
        with tally.lock:
            tally.errors.append(f"{type(error).__name__} {method} {path.split('?')[0]}")
        return 0, {}, ""


class Tab(threading.Thread):
    """One member's open inbox with their newest conversation open."""

    def __init__(self, base, session, conversation_id, tally, stop):
        super().__init__(daemon=True)
        self.base, self.session, self.tally, self.stop = base, session, tally, stop
        self.conversation_id = conversation_id
        self.etags = {}
        status, _, page = request(session, "GET", f"/messages/{conversation_id}", tally, base)
        if status != 200:
            raise RuntimeError(f"the inbox page answered {status}")
        self.cursor = LIVE_CURSOR.search(page).group(1)
        self.poll_path = POLLER.search(page).group(1).replace("&amp;", "&")

    def run(self):
        while not self.stop.is_set():
            status, _, text = request(self.session, "GET", f"/messages/live?since={self.cursor}", self.tally, self.base)
            if status != 200:
                self.stop.wait(2)
                continue
            answer = json.loads(text)
            self.cursor = answer["cursor"]
            kinds = {(e["kind"], e["conversation"]) for e in answer["events"]}
            if answer["refresh"] or any(k in ("message", "seen", "deleted", "removed") and c == self.conversation_id
                                        for k, c in kinds):
                self.fetch_poll()
            if answer["refresh"] or any(k in LIVE_KINDS_FOR_LIST for k, _ in kinds):
                self.fetch_cached("/messages/list?page=1&active=%d" % self.conversation_id)
                self.fetch_cached("/messages/badge")
            if answer["retry"]:
                self.stop.wait(answer["retry"])

    def fetch_poll(self):
        status, _, text = request(self.session, "GET", self.poll_path, self.tally, self.base, headers={"HX-Request": "true"})
        if status == 200:
            self.poll_path = POLLER.search(text).group(1).replace("&amp;", "&")
            self.saw(text)

    def fetch_cached(self, path):
        headers = {"HX-Request": "true"}
        if path in self.etags:
            headers["If-None-Match"] = self.etags[path]
        status, response_headers, text = request(self.session, "GET", path, self.tally, self.base, headers=headers)
        if status == 200:
            self.etags[path] = response_headers.get("ETag")
            self.saw(text)

    def saw(self, text):
        now = time.monotonic()
        with self.tally.lock:
            for token in TOKEN.findall(text):
                if self.tally.recipients.get(token) == self.session.user_id:
                    self.tally.delivered.setdefault(token, now)


def sender(base, sessions, partners, tally, stop, per_member_seconds, rng):
    """Sends at the community's rate: each member every per_member_seconds on average."""
    rate = len(sessions) / per_member_seconds
    by_id = {s.user_id: s for s in sessions}
    while not stop.wait(rng.expovariate(rate)):
        who = rng.choice(sessions)
        conversation_id, other = rng.choice(partners[who.user_id])
        if other not in by_id:
            continue
        token = f"bench-{uuid.uuid4().hex[:12]}"
        with tally.lock:
            tally.recipients[token] = other
        threading.Thread(target=_send, args=(base, who, conversation_id, token, tally), daemon=True).start()


def _send(base, session, conversation_id, token, tally):
    started = time.monotonic()
    status, _, _ = request(session, "POST", f"/messages/{conversation_id}", tally, base,
                           data={"body": f"Online benchmark {token}"}, headers={"HX-Request": "true"})
    done = time.monotonic()
    if status == 200:
        with tally.lock:
            tally.answered[token] = done
            tally.send_ms.append((done - started) * 1000)


def connected_members(partners: dict, n: int) -> list[int]:
    """n members who write to each other: grown from the first member through their conversations
    (breadth first), so that every member online has partners online (sends go to one of them)."""
    from collections import deque

    chosen, queue = {}, deque()
    for start in sorted(partners):
        queue.append(start)
        while queue and len(chosen) < n:
            member = queue.popleft()
            if member not in chosen:
                chosen[member] = True
                queue.extend(other for _, other in partners.get(member, ()) if other not in chosen)
        if len(chosen) >= n:
            break
    return list(chosen)


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))], 1)


def simulate(server, sessions, partners, idle_seconds=60, active_seconds=120, per_member_seconds=120, seed=6) -> dict:
    """Run the online scenario on a started load.Server; its figures."""
    tally = Tally()
    stop = threading.Event()
    open_conversation = {s.user_id: partners[s.user_id][0][0] for s in sessions}
    tabs = [Tab(server.url, s, open_conversation[s.user_id], tally, stop) for s in sessions]
    for tab in tabs:
        tab.start()
    time.sleep(min(5, idle_seconds / 4))  # every tab holds its first request
    with tally.lock:
        tally.requests, tally.errors = 0, []
    cpu_before = server.cpu_seconds()
    time.sleep(idle_seconds)
    with tally.lock:
        idle_requests = tally.requests
    idle_cpu = server.cpu_seconds() - cpu_before
    cpu_before, active_started = server.cpu_seconds(), time.monotonic()
    threading.Thread(target=sender, args=(server.url, sessions, partners, tally, stop, per_member_seconds,
                                          random.Random(seed)), daemon=True).start()
    time.sleep(active_seconds)
    active_cpu = server.cpu_seconds() - cpu_before
    active_minutes = (time.monotonic() - active_started) / 60
    time.sleep(3)  # the last sends' deliveries
    stop.set()
    with tally.lock:
        latencies = [max(0.0, (tally.delivered[t] - tally.answered[t]) * 1000) for t in tally.answered if t in tally.delivered]
        acknowledged = len(tally.answered)
        undelivered = [t for t in tally.answered if t not in tally.delivered]
        errors = list(tally.errors)
        send_ms = list(tally.send_ms)
    n = len(sessions)
    return {
        "online": n,
        "idle_requests_per_tab_minute": round(idle_requests / n / (idle_seconds / 60), 2),
        "idle_cpu_ms_per_member_minute": round(idle_cpu * 1000 / n / (idle_seconds / 60), 2),
        "cpu_ms_per_member_minute": round(active_cpu * 1000 / n / active_minutes, 2),
        "sends_acknowledged": acknowledged,
        "undelivered": len(undelivered),
        "delivery_ms": {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95), "p99": percentile(latencies, 99),
                        "max": percentile(latencies, 100)},
        "send_p95_ms": percentile(send_ms, 95),
        "errors": len(errors),
        "error_kinds": sorted(set(errors))[:10],
        "memory_per_worker_mb": [w["rss_mb"] for w in server.memory()],
        "measured_s": {"idle": idle_seconds, "active": round(active_minutes * 60)},
        "mean_delivery_ms": round(statistics.mean(latencies), 1) if latencies else None,
    }
