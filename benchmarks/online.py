"""The "online" scenario: N members, each with an open inbox tab doing what static/js/live.js does.

Each tab holds GET /messages/live?since=<cursor>, asks again at once, and for what the answer
says changed fetches exactly those parts (the open thread's poll, the list and the badge with
their ETags), as the page does. Meanwhile every member sends a message every ~2 minutes on
average (Poisson) to a random partner of theirs. A message's delivery is the moment the
recipient's tab holds its text (in its open thread or its list's preview), measured from the
send's answer. The first phase sends nothing: it measures what an idle tab costs.
"""
from __future__ import annotations

import http.client
import json
import os
import random
import re
import resource
import statistics
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field

import load

LIVE_CURSOR = re.compile(r'data-live-cursor="(\d+)"')
LIST_CURSOR = re.compile(r'data-list-cursor="(\d+)"')
POLLER = re.compile(r'hx-get="(/messages/\d+/poll\?after=\d+&amp;seen=\d+)"')
TOKEN = re.compile(r"bench-[0-9a-f]{12}")
DELIVERY_GRACE_SECONDS = 30  # after the last send: how long a message may take before it counts as lost


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
    sent_in: dict = field(default_factory=dict)  # token -> (conversation id, sender user id)

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


class KeptConnection:
    """One connection a tab keeps for its live channel, as a browser keeps it (HTTP/1.1 keep-alive):
    each ask after the first goes on it, unless the server closed it meanwhile (its --keep-alive
    ran out), when the ask goes again on a new one, as a browser retries a request on a reused
    connection that the server closed before answering."""

    def __init__(self, base):
        parsed = urllib.parse.urlsplit(base)
        self.host, self.port, self.connection = parsed.hostname, parsed.port, None

    def request(self, session, path, tally, headers, timeout=60):
        all_headers = {"User-Agent": load.USER_AGENT, "Cookie": session.cookie, **headers}
        tally.count()
        for attempt in (1, 2):
            reused = self.connection is not None
            if not reused:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            try:
                self.connection.request("GET", path, headers=all_headers)
                response = self.connection.getresponse()
                text = response.read().decode()
                if response.will_close:
                    self.close()
                if response.status != 200:
                    with tally.lock:
                        tally.errors.append(f"{response.status} GET {path.split('?')[0]}")
                return response.status, response.headers, text
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as error:
                self.close()
                if reused and attempt == 1:
                    continue
                failure = error
            except OSError as error:
                self.close()
                failure = error
            with tally.lock:
                tally.errors.append(f"{type(failure).__name__} GET {path.split('?')[0]}")
            return 0, {}, ""

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


BADGE_ASKS = re.compile(r'<a id="inbox-badge"[^>]*\shx-get=')  # else it comes with the list's answers
READ_NOW = re.compile(r'hx-post="(/messages/\d+/read)" hx-trigger="load"')


class Tab(threading.Thread):
    """One member's open inbox with their newest conversation open.

    What its page does, event for event: every request carries the tab's id (X-WB-Tab); the live
    answer fires wb:poll-now (the open thread changed), wb:list-stale and, for events that may move
    the member's unread count, wb:unread-changed, skipping the events its own requests made
    (static/js/live.js); an answer's HX-Trigger header fires its events (a send: wb:poll-now when
    it brought no new poller, and wb:unread-changed when the reply read what came in; a read:
    wb:unread-changed); a send's and a read's answers bring the list along (X-WB-List), so they
    fire no wb:list-changed, and the live answer brings the list when it changed (drawn unless a
    send is on its way or the list on screen says a newer change, as app.js does); these bring only
    the rows that changed, which app.js merges into the rows it keeps (the tab keeps no rows: it
    reads what the answers draw, as the page shows it); the poller asks
    the thread's poll, the list and the badge ask with their ETags, and a poll that drew the
    other member's messages posts the read it carries (hx-trigger="load", _poller.html). On the
    inbox the nav badge comes with the list and asks nothing itself (_badge.html).
    """

    def __init__(self, base, session, conversation_id, tally, stop, keep_connection=False):
        super().__init__(daemon=True)
        self.kept = KeptConnection(base) if keep_connection else None  # the live channel's own connection
        self.base, self.session, self.tally, self.stop = base, session, tally, stop
        self.first_ask_at = 0.0  # when the page's live channel first asks (simulate spreads them)
        self.conversation_id = conversation_id
        self.tab = uuid.uuid4().hex[:16]  # live.js's tab id: sent with every request (X-WB-Tab)
        self.etags = {}
        # What app.js knows to order the list a live answer brings: requests whose answers draw
        # the list still due (the tab's sends, which run beside its live request), and the newest
        # change the list on screen shows (each drawn list says, data-list-cursor).
        self.lists_due, self.list_cursor = 0, 0
        self.page_lock = threading.Lock()  # one page: its parts are fetched one event at a time, as in a browser
        status, _, page = request(session, "GET", f"/messages/{conversation_id}", tally, base)
        if status != 200:
            raise RuntimeError(f"the inbox page answered {status}")
        self.cursor = LIVE_CURSOR.search(page).group(1)
        self.list_cursor = int(self.cursor)  # the page's list is drawn after its live cursor is read
        self.badge_asks = bool(BADGE_ASKS.search(page))
        self.poll_path = POLLER.search(page).group(1).replace("&amp;", "&")

    def request(self, method, path, data=None, headers=None):
        """A request from this tab's page: live.js adds the tab id to each (htmx's and its own),
        and to htmx's other than the list's own what the list shows (page 1, no filter), so an
        action that changes the list brings it along (its answer's out-of-band list)."""
        headers = {**(headers or {}), "X-WB-Tab": self.tab}
        if "HX-Request" in headers and not path.startswith("/messages/list"):
            headers["X-WB-List"] = "page=1"
        return request(self.session, method, path, self.tally, self.base, data=data, headers=headers)

    def run(self):
        if self.stop.wait(max(0.0, self.first_ask_at - time.monotonic())):
            return
        while not self.stop.is_set():
            active = self.conversation_id  # the answer's list is drawn with it open
            live_headers = {"Accept": "application/json", "X-WB-List": f"page=1&active={active}"}
            if self.kept is not None:
                status, _, text = self.kept.request(self.session, f"/messages/live?since={self.cursor}", self.tally,
                                                    {**live_headers, "X-WB-Tab": self.tab})
            else:
                status, _, text = self.request("GET", f"/messages/live?since={self.cursor}", headers=live_headers)
            if status != 200:
                self.stop.wait(2)
                continue
            answer = json.loads(text)
            self.cursor = answer["cursor"]
            events = live_events(answer, self.conversation_id, self.tab)
            # app.js draws the list the answer brings unless the list on screen is newer or another
            # conversation was opened meanwhile.
            if "wb:list-stale" in events and answer["list"] is not None and not self.lists_due \
                    and int(answer["cursor"]) >= self.list_cursor and self.conversation_id == active:
                events.discard("wb:list-stale")
                self.drew_list(answer["list"])
            self.fire(events)
            if answer["retry"]:
                self.stop.wait(answer["retry"])

    def fire(self, events):
        """The page's parts that listen for these events ask, once each."""
        with self.page_lock:
            if "wb:poll-now" in events:
                self.fetch_poll()
            if events & {"wb:list-stale", "wb:list-changed"}:
                self.fetch_cached("/messages/list?page=1&active=%d" % self.conversation_id)
            if "wb:unread-changed" in events and self.badge_asks:
                self.fetch_cached("/messages/badge")

    def send(self, conversation_id, token):
        """The compose box's post; its answer's HX-Trigger fires on this page. A page sends in
        its open thread, so another conversation is first picked in the list (its thread pane)."""
        if conversation_id != self.conversation_id:
            self.open_thread(conversation_id)
        # live.js adds the thread poller's cursors; the answer brings what is new with a new poller.
        cursors = self.poll_path.split("?", 1)[1]
        started = time.monotonic()
        with self.tally.lock:
            self.lists_due += 1
        # app.js sends each message with a key of its own (Idempotency-Key), as here.
        status, headers, text = self.request("POST", f"/messages/{conversation_id}?{cursors}",
                                             data={"body": f"Online benchmark {token}"},
                                             headers={"HX-Request": "true", "Idempotency-Key": os.urandom(16).hex()})
        done = time.monotonic()
        with self.tally.lock:
            self.lists_due -= 1
        if status == 200:
            with self.tally.lock:
                self.tally.answered[token] = done
                self.tally.send_ms.append((done - started) * 1000)
            self.drew_list(text)  # the list that came along
            if POLLER.search(text):
                with self.page_lock:
                    self.drew_poller(text)
            self.fire(triggered(headers))

    def open_thread(self, conversation_id):
        """A row picked in the list: htmx swaps the thread pane (the list stays); its poller
        follows that conversation from now on, and posts the read it carries."""
        with self.page_lock:
            status, _, text = self.request("GET", f"/messages/{conversation_id}",
                                           headers={"HX-Request": "true", "HX-Target": "thread-pane"})
            if status == 200:
                self.conversation_id = conversation_id
                self.drew_poller(text)

    def fetch_poll(self):
        status, _, text = self.request("GET", self.poll_path, headers={"HX-Request": "true"})
        if status == 200:
            self.drew_poller(text)

    def drew_poller(self, text):
        """A new poller came in (a poll's answer or a thread pane): its cursors, and its read."""
        self.poll_path = POLLER.search(text).group(1).replace("&amp;", "&")
        self.saw(text)
        read_now = READ_NOW.search(text)
        if read_now:
            status, headers, text = self.request("POST", read_now.group(1), headers={"HX-Request": "true"})
            if status in (200, 204):
                self.drew_list(text)  # the list that came along
                self.fetch_list_and_badge(triggered(headers))

    def fetch_list_and_badge(self, events):
        if events & {"wb:list-stale", "wb:list-changed"}:
            self.fetch_cached("/messages/list?page=1&active=%d" % self.conversation_id)
        if "wb:unread-changed" in events and self.badge_asks:
            self.fetch_cached("/messages/badge")

    def fetch_cached(self, path):
        headers = {"HX-Request": "true"}
        if path in self.etags:
            headers["If-None-Match"] = self.etags[path]
        status, response_headers, text = self.request("GET", path, headers=headers)
        if status == 200:
            self.etags[path] = response_headers.get("ETag")
            if path.startswith("/messages/list"):
                self.drew_list(text)
            else:
                self.saw(text)

    def drew_list(self, text):
        if text:
            drawn = LIST_CURSOR.search(text)
            if drawn:
                self.list_cursor = max(self.list_cursor, int(drawn.group(1)))
            self.saw(text)

    def saw(self, text):
        now = time.monotonic()
        with self.tally.lock:
            for token in TOKEN.findall(text):
                if self.tally.recipients.get(token) == self.session.user_id:
                    self.tally.delivered.setdefault(token, now)


def live_events(answer, open_conversation, tab) -> set:
    """The events static/js/live.js fires for a live answer on a page with open_conversation open,
    in the tab whose id is tab (it skips the events its own requests made)."""
    events = set()
    if answer["refresh"]:
        return {"wb:poll-now", "wb:list-stale", "wb:unread-changed"}
    for change in answer["events"]:
        if change["tab"] == tab:
            continue
        if change["list"]:
            events.add("wb:list-stale")
            if change["unread"]:
                events.add("wb:unread-changed")
        if change["conversation"] == open_conversation and change["kind"] in ("message", "seen", "deleted", "removed"):
            events.add("wb:poll-now")
    return events


def undelivered_detail(tally, token) -> dict:
    """What is known of a message the recipient's tab never held: its conversation, and whether a
    later message there reached the recipient's tab (its list's preview moves past an earlier one:
    the tab showed the conversation's news, its count, but this text only in the thread) or the
    recipient wrote there after it was acknowledged."""
    conversation_id, sender_id = tally.sent_in[token]
    later = [t for t, (c, _s) in tally.sent_in.items()
             if c == conversation_id and t != token and tally.answered.get(t, 0) > tally.answered[token]]
    return {
        "conversation": conversation_id, "from": sender_id, "to": tally.recipients[token],
        "later_message_reached_recipient": any(t in tally.delivered and tally.recipients[t] == tally.recipients[token]
                                               for t in later),
        "recipient_wrote_after": any(tally.sent_in[t][1] == tally.recipients[token] for t in later),
    }


def triggered(headers) -> set:
    """The events an answer's HX-Trigger header fires."""
    return {name.strip() for name in (headers.get("HX-Trigger") or "").split(",") if name.strip()}


def sender(base_of, tabs, partners, tally, stop, per_member_seconds, rng, sends):
    """Sends at the community's rate: each member every per_member_seconds on average, from their
    tab, until stop; each send's thread goes into sends."""
    rate = len(tabs) / per_member_seconds
    by_id = {tab.session.user_id: tab for tab in tabs}
    members = list(by_id.values())
    while not stop.wait(rng.expovariate(rate)):
        tab = rng.choice(members)
        conversation_id, other = rng.choice(partners[tab.session.user_id])
        if other not in by_id:
            continue
        token = f"bench-{uuid.uuid4().hex[:12]}"
        with tally.lock:
            tally.recipients[token] = other
            tally.sent_in[token] = (conversation_id, tab.session.user_id)
        send = threading.Thread(target=tab.send, args=(conversation_id, token), daemon=True)
        sends.append(send)
        send.start()


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


def waited_for_cpu(pids) -> float:
    """Seconds these tasks spent runnable but waiting for a core so far (the kernel's schedstat run delay)."""
    total = 0
    for pid in pids:
        try:
            total += int(open(f"/proc/{pid}/schedstat").read().split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return total / 1e9


def generator_tasks() -> list[str]:
    return [f"self/task/{task}" for task in os.listdir("/proc/self/task")]


def live_hold_seconds() -> float:
    """The longest hold of a live request on the benchmark's servers (WB_LIVE_HOLD_SECONDS, else the app's default)."""
    from wb.config import Config

    return float(os.environ.get("WB_LIVE_HOLD_SECONDS") or Config.LIVE_HOLD_SECONDS)


def generator_cpu_seconds() -> float:
    """CPU used so far by this process (the load generator), to tell its share from the server's."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# The benchmark's server logs gunicorn's default access line plus the request's own time (%(D)s,
# microseconds, from its parsing to its answer): the send's time in the server, apart from the
# time the connection waited for a worker or the generator for the CPU.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)s'
SEND_LINE = re.compile(r'"POST /messages/\d+(?:\?[^ ]*)? HTTP/[\d.]+" 200 \d+ .* (\d+)$')


def server_send_ms(log_path, offset: int) -> list[float]:
    """The sends' times inside the server, read from its access log after offset."""
    with open(log_path, "rb") as log:
        log.seek(offset)
        lines = log.read().decode(errors="replace").splitlines()
    return [int(m.group(1)) / 1000 for m in map(SEND_LINE.search, lines) if m]


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))], 1)


class Servers:
    """One or more started load.Servers on the same databases, measured together."""

    def __init__(self, servers):
        self.servers = list(servers)

    def cpu_seconds(self) -> float:
        return sum(server.cpu_seconds() for server in self.servers)

    def memory(self) -> list[dict]:
        return [worker for server in self.servers for worker in server.memory()]

    def waited_for_cpu(self) -> float:
        """Seconds the servers' workers were ready to run but had no core (other processes had them)."""
        return waited_for_cpu([pid for server in self.servers for pid in server.worker_pids()])

    def log_sizes(self) -> list[int]:
        return [server.log_path.stat().st_size for server in self.servers]

    def send_ms(self, offsets) -> list[float]:
        return [ms for server, offset in zip(self.servers, offsets) for ms in server_send_ms(server.log_path, offset)]


def simulate(servers, sessions, partners, idle_seconds=60, active_seconds=120, per_member_seconds=120, seed=6,
             keep_connection=False) -> dict:
    """Run the online scenario on started load.Servers (a member's tab and sends go to one of them); its figures."""
    server = Servers(servers)
    tally = Tally()
    stop = threading.Event()
    open_conversation = {s.user_id: partners[s.user_id][0][0] for s in sessions}
    base_of = {s.user_id: server.servers[i % len(server.servers)].url for i, s in enumerate(sessions)}
    tabs = [Tab(base_of[s.user_id], s, open_conversation[s.user_id], tally, stop, keep_connection) for s in sessions]
    # Members open their inbox at moments of their own, not all at once: each tab's live channel
    # first asks at a random moment within one longest hold, and the idle phase starts once every
    # tab asks. Started together, every tab's asks stayed in step for minutes (holds of 20-30 s put
    # exactly two of each tab's asks in a 60 s window), and the idle phase counted 2.0 asks a
    # minute where tabs in their own rhythm make 60 / 25 = 2.4.
    hold, opened, spread = live_hold_seconds(), time.monotonic(), random.Random(seed + 1)
    for tab in tabs:
        tab.first_ask_at = opened + spread.uniform(0, hold)
        tab.start()
    time.sleep(hold + min(5, idle_seconds / 4))  # every tab holds its first request
    with tally.lock:
        tally.requests, tally.errors = 0, []
    cpu_before, generator_before = server.cpu_seconds(), generator_cpu_seconds()
    time.sleep(idle_seconds)
    with tally.lock:
        idle_requests = tally.requests
    idle_cpu = server.cpu_seconds() - cpu_before
    idle_generator_cpu = generator_cpu_seconds() - generator_before
    cpu_before, generator_before = server.cpu_seconds(), generator_cpu_seconds()
    waited_before, generator_waited_before = server.waited_for_cpu(), waited_for_cpu(generator_tasks())
    active_started, log_offsets = time.monotonic(), server.log_sizes()
    stop_sending, sends = threading.Event(), []
    sending = threading.Thread(target=sender, args=(base_of, tabs, partners, tally, stop_sending, per_member_seconds,
                                                    random.Random(seed), sends), daemon=True)
    sending.start()
    time.sleep(active_seconds)
    stop_sending.set()
    active_cpu = server.cpu_seconds() - cpu_before
    active_generator_cpu = generator_cpu_seconds() - generator_before
    server_waited = server.waited_for_cpu() - waited_before
    generator_waited = waited_for_cpu(generator_tasks()) - generator_waited_before
    with tally.lock:
        active_requests = tally.requests - idle_requests
    active_minutes = (time.monotonic() - active_started) / 60
    # The last sends' answers, then their deliveries (at most DELIVERY_GRACE_SECONDS): an
    # acknowledged message still undelivered after that counts as lost, not late.
    sending.join(timeout=10)
    for send in sends:
        send.join(timeout=60)
    deadline = time.monotonic() + DELIVERY_GRACE_SECONDS
    while time.monotonic() < deadline:
        with tally.lock:
            if all(token in tally.delivered for token in tally.answered):
                break
        time.sleep(0.2)
    stop.set()
    for tab in tabs:  # their held requests end within the hold time: the next run starts clean
        tab.join(timeout=40)
    with tally.lock:
        latencies = [max(0.0, (tally.delivered[t] - tally.answered[t]) * 1000) for t in tally.answered if t in tally.delivered]
        acknowledged = len(tally.answered)
        undelivered = [t for t in tally.answered if t not in tally.delivered]
        lost = [undelivered_detail(tally, t) for t in undelivered[:20]]
        errors = list(tally.errors)
        send_ms = list(tally.send_ms)
    n = len(sessions)
    return {
        "online": n,
        "idle_requests_per_tab_minute": round(idle_requests / n / (idle_seconds / 60), 2),
        "idle_cpu_ms_per_member_minute": round(idle_cpu * 1000 / n / (idle_seconds / 60), 2),
        "cpu_ms_per_member_minute": round(active_cpu * 1000 / n / active_minutes, 2),
        # Shares of the 2 cores: the server's (master and workers) and the load generator's own.
        "server_cpu_pct": {"idle": round(100 * idle_cpu / idle_seconds, 1),
                           "active": round(100 * active_cpu / (active_minutes * 60), 1)},
        "generator_cpu_pct": {"idle": round(100 * idle_generator_cpu / idle_seconds, 1),
                              "active": round(100 * active_generator_cpu / (active_minutes * 60), 1)},
        # While sends ran: seconds per second that the workers (summed) and the generator's threads
        # (summed) were ready to run but waited for a core taken by other processes.
        "waited_for_cpu_s_per_s": {"server_workers": round(server_waited / (active_minutes * 60), 3),
                                   "generator": round(generator_waited / (active_minutes * 60), 3)},
        "active_requests_per_member_minute": round(active_requests / n / active_minutes, 2),
        "sends_acknowledged": acknowledged,
        "undelivered": len(undelivered),
        "undelivered_detail": lost,
        "delivery_ms": {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95), "p99": percentile(latencies, 99),
                        "max": percentile(latencies, 100)},
        "send_p95_ms": percentile(send_ms, 95),
        "send_p95_ms_in_server": percentile(server.send_ms(log_offsets), 95),
        "errors": len(errors),
        "error_kinds": sorted(set(errors))[:10],
        "memory_per_worker_mb": [w["rss_mb"] for w in server.memory()],
        "measured_s": {"idle": idle_seconds, "active": round(active_minutes * 60)},
        "mean_delivery_ms": round(statistics.mean(latencies), 1) if latencies else None,
    }
