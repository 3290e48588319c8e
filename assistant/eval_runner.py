"""`assistant eval`: load cases, run every baseline, write the report, apply the gate."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml

from assistant.config import PROJECT_ROOT, Settings
from assistant.eval_report import write_report
from assistant.eval_sample import FULL_DRAFT, stratified_sample
from assistant.evaluation import Case, Evaluator, gate, load_cases, metrics
from assistant.pipeline import Assistant

EVALS_DIR = PROJECT_ROOT / "evals"


@dataclass
class EvalOutcome:
    summary: dict
    failures: list[str]
    paths: dict[str, Path]
    seconds: float
    sampled: dict[str, dict[str, int]] = field(default_factory=dict)  # baseline -> {"cases": n, "of": total}
    setup_seconds: float = 0.0  # before the first case: the code table, the index and the model loaded

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary_text(self) -> str:
        lines = [f"Eval finished in {self.seconds:.0f} s (setup {self.setup_seconds:.0f} s); report: {self.paths['md']}"]
        for baseline, m in self.summary.items():
            drafts = self.sampled.get(FULL_DRAFT) if baseline == "full" else None
            lines.append(f"  {baseline:12s}{_sample_note(self.sampled.get(baseline))}{_time_note(m)} "
                         f"exact={m['exact_match']} "
                         f"recall@5={m['recall_at_5']} forbidden={m['forbidden_reported']} "
                         f"unverified={m['unverified_codes']} scope={_na(m['scope_accuracy'])} "
                         f"clarify={_na(m['clarification_accuracy'])} draft_agrees={m['draft_pass_rate']}"
                         + (f" (over {drafts['cases']} sampled drafts)" if drafts else "")
                         + (f" first_token_ms={m['first_token_ms']} tokens/s={m['tokens_per_s']}"
                            if m.get("drafts_streamed") else ""))
        lines.append("Gate: passed" if self.passed else "Gate FAILED: " + "; ".join(self.failures))
        return "\n".join(lines)


def _backends(assistant: Assistant, openai_assistant: Assistant | None, baselines: list[str]) -> dict[str, dict]:
    """Each full-pipeline baseline's model and prompt profile, for the report's (c)/(d) comparison."""
    pairs = {"full": assistant, "full_openai": openai_assistant}
    return {b: {"model": a.model_name, "backend": a.settings.llm_backend,
                "prompt": a.settings.prompt_name,
                "max_tokens": a.settings.draft_tokens}
            for b, a in pairs.items() if a is not None and b in baselines}


def _na(value: object) -> object:
    return "n/a" if value is None else value


def _time_note(figures: dict) -> str:
    """ "412 s (model drafts 390 s)": the baseline's time in the eval, and its model drafts' share of it."""
    if figures.get("seconds") is None:
        return ""
    return f" {figures['seconds']:.0f} s (model drafts {figures.get('draft_seconds') or 0:.0f} s)"


def _sample_note(sample: dict[str, int] | None) -> str:
    return f" (sample: {sample['cases']} of {sample['of']} cases)" if sample else ""


@dataclass(frozen=True)
class CasePlan:
    """What each baseline runs. The full pipeline answers every case (the gate is on it); with a sample,
    the model-bound work (the model-only and OpenAI baselines, and the full pipeline's model draft)
    runs on a fixed stratified sample; the OpenAI baseline (d) may have a smaller one of its own."""
    runs: dict[str, list[Case]]
    drafted: set[str] | None  # ids of the full-pipeline cases the model drafts; None: every case

    @classmethod
    def of(cls, cases: list[Case], baselines: list[str], sample: int | None,
           openai_sample: int | None = None) -> CasePlan:
        chosen = stratified_sample(cases, sample) if sample is not None else cases
        runs = {b: cases if b == "full" else chosen for b in baselines}
        if "full_openai" in runs and openai_sample is not None:
            runs["full_openai"] = stratified_sample(cases, openai_sample)
        return cls(runs, None if sample is None else {c.id for c in chosen})

    def shares(self, total: int) -> dict[str, dict[str, int]]:
        """The runs on fewer than all cases: {"llm_only": {"cases": 60, "of": 338}, "full draft": ...}."""
        shares = {b: {"cases": len(run), "of": total} for b, run in self.runs.items() if len(run) < total}
        if self.drafted is not None and len(self.drafted) < total:
            shares[FULL_DRAFT] = {"cases": len(self.drafted), "of": total}
        return shares


def run_eval(baselines: list[str] | None = None, categories: list[str] | None = None,
             settings: Settings | None = None, progress: bool = True, evals_dir: Path = EVALS_DIR,
             blind: bool = False, sample: int | None = None, openai_sample: int | None = None) -> EvalOutcome:
    """The tuned suite (evals/cases, gated), or with `blind` the frozen blind sets (evals/blind): full
    pipeline only, reported as evals/report/blind.*, never gated. With `sample`, every baseline but the
    full pipeline runs on a stratified sample of about that many cases (the report says so); `openai_sample`,
    a sample of its own for the OpenAI baseline (d), which runs when an endpoint is configured."""
    settings = settings or Settings.from_env()
    started = time.perf_counter()
    cases = load_cases(evals_dir / ("blind" if blind else "cases"))
    if blind:
        baselines = ["full"]
    if categories:
        cases = [c for c in cases if c.category in categories]
    assistant = Assistant(settings, progress=progress)
    openai_assistant = None
    if settings.openai_base_url and settings.llm_backend != "openai":
        openai_assistant = Assistant(settings.model_copy(update={"llm_backend": "openai"}), progress=progress)
    evaluator = Evaluator(assistant, openai_assistant)  # opens (or builds) the index
    for loaded in (assistant, openai_assistant):
        if loaded is not None:
            loaded.model()  # loaded before the first case, so the baselines' times are their own
    setup_seconds = round(time.perf_counter() - started, 1)
    chosen = baselines or evaluator.baselines()
    if "full" not in chosen:
        chosen.append("full")
    plan = CasePlan.of(cases, chosen, sample, openai_sample)
    sampled = plan.shares(len(cases))
    results = evaluator.run(plan.runs, plan.drafted, progress=progress)
    summary = metrics(results)
    thresholds = yaml.safe_load((evals_dir / "thresholds.yaml").read_text())
    failures = [] if blind else gate(summary, thresholds)
    seconds = round(time.perf_counter() - started, 1)
    meta = {"finished": datetime.now(UTC).isoformat(timespec="seconds"), "cases": len(cases),
            "seconds": seconds, "setup_seconds": setup_seconds, "model": assistant.model_name, "baselines": chosen,
            "sampled": sampled, "backends": _backends(assistant, openai_assistant, chosen)}
    first_runs = yaml.safe_load((evals_dir / "first_runs.yaml").read_text()) or []
    paths = write_report(evals_dir / "report", summary, results, failures, meta, name="blind" if blind else "latest",
                         first_runs=first_runs)
    return EvalOutcome(summary=summary, failures=failures, paths=paths, seconds=seconds, sampled=sampled,
                       setup_seconds=setup_seconds)
