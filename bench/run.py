"""Benchmark mockattr against a bare Flask app, Prism and WireMock, all measured in one run.

    python bench/run.py [--duration 10] [--connections 8] [--skip prism,wiremock,servers,growth] [--quick]

Needs `wrk` (Debian: apt-get install wrk); Prism and WireMock come from npm into bench/.node the first
time (Java 17 runs WireMock); the server comparison wants `pip install '.[bench]'` (gunicorn, granian).
Each target is started fresh, loaded from a separate wrk process over loopback for a fixed time, then
stopped. Figures: requests per second, p50 and p99 latency, the server's peak memory (VmHWM of its
process tree), and ratios to the bare Flask ceiling and to Prism. Also: `update` with --state-file,
mockattr and the ceiling on each candidate server, the pytest plugin's start-up (session start to first
request served) and per-test reset, and how `update` latency grows with the customers in a tenant and
with the number of tenants.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import logging
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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


def tree_peak_kib(pid: int) -> int:
    """VmHWM (peak resident memory) summed over a process and its descendants."""
    total, pids = 0, [pid]
    while pids:
        current = pids.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(re.search(r"VmHWM:\s+(\d+)", status)[1])
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
            pids += [int(child) for child in children]
        except (OSError, TypeError):
            continue
    return total


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

    def row(self, ceiling: Result | None, prism: Result | None) -> str:
        ratio = lambda base: f"{self.rps / base.rps:.2f}x" if base and base.rps else "-"  # noqa: E731
        return (
            f"| {self.name} | {self.rps:,.0f} | {self.p50_ms:.2f} | {self.p99_ms:.2f} | {self.peak_mib:.0f} "
            f"| {ratio(ceiling)} | {ratio(prism)} | {self.non_2xx} |"
        )


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
    return Result(name, rps, p50, p99, tree_peak_kib(pid) / 1024, non_2xx)


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


def mockattr_target(extra: list[str] | None = None) -> Target:
    port = free_port()
    return Target(
        [sys.executable, "-m", "mockattr", "serve", "--port", str(port), *(extra or [])],
        f"http://127.0.0.1:{port}",
        "/__mockattr/health",
    )


def app_target(server: str, app: str) -> Target:
    """``bench/apps.py``: the mockattr app or the bare-Flask ceiling on one of the servers compared."""
    port = free_port()
    return Target([sys.executable, str(BENCH / "apps.py"), server, app, str(port)], f"http://127.0.0.1:{port}")


def installed(server: str) -> bool:
    return server in ("werkzeug", "waitress") or importlib.util.find_spec(server) is not None


def compare_servers(duration: int, connections: int) -> list[tuple[str, Result, Result]]:
    """mockattr `update` and the bare-Flask ceiling on each server (those installed)."""
    rows = []
    for server in SERVERS:
        if not installed(server):
            print(f"({server} is not installed: pip install '.[bench]')", flush=True)
            continue
        mock = measure(
            server,
            app_target(server, "mockattr"),
            "/chartmogul" + UPDATE_PATH,
            "PUT",
            UPDATE_BODY,
            True,
            duration,
            connections,
        )
        bare = measure(
            server, app_target(server, "bare"), UPDATE_PATH, "PUT", UPDATE_BODY, False, duration, connections
        )
        rows.append((server, mock, bare))
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


def prism_target(folder: Path) -> Target:
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
    return Target(
        [str(NODE / "node_modules" / ".bin" / "prism"), "mock", "-p", str(port), "-h", "127.0.0.1", str(spec)],
        f"http://127.0.0.1:{port}",
        RETRIEVE_PATH,
    )


def wiremock_target(folder: Path, body: dict) -> Target:
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
    return Target(
        [
            str(NODE / "node_modules" / ".bin" / "wiremock"),
            "--port",
            str(port),
            "--root-dir",
            str(folder),
            "--disable-banner",
        ],
        f"http://127.0.0.1:{port}",
        "/__admin/mappings",
    )


def plugin_timings(samples: int) -> tuple[float, float]:
    """(ms from starting the plugin's server to the first request served, mean ms of the ``mockattr``
    fixture's per-test reset), done the way the plugin's fixtures do them."""
    from mockattr.app import create_app, runtime_of
    from mockattr.pytest_plugin import MockattrHandle
    from mockattr.server import start_background

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


def measure(
    name: str, target: Target, path: str, method: str, body: dict | list[dict] | None, auth: bool, d: int, c: int
) -> Result:
    """Load ``target`` at ``path``, then stop it."""
    headers = {"Authorization": AUTH} if auth else {}
    try:
        return load(name, target.url + path, method, body, headers, target.process.pid, d, c)
    finally:
        target.stop()


def growth(duration: int, connections: int, sizes: list[int], tenants: list[int], folder: Path) -> list[Result]:
    """`update` latency with N customers in the tenant (in memory, then with --state-file, where every
    request writes the tenant's world), and with N tenants on the server."""
    results = []
    for durable in (False, True):
        for count in sizes:
            target = mockattr_target(["--state-file", str(folder / f"growth-{count}.db")] if durable else None)
            customers = [{"uuid": f"cus_bench_{n}", "name": f"c{n}"} for n in range(count)]
            seeded = requests.post(
                target.url + "/__mockattr/seed", params={"vendor": "chartmogul"}, json={"customers": customers}
            )
            seeded.raise_for_status()
            name = f"update, {count:,} extra customers" + (", --state-file (every request writes)" if durable else "")
            body = ALTERNATING_BODIES if durable else UPDATE_BODY
            results.append(measure(name, target, "/chartmogul" + UPDATE_PATH, "PUT", body, True, duration, connections))
    for count in tenants:
        target = mockattr_target()
        session = requests.Session()
        for n in range(count):
            key = base64.b64encode(f"tenant-{n}:".encode()).decode()
            session.get(target.url + "/chartmogul" + RETRIEVE_PATH, headers={"Authorization": f"Basic {key}"})
        name = f"update, {count:,} tenants"
        results.append(
            measure(name, target, "/chartmogul" + UPDATE_PATH, "PUT", UPDATE_BODY, True, duration, connections)
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per target (default 10)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--skip", default="", help="comma-separated: prism, wiremock, servers, growth")
    parser.add_argument("--quick", action="store_true", help="3 s per target, smaller growth steps")
    args = parser.parse_args()
    if args.quick:
        args.duration = 3
    skip = set(filter(None, args.skip.split(",")))
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    if not {"prism", "wiremock"} <= skip:
        ensure_node_tools()
    d, c = args.duration, args.connections
    print(f"load: wrk -t1 -c{c} -d{d}s over loopback, {os.cpu_count()} cores; each target started fresh\n", flush=True)

    results: dict[str, Result] = {}
    with tempfile.TemporaryDirectory() as folder:
        target = mockattr_target()
        answer = requests.put(
            target.url + "/chartmogul" + UPDATE_PATH, json=UPDATE_BODY, headers={"Authorization": AUTH}
        )
        body = answer.json()  # what WireMock's stub answers
        update, retrieve = "/chartmogul" + UPDATE_PATH, "/chartmogul" + RETRIEVE_PATH
        results["update"] = measure("mockattr update (PUT custom)", target, update, "PUT", UPDATE_BODY, True, d, c)
        results["retrieve"] = measure("mockattr retrieve (GET)", mockattr_target(), retrieve, "GET", None, True, d, c)
        results["durable"] = measure(
            "mockattr update, --state-file (every request writes)",
            mockattr_target(["--state-file", str(Path(folder) / "bench.db")]),
            update,
            "PUT",
            ALTERNATING_BODIES,
            True,
            d,
            c,
        )
        results["flask"] = measure(
            "bare Flask, constant JSON, same server",
            app_target("waitress", "bare"),
            UPDATE_PATH,
            "PUT",
            UPDATE_BODY,
            False,
            d,
            c,
        )
        if "prism" not in skip:
            results["prism"] = measure(
                "Prism 5 mock of the same operation",
                prism_target(Path(folder)),
                UPDATE_PATH,
                "PUT",
                UPDATE_BODY,
                True,
                d,
                c,
            )
        if "wiremock" not in skip:
            results["wiremock"] = measure(
                "WireMock 3 stub, same path and body",
                wiremock_target(Path(folder), body),
                UPDATE_PATH,
                "PUT",
                UPDATE_BODY,
                False,
                d,
                c,
            )

    print("| target | req/s | p50 ms | p99 ms | peak MiB | vs bare Flask | vs Prism | non-2xx |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for result in results.values():
        print(result.row(results.get("flask"), results.get("prism")))

    if "servers" not in skip:
        print("\n| server (8 threads, 1 process) | mockattr update req/s | bare Flask req/s | mockattr / bare |")
        print("| --- | ---: | ---: | ---: |")
        for server, mock, bare in compare_servers(d, c):
            print(f"| {server} | {mock.rps:,.0f} | {bare.rps:,.0f} | {mock.rps / bare.rps:.2f}x |", flush=True)

    startup, reset = plugin_timings(200)
    print(f"\npytest plugin: start-up to first request {startup:.0f} ms; per-test reset {reset:.2f} ms (mean of 200)")

    if "growth" not in skip:
        sizes, tenants = ([10, 1_000], [10, 100]) if args.quick else ([10, 10_000], [10, 1_000])
        print("\n| update latency as the store grows | req/s | p50 ms | p99 ms | peak MiB |")
        print("| --- | ---: | ---: | ---: | ---: |")
        with tempfile.TemporaryDirectory() as folder:
            grown = growth(d, c, sizes, tenants, Path(folder))
        for result in grown:
            print(
                f"| {result.name} | {result.rps:,.0f} | {result.p50_ms:.2f} | {result.p99_ms:.2f} | "
                f"{result.peak_mib:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
