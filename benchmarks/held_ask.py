#!/usr/bin/env python3
"""What a held live ask costs the app, in-process under gevent: no gunicorn, no sockets.

    ./wb bench --scale large --keep                          # seed once and keep the run folder
    python benchmarks/held_ask.py RUN_DIR --hold 1 --tabs 50 # CPU per ask with 0.67-1 s holds
    python benchmarks/held_ask.py RUN_DIR --hold 0 --tabs 50 # the same asks answered at once

Each tab is a greenlet with a signed-in test client that asks GET /messages/live?since=<newest>
again as soon as it is answered (with --hold 0, after half a second). Nothing is sent, so every
held ask runs out. The difference between the two runs is what holding costs: the waiter, its
timer, the switches and the process's listener. Timing lives here, never in the test suite.
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402  (re-executes with .venv's Python when needed)
from profile_scenario import signed_in_client  # noqa: E402


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", help="a run folder kept with ./wb bench --keep")
    parser.add_argument("--hold", type=float, default=1.0, help="LIVE_HOLD_SECONDS (0: answered at once)")
    parser.add_argument("--tabs", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args(argv)

    manifest = run.json.loads((Path(args.run_dir) / "manifest.json").read_text())
    bench = run.Bench(run.parse_args(["--scale", manifest["scale"], "--db", manifest["db"], "--reuse", args.run_dir]))
    bench.prepare()
    app = bench.app
    app.config.update(LIVE_HOLD_SECONDS=args.hold, LOGIN_RATE_LIMIT=run.GENEROUS_LIMIT)

    clients = [signed_in_client(app, f"member{number:05d}") for number in range(1, args.tabs + 1)]
    cursor = re.search(r'data-live-cursor="(\d+)"', clients[0].get("/messages").get_data(as_text=True)).group(1)

    asks, waits = 0, []

    def tab(client, until):
        nonlocal asks
        while time.monotonic() < until:
            started = time.monotonic()
            answer = client.get(f"/messages/live?since={cursor}")
            if answer.status_code != 200:
                raise SystemExit(f"the live channel answered {answer.status_code}")
            waits.append(time.monotonic() - started)
            asks += 1
            if args.hold == 0:
                gevent.sleep(0.5)

    cpu_before = cpu_seconds()
    until = time.monotonic() + args.seconds
    gevent.joinall([gevent.spawn(tab, client, until) for client in clients], raise_error=True)
    cpu = cpu_seconds() - cpu_before
    print(f"hold {args.hold} s, {args.tabs} tabs, {args.seconds:.0f} s: {asks} asks, "
          f"{cpu / asks * 1000:.3f} ms CPU per ask, each answered in {statistics.median(waits):.2f} s (median)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
