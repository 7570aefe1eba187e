"""Crash points for the tests of what survives a killed process (tests/regulator/test_crashes.py).

`crash_point(name)` kills the running process with SIGKILL, with no cleanup, when the
environment variable REGULATOR_CRASH_AT names that point; otherwise it does nothing. The
points sit where a real crash does the most harm: between assigning a batch its changes and
committing it, between sending a batch and recording SEC's answer, between recording an
acknowledgement and committing it.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "cut.after_assign",
    "cut.after_pages",
    "cut.after_publish",
    "cut.before_commit",
    "cut.after_commit",
    "push.after_send",
    "push.before_commit",
    "ack.before_commit",
)


def crash_point(name: str) -> None:
    if name not in POINTS:  # pragma: no cover - a typo must not silently disable a point
        raise ValueError(f"punto de falla desconocido: {name}")
    if os.environ.get("REGULATOR_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
