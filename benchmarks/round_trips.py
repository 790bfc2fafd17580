#!/usr/bin/env python3
"""What one request waits for on PostgreSQL: its statements, transactions and socket waits, in order.

    ./wb bench --scale large --db postgres --keep             # seed once and keep the run folder
    python benchmarks/round_trips.py RUN_DIR send             # a send from the inbox, the list along
    python benchmarks/round_trips.py RUN_DIR pane             # picking a conversation (its thread pane)
    python benchmarks/round_trips.py RUN_DIR ask              # an idle tab's live ask, answered at once

Under gevent every wait on the database's socket hands the worker to its other requests, and on
a busy machine each costs a turn in the queue for a core: a request's waits, more than its
statements, set its latency there. The request runs in-process (a test client, rate limits in
the database as `./wb run` counts them) after ten of its kind, with psycopg's waits counted:
each line is a driver operation that waited on its socket and how many times (a statement
run in a transaction's first place also sends its BEGIN, so it waits twice). Counting only:
psycopg's wait is wrapped here, in the benchmark, never in the app.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402  (re-executes with .venv's Python when needed)

REQUESTS = ("send", "pane", "ask")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", help="a PostgreSQL run folder kept with ./wb bench --db postgres --keep")
    parser.add_argument("request", choices=REQUESTS)
    args = parser.parse_args(argv)

    import psycopg
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from profile_scenario import signed_in_client
    from wb import ratelimits
    from wb.messaging.models import Conversation

    manifest = json.loads((Path(args.run_dir) / "manifest.json").read_text())
    if manifest["db"] != "postgres":
        raise SystemExit("round trips are PostgreSQL's: keep a run with --db postgres")
    bench = run.Bench(run.parse_args(["--scale", manifest["scale"], "--db", manifest["db"], "--reuse", args.run_dir]))
    bench.prepare()
    app = bench.app
    app.config.update(LOGIN_RATE_LIMIT=run.GENEROUS_LIMIT, MESSAGE_RATE_LIMIT=run.GENEROUS_LIMIT, LIVE_PRUNE_CHANCE=0,
                      LIVE_HOLD_SECONDS=0, RATELIMIT_STORAGE_URI="database://")
    ratelimits.init_app(app)  # counted in the main database, as ./wb run counts them
    with bench.app_context() as db:
        conversations = db.session.scalars(db.select(Conversation.id).where(Conversation.user_low_id == 1)
                                           .order_by(Conversation.id).limit(3)).all()
    client = signed_in_client(app, "member00001")
    page = client.get("/messages").get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    headers = {"HX-Request": "true", "X-WB-Tab": "0123456789abcdef", "X-WB-List": "page=1"}

    recording, lines, waits = [False], [], []

    def database(connection):
        return "messaging" if (connection.engine.url.database or "").endswith("messaging") else "main"

    @event.listens_for(Engine, "before_cursor_execute")
    def statement(connection, _cursor, sql, _parameters, _context, _executemany):
        if recording[0]:
            lines.append(f"  [{database(connection)}] {' '.join(sql.split())[:100]}")

    wait = psycopg.Connection.wait

    def counted_wait(self, gen, *rest, **options):
        """psycopg's own wait, counting the times the operation waited on the socket."""
        if not recording[0]:
            return wait(self, gen, *rest, **options)
        caller = next((frame.name for frame in reversed(traceback.extract_stack()[:-1])
                       if frame.name in ("execute", "commit", "rollback", "executemany", "do_ping")), "?")

        def counting():
            times = 0
            try:
                ready = next(gen)
                while True:
                    times += 1
                    ready = gen.send((yield ready))
            except StopIteration as done:
                if times:
                    waits.append(times)
                    lines.append(f"      waited {times}x ({caller})")
                return done.value

        return wait(self, counting(), *rest, **options)

    psycopg.Connection.wait = counted_wait

    def pane(number):
        conversation_id = conversations[number % len(conversations)]
        answer = client.get(f"/messages/{conversation_id}", headers={**headers, "HX-Target": "thread-pane"})
        return conversation_id, re.search(r"poll\?(after=\d+)&amp;(seen=\d+)", answer.get_data(as_text=True))

    def send(number, record=False):
        conversation_id, cursors = pane(number)
        recording[0] = record
        answer = client.post(f"/messages/{conversation_id}?{cursors.group(1)}&{cursors.group(2)}",
                             data={"body": f"counted {number}"}, headers={**headers, "X-CSRFToken": csrf})
        recording[0] = False
        assert answer.status_code == 200, answer.status_code

    def ask(since):
        answer = client.get(f"/messages/live?since={since}", headers={
            "Accept": "application/json", "X-WB-Tab": "fedcba9876543210", "X-WB-List": f"page=1&active={conversations[0]}"})
        assert answer.status_code == 200, answer.status_code
        return answer.get_json()["cursor"]

    for number in range(10):  # warm-up: pools, compiled statements, psycopg's prepared ones
        send(number)
    if args.request == "send":
        send(10, record=True)
    elif args.request == "pane":
        recording[0] = True
        pane(10)
    else:
        cursor = ask(ask(0))
        recording[0] = True
        ask(cursor)
    recording[0] = False
    print("\n".join(lines))
    print(f"{args.request}: {len(waits)} driver operations waited on the socket, {sum(waits)} waits in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
