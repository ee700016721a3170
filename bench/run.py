"""Benchmark mockattr against a bare Flask app, Prism and WireMock, all measured in one run.

    python bench/run.py [--duration 10] [--connections 8] [--rounds 3] [--skip main,prism,wiremock,servers,growth]
                        [--quick] [--baseline DIR] [--serve-args "--workers 1"]

Needs `wrk` (Debian: apt-get install wrk); Prism and WireMock come from npm into bench/.node the first
time (Java 17 runs WireMock); the server comparison wants `pip install '.[bench]'` (gunicorn, granian).
Each target is started fresh, loaded from a separate wrk process over loopback for a fixed time, then
stopped. The main table runs its targets in turn, ``--rounds`` times, and reports medians: requests per
second, p50 and p99 latency, the server's peak memory (VmHWM of its process tree), its CPU time per
request, and the median of each round's ratio to the bare Flask ceiling, to Prism ``-m`` and to WireMock
with its defaults and with its journal off. Each peer runs in its default configuration and in its
fastest documented one (Prism with and without ``-m``; the WireMock jar with defaults and with
``--no-request-journal --disable-request-logging``), and mockattr with and without ``--no-journal``. Also: mockattr and
the ceiling on each candidate server, the pytest plugin's start-up (session start to first request
served) and per-test reset in fresh processes, and how `update` latency grows with the customers in a
tenant and with the number of tenants.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import logging
import os
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import requests

BENCH = Path(__file__).resolve().parent
NODE = BENCH / ".node"
ADAM = "cus_de305d54-75b4-431b-adb2-eb6b9e546012"
UPDATE_PATH = f"/v1/customers/{ADAM}/attributes/custom"
RETRIEVE_PATH = f"/v1/customers/{ADAM}/attributes"
UPDATE_BODY = {"custom": {"pro": True, "channel": {"value": "Twitter", "source": "integration2"}}}
ALTERNATING_BODIES = [{"custom": {"salesRep": "Alice"}}, {"custom": {"salesRep": "Bob"}}]
"""For the durable target: each request changes the world, so each is a committed SQLite write."""
AUTH = "Basic " + base64.b64encode(b"bench-key:").decode()
sys.path.insert(0, str(BENCH))
from apps import SERVERS  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{url}: nothing answered in {seconds}s")


def tree_sum(pid: int, read: Callable[[int], float]) -> float:
    """``read(pid)`` summed over a process and its descendants; a process that is gone, or whose figure
    cannot be read, counts 0."""
    total, pids = 0.0, [pid]
    while pids:
        current = pids.pop()
        try:
            total += read(current)
            pids += [int(child) for child in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
        except (OSError, IndexError, TypeError, ValueError):
            continue
    return total


def peak_kib(pid: int) -> float:
    """VmHWM: the process's peak resident memory."""
    return int(re.search(r"VmHWM:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())[1])


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time used so far by the process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk_script(method: str, body: dict | list[dict] | None, headers: dict[str, str]) -> Path:
    """A wrk script sending ``body``; given a list of bodies, it sends them in turn."""
    lines = [f'wrk.method = "{method}"']
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    if isinstance(body, list):
        texts = ", ".join(json.dumps(json.dumps(b)) for b in body)
        lines += [f"bodies = {{{texts}}}", "sent = 0", "request = function()", "  sent = sent + 1"]
        lines += ["  return wrk.format(nil, nil, nil, bodies[sent % #bodies + 1])", "end"]
    elif body is not None:
        lines.append(f"wrk.body = {json.dumps(json.dumps(body))}")
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text("\n".join(lines) + "\n")
    return script


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    peak_mib: float
    non_2xx: int
    cpu_ms: float
    """The server's CPU time (all its processes and threads) per request served: steadier than req/s on a
    shared machine, since time the server waits for a CPU is not counted."""


def median_of(results: list[Result]) -> Result:
    """One row for several rounds of one target: the median of each figure, the highest peak memory."""
    return Result(
        results[0].name,
        statistics.median(r.rps for r in results),
        statistics.median(r.p50_ms for r in results),
        statistics.median(r.p99_ms for r in results),
        max(r.peak_mib for r in results),
        sum(r.non_2xx for r in results),
        statistics.median(r.cpu_ms for r in results),
    )


def ratio_text(results: list[Result], bases: list[Result] | None) -> str:
    """The median of the per-round ratios of req/s (each round's own baseline), with their range."""
    if not bases:
        return "-"
    ratios = sorted(r.rps / b.rps for r, b in zip(results, bases, strict=True))
    spread = f" ({ratios[0]:.2f}-{ratios[-1]:.2f})" if len(ratios) > 1 else ""
    return f"{statistics.median(ratios):.2f}x{spread}"


def _ms(text: str) -> float:
    value, unit = float(re.match(r"([\d.]+)", text)[1]), re.search(r"(us|ms|s)$", text)[1]
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def load(
    name: str,
    url: str,
    method: str,
    body: dict | list[dict] | None,
    headers: dict[str, str],
    pid: int,
    duration: int,
    connections: int,
) -> Result:
    # one request first: a mockattr tenant is built on its first request, which is not what we measure
    first = body[0] if isinstance(body, list) else body
    requests.request(method, url, json=first, headers=headers, timeout=60)
    script = wrk_script(method, body, {"Content-Type": "application/json", **headers})
    cpu_before = tree_sum(pid, cpu_seconds)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    script.unlink()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out)[1])
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out)[1])
    non_2xx = int(m[1]) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    cpu_ms = (tree_sum(pid, cpu_seconds) - cpu_before) * 1000 / int(re.search(r"(\d+) requests in", out)[1])
    return Result(name, rps, p50, p99, tree_sum(pid, peak_kib) / 1024, non_2xx, cpu_ms)


class Target:
    """A server process to load, started fresh."""

    def __init__(
        self, command: list[str], url: str, ready_path: str = "/", env: dict | None = None, cwd: Path | None = None
    ) -> None:
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
        )
        self.url = url
        wait_until_up(url + ready_path, self.process)

    def stop(self) -> None:
        os.killpg(self.process.pid, 15)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)


SERVE_ARGS: list[str] = []
"""Options every ``mockattr serve`` target gets (``--serve-args``)."""


def mockattr_target(extra: list[str] | None = None, source: Path | None = None) -> Target:
    """``mockattr serve``; with ``source``, that checkout's code (another revision) instead of ours."""
    port = free_port()
    return Target(
        [sys.executable, "-m", "mockattr", "serve", "--port", str(port), *SERVE_ARGS, *(extra or [])],
        f"http://127.0.0.1:{port}",
        "/__mockattr/health",
        env={"PYTHONPATH": str(source)} if source else None,
        cwd=source,
    )


def app_target(server: str, app: str) -> Target:
    """``bench/apps.py``: the mockattr app or the bare-Flask ceiling on one of the servers compared."""
    port = free_port()
    return Target([sys.executable, str(BENCH / "apps.py"), server, app, str(port)], f"http://127.0.0.1:{port}")


def installed(server: str) -> bool:
    return server == "werkzeug" or importlib.util.find_spec(server) is not None


def compare_servers(duration: int, connections: int) -> list[tuple[str, Result, Result]]:
    """mockattr `update` and the bare-Flask ceiling on each server (those installed)."""
    rows = []
    for server in SERVERS:
        if not installed(server):
            print(f"({server} is not installed: pip install '.[bench]')", flush=True)
            continue
        mock = Load(server, partial(app_target, server, "mockattr"), "/chartmogul" + UPDATE_PATH, UPDATE_BODY)
        bare = Load(server, partial(app_target, server, "bare"), UPDATE_PATH, UPDATE_BODY, auth=False)
        rows.append((server, measure(mock, duration, connections), measure(bare, duration, connections)))
    return rows


def ensure_node_tools() -> None:
    if not (NODE / "node_modules" / ".bin" / "prism").exists() or not (NODE / "node_modules" / "wiremock").exists():
        print("installing Prism and WireMock from npm into bench/.node ...", flush=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                str(NODE),
                "--no-audit",
                "--no-fund",
                "@stoplight/prism-cli@5",
                "wiremock@3",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )


def prism_target(folder: Path, multiprocess: bool) -> Target:
    """Prism 5 mocking ``mockattr openapi --vendor chartmogul``'s document; ``multiprocess``: with ``-m``,
    its fastest documented configuration."""
    spec = folder / "chartmogul.openapi.json"
    spec.write_text(
        subprocess.run(
            [sys.executable, "-m", "mockattr", "openapi", "--vendor", "chartmogul"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    port = free_port()
    mode = ["-m"] if multiprocess else []
    return Target(
        [str(NODE / "node_modules" / ".bin" / "prism"), "mock", *mode, "-p", str(port), "-h", "127.0.0.1", str(spec)],
        f"http://127.0.0.1:{port}",
        RETRIEVE_PATH,
    )


def wiremock_target(folder: Path, body: dict, fastest: bool) -> Target:
    """The WireMock 3 jar itself (no npm wrapper) with one stub for the same path and body; ``fastest``:
    with its request journal and request logging off, its fastest documented configuration."""
    (folder / "mappings").mkdir(exist_ok=True)
    (folder / "mappings" / "update.json").write_text(
        json.dumps(
            {
                "request": {"method": "PUT", "url": UPDATE_PATH},
                "response": {"status": 200, "jsonBody": body, "headers": {"Content-Type": "application/json"}},
            }
        )
    )
    port = free_port()
    jar = next((NODE / "node_modules" / "wiremock").rglob("wiremock-standalone-*.jar"))
    quiet = ["--no-request-journal", "--disable-request-logging"] if fastest else []
    return Target(
        ["java", "-jar", str(jar), "--port", str(port), "--root-dir", str(folder), "--disable-banner", *quiet],
        f"http://127.0.0.1:{port}",
        "/__admin/mappings",
    )


def plugin_timings(samples: int) -> tuple[float, float]:
    """(ms from starting the plugin's server to the first request served, mean ms of the ``mockattr``
    fixture's per-test reset), done the way the plugin's fixtures do them."""
    from mockattr.server.app import create_app
    from mockattr.server.runtime import runtime_of
    from mockattr.serving.werkzeug_server import start_background
    from mockattr.testing.plugin import MockattrHandle

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # pytest captures it; here it would be printed
    started = time.perf_counter()
    app = create_app()
    server = start_background(app)
    requests.get(server.url + "/__mockattr/health", timeout=5)
    startup = (time.perf_counter() - started) * 1000
    handle = MockattrHandle(server.url)
    handle.runtime = runtime_of(app)
    requests.put(server.url + "/chartmogul" + UPDATE_PATH, json=UPDATE_BODY, headers={"Authorization": AUTH})
    durations = []
    for _ in range(samples):
        begun = time.perf_counter()
        handle.reset()
        durations.append((time.perf_counter() - begun) * 1000)
        requests.get(server.url + "/chartmogul" + RETRIEVE_PATH, headers={"Authorization": AUTH})  # a tenant to drop
    server.stop()
    return startup, statistics.mean(durations)


def print_medians(title: str, rounds: dict[str, list[Result]], bases: dict[str, list[Result] | None]) -> None:
    """A markdown table: each target's medians over its rounds, and its ratio to each of ``bases``."""
    columns = ["req/s", "p50 ms", "p99 ms", "peak MiB", "server CPU ms/req", *(f"vs {b}" for b in bases), "non-2xx"]
    print(f"| {title} | " + " | ".join(columns) + " |")
    print("| --- |" + " ---: |" * len(columns))
    for results in rounds.values():
        row = median_of(results)
        cells = [
            f"{row.rps:,.0f}",
            f"{row.p50_ms:.2f}",
            f"{row.p99_ms:.2f}",
            f"{row.peak_mib:.0f}",
            f"{row.cpu_ms:.2f}",
        ]
        cells += [ratio_text(results, base) for base in bases.values()] + [str(row.non_2xx)]
        print(f"| {row.name} | " + " | ".join(cells) + " |", flush=True)


PLUGIN_SAMPLES = 5


def plugin_sample() -> tuple[float, float]:
    """``plugin_timings`` in a fresh Python process, as a pytest session starts one."""
    out = subprocess.run(
        [sys.executable, __file__, "--plugin-sample"], capture_output=True, text=True, check=True
    ).stdout
    startup, reset = json.loads(out.strip().splitlines()[-1])
    return startup, reset


@dataclass
class Load:
    """One row of a table: a target to start fresh, and the requests to load it with."""

    name: str
    start: Callable[[], Target]
    path: str
    body: dict | list[dict] | None = None
    method: str = "PUT"
    auth: bool = True


def measure(load_spec: Load, d: int, c: int) -> Result:
    """Start ``load_spec``'s target, load it, stop it."""
    target = load_spec.start()
    headers = {"Authorization": AUTH} if load_spec.auth else {}
    try:
        return load(
            load_spec.name,
            target.url + load_spec.path,
            load_spec.method,
            load_spec.body,
            headers,
            target.process.pid,
            d,
            c,
        )
    finally:
        target.stop()


def in_rounds(loads: dict[str, Load], rounds: int, d: int, c: int) -> dict[str, list[Result]]:
    """Every load in turn, ``rounds`` times in the same order (so a slow spell of the machine falls on
    all of them): results by key, one per round."""
    results: dict[str, list[Result]] = {key: [] for key in loads}
    for number in range(1, rounds + 1):
        for key, spec in loads.items():
            result = measure(spec, d, c)
            results[key].append(result)
            print(f"round {number}: {spec.name}: {result.rps:,.0f} req/s, {result.cpu_ms:.2f} CPU ms/req", flush=True)
    print()
    return results


def seeded_target(count: int, state_file: Path | None) -> Target:
    """``mockattr serve`` with ``count`` extra ChartMogul customers seeded into every tenant."""
    target = mockattr_target(["--state-file", str(state_file)] if state_file else None)
    customers = [{"uuid": f"cus_bench_{n}", "name": f"c{n}"} for n in range(count)]
    seeded = requests.post(
        target.url + "/__mockattr/seed", params={"vendor": "chartmogul"}, json={"customers": customers}
    )
    seeded.raise_for_status()
    return target


def target_with_tenants(count: int) -> Target:
    """``mockattr serve`` after ``count`` tenants have each made a request."""
    target = mockattr_target()
    session = requests.Session()
    for n in range(count):
        key = base64.b64encode(f"tenant-{n}:".encode()).decode()
        session.get(target.url + "/chartmogul" + RETRIEVE_PATH, headers={"Authorization": f"Basic {key}"})
    return target


def growth_loads(sizes: list[int], tenants: list[int], folder: Path) -> dict[str, Load]:
    """`update` with N customers in the tenant (in memory, then with --state-file, where every request
    writes), and with N tenants on the server."""
    update = "/chartmogul" + UPDATE_PATH
    loads = {}
    for count in sizes:
        loads[f"memory-{count}"] = Load(
            f"update, {count:,} extra customers", partial(seeded_target, count, None), update, UPDATE_BODY
        )
    for count in sizes:
        loads[f"durable-{count}"] = Load(
            f"update, {count:,} extra customers, --state-file (every request writes)",
            lambda count=count: seeded_target(count, folder / f"growth-{count}-{time.monotonic_ns()}.db"),
            update,
            ALTERNATING_BODIES,
        )
    for count in tenants:
        loads[f"tenants-{count}"] = Load(
            f"update, {count:,} tenants", partial(target_with_tenants, count), update, UPDATE_BODY
        )
    return loads


def main_loads(folder: Path, skip: set[str], baseline: Path | None = None) -> dict[str, Load]:
    """The main table's targets, keyed as the ratios look them up (``flask``, ``prism``)."""
    probe = mockattr_target()
    answer = requests.put(probe.url + "/chartmogul" + UPDATE_PATH, json=UPDATE_BODY, headers={"Authorization": AUTH})
    stub_body = answer.json()  # what WireMock's stub answers
    probe.stop()
    update, retrieve = "/chartmogul" + UPDATE_PATH, "/chartmogul" + RETRIEVE_PATH
    loads = {
        "update": Load("mockattr update (PUT custom)", mockattr_target, update, UPDATE_BODY),
        "update two workers": Load(
            "mockattr update, --workers 2", partial(mockattr_target, ["--workers", "2"]), update, UPDATE_BODY
        ),
        "update no journal": Load(
            "mockattr update, --no-journal", partial(mockattr_target, ["--no-journal"]), update, UPDATE_BODY
        ),
        "retrieve": Load("mockattr retrieve (GET)", mockattr_target, retrieve, method="GET"),
        **(
            {
                "baseline update": Load(
                    f"baseline {baseline.name}: update", partial(mockattr_target, source=baseline), update, UPDATE_BODY
                ),
                "baseline retrieve": Load(
                    f"baseline {baseline.name}: retrieve",
                    partial(mockattr_target, source=baseline),
                    retrieve,
                    method="GET",
                ),
            }
            if baseline
            else {}
        ),
        "durable": Load(
            "mockattr update, --state-file (every request writes)",
            lambda: mockattr_target(["--state-file", str(folder / f"bench-{time.monotonic_ns()}.db")]),
            update,
            ALTERNATING_BODIES,
        ),
        "flask": Load(
            "bare Flask, constant JSON, same server",
            partial(app_target, "uvicorn", "bare"),
            UPDATE_PATH,
            UPDATE_BODY,
            auth=False,
        ),
    }
    prism, wiremock = partial(prism_target, folder), partial(wiremock_target, folder, stub_body)
    peers = [  # each peer with its defaults, then in its fastest documented configuration
        ("prism", "prism default", "Prism 5 mock of the same operation, defaults", partial(prism, False)),
        ("prism", "prism", "Prism 5 -m (multiprocess), the same", partial(prism, True)),
        (
            "wiremock",
            "wiremock default",
            "WireMock 3 jar, defaults (journal on), same path and body",
            partial(wiremock, False),
        ),
        ("wiremock", "wiremock", "WireMock 3 jar, no journal or request log, the same", partial(wiremock, True)),
    ]
    for peer, key, name, start in peers:
        if peer not in skip:  # WireMock's stub matches the path alone: no credential is sent to it
            loads[key] = Load(name, start, UPDATE_PATH, UPDATE_BODY, auth=peer == "prism")
    return loads


def main_table(args: argparse.Namespace, skip: set[str]) -> None:
    """The main table: every target in rounds, then medians and ratios."""
    with tempfile.TemporaryDirectory() as folder:
        rounds = in_rounds(main_loads(Path(folder), skip, args.baseline), args.rounds, args.duration, args.connections)
    print(f"Median of {args.rounds} rounds; ratios are the median (and range) of each round's own ratio.\n")
    bases = {
        "bare Flask": rounds.get("flask"),
        "Prism -m": rounds.get("prism"),
        "WireMock defaults": rounds.get("wiremock default"),
        "WireMock no journal": rounds.get("wiremock"),
    }
    print_medians("target", rounds, bases)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per target (default 10)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--skip", default="", help="comma-separated: main, prism, wiremock, servers, growth")
    parser.add_argument(
        "--serve-args", default="", help='options for every `mockattr serve` target, e.g. "--workers 1"'
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the main and growth tables (default 3)")
    parser.add_argument("--quick", action="store_true", help="3 s per target, one round, smaller growth steps")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a source checkout of another revision (git worktree add DIR REV): its update and retrieve join "
        "every round, for before/after in one run",
    )
    parser.add_argument("--plugin-sample", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plugin_sample:
        print(json.dumps(plugin_timings(200)))
        return
    if args.quick:
        args.duration, args.rounds = 3, 1
    skip = set(filter(None, args.skip.split(",")))
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    if not {"prism", "wiremock"} <= skip:
        ensure_node_tools()
    d, c = args.duration, args.connections
    SERVE_ARGS[:] = shlex.split(args.serve_args)
    print(f"load: wrk -t1 -c{c} -d{d}s over loopback, {os.cpu_count()} cores; each target started fresh\n", flush=True)

    if "main" in skip:
        skip |= {"servers"}
    else:
        main_table(args, skip)
    if "servers" not in skip:
        print(
            "\n| server (8 threads, 1 process) | mockattr update req/s | bare Flask req/s | mockattr / bare "
            "| mockattr CPU ms/req | bare CPU ms/req |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for server, mock, bare in compare_servers(d, c):
            print(
                f"| {server} | {mock.rps:,.0f} | {bare.rps:,.0f} | {mock.rps / bare.rps:.2f}x | {mock.cpu_ms:.2f} "
                f"| {bare.cpu_ms:.2f} |",
                flush=True,
            )

    samples = [plugin_sample() for _ in range(PLUGIN_SAMPLES)]
    startups, resets = sorted(s[0] for s in samples), sorted(s[1] for s in samples)
    print(
        f"\npytest plugin, {PLUGIN_SAMPLES} fresh processes: start-up to first request served, median "
        f"{statistics.median(startups):.0f} ms ({startups[0]:.0f}-{startups[-1]:.0f}); per-test reset, median "
        f"{statistics.median(resets):.3f} ms ({resets[0]:.3f}-{resets[-1]:.3f}; each a mean of 200)"
    )

    if "growth" not in skip:
        sizes, tenants = ([10, 1_000], [10, 100]) if args.quick else ([10, 10_000], [10, 1_000])
        with tempfile.TemporaryDirectory() as folder:
            grown = in_rounds(growth_loads(sizes, tenants, Path(folder)), args.rounds, d, c)
        print(f"Median of {args.rounds} rounds.\n")
        print_medians("update latency as the store grows", grown, {})


if __name__ == "__main__":
    main()
