"""How many threads the embedded model may use for the next answer: the cores no other task wants.

llama.cpp splits every layer across its threads and waits at a barrier after each one; when another
process holds one of the cores, the thread waiting there spins or sleeps until the descheduled one gets
its turn, hundreds of times per token, and one answer took minutes. One thread has no barrier, so a
contended machine costs it only its fair share of a core."""

from __future__ import annotations

import os
import time
from pathlib import Path

PROC_STAT = Path("/proc/stat")
OWN_TASKS = Path("/proc/self/task")
READINGS = 3              # the run queue is read a few times, a few ms apart; the largest reading counts
READING_GAP_S = 0.003


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def threads_for_answer(cores: int | None = None, readings: int | None = None) -> int:
    """The usable cores minus the tasks of other processes that are runnable now, at least one. Where the
    run queue cannot be read (not Linux) the answer is one thread: never worse than a contended barrier."""
    cores = cores or usable_cores()
    busy = other_runnable_tasks(readings or READINGS)
    return 1 if busy is None else max(1, cores - busy)


def other_runnable_tasks(readings: int = READINGS) -> int | None:
    """Runnable tasks outside this process (the largest of a few readings); None where unreadable."""
    seen = []
    for i in range(readings):
        if i:
            time.sleep(READING_GAP_S)
        running = _runnable_on_machine()
        if running is None:
            return None
        seen.append(max(0, running - _own_runnable_threads()))
    return max(seen)


def _runnable_on_machine() -> int | None:
    try:
        for line in PROC_STAT.read_text().splitlines():
            if line.startswith("procs_running "):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _own_runnable_threads() -> int:
    count = 0
    for task in OWN_TASKS.glob("*/stat"):
        try:
            state = task.read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        count += state == "R"
    return count
