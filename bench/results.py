"""Shared by the bench scripts: percentiles, a free port, the machine, and the figures recorded
in RESULTS.md."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import time
from datetime import datetime
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADER = "# Bench results\n\nNewest run first. Each run: date, machine, then one figure a line.\n"


def percentile(values: list[float], q: float) -> float:
    """The q-quantile of the values, nearest rank (q = 0.95: the p95)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def free_port() -> int:
    """A free TCP port on the loopback, for a server a bench starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, server: subprocess.Popen, seconds: float = 30) -> None:
    """Return once the server started on the loopback accepts connections; stop the bench if
    it exits or does not listen within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("gunicorn did not start") from None
            time.sleep(0.2)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    except (OSError, StopIteration):
        mem_kb = 0
    return (
        f"{platform.node()}: {cpu}, {os.cpu_count()} cores, {mem_kb / 1024 / 1024:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def record(title: str, lines: list[str], notes: str = "") -> str:
    """Prepend one run to RESULTS.md; return the text written."""
    stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    block = f"## {stamp}: {title}\n\nMachine: {machine()}\n\n" + "\n".join(lines) + "\n"
    if notes:
        block += f"\n{notes}\n"
    old = RESULTS.read_text() if RESULTS.exists() else HEADER
    body = old[len(HEADER) :] if old.startswith(HEADER) else old
    earlier = body.strip("\n")
    RESULTS.write_text(HEADER + "\n" + block + ("\n" + earlier + "\n" if earlier else ""))
    return block
