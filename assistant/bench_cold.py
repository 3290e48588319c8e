"""The cold-start benchmark: a one-shot `assistant ask` process against a bare process that only loads
the same GGUF and writes as many tokens, timed in turns in the same run so that both see the same load.

Run alone with `python -m assistant.bench_cold [RUNS]`; `assistant bench` prints the same lines.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import median

from assistant.config import Settings

COLD_QUESTION = ("Kyphoplasty T12 and L1, codes?", "2025-03-01")
# The bare process: load the model as assistant/llm.py does, then write exactly N tokens (no early stop).
BARE_MODEL_SCRIPT = """
import sys
from llama_cpp import Llama
path, question, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
llm = Llama(model_path=path, n_ctx=2048, n_threads=2, seed=0, flash_attn=True, verbose=False)
tokens = []
for token in llm.generate(llm.tokenize(question.encode()), top_k=1, temp=0.0):
    tokens.append(token)
    if len(tokens) == count:
        break
sys.stdout.write(llm.detokenize(tokens).decode("utf-8", "replace"))
"""
# Runs argv, prints its wall seconds, CPU seconds (user + system) and peak RSS (KiB); exits with its status.
LAUNCHER_SCRIPT = """
import resource, subprocess, sys, time
started = time.perf_counter()
status = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(time.perf_counter() - started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)
sys.exit(status)
"""


@dataclass(frozen=True)
class ChildRun:
    seconds: float
    cpu_seconds: float  # less disturbed than wall time when other processes share the cores
    peak_rss_gib: float


@dataclass(frozen=True)
class ColdFigures:
    ask: list[ChildRun]
    bare: list[ChildRun]

    @staticmethod
    def _p50(runs: list[ChildRun]) -> float:
        return median(r.seconds for r in runs)

    @staticmethod
    def _cpu_p50(runs: list[ChildRun]) -> float:
        return median(r.cpu_seconds for r in runs)

    def lines(self) -> list[str]:
        ask_p50 = self._p50(self.ask)
        ask_rss = max(r.peak_rss_gib for r in self.ask)
        lines = [f"cold one-shot `assistant ask` ({len(self.ask)} runs): p50 {ask_p50:.2f} s, "
                 f"max {max(r.seconds for r in self.ask):.2f} s, CPU p50 {self._cpu_p50(self.ask):.2f} s, "
                 f"peak RSS {ask_rss:.2f} GiB (target <= 4 s)"]
        if not self.bare:
            return [*lines, "bare model process: not run (the backend is not the embedded GGUF)"]
        bare_p50 = self._p50(self.bare)
        return [*lines,
                f"bare process loading the same GGUF and writing the same number of tokens ({len(self.bare)} runs): "
                f"p50 {bare_p50:.2f} s, CPU p50 {self._cpu_p50(self.bare):.2f} s, "
                f"peak RSS {max(r.peak_rss_gib for r in self.bare):.2f} GiB",
                f"cold ask / bare model process: {ask_p50 / bare_p50:.2f}x (target <= 3.5x)"]


def run_child(argv: list[str], env: Mapping[str, str]) -> ChildRun:
    """Wall time and peak resident memory of one child process, measured by a small launcher process.

    Linux carries the spawning process's peak RSS into the child's (ru_maxrss survives exec), so a
    child started straight from this process (torch loaded by the index build) would be reported at
    least as large as this one."""
    result = subprocess.run([sys.executable, "-c", LAUNCHER_SCRIPT, *argv], env=dict(env), capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{argv[:4]} failed ({result.returncode}): {result.stderr[-2000:]}")
    seconds, cpu_seconds, peak_kib = result.stdout.split()
    return ChildRun(seconds=float(seconds), cpu_seconds=float(cpu_seconds), peak_rss_gib=int(peak_kib) / 1024 / 1024)


def cold_ask_argv() -> list[str]:
    question, dos = COLD_QUESTION
    return [sys.executable, "-m", "assistant.cli", "ask", question, "--dos", dos]


def bare_model_argv(settings: Settings) -> list[str]:
    from assistant.llm import default_gguf_path

    return [sys.executable, "-c", BARE_MODEL_SCRIPT, settings.gguf_path or default_gguf_path(), COLD_QUESTION[0],
            str(settings.max_tokens)]


def child_env(settings: Settings) -> dict[str, str]:
    return {**os.environ, "ASSISTANT_DATA_DIR": str(settings.data_dir), "ASSISTANT_LLM": settings.llm_backend}


def cold_start(settings: Settings, runs: int) -> ColdFigures:
    """`runs` cold asks and as many bare model processes, alternating (the index must exist already)."""
    env = child_env(settings)
    with_bare = settings.llm_backend == "gguf"
    ask, bare = [], []
    for _ in range(runs):
        ask.append(run_child(cold_ask_argv(), env))
        if with_bare:
            bare.append(run_child(bare_model_argv(settings), env))
    return ColdFigures(ask=ask, bare=bare)


if __name__ == "__main__":
    print("\n".join(cold_start(Settings.from_env(), int(sys.argv[1]) if len(sys.argv) > 1 else 5).lines()))
