"""`assistant bench`, under load: warm latency with the CPU free and with one spinning process per core,
side by side in one run, for the fitted thread count (the default) and for a fixed count of every core
(the setting before issue 12, which collapsed when another process took a core)."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from assistant.bench import _percentile
from assistant.config import Settings
from assistant.llm_threads import usable_cores
from assistant.pipeline import Assistant

LOAD_QUESTIONS = 10
CAP_S = 30.0            # an answer still drafting after this long is cut (and counted) so the bench ends
SPIN_START_S = 1.0      # spawned spinners need a moment before they load the cores


class _Capped(Exception):
    """Raised from the token callback to cut a draft that passed the cap."""


def _spin(stop) -> None:
    """A CPU-bound neighbour: its own session (another program, as a neighbour's would be), spinning."""
    if hasattr(os, "setsid"):
        os.setsid()
    x = 0
    while not stop.is_set():
        for i in range(100_000):
            x = (x * 31 + i) % 1_000_003


@contextmanager
def cpu_contention(workers: int) -> Iterator[None]:
    """`workers` spinning processes for the duration of the block, stopped (or killed) after it."""
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    spinners = [context.Process(target=_spin, args=(stop,), daemon=True) for _ in range(workers)]
    for process in spinners:
        process.start()
    time.sleep(SPIN_START_S)
    try:
        yield
    finally:
        stop.set()
        for process in spinners:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()


def _cutter(started: float) -> Callable[[str], None]:
    def on_token(_token: str) -> None:
        if time.perf_counter() - started > CAP_S:
            raise _Capped
    return on_token


def timed_answers(assistant: Assistant, questions: list[tuple[str, object]]) -> dict[str, float]:
    seconds = []
    for question, dos in questions:
        started = time.perf_counter()
        assistant.ask(question, dos, on_token=_cutter(started))
        seconds.append(time.perf_counter() - started)
    return {"p50": _percentile(seconds, 0.5), "p95": _percentile(seconds, 0.95),
            "cut": sum(s > CAP_S for s in seconds)}


def under_load(settings: Settings, questions: list[tuple[str, object]]) -> dict[str, dict[str, dict]]:
    """{policy: {"quiet": figures, "contended": figures}} for the fitted count and every core, fixed."""
    assistant = Assistant(settings, progress=False)
    assistant.ask("warm-up: vertebroplasty L1", "2024-01-01")
    model = assistant.model()
    if model is None or not hasattr(model, "threads"):
        return {}
    cores = usable_cores()
    policies = {"auto": None, f"fixed {cores}": cores}
    figures: dict[str, dict[str, dict]] = {name: {} for name in policies}
    for phase in ("quiet", "contended"):
        with cpu_contention(cores) if phase == "contended" else _nothing():
            for name, threads in policies.items():
                model.threads = threads
                figures[name][phase] = timed_answers(assistant, questions)
    model.threads = settings.llm_threads
    return figures


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def load_lines(settings: Settings, questions: list[tuple[str, object]]) -> list[str]:
    """The report lines: p50/p95 quiet and contended, and the contended/quiet p95 ratio, per policy."""
    figures = under_load(settings, questions)
    if not figures:
        return ["warm under CPU contention: skipped (no embedded model)"]
    lines = [f"warm under CPU contention ({len(questions)} questions; quiet, then with {usable_cores()} "
             "spinning processes, one per core, started by the bench):"]
    for name, by_phase in figures.items():
        quiet, busy = by_phase["quiet"], by_phase["contended"]
        cut = quiet["cut"] + busy["cut"]
        lines.append(f"  threads {name}: quiet p50 {quiet['p50']:.2f} s, p95 {quiet['p95']:.2f} s | contended p50 "
                     f"{busy['p50']:.2f} s, p95 {busy['p95']:.2f} s | p95 contended/quiet "
                     f"{busy['p95'] / quiet['p95']:.1f}x" + (f" ({cut} answers cut at {CAP_S:.0f} s)" if cut else ""))
    return lines
