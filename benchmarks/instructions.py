#!/usr/bin/env python3
"""What a message costs the app, counted in instructions: repeatable where CPU time moves by a tenth.

    ./wb bench --scale large --keep                       # seed once and keep the run folder
    python benchmarks/instructions.py RUN_DIR             # instructions per round, under callgrind

A round (--round message, the default) is what the online benchmark's sender does in-process:
pick a conversation in the inbox list (its thread pane), then send into it with the thread's
cursors and the list along, as the inbox page sends (the answer brings the message and the list).
--round ask is an idle tab's live ask with nothing new (answered at once: the hold's wait is
gevent's, not counted here); --round answer is the live answer a message brings another tab of
the member (its event, and the list along). The script runs itself twice under
valgrind's callgrind (Debian's valgrind), with --rounds and with a few rounds, each after the same
warm-up, and prints the difference per round: start-up and warm-up cancel out. Copies of the run
folder's databases are used and thrown away, so the kept community does not grow. Compare two
versions of the code by running it in each checkout (or with PYTHONPATH=<checkout>/src). Counting
under callgrind is slow: about a minute per run of 60 rounds, plus start-up.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402  (re-executes with .venv's Python when needed)

WARM_UP = 40
FEW = 10
COLLECTED = re.compile(r"Collected : (\d+)")
ROUNDS = {"message": "a thread pane and a send into it, the list along",
          "ask": "a live ask with nothing new, answered at once",
          "answer": "a live answer with a message from another tab, the list along"}


def rounds(run_dir: str, count: int, kind: str = "message") -> None:
    """WARM_UP rounds, then count rounds (what callgrind counts, with start-up)."""
    from profile_scenario import signed_in_client
    from wb.messaging.models import Conversation

    manifest = json.loads((Path(run_dir) / "manifest.json").read_text())
    bench = run.Bench(run.parse_args(["--scale", manifest["scale"], "--db", manifest["db"], "--reuse", run_dir]))
    bench.prepare()
    app = bench.app
    # Nothing left to chance: no pruning of old live events now and then (a large delete in one run
    # and not the other).
    app.config.update(LOGIN_RATE_LIMIT=run.GENEROUS_LIMIT, MESSAGE_RATE_LIMIT=run.GENEROUS_LIMIT, LIVE_PRUNE_CHANCE=0)
    with bench.app_context() as db:
        conversations = db.session.scalars(
            db.select(Conversation.id).where(Conversation.user_low_id == 1).order_by(Conversation.id).limit(3)).all()
    client = signed_in_client(app, "member00001")
    page = client.get("/messages").get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    headers = {"HX-Request": "true", "X-WB-Tab": "0123456789abcdef", "X-WB-List": "page=1"}

    def one(number):
        conversation_id = conversations[number % len(conversations)]
        pane = client.get(f"/messages/{conversation_id}", headers={**headers, "HX-Target": "thread-pane"})
        cursors = re.search(r"poll\?(after=\d+)&amp;(seen=\d+)", pane.get_data(as_text=True))
        sent = client.post(f"/messages/{conversation_id}?{cursors.group(1)}&{cursors.group(2)}",
                           data={"body": f"counted {number}"},
                           headers={**headers, "X-CSRFToken": csrf, "Idempotency-Key": os.urandom(16).hex()})  # as app.js
        if sent.status_code != 200:
            raise SystemExit(f"the send answered {sent.status_code}")

    def ask(since):
        app.config["LIVE_HOLD_SECONDS"] = 0  # answered at once
        answer = client.get(f"/messages/live?since={since}", headers={
            "Accept": "application/json", "X-WB-Tab": "fedcba9876543210", "X-WB-List": f"page=1&active={conversations[0]}"})
        if answer.status_code != 200:
            raise SystemExit(f"the live channel answered {answer.status_code}")
        return answer.get_json()

    if kind == "message":
        for number in range(WARM_UP + count):
            one(number)
        return
    one(0)
    before = ask(0)["cursor"]
    one(1)  # a send from another tab: news for this tab, which moves its list
    since = before if kind == "answer" else ask(before)["cursor"]
    if (ask(since)["list"] is None) != (kind == "ask"):
        raise SystemExit(f"the {kind} round did not answer as expected")
    for _ in range(WARM_UP + count):
        ask(since)


def counted(run_dir: str, count: int, kind: str = "message") -> int:
    """Instructions callgrind counts for a run of count rounds, on a throwaway copy of run_dir."""
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed: sudo apt-get install valgrind")
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "run"
        shutil.copytree(run_dir, copy)
        manifest = json.loads((copy / "manifest.json").read_text())
        if manifest["db"] != "sqlite":
            raise SystemExit("instructions.py counts on a SQLite run folder (PostgreSQL's own work is in its server)")
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={scratch}/callgrind.out",
             sys.executable, str(Path(__file__).resolve()), str(copy), "--rounds", str(count), "--round", kind, "--inside"],
            capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})  # the same dict and set orders
        found = COLLECTED.search(done.stderr)
        if done.returncode != 0 or found is None:
            raise SystemExit(f"the counted run failed:\n{done.stderr[-2000:]}")
        return int(found.group(1))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", help="a SQLite run folder kept with ./wb bench --keep")
    parser.add_argument("--rounds", type=int, default=60, help="rounds in the longer run (the shorter has %d)" % FEW)
    parser.add_argument("--round", choices=sorted(ROUNDS), default="message", help="what a round is")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)  # the run callgrind counts
    args = parser.parse_args(argv)
    if args.inside:
        rounds(args.run_dir, args.rounds, args.round)
        return 0
    if args.rounds <= FEW:
        raise SystemExit(f"--rounds must be more than {FEW}")
    few, many = counted(args.run_dir, FEW, args.round), counted(args.run_dir, args.rounds, args.round)
    per_round = (many - few) / (args.rounds - FEW)
    print(f"{per_round / 1e6:.2f} million instructions per round ({ROUNDS[args.round]}); "
          f"{args.rounds} and {FEW} rounds after {WARM_UP} warm-up rounds")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
