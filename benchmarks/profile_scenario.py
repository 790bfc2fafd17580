#!/usr/bin/env python3
"""Where a scenario's CPU goes: replay its requests in-process under cProfile.

    ./wb bench --scale large --keep ...           # seed once and keep the run folder
    python benchmarks/profile_scenario.py RUN_DIR thread   # then profile one scenario against it

The requests are the benchmark's own (the same members, conversations and cursors),
sent through Flask's test client with a real signed-in session, so no server, socket
or load generator is in the picture: only the app's own work. Prints the CPU time per
request and the functions that take it. Timing lives here, never in the test suite.

With --direct, a GET scenario's requests are built once and handed to the WSGI app itself,
round after round beside /healthz, so not even the test client is in the numbers: the
app's own CPU per request and its ratio to /healthz's, medians of the rounds.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402  (re-executes with .venv's Python when needed)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", help="a run folder kept with ./wb bench --keep")
    parser.add_argument("scenario", choices=run.SCENARIOS)
    parser.add_argument("-n", "--requests", type=int, default=300)
    parser.add_argument("--top", type=int, default=35, help="functions shown")
    parser.add_argument("--sort", default="tottime", choices=("tottime", "cumulative"))
    parser.add_argument("--queries", action="store_true", help="also print the SQL one request runs")
    parser.add_argument("--save", metavar="PATH", help="also write the raw profile here (for pstats or snakeviz)")
    parser.add_argument("--direct", action="store_true",
                        help="time the WSGI app alone against /healthz (GET scenarios), no profile")
    parser.add_argument("--rounds", type=int, default=5, help="with --direct: rounds of -n requests each")
    args = parser.parse_args(argv)

    manifest = run.json.loads((Path(args.run_dir) / "manifest.json").read_text())
    bench = run.Bench(run.parse_args(["--scale", manifest["scale"], "--db", manifest["db"], "--reuse", args.run_dir]))
    bench.prepare()
    app = bench.app
    # As in the benchmark's server: limits would refuse a replay, which measures serving.
    app.config.update(MESSAGE_RATE_LIMIT=run.GENEROUS_LIMIT, NEW_CONVERSATION_RATE_LIMIT=run.GENEROUS_LIMIT,
                      LOGIN_RATE_LIMIT=run.GENEROUS_LIMIT)

    # Sign in through the login form, as the benchmark does over HTTP.
    from wb.messaging.models import Conversation

    seeded = manifest["seed"]
    clients = {}

    def client_for(user_id):
        if user_id not in clients:
            client = signed_in_client(app, f"member{user_id:05d}")
            home = client.get("/messages").get_data(as_text=True)
            csrf = home.split('name="csrf_token" value="', 1)[1].split('"', 1)[0] if 'name="csrf_token"' in home else ""
            clients[user_id] = (client, csrf)
        return clients[user_id]

    with bench.app_context() as db:
        pairs = db.session.execute(db.select(Conversation.user_low_id, Conversation.user_high_id)
                                   .where(Conversation.id.in_(seeded["long_thread_ids"]))).all()
    members = list(dict.fromkeys([*seeded["hub_ids"], *(m for pair in pairs for m in pair)]))[:40]

    class Session:
        """Stands in for a signed-in HTTP session: its "cookie" names the member it belongs to."""

        def __init__(self, user_id):
            self.user_id = user_id
            self.cookie = f"member-{user_id}"
            self.csrf = ""

    bench.sessions = [Session(m) for m in members]
    lines = bench.targets(args.scenario)
    if not lines:
        raise SystemExit(f"no {args.scenario} targets in {args.run_dir}")
    owners = [int(cookie.split("-", 1)[1]) if cookie else None for _method, _path, cookie, *_rest in lines]
    if args.direct and any(method != "GET" for method, *_rest in lines):
        raise SystemExit("--direct replays GET scenarios only (a replayed send would change the data)")

    def send(i):
        method, path, _cookie, _csrf, kind, hx = lines[i % len(lines)]
        owner = owners[i % len(lines)]
        client, csrf = client_for(owner) if owner else (app.test_client(), "")
        headers = {"HX-Request": "true"} if hx else {}
        if method == "POST":
            headers["X-CSRFToken"] = csrf
            answer = client.post(path, data={"body": f"profiled message {i}"}, headers=headers)
        else:
            answer = client.get(path, headers=headers)
        if answer.status_code != run.EXPECTED_STATUS[args.scenario]:
            raise SystemExit(f"{method} {path} answered {answer.status_code}")
        return len(answer.get_data())

    for i in range(min(len(lines), 40)):  # warm up: sign-ins, caches, compiled templates
        send(i)
    if args.direct:
        return time_directly(app, args, {"healthz": [("GET", "/healthz", None, False)],
                                         args.scenario: [(method, path, owners[i], hx)
                                                         for i, (method, path, _c, _t, _k, hx) in enumerate(lines[:200])]},
                             lambda owner: client_for(owner)[0])
    if args.queries:
        print_queries(bench, lambda: send(0))
    started = time.process_time()
    sizes = sum(send(i) for i in range(args.requests))
    plain = (time.process_time() - started) / args.requests * 1000
    profiler = cProfile.Profile()
    started = time.process_time()
    profiler.enable()
    for i in range(args.requests):
        send(i)
    profiler.disable()
    if args.save:
        profiler.dump_stats(args.save)
    profiled = (time.process_time() - started) / args.requests * 1000
    print(f"{args.scenario}: {plain:.2f} ms CPU per request ({profiled:.2f} ms under cProfile), "
          f"{sizes / args.requests / 1024:.1f} KB per answer, {args.requests} requests")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
    print(out.getvalue())
    return 0


def signed_in_client(app, username):
    """A test client signed in through the login form, as the benchmark signs in over HTTP."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = client.post("/login", data={"username": username, "password": run.seed.PASSWORD, "csrf_token": token})
    assert answer.status_code == 302, f"sign-in of {username} answered {answer.status_code}"
    return client


def time_directly(app, args, requests_by_name: dict, client_of) -> int:
    """CPU per request of the WSGI app called with prebuilt environs, in rounds; medians."""
    from werkzeug.test import EnvironBuilder

    environs = {}
    for name, requests in requests_by_name.items():
        environs[name] = []
        for _method, target, owner, hx in requests:
            path, _, query = target.partition("?")
            headers = {"HX-Request": "true"} if hx else {}
            if owner:
                headers["Cookie"] = f"session={client_of(owner).get_cookie('session').value}"
            environs[name].append(EnvironBuilder(path=path, query_string=query, headers=headers).get_environ())

    def start_response(status, headers, exc_info=None):
        statuses.add(status.split(" ", 1)[0])

    def call(environ):
        answer = app(dict(environ), start_response)
        for _chunk in answer:
            pass
        if hasattr(answer, "close"):
            answer.close()

    statuses = set()
    for batch in environs.values():  # warm up
        for environ in batch:
            call(environ)
    timings = {name: [] for name in environs}
    for _round in range(args.rounds):
        for name, batch in environs.items():
            statuses = set()
            started = time.process_time()
            for i in range(args.requests):
                call(batch[i % len(batch)])
            timings[name].append((time.process_time() - started) / args.requests * 1e6)
            wanted = str(run.EXPECTED_STATUS[name])
            if statuses != {wanted}:
                raise SystemExit(f"{name} answered {sorted(statuses)}, not {wanted}")
    medians = {name: sorted(values)[len(values) // 2] for name, values in timings.items()}
    for name, median in medians.items():
        print(f"{name}: {median:.1f} µs CPU per request, the app alone "
              f"(median of {args.rounds} rounds of {args.requests}; {min(timings[name]):.1f} at best)")
    print(f"{args.scenario} / healthz: {medians[args.scenario] / medians['healthz']:.2f}x")
    return 0


def print_queries(bench, request_once) -> None:
    """The statements one request sends to each database, in order."""
    from sqlalchemy import event

    from wb.extensions import db

    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((conn.engine.url.database, " ".join(statement.split())))

    with bench.app.app_context():
        engines = {db.engines[None], db.engines["messaging"]}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        request_once()
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)
    print(f"{len(seen)} statements:")
    for database, statement in seen:
        print(f"  [{Path(database or '').name or database}] {statement}")


if __name__ == "__main__":
    raise SystemExit(main())
