"""The stages wired in one direction: facts -> retrieve -> codebook -> draft -> verify -> Answer."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml

from assistant import facts as facts_stage
from assistant.answer import (
    SCOPE_STATEMENT,
    Answer,
    Citation,
    LLMInfo,
    Section,
    code_facts,
    compose,
    sections,
    summarize,
)
from assistant.claim_scope import limit_to_scope
from assistant.codebook import Codebook, Derivation
from assistant.compound import asked_apart, joined, question_parts
from assistant.config import TIERS, Settings
from assistant.corpus import AMA_NOTICE, licensed_descriptors
from assistant.errors import ModelUnavailableError
from assistant.readback import understood
from assistant.retrieval import Passage, SearchIndex, open_index, search
from assistant.review import review
from assistant.rule_answer import answer_from_passages, answer_rule, asks_each_date, defines_a_term, rule_in_case
from assistant.topics import topics_of
from assistant.verify import verify

History = Sequence[str | dict]


def user_turns(history: History | None) -> list[str]:
    """Earlier user questions, from plain strings or OpenAI-style {"role", "content"} messages."""
    turns = []
    for item in history or []:
        if isinstance(item, dict):
            if item.get("role", "user") == "user" and item.get("content"):
                turns.append(str(item["content"]))
        elif str(item).strip():
            turns.append(str(item))
    return turns


class Assistant:
    """Holds what is slow to load (code table, index, model) and answers questions."""

    def __init__(self, settings: Settings | None = None, *, progress: bool = True) -> None:
        self.settings = settings or Settings.from_env()
        self.codebook = Codebook.load(self.settings.corpus_dir / "codes")
        self.progress = progress
        self._model = None
        self._model_name: str | None = None
        self._load_error: str | None = None  # the model could not be loaded: lasting, shown on every answer
        self.draft_errors = 0  # drafts the model failed to write (each answer was composed without it)

    @property
    def model_name(self) -> str:
        """The chat model's name once loaded ("none" for the none backend or a failed load)."""
        self.model()
        return self._model_name or "none"

    @property
    def index(self) -> SearchIndex:
        """The current index, looked up on every use (cached per version), so a rebuild by another
        process is picked up instead of leaving this one on a deleted collection."""
        return open_index(self.settings, self.codebook, progress=self.progress)

    def model(self):
        if self._model_name is None and self.settings.llm_backend == "none":
            self._model_name = "none"  # nothing to load: neither the backends nor LangChain are imported
        if self._model_name is None:
            from assistant.llm import chat_model  # LangChain and the model backends: only when a draft is wanted

            try:
                self._model, self._model_name = chat_model(self.settings)
            except ModelUnavailableError as exc:
                self._model, self._model_name, self._load_error = None, "none", str(exc)
        return self._model

    def ask(self, question: str, date_of_service: date | str | None = None, history: History | None = None, *,
            entitlements: Iterable[str] = TIERS, on_token: Callable[[str], None] | None = None,
            use_llm: bool = True, today: date | None = None) -> Answer:
        """The answer to a question; a line of two questions, each with its own subject, is answered part by
        part (see `compound`)."""
        earlier = user_turns(history)
        options = {"entitlements": entitlements, "on_token": on_token, "use_llm": use_llm}
        started = time.perf_counter()
        timings: dict[str, int] = {}
        with _timed(timings, "facts"):
            facts = self.read(question, date_of_service, earlier, today)
            parts = question_parts(question) if "?" in question else []
            alone = [self.read(text, date_of_service, earlier, today) for _, text in parts] if len(parts) > 1 else []
        if asked_apart(facts, alone):
            read = alone[:1] + [self.read(text, date_of_service, earlier + [t for _, t in parts[:i]], today)
                                for i, (_, text) in enumerate(parts) if i]    # the first part has no earlier part
            answers = [self._answer(part, started, dict(timings), **options) for part in read]
            return joined(question, answers, [at for at, _ in parts])
        return self._answer(facts, started, timings, **options)

    def read(self, question: str, date_of_service: date | str | None, earlier: list[str],
             today: date | None) -> facts_stage.Facts:
        return facts_stage.parse(question, date_of_service, earlier, today=today,
                                 conditions=self.codebook.condition_terms(),
                                 encounters=self.codebook.encounter_terms(), cues=self.codebook.cue_terms())

    def _answer(self, facts: facts_stage.Facts, started: float, timings: dict[str, int], *,
                entitlements: Iterable[str], on_token: Callable[[str], None] | None, use_llm: bool) -> Answer:
        tiers = [t for t in entitlements if t in TIERS]
        with _timed(timings, "retrieve"):
            passages = self.retrieve(facts, tiers) if facts.in_scope else []
        with _timed(timings, "codebook"):
            # "which code for each date?": each date's codes come from the rule answer; one case's would mix them
            derivation = Derivation() if asks_each_date(facts) else self.codebook.derive(facts)
            undecided = self.codebook.answers_without(facts, derivation.missing)   # the rule holds whatever it is
            rule = answer_rule(facts, self.codebook, passages, case_undecided=undecided)
            asked_a_rule = bool(facts.rule_asks or facts.mentioned_modifiers) or bool(   # "kypho at 3 levels - any
                rule and rule.statements and not facts.asks_for_codes)                  # level limit?": a rule
            a_case = bool(facts.bodies) or (facts.unknown_count and bool(facts.procedures))   # "VP 2 levels"
            a_choice = a_case and facts.codes_offered and not defines_a_term(facts, self.codebook)
            if rule and derivation.clarification and (not rule.statements or a_choice
                                                      or (a_case and not asked_a_rule and not undecided)):
                rule = None  # a case that lacks a fact its question needs (or a choice of its codes): ask the fact
            if rule and not derivation.codes:
                derivation.clarification = None  # a rule is answered from the table: no case facts needed
            if (rule is None or not rule.statements) and derivation.codes:   # the table on the case's codes, before
                rule = rule_in_case(facts, self.codebook, [d.code for d in derivation.codes]) or rule   # passages
            if rule is None and (_asks_the_passages(facts, derivation) or _asks_what_to_document(facts, derivation)):
                rule = answer_from_passages(facts.question, passages)
        model = self.model() if use_llm and facts.in_scope else None
        with _timed(timings, "draft"):
            draft, draft_error = self._draft(model, facts, derivation, passages, on_token)
        with _timed(timings, "verify"):
            checked = verify(draft, facts, derivation, self.codebook)
            self._apply_licensed_descriptions(checked.codes, tiers)
            verdicts = review(facts, checked.codes, checked.rejected, self.codebook)
            codes, scope_notes = limit_to_scope(facts, checked.codes, self.codebook)
            text = compose(facts, derivation, codes, checked.rejected, passages, self.codebook, verdicts, scope_notes,
                           rule)
        model_error = draft_error or self._load_error
        if model_error and use_llm:
            derivation.warnings.append(f"chat model unavailable, answered without it: {model_error}")
        licensed = any(p.license == "cpt-licensed" for p in passages) or self._licensed_shown(checked.codes, tiers)
        if licensed:
            text += f"\n\n_{AMA_NOTICE}_"
        timings["total"] = int((time.perf_counter() - started) * 1000)
        return Answer(
            question=facts.question,
            date_of_service=facts.date_of_service,
            in_scope=facts.in_scope,
            needs_clarification=bool(derivation.clarification),
            answer=text if facts.in_scope else SCOPE_STATEMENT,
            codes=codes,
            rejected=checked.rejected,
            warnings=_warnings(facts, derivation.warnings),
            citations=[Citation(id=p.doc_id, title=p.title, source=p.source, license=p.license) for p in passages],
            llm=LLMInfo(backend=self.settings.llm_backend if model else "none",
                        model=self._model_name if model else "none", draft_passed=checked.draft_passed),
            timings_ms=timings,
            summary=summarize(facts, derivation, codes, verdicts, text, self.codebook, rule),
            understood=understood(facts, self.codebook.condition_terms()),
            review=verdicts,
            sections=self._sections(facts, derivation, codes, verdicts, checked.rejected, scope_notes, passages, rule,
                                    notice=licensed),
        )

    def _sections(self, facts, derivation, codes, verdicts, rejected, scope_notes, passages, rule,
                  notice: bool) -> list[Section]:
        """The answer's typed parts; the code table's facts on named codes when no code is reported; the AMA
        notice when licensed text is shown."""
        if not facts.in_scope:
            return []
        named = facts.mentioned_codes and not codes and not derivation.clarification
        table_facts = code_facts(facts, self.codebook) if named else []
        parts = sections(derivation, codes, verdicts, rejected, scope_notes, passages, rule, table_facts)
        return parts + ([Section(kind="notice", title="Copyright", items=[AMA_NOTICE])] if notice else [])

    def retrieve(self, facts, tiers: list[str]) -> list[Passage]:
        return search(self.index, search_query(facts, self.settings.corpus_dir), day=facts.date_of_service, entitlements=tiers,
                      codes=facts.mentioned_codes, topics=topics_of(facts, self.codebook), k=self.settings.top_k)

    def _draft(self, model, facts, derivation, passages, on_token) -> tuple[str | None, str | None]:
        """(draft, None), or (None, the error) when the model failed on this question. A failure concerns
        this answer only: the next question asks the model again, so a transient error does not stick."""
        if model is None or derivation.clarification:
            return None, None
        from assistant.chain import draft_chain, draft_inputs  # LangChain: only when a model drafts

        pieces: list[str] = []
        try:
            for token in draft_chain(model).stream(draft_inputs(facts, derivation, passages, self.settings.prompt)):
                pieces.append(token)
                if on_token:
                    on_token(token)
        except Exception as exc:  # noqa: BLE001 - a failing model never fails the answer
            self.draft_errors += 1
            return None, f"{type(exc).__name__}: {exc}"
        return "".join(pieces), None

    def _licensed_shown(self, codes, tiers) -> bool:
        return "cpt-licensed" in tiers and any(c.code in licensed_descriptors(self.settings.data_dir) for c in codes)

    def _apply_licensed_descriptions(self, codes, tiers) -> None:
        if "cpt-licensed" not in tiers:
            return
        licensed = licensed_descriptors(self.settings.data_dir)
        for line in codes:
            if line.code in licensed:
                line.description = licensed[line.code]


@lru_cache(maxsize=4)
def query_terms(corpus_dir: Path) -> dict:
    """corpus/language/query_terms.yaml: what each fact adds to the retrieval query."""
    return yaml.safe_load((corpus_dir / "language" / "query_terms.yaml").read_text(encoding="utf-8"))


def search_query(facts, corpus_dir: Path) -> str:
    """The question plus what the facts (and earlier turns) establish, so follow-ups retrieve well."""
    added = query_terms(corpus_dir)
    terms = [facts.question] + [added["family"][p] for p in facts.procedures]
    if facts.follow_up and facts.bodies:
        terms.append(added["follow_up_levels"] + " " + " ".join(b.name or b.region for b in facts.bodies))
    if len(facts.regions) > 1:
        terms.append(added["cross_region"])
    if facts.date_of_service.year < 2015 and facts.procedures:
        terms.append(added["before_2015"])
    if facts.biopsy:
        terms.append(added["biopsy"])
    if facts.sedation:
        terms.append(added["sedation"])
    terms += [c.replace("_", " ") for c in facts.conditions]
    return " ".join(terms)


def _asks_the_passages(facts, derivation) -> bool:
    """A question with no case to code, no code named and no rule the table answers: the sources answer it."""
    return facts.in_scope and not (facts.is_scenario or facts.mentioned_codes or derivation.codes
                                   or derivation.clarification or facts.sedation_minutes is not None)


def _asks_what_to_document(facts, derivation) -> bool:
    """A coded case whose question asks what the record or claim needs ("22899 for a C5 vertebroplasty - what do
    I send with the claim?"): the sources' sentences follow the codes."""
    return facts.in_scope and bool(derivation.codes) and "documentation" in facts.rule_asks


def _warnings(facts, warnings: list[str]) -> list[str]:
    out = list(warnings)
    if facts.in_scope and facts.date_note.startswith("no date"):
        out.insert(0, f"no date of service given: answered for today, {facts.date_of_service.isoformat()}")
    return out


@contextmanager
def _timed(timings: dict[str, int], stage: str):
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = int((time.perf_counter() - started) * 1000)
