#!/usr/bin/env python3
"""WhiteBalloon messaging benchmark: seed at scale, serve with gunicorn, load with wrk.

    ./wb bench [--scale small|large] [--db sqlite|postgres] [--json PATH] ...
    python benchmarks/run.py --help

Everything happens in a fresh instance folder under benchmarks/results/ (fresh
SQLite files, or fresh PostgreSQL databases created and dropped with psql);
the checkout's own instance/ is never touched. Timing lives here, never in the
test suite.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _ensure_project_python() -> None:
    """Run with the project's virtualenv when started with a Python that lacks the app."""
    try:
        import wb  # noqa: F401
    except ImportError:
        venv_python = ROOT / ".venv" / "bin" / "python"
        if venv_python.exists() and not os.environ.get("WB_BENCH_IN_VENV"):
            os.environ["WB_BENCH_IN_VENV"] = "1"  # never loop
            os.execv(str(venv_python), [str(venv_python), str(Path(__file__).resolve()), *sys.argv[1:]])
        raise SystemExit("The wb package isn't importable: run `./wb bench` (it sets up .venv) instead.")


_ensure_project_python()
sys.path.insert(0, str(HERE))

import load  # noqa: E402
import online  # noqa: E402
import seed  # noqa: E402
from wb.cli import default_workers  # noqa: E402

SCENARIOS = ("healthz", "poll", "badge", "list", "inbox", "thread", "older", "send")
EXPECTED_STATUS = {"healthz": 200, "poll": 204, "badge": 200, "list": 200, "inbox": 200, "thread": 200, "older": 200,
                   "send": 200}
DESCRIPTIONS = {
    "healthz": "GET /healthz (the floor: Flask itself)",
    "poll": "GET /messages/<id>/poll?after=<newest>&seen=<their last read> -> 204",
    "badge": "GET /messages/badge (drawn; the page asks only when the live channel says it changed)",
    "list": "GET /messages/list?active=0 (drawn; likewise)",
    "inbox": "GET /messages (full page)",
    "thread": "GET /messages/<id> of a long thread (full page, newest 50)",
    "older": "GET /messages/<id>?before=<cursor> (htmx partial, 50 older)",
    "send": "POST /messages/<id> body=... (htmx)",
}
TARGET_P95_MS = 50
TARGET_POLL_RATIO = 0.50
TARGET_SEND_RATIO = 0.25
TARGET_IDLE_CPU_RATIO = 1.3  # idle poll, badge and list: server CPU per request against /healthz's
TARGET_SCALE_RATIO = 1.5
TARGET_RSS_MB = 150
GENEROUS_LIMIT = "1000000 per minute"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="./wb bench", description="Seed, serve and load-test WhiteBalloon messaging.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--scale", choices=sorted(seed.SCALES), default="small")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--json", metavar="PATH", help="write the full results as JSON here")
    parser.add_argument("--duration", type=float, default=10, help="seconds measured per scenario and concurrency")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured seconds before each measurement")
    parser.add_argument("--concurrency", default="1,16", help="comma-separated connection counts")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated subset of " + ",".join(SCENARIOS)
                        + "; one listed again is measured again, and the idle CPU targets compare medians")
    parser.add_argument("--workers", type=int, default=default_workers(),
                        help="gunicorn worker processes (`./wb run`'s default: one per core, plus one)")
    parser.add_argument("--threads", type=int, default=1,
                        help="gunicorn threads per worker (`./wb run`'s default; more than 1 uses gthread workers)")
    parser.add_argument("--keep-alive", type=float, default=None, metavar="SECONDS",
                        help="serve with gunicorn's --keep-alive SECONDS instead of `./wb run`'s 0 (one request per "
                             "connection); the online scenario's tabs then keep their live channel's connection, as a "
                             "browser does")
    parser.add_argument("--worker-class", choices=("gevent", "sync", "gthread"),
                        help="gunicorn's worker class (default: `./wb run`'s, gevent unless --threads is above 1)")
    parser.add_argument("--sessions", type=int, default=200, help="members signed in and rotated through")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432",
                        help="PostgreSQL server (its 'postgres' database is used to create and drop bench databases)")
    parser.add_argument("--limiter-storage", default="database://",
                        help="rate-limit storage for the server: database:// (wb run's default) or a redis:// URL")
    parser.add_argument("--baseline", metavar="JSON", help="an earlier result (e.g. small scale) to compare p95 against")
    parser.add_argument("--keep", action="store_true", help="keep the instance folder and databases (prints how to reuse them)")
    parser.add_argument("--reuse", metavar="RUN_DIR", help="skip seeding: reuse a run folder kept with --keep")
    parser.add_argument("--seed", type=int, default=6, help="random seed for the generated community")
    parser.add_argument("--online", metavar="N,N", help="run the online scenario instead (benchmarks/online.py): "
                        "N members each with an open inbox tab, for each N given")
    parser.add_argument("--servers", type=int, default=1, help="the online scenario on this many servers sharing the "
                        "databases (and --limiter-storage): each tab on one of them, in turn")
    parser.add_argument("--online-idle", type=float, default=60, help="seconds of the online scenario's idle phase")
    parser.add_argument("--online-active", type=float, default=120, help="seconds of its phase with sends")
    args = parser.parse_args(argv)
    args.concurrency = [int(c) for c in args.concurrency.split(",") if c.strip()]
    args.online = [int(n) for n in args.online.split(",") if n.strip()] if args.online else []
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if "healthz" not in args.scenarios:
        args.scenarios.insert(0, "healthz")  # every ratio is against it
    return args


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- databases -----------------------------------------------------------------------


def psql(base_url: str, sql: str) -> None:
    subprocess.run(["psql", f"{base_url}/postgres", "-v", "ON_ERROR_STOP=1", "-qAtc", sql], check=True,
                   stdout=subprocess.DEVNULL)


class Bench:
    def __init__(self, args):
        self.args = args
        self.started = datetime.now(timezone.utc)
        self.created_databases: list[str] = []
        self.server: load.Server | None = None
        self.app = None
        if args.reuse:
            self.run_dir = Path(args.reuse).resolve()
            self.manifest = json.loads((self.run_dir / "manifest.json").read_text())
            if self.manifest["scale"] != args.scale or self.manifest["db"] != args.db:
                raise SystemExit(f"{self.run_dir} holds {self.manifest['scale']}/{self.manifest['db']}, not {args.scale}/{args.db}")
        else:
            stamp = self.started.strftime("%Y%m%d-%H%M%S")
            self.run_dir = HERE / "results" / f"run-{args.scale}-{args.db}-{stamp}-{os.getpid()}"
            self.run_dir.mkdir(parents=True)
            self.manifest = {"scale": args.scale, "db": args.db}
        self.instance = self.run_dir / "instance"

    # -- set-up

    def database_urls(self) -> tuple[str, str]:
        if self.args.db == "sqlite":
            return f"sqlite:///{self.instance / 'wb.sqlite3'}", f"sqlite:///{self.instance / 'messaging.sqlite3'}"
        names = self.manifest.setdefault(
            "pg_databases", [f"bench_{os.getpid()}_{int(time.time())}_main", f"bench_{os.getpid()}_{int(time.time())}_messaging"]
        )
        return tuple(f"{self.args.pg_url}/{name}" for name in names)

    def create_databases(self) -> None:
        if self.args.db == "postgres":
            for name in self.manifest["pg_databases"]:
                psql(self.args.pg_url, f"CREATE DATABASE {name}")
                self.created_databases.append(name)

    def make_app(self):
        from wb import create_app

        main_url, messaging_url = self.database_urls()
        self.instance.mkdir(parents=True, exist_ok=True)
        self.app = create_app({
            "INSTANCE_PATH": str(self.instance),
            "SQLALCHEMY_DATABASE_URI": main_url,
            "MESSAGING_DATABASE_URI": messaging_url,
            "RATELIMIT_STORAGE_URI": "memory://",
        })

    @contextmanager
    def app_context(self):
        """An app context whose session is removed (no read transaction left open) at the end."""
        from wb.extensions import db

        with self.app.app_context():
            try:
                yield db
            finally:
                db.session.remove()

    def prepare(self) -> None:
        if self.args.reuse:
            log(f"Reusing {self.run_dir} ({self.manifest['scale']}, {self.manifest['db']})")
            self.created_databases = list(self.manifest.get("pg_databases", []))
            self.make_app()
            return
        self.database_urls()
        self.create_databases()
        self.make_app()
        from wb import flags
        from wb.database import upgrade

        log(f"Creating the databases with the app's migrations in {self.instance}")
        with self.app_context():
            upgrade()
            flags.ensure_flags()
        log(f"Seeding the {self.args.scale} community ({self.args.db}):")
        result = seed.seed(self.app, self.args.scale, self.args.seed)
        with self.app_context():
            flags.set_flag("direct_messaging", True)
        self.manifest["seed"] = vars(result)
        (self.run_dir / "manifest.json").write_text(json.dumps(self.manifest, indent=2))
        log(f"Seeded {result.members:,} members, {result.conversations:,} conversations, "
            f"{result.messages:,} messages in {result.seconds:.0f} s")

    def start_server(self) -> None:
        main_url, messaging_url = self.database_urls()
        self.storage = self.args.limiter_storage
        env = {
            "WB_INSTANCE_PATH": str(self.instance),
            "WB_DATABASE_URL": main_url,
            "WB_MESSAGING_DATABASE_URL": messaging_url,
            "WB_RATELIMIT_STORAGE_URL": self.storage,
            # Limits would answer 429 to a load generator; the benchmark measures serving.
            "WB_MESSAGE_RATE_LIMIT": GENEROUS_LIMIT,
            "WB_NEW_CONVERSATION_RATE_LIMIT": GENEROUS_LIMIT,
            "WB_LOGIN_RATE_LIMIT": GENEROUS_LIMIT,
        }
        if self.args.online:
            env["GUNICORN_CMD_ARGS"] = f"--access-logformat '{online.ACCESS_LOG_FORMAT}'"
        self.server_env = env
        self.server = load.Server(env, self.args.workers, self.args.threads, self.run_dir / "gunicorn.log",
                                  self.args.worker_class, self.args.keep_alive)
        self.server.start()
        log(f"gunicorn: {self.args.workers} {self.server.worker_class} workers x {self.args.threads} thread(s) on {self.server.url} "
            f"(workers {self.server.worker_pids()}, limiter storage {self.storage})")

    # -- sessions and targets

    def sign_in(self) -> None:
        from wb.messaging.models import Conversation

        seeded = self.manifest["seed"]
        with self.app_context() as db:
            long_pairs = db.session.execute(
                db.select(Conversation.user_low_id, Conversation.user_high_id)
                .where(Conversation.id.in_(seeded["long_thread_ids"]))
            ).all()
        wanted = list(dict.fromkeys([*seeded["hub_ids"], *(member for pair in long_pairs for member in pair)]))
        rng = random.Random(self.args.seed)
        others = [m for m in range(1, seeded["members"] + 1) if m not in set(wanted)]
        rng.shuffle(others)
        wanted = (wanted + others)[: max(self.args.sessions, 1)]
        members = [(m, f"member{m:05d}") for m in wanted]
        started = time.perf_counter()
        self.sessions = load.sign_in_many(self.server.url, members, seed.PASSWORD)
        log(f"Signed in {len(self.sessions)} members over HTTP in {time.perf_counter() - started:.1f} s")

    def targets(self, scenario: str) -> list[tuple]:
        """Request lines for wrk: (method, path, cookie, csrf, kind, hx), read from the current data."""
        from wb.messaging.models import ConversationMembership as CM, Message

        rng = random.Random(f"{self.args.seed}-{scenario}")
        by_id = {s.user_id: s for s in self.sessions}
        long_ids = set(self.manifest["seed"]["long_thread_ids"])

        def line(session, method, path, kind="", hx=False):
            return (method, path, session.cookie if session else "", session.csrf if session and method == "POST" else "",
                    kind, "hx" if hx else "")

        with self.app_context() as db:
            mine = db.session.execute(
                db.select(CM.user_id, CM.conversation_id).where(CM.user_id.in_(list(by_id)))
            ).all()
            conversations: dict[int, list[int]] = {}
            for user_id, conversation_id in mine:
                conversations.setdefault(user_id, []).append(conversation_id)
            if scenario == "healthz":
                return [("GET", "/healthz", "", "", "", "")]
            if scenario == "list":
                return [line(s, "GET", "/messages/list?active=0", hx=True) for s in self.sessions]
            if scenario == "badge":
                return [line(s, "GET", "/messages/badge") for s in self.sessions]
            if scenario == "inbox":
                return [line(s, "GET", "/messages") for s in self.sessions]
            if scenario in ("poll", "send"):
                picks = [(s, cid) for s in self.sessions
                         for cid in rng.sample(sorted(conversations.get(s.user_id, [])), min(3, len(conversations.get(s.user_id, []))))]
                if scenario == "send":
                    return [line(s, "POST", f"/messages/{cid}", kind="send", hx=True) for s, cid in picks]
                rows = {
                    (r.conversation_id, r.user_id): r
                    for r in db.session.scalars(db.select(CM).where(CM.conversation_id.in_([cid for _, cid in picks])))
                }
                lines = []
                for s, cid in picks:
                    me = rows[(cid, s.user_id)]
                    them = rows[(cid, me.other_user_id)]
                    lines.append(line(s, "GET", f"/messages/{cid}/poll?after={me.last_message_id or 0}"
                                                f"&seen={them.last_read_message_id or 0}"))
                return lines
            # thread and older: the members of the long threads
            in_long = [(s, cid) for s in self.sessions for cid in conversations.get(s.user_id, []) if cid in long_ids]
            if scenario == "thread":
                return [line(s, "GET", f"/messages/{cid}") for s, cid in in_long]
            lines = []
            per_page = self.app.config["MESSAGES_PER_PAGE"]
            for s, cid in in_long:
                ids = list(db.session.scalars(db.select(Message.id).where(Message.conversation_id == cid).order_by(Message.id)))
                for cursor in rng.sample(ids[per_page:], min(5, len(ids) - per_page)):
                    lines.append(line(s, "GET", f"/messages/{cid}?before={cursor}", hx=True))
            return lines

    def message_count(self) -> int:
        from wb.messaging.models import Message

        with self.app_context() as db:
            return db.session.scalar(db.select(db.func.count()).select_from(Message))

    def reconcile_check(self, lines) -> list[str]:
        """Dry-run reconcile on every conversation the sends touched: metadata must already agree."""
        from wb.messaging import reconcile
        from wb.messaging.models import Conversation

        ids = sorted({int(path.split("/")[2]) for _, path, *_ in lines})
        with self.app_context() as db:
            conversations = list(db.session.scalars(db.select(Conversation).where(Conversation.id.in_(ids))))
            return reconcile.reconcile_conversations(conversations, dry_run=True)

    # -- measuring

    def measure(self) -> list[dict]:
        results = []
        for scenario in self.args.scenarios:
            lines = self.targets(scenario)
            if not lines:
                log(f"  {scenario}: no targets at this scale, skipped")
                continue
            status, set_cookie = load.probe(self.server.url, lines[0])
            if status != EXPECTED_STATUS[scenario]:
                raise RuntimeError(f"{scenario}: probe of {lines[0][1]} answered {status}, expected {EXPECTED_STATUS[scenario]}")
            for connections in self.args.concurrency:
                results.append(self.measure_one(scenario, lines, connections, set_cookie))
        return results

    def measure_one(self, scenario, lines, connections, set_cookie) -> dict:
        workdir = self.run_dir
        if self.args.warmup > 0:
            load.run_wrk(self.server.url, lines, connections, self.args.warmup, workdir)
            time.sleep(0.5)  # let requests wrk abandoned at the warm-up deadline finish
        before_messages = self.message_count() if scenario == "send" else None
        load_before = os.getloadavg()[0]
        server_cpu, per_worker = self.server.cpu_seconds(), self.server.cpu_by_worker()
        wrk = load.run_wrk(self.server.url, lines, connections, self.args.duration, workdir)
        server_cpu = self.server.cpu_seconds() - server_cpu
        per_worker = {pid: seconds - per_worker.get(pid, 0.0) for pid, seconds in self.server.cpu_by_worker().items()}
        seconds = wrk["duration_us"] / 1e6
        status = wrk["status"]
        socket_errors = sum(v for k, v in wrk["errors"].items() if k != "status")
        result = {
            "scenario": scenario,
            "concurrency": connections,
            "targets": len(lines),
            "requests": wrk["requests"],
            "rps": round(wrk["requests"] / seconds, 1),
            "p50_ms": wrk["latency_us"]["p50"] / 1000,
            "p95_ms": wrk["latency_us"]["p95"] / 1000,
            "p99_ms": wrk["latency_us"]["p99"] / 1000,
            "max_ms": wrk["latency_us"]["max"] / 1000,
            "status": status,
            "errors": status["3xx"] + status["4xx"] + status["5xx"] + socket_errors,
            "socket_errors": wrk["errors"],
            "sets_cookie": set_cookie,
            # Server CPU per request barely depends on what else the machine runs: the steadier number.
            "server_cpu_ms_per_request": round(1000 * server_cpu / max(wrk["requests"], 1), 3),
            "wrk_cpu_pct": round(100 * wrk["wrk_cpu_seconds"] / seconds, 1),
            "server_cpu_pct": round(100 * server_cpu / seconds, 1),
            # how evenly the kernel spread wrk's keep-alive connections over the workers
            "worker_cpu_pct": [round(100 * cpu / seconds, 1) for cpu in per_worker.values()],
            "load_before": round(load_before, 2),
            "workers": self.server.memory(),
        }
        if scenario == "send":
            time.sleep(1)  # requests wrk abandoned at the deadline finish on the server
            stored = self.message_count() - before_messages
            acknowledged = status["2xx"]
            drift = self.reconcile_check(lines)
            result["sends"] = {
                "acknowledged": acknowledged,
                "stored": stored,
                # wrk stops with up to one request per connection in flight; those may be stored unacknowledged
                "unacknowledged_in_flight": stored - acknowledged,
                "all_acknowledged_stored": acknowledged <= stored <= acknowledged + connections,
                "metadata_drift": drift[:10],
            }
            if not result["sends"]["all_acknowledged_stored"] or drift:
                result["errors"] += max(acknowledged - stored, 0) + len(drift)
        log(f"  {scenario:<8} c={connections:<3} {result['rps']:8.1f} req/s  p50 {result['p50_ms']:7.2f}  "
            f"p95 {result['p95_ms']:7.2f}  p99 {result['p99_ms']:7.2f} ms  errors {result['errors']}  "
            f"(server {result['server_cpu_ms_per_request']} ms CPU/req; wrk CPU {result['wrk_cpu_pct']}%, "
            f"server CPU {result['server_cpu_pct']}% = workers {result['worker_cpu_pct']}, load {load_before:.2f})")
        return result

    # -- reporting

    def run_online(self) -> dict:
        """The online scenario for each N: members with open inbox tabs, sending now and then."""
        from wb.messaging.models import ConversationMembership as CM

        self.prepare()
        self.start_server()
        servers = [self.server]
        for _ in range(self.args.servers - 1):
            servers.append(load.Server(self.server_env, self.args.workers, self.args.threads,
                                       self.run_dir / f"gunicorn-{len(servers) + 1}.log", self.args.worker_class,
                                       self.args.keep_alive))
            servers[-1].start()
            log(f"another gunicorn on {servers[-1].url} (workers {servers[-1].worker_pids()})")
        results = []
        try:
            for n in self.args.online:
                with self.app_context() as db:
                    rows = db.session.execute(db.select(CM.user_id, CM.conversation_id, CM.other_user_id)
                                              .where(CM.last_message_id.is_not(None))
                                              .order_by(CM.user_id, CM.last_activity_at.desc())).all()
                partners: dict[int, list] = {}
                for user_id, conversation_id, other in rows:
                    partners.setdefault(user_id, []).append((conversation_id, other))
                online_ids = online.connected_members(partners, n)
                partners = {m: [(c, o) for c, o in partners[m] if o in online_ids] for m in online_ids}
                members = [(m, f"member{m:05d}") for m in online_ids if partners[m]]
                self.sessions = load.sign_in_many(self.server.url, members, seed.PASSWORD)
                log(f"Online: {len(self.sessions)} tabs, {self.args.online_idle:g} s idle, then "
                    f"{self.args.online_active:g} s with a send per member every 2 minutes on average")
                load_before = [round(x, 2) for x in os.getloadavg()]
                result = online.simulate(servers, self.sessions, partners, self.args.online_idle, self.args.online_active,
                                         keep_connection=self.args.keep_alive is not None)
                result["load_average"] = {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]}
                log(json.dumps(result))
                results.append(result)
        finally:
            for server in servers:
                server.stop()
        report = {"benchmark": "whiteballoon-online", "started_at": self.started.isoformat(timespec="seconds"),
                  "scale": self.args.scale, "db": self.args.db, "limiter_storage": self.storage,
                  "server": {"servers": self.args.servers, "workers": self.args.workers,
                             "worker_class": self.server.worker_class},
                  "machine": machine(self.args.db, self.args.pg_url), "results": results}
        print(json.dumps(report, indent=2))
        return report

    def run(self) -> dict:
        if self.args.online:
            return self.run_online()
        load.require_wrk()
        self.prepare()
        self.start_server()
        try:
            self.sign_in()
            log(f"Measuring {len(self.args.scenarios)} scenarios x concurrency {self.args.concurrency}, "
                f"{self.args.duration:g} s each after {self.args.warmup:g} s warm-up:")
            results = self.measure()
            workers = self.server.memory()
        finally:
            self.server.stop()
        report = self.report(results, workers)
        return report

    def report(self, results, workers) -> dict:
        floor = {r["concurrency"]: r["rps"] for r in results if r["scenario"] == "healthz"}
        for r in results:
            r["vs_healthz"] = round(r["rps"] / floor[r["concurrency"]], 3) if floor.get(r["concurrency"]) else None
        baseline = json.loads(Path(self.args.baseline).read_text()) if self.args.baseline else None
        if baseline:
            old = {(r["scenario"], r["concurrency"]): r for r in baseline["results"]}
            for r in results:
                before = old.get((r["scenario"], r["concurrency"]))
                if before and before["p95_ms"]:
                    r["p95_vs_baseline"] = round(r["p95_ms"] / before["p95_ms"], 2)
        report = {
            "benchmark": "whiteballoon-messaging",
            "started_at": self.started.isoformat(timespec="seconds"),
            "scale": self.args.scale,
            "db": self.args.db,
            "seed": self.manifest["seed"],
            "server": {"workers": self.args.workers, "threads": self.args.threads, "worker_class": self.server.worker_class,
                       "command": " ".join(self.server.command[2:]), "limiter_storage": self.storage,
                       "peak_rss_mb": [w["peak_rss_mb"] for w in workers]},
            "load_generator": "wrk -t1 (one thread), Lua script benchmarks/wrk.lua rotating sessions and targets",
            "sessions": len(self.sessions),
            "duration_s": self.args.duration,
            "warmup_s": self.args.warmup,
            "machine": machine(self.args.db, self.args.pg_url),
            "baseline": self.args.baseline,
            "results": results,
        }
        report["targets"] = evaluate(report)
        print_report(report)
        return report

    # -- clean-up

    def cleanup(self, failed: bool) -> None:
        if self.server is not None:
            self.server.stop()
        if self.app is not None:
            from wb.extensions import db

            with self.app.app_context():
                for engine in db.engines.values():
                    engine.dispose()
        if self.args.keep or self.args.reuse:
            if not self.args.reuse:
                log(f"Kept {self.run_dir}; rerun without seeding: ./wb bench --scale {self.args.scale} "
                    f"--db {self.args.db} --reuse {self.run_dir}")
            return
        if failed and (self.run_dir / "gunicorn.log").exists():
            tail = (self.run_dir / "gunicorn.log").read_text(errors="replace").splitlines()[-30:]
            log("gunicorn log (last lines):\n" + "\n".join(tail))
        for name in self.created_databases:
            try:
                psql(self.args.pg_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            except subprocess.CalledProcessError:
                log(f"could not drop database {name}")
        shutil.rmtree(self.run_dir, ignore_errors=True)


def machine(db_kind: str, pg_url: str) -> dict:
    import sqlite3

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")))
    info = {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
    }
    if db_kind == "postgres":
        try:
            info["postgresql"] = subprocess.run(["psql", f"{pg_url}/postgres", "-Atc", "SHOW server_version"],
                                                capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            pass
    return info


def evaluate(report) -> list[dict]:
    """The issue's targets, checked at the highest concurrency measured."""
    results = report["results"]
    top = max(r["concurrency"] for r in results)
    at_top = {r["scenario"]: r for r in results if r["concurrency"] == top}
    checks = []
    for name, r in at_top.items():
        checks.append({"target": f"{name} p95 < {TARGET_P95_MS} ms (c={top})", "value": r["p95_ms"],
                       "ok": r["p95_ms"] < TARGET_P95_MS})
    for name, want in (("poll", TARGET_POLL_RATIO), ("send", TARGET_SEND_RATIO)):
        if name in at_top:
            checks.append({"target": f"{name} >= {want:.0%} of /healthz throughput (c={top})",
                           "value": at_top[name]["vs_healthz"], "ok": at_top[name]["vs_healthz"] >= want})
    # A scenario listed more than once (healthz,badge,...,healthz,badge,...) is measured in rounds
    # spread over the run, and compared by its median: the machine drifts by several percent.
    cpu_at_top = {}
    for r in results:
        if r["concurrency"] == top:
            cpu_at_top.setdefault(r["scenario"], []).append(r["server_cpu_ms_per_request"])
    floor_cpu = statistics.median(cpu_at_top["healthz"]) if "healthz" in cpu_at_top else None
    for name in ("poll", "badge", "list"):
        if name in at_top and floor_cpu:
            ratio = round(statistics.median(cpu_at_top[name]) / floor_cpu, 2)
            checks.append({"target": f"idle {name} CPU/request <= {TARGET_IDLE_CPU_RATIO}x /healthz's (c={top})",
                           "value": ratio, "ok": ratio <= TARGET_IDLE_CPU_RATIO})
    errors = sum(r["errors"] for r in results)
    checks.append({"target": "no errors (non-2xx, socket errors, unstored sends)", "value": errors, "ok": errors == 0})
    peak = max(report["server"]["peak_rss_mb"])
    checks.append({"target": f"peak RSS per worker < {TARGET_RSS_MB} MB", "value": peak, "ok": peak < TARGET_RSS_MB})
    for name, r in at_top.items():
        if "p95_vs_baseline" in r:
            checks.append({"target": f"{name} p95 within {TARGET_SCALE_RATIO}x of baseline (c={top})",
                           "value": r["p95_vs_baseline"], "ok": r["p95_vs_baseline"] <= TARGET_SCALE_RATIO})
    return checks


def print_report(report) -> None:
    seeded = report["seed"]
    server = report["server"]
    print()
    print(f"WhiteBalloon messaging benchmark: {report['scale']} scale on {report['db']} "
          f"({seeded['members']:,} members, {seeded['conversations']:,} conversations, {seeded['messages']:,} messages)")
    print(f"gunicorn {server['workers']} {server['worker_class']} workers x {server['threads']} thread(s) (`./wb run`'s command line); "
          f"{report['sessions']} signed-in members; {report['duration_s']:g} s per row; "
          f"{report['machine']['cores']} cores, {report['machine']['cpu']}")
    has_baseline = any("p95_vs_baseline" in r for r in report["results"])
    header = (f"{'scenario':<9}{'conc':>5}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"
              f"{'vs healthz':>12}{'CPU/req':>9}{'wrk CPU':>9}{'srv CPU':>9}" + (f"{'p95/base':>10}" if has_baseline else ""))
    print(header)
    print("-" * len(header))
    for r in report["results"]:
        row = (f"{r['scenario']:<9}{r['concurrency']:>5}{r['rps']:>9.1f}{r['p50_ms']:>9.2f}{r['p95_ms']:>9.2f}"
               f"{r['p99_ms']:>9.2f}{r['errors']:>8}{r['vs_healthz']:>11.0%} {r['server_cpu_ms_per_request']:>6.2f}ms"
               f"{r['wrk_cpu_pct']:>8.0f}%{r['server_cpu_pct']:>8.0f}%")
        if has_baseline:
            row += f"{r['p95_vs_baseline']:>9.2f}x" if "p95_vs_baseline" in r else f"{'':>10}"
        print(row)
    print(f"Peak RSS per worker (VmHWM): {', '.join(f'{mb:.0f} MB' for mb in server['peak_rss_mb'])}")
    for r in report["results"]:
        if "sends" in r:
            s = r["sends"]
            print(f"send c={r['concurrency']}: {s['acknowledged']:,} acknowledged, {s['stored']:,} stored "
                  f"({s['unacknowledged_in_flight']} in flight at the deadline); metadata drift: {len(s['metadata_drift'])}")
    print("CPU/req: gunicorn CPU time per request. wrk runs one thread; 'wrk CPU' is its share of one core, "
          f"'srv CPU' gunicorn's across all cores ({report['machine']['cores']} cores = {report['machine']['cores'] * 100}%).")
    print("Targets:")
    for check in report["targets"]:
        print(f"  [{'ok' if check['ok'] else 'MISS'}] {check['target']}: {check['value']}")


def main(argv=None) -> int:
    args = parse_args(argv)
    bench = Bench(args)
    failed = True
    try:
        report = bench.run()
        failed = False
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        bench.cleanup(failed)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2))
        print(f"Results written to {args.json}")
    return 0 if all(check["ok"] for check in report.get("targets", [])) else 1


if __name__ == "__main__":
    sys.exit(main())
