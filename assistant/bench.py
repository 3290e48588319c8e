"""`assistant bench`: the speed and memory figures, printed (never asserted by a timed test)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def cold_ask(settings: Settings, runs: int) -> dict[str, float]:
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(settings.data_dir), "ASSISTANT_LLM": settings.llm_backend}
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "assistant.cli", "ask", "Kyphoplasty T12 and L1, codes?", "--dos",
                        "2025-03-01"], env=env, check=True, capture_output=True)
        seconds.append(time.perf_counter() - started)
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 / 1024
    return {"runs": runs, "p50": _percentile(seconds, 0.5), "max": max(seconds), "rss_gib": child_rss}


def index_build(settings: Settings) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        # always a local index: a build against ASSISTANT_CHROMA_URL would replace the index live workers use
        fresh = Settings.from_env(data_dir=Path(tmp), llm_backend="none").model_copy(update={"chroma_url": None})
        assistant = Assistant(fresh, progress=False)
        report = build_index(fresh, assistant.codebook, progress=False)
        again = build_index(fresh, assistant.codebook, progress=False)
    return {"chunks": report.chunks, "seconds": report.seconds, "incremental_seconds": again.seconds}


def run(count: int = 40, cold_runs: int = 3) -> str:
    settings = Settings.from_env()
    Assistant(settings, progress=True).index  # noqa: B018 - make sure the index exists first
    build = index_build(settings)
    cold = cold_ask(settings, cold_runs)
    w = warm(settings, count)
    lines = [
        f"backend: {settings.llm_backend}; machine: {os.cpu_count()} cores",
        f"index build (whole corpus, {build['chunks']} chunks): {build['seconds']:.1f} s; "
        f"incremental rebuild with no change: {build['incremental_seconds']:.1f} s",
        f"cold one-shot `assistant ask` ({cold['runs']} runs): p50 {cold['p50']:.2f} s, max {cold['max']:.2f} s "
        "(target <= 8 s)",
        f"warm end-to-end over {w['questions']} questions: p50 {w['p50']:.2f} s, p95 {w['p95']:.2f} s (target <= 2.0 s)",
        f"time to first streamed token: p50 {w['first_token_p50']:.2f} s, p95 {w['first_token_p95']:.2f} s "
        "(target <= 0.5 s)",
        f"peak RSS: warm process {w['rss_gib']:.2f} GiB, cold ask child {cold['rss_gib']:.2f} GiB (target <= 1.5 GiB)",
    ]
    from assistant.bench_load import LOAD_QUESTIONS, load_lines  # here: bench_load imports this module

    lines += load_lines(settings, _questions(LOAD_QUESTIONS))
    return "\n".join(lines)
