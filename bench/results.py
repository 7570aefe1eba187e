"""Shared by the bench scripts: describe the machine and record figures in RESULTS.md."""

from __future__ import annotations

import os
import platform
from datetime import datetime
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADER = "# Bench results\n\nNewest run first. Each run: date, machine, then one figure a line.\n"


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
