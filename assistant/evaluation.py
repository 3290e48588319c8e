"""The eval suite: cases written from the sources, run on the real pipeline and on baselines."""

from __future__ import annotations

import re
import statistics
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, model_validator
from tqdm import tqdm

from assistant.chain import draft_chain, draft_inputs
from assistant.codebook import Derivation
from assistant.pipeline import Assistant, user_turns
from assistant.verify import cited_codes
from assistant.vocabulary import units_written

BASELINES = {
    "llm_only": "(a) LLM only: no retrieval, no rule check",
    "rag_llm": "(b) retrieval + LLM, no rule check",
    "full": "(c) full pipeline",
    "full_openai": "(d) full pipeline on the OpenAI-compatible endpoint",
}


class ExpectedCode(BaseModel):
    code: str
    units: int = 1
    modifiers: list[str] = Field(default_factory=list)
    modifiers_any: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _modifiers_written_with_the_code(cls, raw: object) -> object:
        """A gold may write the modifier as a claim line does ("72291-26") or as one `modifier`: the same thing."""
        if not isinstance(raw, dict):
            return raw
        raw = dict(raw)
        code, *written = str(raw.get("code", "")).split("-")
        if not all(len(w) == 2 and w.isalnum() for w in written):     # "M48.5-" is a code, not a modifier
            code, written = str(raw.get("code", "")), []
        single = raw.pop("modifier", None)
        if written or single:
            raw["code"] = code
            raw["modifiers"] = list(raw.get("modifiers", [])) + written + ([str(single)] if single else [])
        return raw


class ExpectedVerdict(BaseModel):
    code: str
    verdict: str                     # correct | replace | remove
    by: list[str] = Field(default_factory=list)


class Expect(BaseModel):
    in_scope: bool = True
    needs_clarification: bool = False
    code_sets: list[list[ExpectedCode]] = Field(default_factory=lambda: [[]])
    forbidden: list[str] = Field(default_factory=list)
    mentions: list[str] = Field(default_factory=list)
    docs: list[str] = Field(default_factory=list)
    review: list[ExpectedVerdict] = Field(default_factory=list)
    answer_must: list[list[str]] = Field(default_factory=list)    # each: alternatives, one must be in the text
    answer_must_not: list[str] = Field(default_factory=list)


class Case(BaseModel):
    id: str
    category: str
    question: str
    date_of_service: date | None = None
    history: list[str] = Field(default_factory=list)
    expect: Expect
    source: str


class GotCode(BaseModel):
    code: str
    units: int = 1
    modifiers: list[str] = Field(default_factory=list)
    verified: bool = False


class CaseResult(BaseModel):
    id: str
    category: str
    baseline: str
    question: str
    expected: list[list[str]]
    got: list[GotCode]
    exact: bool
    forbidden_hits: list[str]
    unverified: int
    supported: int
    recall: float | None
    in_scope_ok: bool | None  # None: the baseline says nothing about scope (n/a)
    clarification_ok: bool | None  # None: the baseline cannot ask back (n/a)
    mentions_ok: bool
    draft_passed: bool | None
    rejected: list[str]
    timings_ms: dict[str, int]
    error: str | None = None
    review_ok: bool | None = None     # None: the case proposes no codes (or the baseline gives no verdicts)
    answer_ok: bool | None = None     # None: the case has no answer_must / answer_must_not
    first_token_ms: int | None = None  # from the question to the draft's first token; None: no draft streamed
    draft_tokens: int | None = None   # streamed chunks of the draft (one token each from both backends)
    tokens_per_s: float | None = None  # the draft's tokens after the first, per second of streaming
    wall_ms: int | None = None        # the case's whole time in the evaluator (answering and scoring)


class TokenClock:
    """Times a streamed draft: the first token's delay from the question, then tokens per second."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.times: list[float] = []

    def tick(self, token: str) -> None:
        if token:  # a stream's role and closing chunks carry no text
            self.times.append(time.perf_counter())

    def figures(self) -> dict[str, int | float | None]:
        if not self.times:
            return {"first_token_ms": None, "draft_tokens": None, "tokens_per_s": None}
        streaming = self.times[-1] - self.times[0]
        return {"first_token_ms": int((self.times[0] - self.started) * 1000), "draft_tokens": len(self.times),
                "tokens_per_s": round((len(self.times) - 1) / streaming, 1) if streaming > 0 else None}


def load_cases(directory: Path) -> list[Case]:
    cases: list[Case] = []
    for path in sorted(directory.glob("*.yaml")):
        cases += [Case(**raw) for raw in yaml.safe_load(path.read_text(encoding="utf-8")) or []]
    ids = [c.id for c in cases]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"duplicate eval case ids: {', '.join(sorted(duplicates))}")
    return cases


def matches(got: list[GotCode], expected: list[ExpectedCode]) -> bool:
    """Same codes and units; every required modifier present; one of modifiers_any present."""
    by_code = {g.code: g for g in got}
    if set(by_code) != {e.code for e in expected}:
        return False
    for e in expected:
        g = by_code[e.code]
        if g.units != e.units or not set(e.modifiers) <= set(g.modifiers):
            return False
        if e.modifiers_any and not set(e.modifiers_any) & set(g.modifiers):
            return False
    return True


def units_from_text(text: str, code: str) -> int:
    """Units a draft states for a code ("22515 x2", "22515 (2 units)"); 1 when it says none."""
    return units_written(text, code) or 1


class Evaluator:
    def __init__(self, assistant: Assistant, openai_assistant: Assistant | None = None) -> None:
        self.assistant = assistant
        self.openai_assistant = openai_assistant
        self.doc_codes: dict[str, set[str]] = defaultdict(set)
        for c in assistant.index.chunks:
            self.doc_codes[c.doc_id] |= set(c.codes)

    def baselines(self) -> list[str]:
        names = ["llm_only", "rag_llm", "full"]
        return names + (["full_openai"] if self.openai_assistant else [])

    def run(self, plan: Mapping[str, Sequence[Case]], drafted: set[str] | None = None,
            progress: bool = True) -> list[CaseResult]:
        """Each baseline on its own cases (the whole suite, or a sample of it). `drafted`: the ids of the
        cases whose full-pipeline answer the model drafts (None: every case)."""
        jobs = [(b, c) for b, cases in plan.items() for c in cases]
        results = []
        for baseline, case in tqdm(jobs, desc="Evaluating", unit="case", disable=not progress):
            draft = baseline != "full" or drafted is None or case.id in drafted  # (d) drafts every case it runs
            started = time.perf_counter()
            result = self.run_case(case, baseline, draft=draft)
            results.append(result.model_copy(update={"wall_ms": int((time.perf_counter() - started) * 1000)}))
        return results

    def run_case(self, case: Case, baseline: str, draft: bool = True) -> CaseResult:
        """One case on one baseline. `draft=False` answers the full pipeline without the model's draft: the
        codes come from the rule check either way, and the case has no draft pass/fail (n/a)."""
        started = time.perf_counter()
        try:
            if baseline in ("full", "full_openai"):
                assistant = self.assistant if baseline == "full" else self.openai_assistant
                clock = TokenClock()
                answer = assistant.ask(case.question, case.date_of_service, case.history, use_llm=draft,
                                       on_token=clock.tick)
                got = [GotCode(code=c.code, units=c.units, modifiers=c.modifiers, verified=c.verified)
                       for c in answer.codes]
                result = self._result(case, baseline, got, answer.in_scope, answer.needs_clarification,
                                      f"{answer.summary}\n{answer.answer}", [c.id for c in answer.citations],
                                      answer.llm.draft_passed if drafts(answer, draft) else None,
                                      [r.code for r in answer.rejected],
                                      answer.timings_ms, direct=answer.summary)
                result.review_ok = review_matches(case.expect.review, [v.model_dump() for v in answer.review])
                return result.model_copy(update=clock.figures())
            return self._baseline(case, baseline, started)
        except Exception as exc:  # noqa: BLE001 - a crash is a failed case, reported, not a lost run
            return CaseResult(id=case.id, category=case.category, baseline=baseline, question=case.question,
                              expected=_expected(case), got=[], exact=False, forbidden_hits=[], unverified=0,
                              supported=0, recall=None, in_scope_ok=False, clarification_ok=False,
                              mentions_ok=False, draft_passed=None, rejected=[],
                              timings_ms={"total": int((time.perf_counter() - started) * 1000)},
                              error=f"{type(exc).__name__}: {exc}")

    def _baseline(self, case: Case, baseline: str, started: float) -> CaseResult:
        """(a)/(b): the same model, codes parsed from its text, no rule check."""
        a = self.assistant
        facts = a.read(case.question, case.date_of_service, user_turns(case.history), None)
        timings: dict[str, int] = {}
        t = time.perf_counter()
        passages = a.retrieve(facts, ["public", "cpt-licensed", "internal"]) if baseline == "rag_llm" else []
        timings["retrieve"] = int((time.perf_counter() - t) * 1000)
        model = a.model()
        t = time.perf_counter()
        inputs = draft_inputs(facts, Derivation(), passages, a.settings.prompt)
        inputs["codes"] = "- (no rule check in this baseline: answer from your own knowledge)"
        text = draft_chain(model).invoke(inputs) if model else ""
        timings["draft"] = int((time.perf_counter() - t) * 1000)
        timings["total"] = int((time.perf_counter() - started) * 1000)
        got = [GotCode(code=code, units=units_from_text(text, code), modifiers=mods)
               for code, mods in cited_codes(text)]
        # The bare model neither states a scope nor asks back: both are n/a for it, not "in scope, no question".
        return self._result(case, baseline, got, None, None, text, [p.doc_id for p in passages], None, [], timings)

    def _result(self, case: Case, baseline: str, got: list[GotCode], in_scope: bool | None, clarify: bool | None,
                text: str, cited_docs: list[str], draft_passed: bool | None, rejected: list[str],
                timings: dict[str, int], direct: str | None = None) -> CaseResult:
        """`text` is all the answer says; `direct`, its direct answer (the summary), is what knowledge facts are
        scored on (a model-only baseline's text is its direct answer)."""
        e = case.expect
        # A baseline that states no scope and never asks back can be exact only where none was expected.
        said_in_scope = True if in_scope is None else in_scope
        # a knowledge case (facts required in the direct answer, no code set) is scored on that answer, not on
        # whether the answer also listed rule-checked codes; forbidden codes still count against it
        codes_ok = any(matches(got, s) for s in e.code_sets) or (bool(e.answer_must) and e.code_sets == [[]])
        exact = codes_ok and said_in_scope == e.in_scope and bool(clarify) == e.needs_clarification
        cited_codes_set = set().union(*(self.doc_codes.get(d, set()) for d in cited_docs)) if cited_docs else set()
        return CaseResult(
            id=case.id, category=case.category, baseline=baseline, question=case.question,
            expected=_expected(case), got=got, exact=exact,
            forbidden_hits=[g.code for g in got if g.code in e.forbidden],
            unverified=sum(1 for g in got if not g.verified),
            supported=sum(1 for g in got if g.code in cited_codes_set),
            recall=(len(set(e.docs) & set(cited_docs[:5])) / len(e.docs)) if e.docs else None,
            in_scope_ok=None if in_scope is None else in_scope == e.in_scope,
            clarification_ok=None if clarify is None else clarify == e.needs_clarification,
            mentions_ok=all(m in text for m in e.mentions), draft_passed=draft_passed, rejected=rejected,
            timings_ms=timings, answer_ok=answer_matches(e, text if direct is None else direct))


def drafts(answer, asked: bool) -> bool:
    """Whether the pipeline had the model draft this answer: asked to, in scope, and not asking back (it
    drafts no clarifying question or scope statement, so their draft agreement is n/a, not a failure)."""
    return asked and answer.in_scope and not answer.needs_clarification


def review_matches(expected: list[ExpectedVerdict], got: list[dict]) -> bool | None:
    """Every proposed code has the expected verdict (and, for replace, at least the expected codes)."""
    if not expected:
        return None
    by_code = {_bare(g["code"]): g for g in got}
    return all((g := by_code.get(_bare(e.code))) is not None and (_same_verdict(e, g)) for e in expected)


def _same_verdict(expected: ExpectedVerdict, got: dict) -> bool:
    """The verdict expected; "replace 99153 x2 by 99153" is the code kept with other units, which the review
    gives as `correct` with the units to report."""
    units_only = expected.verdict == "replace" and expected.by == [_bare(expected.code)] \
        and got["verdict"] == "correct" and got.get("units") is not None
    return units_only or (got["verdict"] == expected.verdict and set(expected.by) <= set(got.get("by", [])))


def _bare(code: str) -> str:
    """A proposed line as written, less spaces and units ("99153 x2" is the 99153 line)."""
    return re.sub(r"[X×]\d+$", "", code.upper().replace(" ", ""))


def answer_matches(expect: Expect, text: str) -> bool | None:
    """Knowledge cases: each required fact (any of its wordings) is in the answer; no forbidden statement is."""
    if not expect.answer_must and not expect.answer_must_not:
        return None
    low = text.lower()
    return all(any(alt.lower() in low for alt in item) for item in expect.answer_must) and \
        not any(bad.lower() in low for bad in expect.answer_must_not)


def _expected(case: Case) -> list[list[str]]:
    return [[f"{c.code}{''.join('-' + m for m in c.modifiers)}{'-' + '/'.join(c.modifiers_any) if c.modifiers_any else ''}"
             f" x{c.units}" for c in s] for s in case.expect.code_sets]


def _rate(values: list[bool | None]) -> float | None:
    """The share of True among the values that apply (None = not applicable); None when none apply."""
    scored = [v for v in values if v is not None]
    return round(sum(scored) / len(scored), 4) if scored else None


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _percentile(values: list[int], q: float) -> int:
    if not values:
        return 0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _seconds(milliseconds: list[int | None]) -> float:
    return round(sum(ms or 0 for ms in milliseconds) / 1000, 1)


def metrics(results: list[CaseResult]) -> dict:
    by_baseline: dict[str, dict] = {}
    for baseline in dict.fromkeys(r.baseline for r in results):
        rs = [r for r in results if r.baseline == baseline]
        reported = sum(len(r.got) for r in rs)
        categories = sorted({r.category for r in rs})
        stages = sorted({s for r in rs for s in r.timings_ms})
        by_baseline[baseline] = {
            "cases": len(rs),
            "exact_match": _rate([r.exact for r in rs]),
            "exact_match_by_category": {c: _rate([r.exact for r in rs if r.category == c]) for c in categories},
            "forbidden_reported": sum(len(r.forbidden_hits) for r in rs),
            "unverified_codes": sum(r.unverified for r in rs),
            "citation_support": round(sum(r.supported for r in rs) / reported, 4) if reported else None,
            "recall_at_5": round(statistics.mean([r.recall for r in rs if r.recall is not None]), 4)
            if any(r.recall is not None for r in rs) else None,
            "scope_accuracy": _rate([r.in_scope_ok for r in rs]),
            "clarification_accuracy": _rate([r.clarification_ok for r in rs]),
            "multi_turn_accuracy": _rate([r.exact for r in rs if r.category == "multi_turn"]),
            "mentions_accuracy": _rate([r.mentions_ok for r in rs]),
            "draft_pass_rate": _rate([bool(r.draft_passed) for r in rs if r.draft_passed is not None]),
            "drafts_streamed": sum(1 for r in rs if r.draft_tokens),
            "first_token_ms": _percentile([r.first_token_ms for r in rs if r.first_token_ms is not None], 0.5)
            if any(r.first_token_ms is not None for r in rs) else None,
            "tokens_per_s": _median([r.tokens_per_s for r in rs if r.tokens_per_s is not None]),
            "review_accuracy": _rate([r.review_ok for r in rs if r.review_ok is not None]),
            "answer_accuracy": _rate([r.answer_ok for r in rs if r.answer_ok is not None]),
            "errors": sum(1 for r in rs if r.error),
            # where the eval's time goes: the baseline's cases end to end, and the model's drafts within them
            "seconds": _seconds([r.wall_ms for r in rs]),
            "draft_seconds": _seconds([r.timings_ms.get("draft") for r in rs]),
            "latency_ms": {s: {"p50": _percentile([r.timings_ms[s] for r in rs if s in r.timings_ms], 0.5),
                               "p95": _percentile([r.timings_ms[s] for r in rs if s in r.timings_ms], 0.95)}
                           for s in stages},
        }
    return by_baseline


def gate(summary: dict, thresholds: dict) -> list[str]:
    """Threshold failures of the full pipeline, as readable lines (empty = pass)."""
    full = summary["full"]
    failures = []
    for name, limit in thresholds.get("minimum", {}).items():
        value = full.get(name)
        if value is None or value < limit:
            failures.append(f"{name} = {value} is below {limit}")
    for name, limit in thresholds.get("maximum", {}).items():
        value = full.get(name)
        if value is None or value > limit:
            failures.append(f"{name} = {value} is above {limit}")
    return failures
