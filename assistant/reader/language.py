"""The reader's language, loaded from corpus/language/: terms (concept -> surface forms) and
ConText-style context rules. Both are data with a source and examples; this module only loads and
checks them."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, Field, PrivateAttr, field_validator

from assistant.config import PROJECT_ROOT
from assistant.yamlfile import safe_load

LANGUAGE_DIR = PROJECT_ROOT / "corpus" / "language"
Category = Literal["negated", "not_treated", "historical", "uncertain", "other_performer", "other_claim",
                   "hypothetical", "reference", "pseudo", "biopsy_site", "undocumented", "one_side", "about_diagnosis",
                   "about_claim", "sedation_name", "diagnostic_study"]
CATEGORIES = get_args(Category)


class TermExample(BaseModel):
    text: str
    finds: str | None = None        # the words the concept must be found at (None: must not be found)


class Term(BaseModel):
    """One concept and the ways coders write it. A form is words separated by spaces; a word ending in
    '*' matches any ending ("kyphoplast*"); hyphens never matter ("c-arm" = "c arm")."""

    concept: str
    forms: list[str]
    fuzzy: bool = False              # tolerate one typo in words of 10+ letters ("vertebroplsty")
    case_sensitive: bool = False     # the forms match only as written ("79F": a capital F is female)
    code_families: list[str] = Field(default_factory=list)   # the code-table families the concept names: the
                                                             # draft check reads "22515 for the biopsy" against them
    ignored_in: list[Category] = Field(default_factory=list)  # contexts where a mention of it says nothing
    source: str
    examples: list[TermExample] = Field(min_length=1)

    @field_validator("forms")
    @classmethod
    def _forms_not_blank(cls, forms: list[str]) -> list[str]:
        if not forms or any(not f.strip() for f in forms):
            raise ValueError("every term needs at least one non-blank form")
        return forms


class RuleExample(BaseModel):
    text: str
    target: str                      # the words whose context is checked (first occurrence)
    applies: bool = True             # whether the rule's category must reach the target


class ContextRule(BaseModel):
    """A trigger that gives the words in its scope a category (as in NegEx / medspaCy ConText). A trigger
    written "@concept" is any mention of that concept (a biopsy mention opens the scope of its site)."""

    category: Category
    triggers: list[str]
    direction: Literal["forward", "backward", "bidirectional"]
    max_scope: int = 6               # in tokens
    terminated_by: list[str] = Field(default_factory=list)   # tokens (".") or "@concept"
    attached: bool = False           # the scope is only the word written against the trigger ("?mets")
    cancelled_by: list[str] = Field(default_factory=list)    # words after the trigger that undo it ("as planned")
    list_of: str | None = None       # the scope holds only the nearest mention of this concept and those
                                     # listed with it ("T12 and L2 not touched"), one joining word apart
    source: str
    examples: list[RuleExample] = Field(min_length=1)


class Language(BaseModel):
    terms: list[Term]
    rules: list[ContextRule]
    _words: dict[str, frozenset[str]] = PrivateAttr(default_factory=dict)   # words_of, read on every question

    @classmethod
    def load(cls, directory: Path = LANGUAGE_DIR) -> Language:
        return cls(terms=_load_list(directory / "terms", Term), rules=_load_list(directory / "context", ContextRule))

    def concepts(self) -> set[str]:
        return {t.concept for t in self.terms}

    def words_of(self, concept: str) -> frozenset[str]:
        """The forms of a concept as single words (a list's joining words: ",", "and", "thru")."""
        if concept not in self._words:
            self._words[concept] = frozenset(f.strip().lower() for t in self.terms if t.concept == concept
                                             for f in t.forms)
        return self._words[concept]

    def ignored_in(self) -> dict[str, set[str]]:
        """The contexts in which each concept's mentions are dropped, for the concepts that have any."""
        return {t.concept: set(t.ignored_in) for t in self.terms if t.ignored_in}

    def code_families(self) -> dict[str, set[str]]:
        """The code-table families each concept names, for the concepts that name any."""
        return {t.concept: set(t.code_families) for t in self.terms if t.code_families}


def _load_list(directory: Path, model: type[BaseModel]) -> list:
    items = []
    for path in sorted(directory.glob("*.yaml")):
        for i, raw in enumerate(safe_load(path.read_text(encoding="utf-8")) or []):
            try:
                items.append(model(**raw))
            except Exception as exc:
                raise ValueError(f"{path.name} entry {i + 1}: {exc}") from exc
    return items
