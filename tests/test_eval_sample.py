"""The CI sample of the eval suite: stratified, deterministic, every category; the plan and the report."""

import random
import time
from collections import Counter
from types import SimpleNamespace

import pytest
import yaml

from assistant.config import PROJECT_ROOT
from assistant.eval_report import markdown
from assistant.eval_runner import CasePlan
from assistant.eval_sample import FULL_DRAFT, category_quotas, stratified_sample
from assistant.evaluation import Case, Evaluator, load_cases, metrics


@pytest.fixture(scope="module")
def suite() -> list[Case]:
    return load_cases(PROJECT_ROOT / "evals" / "cases")


def test_sample_keeps_every_category_in_proportion(suite):
    sample = stratified_sample(suite, 60)
    assert len(sample) == 60
    sizes, picked = Counter(c.category for c in suite), Counter(c.category for c in sample)
    assert set(picked) == set(sizes)
    for category, n in sizes.items():
        assert abs(picked[category] - 60 * n / len(suite)) < 1.5, category
    assert [c.id for c in sample] == [c.id for c in suite if c in sample]  # suite order kept


def test_sample_is_the_same_whatever_the_order_of_the_suite(suite):
    shuffled = list(suite)
    random.Random(7).shuffle(shuffled)
    assert {c.id for c in stratified_sample(shuffled, 50)} == {c.id for c in stratified_sample(suite, 50)}
    assert stratified_sample(suite, 50) == stratified_sample(suite, 50)


def test_a_new_case_leaves_the_other_categories_picks_alone(suite):
    grown = suite + [Case(id="zz-new-case", category="biopsy", question="q", expect={}, source="test")]
    before, after = stratified_sample(suite, 60), stratified_sample(grown, 60)
    quota_same = {cat for cat in Counter(c.category for c in suite)
                  if sum(c.category == cat for c in before) == sum(c.category == cat for c in after)}
    assert {c.id for c in before if c.category in quota_same} == {c.id for c in after if c.category in quota_same}
    assert len({c.id for c in before} ^ {c.id for c in after}) <= 4


def test_fewer_places_than_categories_still_picks_one_of_each(suite):
    categories = {c.category for c in suite}
    sample = stratified_sample(suite, 5)
    assert len(sample) == len(categories) and {c.category for c in sample} == categories


def test_a_sample_as_large_as_the_suite_is_the_suite(suite):
    assert stratified_sample(suite, len(suite)) == suite
    assert stratified_sample(suite, 10_000) == suite


def test_quotas_never_exceed_a_category_and_fill_the_sample():
    quotas = category_quotas({"a": 2, "b": 50, "c": 8}, 30)
    assert quotas == {"a": 1, "b": 25, "c": 4}
    assert category_quotas({"a": 3, "b": 7, "c": 11}, 10) == {"a": 2, "b": 3, "c": 5}  # largest remainder
    assert category_quotas({"a": 1, "b": 99}, 10) == {"a": 1, "b": 9}  # a small category still has its case
    assert category_quotas({"a": 1, "b": 1}, 2) == {"a": 1, "b": 1}


def test_ci_sample_size_is_set_in_thresholds_and_smaller_than_the_suite(suite):
    thresholds = yaml.safe_load((PROJECT_ROOT / "evals" / "thresholds.yaml").read_text())
    size, served = thresholds["ci_model_sample"], thresholds["ci_openai_sample"]
    assert len({c.category for c in suite}) <= size < len(suite)
    assert {c.category for c in stratified_sample(suite, size)} == {c.category for c in suite}  # one of each, at least
    served_cases = stratified_sample(suite, served)
    assert {c.category for c in served_cases} == {c.category for c in suite} and len(served_cases) < size
    # (d)'s sample lies inside the embedded model's, so the report compares drafts of both on the same cases
    assert {c.id for c in served_cases} <= {c.id for c in stratified_sample(suite, size)}


def _cases() -> list[Case]:
    return [Case(id=f"{category}-{i}", category=category, question=f"question {i}", expect={}, source="test")
            for category in ("one", "two", "three") for i in range(6)]


def test_the_plan_runs_the_full_pipeline_on_every_case_and_the_model_on_the_sample():
    cases = _cases()
    plan = CasePlan.of(cases, ["llm_only", "rag_llm", "full"], sample=6)
    assert plan.runs["full"] == cases
    assert plan.runs["llm_only"] == plan.runs["rag_llm"] == stratified_sample(cases, 6)
    assert plan.drafted == {c.id for c in plan.runs["llm_only"]}
    assert plan.shares(len(cases)) == {"llm_only": {"cases": 6, "of": 18}, "rag_llm": {"cases": 6, "of": 18},
                                       FULL_DRAFT: {"cases": 6, "of": 18}}
    everything = CasePlan.of(cases, ["llm_only", "full"], sample=None)
    assert everything.runs == {"llm_only": cases, "full": cases} and everything.drafted is None
    assert everything.shares(len(cases)) == {}


class _RecordingAssistant:
    """An Assistant that answers every question with no codes and records whether the model drafted; a draft
    streams three tokens."""

    def __init__(self) -> None:
        self.index = SimpleNamespace(chunks=[])
        self.drafted: list[str] = []

    def ask(self, question, date_of_service=None, history=None, *, use_llm=True, on_token=None):
        if use_llm:
            self.drafted.append(question)
            for token in ("Report", " 22514", "."):
                time.sleep(0.002)
                on_token(token)
        return SimpleNamespace(codes=[], in_scope=True, needs_clarification=False, summary="", answer="",
                               citations=[], llm=SimpleNamespace(draft_passed=use_llm), rejected=[],
                               timings_ms={"total": 1}, review=[])


def test_only_the_sampled_cases_are_drafted_and_the_report_says_so():
    cases = _cases()
    plan = CasePlan.of(cases, ["full"], sample=6)
    assistant = _RecordingAssistant()
    results = Evaluator(assistant).run(plan.runs, plan.drafted, progress=False)
    assert len(results) == 18 and sorted(assistant.drafted) == sorted(c.question for c in plan.runs["full"]
                                                                      if c.id in plan.drafted)
    assert [r.draft_passed for r in results].count(None) == 12
    summary = metrics(results)
    assert summary["full"]["cases"] == 18 and summary["full"]["draft_pass_rate"] == 1.0  # over the 6 drafts
    report = markdown(summary, results, [], {"sampled": plan.shares(18)})
    assert "full draft: 6 of 18 cases" in report and "draft ran on the sample only" in report


def test_the_report_names_the_sampled_baselines_and_their_share():
    full = metrics(Evaluator(_RecordingAssistant()).run({"full": _cases()}, progress=False))["full"]
    summary = {"llm_only": full, "full": full}
    sampled = markdown(summary, [], [], {"cases": 18, "sampled": {"llm_only": {"cases": 6, "of": 18}}})
    assert "llm_only: 6 of 18 cases" in sampled and "(sample 6/18) |" in sampled
    assert "draft ran on the sample only" not in sampled
    assert "sample" not in markdown(summary, [], [], {"cases": 18, "sampled": {}})


def test_eval_command_passes_the_sample_and_defaults_to_every_case(monkeypatch):
    from click.testing import CliRunner

    from assistant import eval_runner
    from assistant.cli import main

    calls = []

    def fake_run_eval(**options):
        calls.append(options["sample"])
        return SimpleNamespace(summary_text=lambda: "summary", passed=True)

    monkeypatch.setattr(eval_runner, "run_eval", fake_run_eval)
    assert CliRunner().invoke(main, ["eval", "--sample", "40"]).exit_code == 0
    assert CliRunner().invoke(main, ["eval"]).exit_code == 0
    assert calls == [40, None]
    assert CliRunner().invoke(main, ["eval", "--sample", "0"]).exit_code != 0


def test_the_summary_line_says_which_runs_were_sampled():
    from pathlib import Path

    from assistant.eval_runner import EvalOutcome

    figures = {"exact_match": 1.0, "recall_at_5": 1.0, "forbidden_reported": 0, "unverified_codes": 0,
               "scope_accuracy": None, "clarification_accuracy": None, "draft_pass_rate": 0.5}
    outcome = EvalOutcome(summary={"llm_only": figures, "full": figures}, failures=[], paths={"md": Path("r.md")},
                          seconds=1, sampled={"llm_only": {"cases": 6, "of": 38}, FULL_DRAFT: {"cases": 6, "of": 38}})
    llm_only, full = outcome.summary_text().splitlines()[1:3]
    assert "(sample: 6 of 38 cases)" in llm_only and "sample" not in full.split("draft_agrees")[0]
    assert full.endswith("draft_agrees=0.5 (over 6 sampled drafts)")


def test_the_openai_baseline_runs_on_a_sample_of_its_own_and_drafts_every_case_it_runs():
    cases = _cases()
    plan = CasePlan.of(cases, ["full", "full_openai"], sample=12, openai_sample=3)
    assert plan.runs["full"] == cases and plan.runs["full_openai"] == stratified_sample(cases, 3)
    assert {c.category for c in plan.runs["full_openai"]} == {"one", "two", "three"}
    embedded, served = _RecordingAssistant(), _RecordingAssistant()
    results = Evaluator(embedded, served).run(plan.runs, plan.drafted, progress=False)
    assert len(served.drafted) == 3 and len(embedded.drafted) == 12
    figures = metrics(results)["full_openai"]
    assert figures["drafts_streamed"] == 3 and figures["first_token_ms"] >= 0 and figures["tokens_per_s"] > 0
    assert all(r.draft_tokens == 3 for r in results if r.baseline == "full_openai")
    assert all(r.draft_tokens is None for r in results if r.baseline == "full" and r.id not in plan.drafted)


def test_the_report_puts_the_embedded_and_served_figures_side_by_side_on_the_same_cases():
    cases = _cases()
    plan = CasePlan.of(cases, ["full", "full_openai"], sample=None, openai_sample=3)
    results = Evaluator(_RecordingAssistant(), _RecordingAssistant()).run(plan.runs, plan.drafted, progress=False)
    backends = {"full": {"backend": "gguf", "model": "SmolLM2", "prompt": "compact", "max_tokens": 48},
                "full_openai": {"backend": "openai", "model": "SmolLM2", "prompt": "full", "max_tokens": 256}}
    report = markdown(metrics(results), results, [], {"backends": backends})
    assert "## (c) embedded model and (d) OpenAI-compatible server, on the 3 cases (d) ran" in report
    assert "| (c) gguf `SmolLM2`, prompt compact, max 48 tokens | (d) openai `SmolLM2`, prompt full, max 256 tokens |" \
        in report
    assert "| drafts streamed | 3 | 3 |" in report  # (c) over the 3 cases (d) ran, not its 18
    assert "draft agrees with the rule-checked codes it was given" in report and "not whether it could find" in report
    assert "## (c) embedded" not in markdown(metrics(results[:18]), results[:18], [], {})


class _TimedAssistant(_RecordingAssistant):
    """Takes 20 ms an answer, of which it says the model's draft took 50 ms (so the two figures differ)."""

    def ask(self, question, date_of_service=None, history=None, *, use_llm=True, on_token=None):
        time.sleep(0.02)
        answer = super().ask(question, date_of_service, history, use_llm=use_llm, on_token=on_token)
        answer.timings_ms = {"draft": 50 if use_llm else 0, "total": 20}
        return answer


def test_each_baseline_reports_its_time_and_its_model_drafts_share_in_the_summary_and_the_report():
    from pathlib import Path

    from assistant.eval_runner import EvalOutcome

    cases = _cases()
    plan = CasePlan.of(cases, ["full"], sample=6)
    results = Evaluator(_TimedAssistant()).run(plan.runs, plan.drafted, progress=False)
    assert all(r.wall_ms >= 20 for r in results)  # each case's own time, measured by the evaluator
    summary = metrics(results)
    assert summary["full"]["draft_seconds"] == 0.3  # the 6 drafted cases' reported 50 ms each
    assert summary["full"]["seconds"] >= 0.4  # 18 cases of at least 20 ms
    report = markdown(summary, results, [], {"setup_seconds": 12.5, "seconds": 99.0})
    assert "## Time per baseline (s)" in report and "Setup (code table, index, model load): 12.5 s" in report
    rest = round(summary["full"]["seconds"] - 0.3, 1)
    assert f"| full | 18 | {summary['full']['seconds']} | 0.3 | {rest} |" in report
    outcome = EvalOutcome(summary=summary, failures=[], paths={"md": Path("r.md")}, seconds=99, setup_seconds=12.5)
    first, full = outcome.summary_text().splitlines()[:2]
    assert first.startswith("Eval finished in 99 s (setup 12 s)")
    assert f" {summary['full']['seconds']:.0f} s (model drafts 0 s) exact=" in full
