import yaml

from assistant.config import PROJECT_ROOT
from assistant.evaluation import ExpectedCode, GotCode, gate, load_cases, matches, units_from_text


def test_cases_load_and_cover_every_category():
    cases = load_cases(PROJECT_ROOT / "evals" / "cases")
    assert len(cases) >= 150
    per_category = {}
    for case in cases:
        per_category[case.category] = per_category.get(case.category, 0) + 1
    assert len(per_category) == 19 and min(per_category.values()) >= 8
    assert all(case.source.strip() for case in cases)


def test_a_gold_modifier_written_on_the_code_is_a_required_modifier():
    written = ExpectedCode(code="72291-26", units=2)
    named = ExpectedCode(code="72291", units=2, modifier="26")
    assert (written.code, written.modifiers) == (named.code, named.modifiers) == ("72291", ["26"])
    assert matches([GotCode(code="72291", units=2, modifiers=["26"])], [written])
    assert not matches([GotCode(code="72291", units=2)], [written])
    assert ExpectedCode(code="M48.5-").code == "M48.5-"


def test_exact_match_checks_codes_units_and_required_modifiers():
    expected = [ExpectedCode(code="22514"), ExpectedCode(code="20225", modifiers_any=["59", "XS"])]
    assert matches([GotCode(code="22514"), GotCode(code="20225", modifiers=["XS"])], expected)
    assert not matches([GotCode(code="22514"), GotCode(code="20225")], expected)
    assert not matches([GotCode(code="22514", units=2), GotCode(code="20225", modifiers=["59"])], expected)
    assert not matches([GotCode(code="22514")], expected)
    assert matches([], [])


def test_units_are_read_from_draft_text():
    assert units_from_text("Report 22513 and 22515 x2.", "22515") == 2
    assert units_from_text("Report 22513 and 22515.", "22515") == 1


def test_gate_reports_each_miss():
    summary = {"full": {"exact_match": 0.9, "forbidden_reported": 1, "recall_at_5": 0.95}}
    failures = gate(summary, {"minimum": {"exact_match": 0.95, "recall_at_5": 0.9},
                              "maximum": {"forbidden_reported": 0}})
    assert failures == ["exact_match = 0.9 is below 0.95", "forbidden_reported = 1 is above 0"]


class _ModelOnlyStub:
    """Just enough of an Assistant for the model-only baselines, with no model loaded (an empty draft)."""

    def __init__(self) -> None:
        from types import SimpleNamespace

        from assistant.codebook import Codebook
        from assistant.config import Settings

        self.codebook = Codebook.load()
        self.index = SimpleNamespace(chunks=[])
        self.settings = Settings.from_env(llm_backend="none")

    def model(self):
        return None

    def retrieve(self, facts, tiers):
        return []

    def read(self, question, date_of_service, earlier, today):
        from assistant.pipeline import Assistant

        return Assistant.read(self, question, date_of_service, earlier, today)   # the real reader on this table


def test_model_only_baselines_report_scope_and_clarification_as_not_applicable():
    from assistant.eval_report import markdown
    from assistant.evaluation import Case, Evaluator, metrics

    evaluator = Evaluator(_ModelOnlyStub())
    out_of_scope = Case(id="knee", category="scope", question="How do I code a total knee arthroplasty?",
                        expect={"in_scope": False}, source="test")
    unclear = Case(id="which", category="clarify", question="Kyphoplasty, what code?",
                   expect={"needs_clarification": True}, source="test")
    results = [evaluator.run_case(case, baseline) for baseline in ("llm_only", "rag_llm")
               for case in (out_of_scope, unclear)]
    assert all(r.error is None for r in results)
    assert all(r.in_scope_ok is None and r.clarification_ok is None for r in results)
    # saying nothing about scope or asking nothing back is not an exact answer where either was expected
    assert not any(r.exact for r in results)
    summary = metrics(results)
    assert summary["llm_only"]["scope_accuracy"] is None and summary["rag_llm"]["clarification_accuracy"] is None
    report = markdown(summary, results, [], {})
    assert "| scope accuracy | n/a | n/a |" in report and "| clarification accuracy | n/a | n/a |" in report


def test_a_clarifying_question_or_scope_statement_has_no_draft_agreement():
    from types import SimpleNamespace

    from assistant.evaluation import drafts

    assert drafts(SimpleNamespace(in_scope=True, needs_clarification=False), asked=True)
    assert not drafts(SimpleNamespace(in_scope=True, needs_clarification=False), asked=False)
    assert not drafts(SimpleNamespace(in_scope=True, needs_clarification=True), asked=True)  # the model writes none
    assert not drafts(SimpleNamespace(in_scope=False, needs_clarification=False), asked=True)


def test_every_recorded_first_run_names_its_set_and_file():
    runs = yaml.safe_load((PROJECT_ROOT / "evals" / "first_runs.yaml").read_text(encoding="utf-8"))
    assert runs and all({"set", "file", "date"} <= set(r) for r in runs)
    assert all((PROJECT_ROOT / r["file"]).exists() for r in runs if r["file"].startswith("evals/blind/"))


def test_a_review_scores_a_units_fix_as_the_same_code_replaced():
    from assistant.evaluation import ExpectedVerdict, review_matches
    fix = [ExpectedVerdict(code="99153 x2", verdict="replace", by=["99153"])]
    assert review_matches(fix, [{"code": "99153", "verdict": "correct", "by": [], "units": 1}])
    assert not review_matches(fix, [{"code": "99153", "verdict": "correct", "by": [], "units": None}])
    other = [ExpectedVerdict(code="22524", verdict="replace", by=["22514"])]
    assert not review_matches(other, [{"code": "22524", "verdict": "correct", "by": [], "units": 1}])
    assert review_matches(other, [{"code": "22524", "verdict": "replace", "by": ["22514"], "units": None}])
