"""`assistant bench`: the speed and memory figures, printed (never asserted by a timed test)."""

from __future__ import annotations

import os
import resource
import tempfile
import time
from pathlib import Path

from assistant.bench_cold import cold_start
from assistant.config import PROJECT_ROOT, Settings
from assistant.evaluation import load_cases
from assistant.pipeline import Assistant
from assistant.retrieval import build_index


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _questions(count: int) -> list[tuple[str, object]]:
    cases = [c for c in load_cases(PROJECT_ROOT / "evals" / "cases") if not c.history]
    step = max(1, len(cases) // count)
    return [(c.question, c.date_of_service) for c in cases[::step]][:count]


def warm(settings: Settings, count: int) -> dict[str, float]:
    assistant = Assistant(settings, progress=False)
    assistant.ask("warm-up: vertebroplasty L1", "2024-01-01")
    totals, firsts = [], []
    for question, dos in _questions(count):
        first: list[float] = []
        started = time.perf_counter()
        assistant.ask(question, dos, on_token=lambda _t, s=started, f=first: f or f.append(time.perf_counter() - s))
        totals.append(time.perf_counter() - started)
        if first:
            firsts.append(first[0])
    return {"questions": len(totals), "p50": _percentile(totals, 0.5), "p95": _percentile(totals, 0.95),
            "first_token_p50": _percentile(firsts, 0.5) if firsts else float("nan"),
            "first_token_p95": _percentile(firsts, 0.95) if firsts else float("nan"),
            "rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024}


def index_build(settings: Settings) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        # always a local index: a build against ASSISTANT_CHROMA_URL would replace the index live workers use
        fresh = Settings.from_env(data_dir=Path(tmp), llm_backend="none").model_copy(update={"chroma_url": None})
        assistant = Assistant(fresh, progress=False)
        report = build_index(fresh, assistant.codebook, progress=False)
        again = build_index(fresh, assistant.codebook, progress=False)
    return {"chunks": report.chunks, "seconds": report.seconds, "incremental_seconds": again.seconds}


def run(count: int = 40, cold_runs: int = 5) -> str:
    settings = Settings.from_env()
    Assistant(settings, progress=True).index  # noqa: B018 - make sure the index exists first
    build = index_build(settings)
    cold = cold_start(settings, cold_runs)
    w = warm(settings, count)
    lines = [
        f"backend: {settings.llm_backend}; machine: {os.cpu_count()} cores",
        f"index build (whole corpus, {build['chunks']} chunks): {build['seconds']:.1f} s; "
        f"incremental rebuild with no change: {build['incremental_seconds']:.1f} s",
        *cold.lines(),
        f"warm end-to-end over {w['questions']} questions: p50 {w['p50']:.2f} s, p95 {w['p95']:.2f} s (target <= 2.0 s)",
        f"time to first streamed token: p50 {w['first_token_p50']:.2f} s, p95 {w['first_token_p95']:.2f} s "
        "(target <= 0.5 s)",
        f"peak RSS: warm process {w['rss_gib']:.2f} GiB (target <= 1.5 GiB)",
    ]
    from assistant.bench_load import LOAD_QUESTIONS, load_lines  # here: bench_load imports this module

    lines += load_lines(settings, _questions(LOAD_QUESTIONS))
    return "\n".join(lines)
