"""Time per call of an ``update`` through ``mockattr.intercept()`` against the plugin's loopback server,
in one run (issue 15's target: intercept at least 3x faster per call).

    .venv/bin/python bench/intercept.py [--calls 2000] [--rounds 3]

Both use one requests.Session and the same body; the best round of each is printed (wall time per call,
the client's and the app's work together, all in this one process).
"""

from __future__ import annotations

import argparse
import time

import requests

import mockattr
from mockattr.server.app import create_app
from mockattr.serving.werkzeug_server import start_background

ADAM = "cus_de305d54-75b4-431b-adb2-eb6b9e546012"
PATH = f"/v1/customers/{ADAM}/attributes/custom"
BODY = {"custom": {"age": 8, "channel": "x"}}


def per_call(session: requests.Session, url: str, calls: int) -> float:
    """Microseconds per ``update`` call."""
    started = time.perf_counter()
    for _ in range(calls):
        answer = session.put(url, json=BODY, auth=("bench", ""), timeout=10)
        assert answer.status_code == 200, answer.text
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    server = start_background(create_app())
    served, intercepted = [], []
    try:
        for _ in range(args.rounds):
            served.append(per_call(requests.Session(), server.url + "/chartmogul" + PATH, args.calls))
            with mockattr.intercept():
                intercepted.append(per_call(requests.Session(), "https://api.chartmogul.com" + PATH, args.calls))
    finally:
        server.stop()
    best_served, best_intercepted = min(served), min(intercepted)
    print("| path | update µs/call (best of rounds) |")
    print("| --- | ---: |")
    print(f"| plugin's loopback server | {best_served:.0f} |")
    print(f"| intercept() | {best_intercepted:.0f} |")
    print(f"ratio: intercept() is {best_served / best_intercepted:.2f}x the speed of the loopback server")


if __name__ == "__main__":
    main()
