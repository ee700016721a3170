"""Memory of journal reads: a `mockattr serve` process with a full journal (64 MiB of bodies), read whole
by 8 clients at once, each paging through it with the handle. Prints the server's resident memory (RSS,
from /proc) before the reads, its peak during them, and after.

    .venv/bin/python bench/journal_memory.py [--readers 8]

Issue 14 measured 1.92 GB peak (and 862 MB held after) when each read built the whole journal as one
document; reads are now paged and written one entry at a time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from mockattr.testing.handle import Mockattr

ADAM = "cus_de305d54-75b4-431b-adb2-eb6b9e546012"
MIB = 1024 * 1024


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """The process's resident memory (``VmRSS``) or its peak so far (``VmHWM``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for {pid}")


def measure(readers: int) -> dict[str, float]:
    """Start a server, fill its journal, read it with ``readers`` clients at once: RSS figures in MiB."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mockattr", "serve", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        base = process.stdout.readline().split()[-1]
        url = f"{base}/chartmogul/v1/customers/{ADAM}/attributes/custom"
        body = b'{"custom": {"channel": "' + b"x" * (MIB - 40) + b'"}}'
        session = requests.Session()
        for _ in range(40):  # each keeps its 1 MiB body and a 1 MiB answer: past the 64 MiB bound
            session.put(url, data=body, auth=("k", ""), timeout=30)
        before = rss_mib(process.pid)
        baseline_peak = rss_mib(process.pid, "VmHWM")
        counts: list[int] = []
        threads = [
            threading.Thread(target=lambda: counts.append(len(Mockattr(base).requests()))) for _ in range(readers)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.monotonic() - started
        return {
            "entries per read": counts[0],
            "RSS before reads (MiB)": round(before, 1),
            "peak before reads (MiB)": round(baseline_peak, 1),
            "peak during reads (MiB)": round(rss_mib(process.pid, "VmHWM"), 1),
            "RSS after reads (MiB)": round(rss_mib(process.pid), 1),
            "seconds": round(seconds, 1),
        }
    finally:
        process.terminate()
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readers", type=int, default=8)
    figures = measure(parser.parse_args().readers)
    for name, value in figures.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
