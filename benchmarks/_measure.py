"""Measuring a child process for the benchmarks: wall time and the peak resident memory of its whole tree.

``run_measured`` starts a command, samples the resident memory of the process and all its descendants
(``/proc``, Linux) every ``interval`` seconds from a thread, and reaps the child with ``wait4`` in the
calling thread (the sampler never polls, so it cannot reap the child first), which also gives the largest
single process's peak (``ru_maxrss``) and the CPU seconds.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass


@dataclass
class Measured:
    returncode: int
    wall_seconds: float
    tree_peak_kb: int        # sampled: the most resident KiB of the process and its descendants together
    process_peak_kb: int     # exact: the largest single process (ru_maxrss of the reaped children)
    cpu_seconds: float


def tree_rss_kb(pid: int) -> int:
    """Resident KiB of ``pid`` and all its descendants now (0 once gone); shared pages count once per process."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                total += next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo.extend(int(child) for child in children.read().split())
        except (OSError, ValueError):
            continue  # exited meanwhile
    return total


def run_measured(command: list[str], *, interval: float, **popen) -> Measured:
    """Run ``command`` (``popen``: stdout, stderr, env, cwd, ...) to its end and measure it."""
    started = time.perf_counter()
    child = subprocess.Popen(command, **popen)
    done = threading.Event()
    peak = [0]

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_kb(child.pid))
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    return Measured(child.returncode, wall, peak[0], usage.ru_maxrss, usage.ru_utime + usage.ru_stime)
