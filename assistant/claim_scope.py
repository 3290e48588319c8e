"""Whose claim and which codes were asked for: codes outside what the coder limited the question to
(only the procedure codes, only the diagnosis, just the sedation or the biopsy line) are named in a note
instead of reported."""

from __future__ import annotations

from assistant.answer import CodeLine
from assistant.codebook import Codebook
from assistant.facts import Facts

DIAGNOSIS_SYSTEM = "ICD-10-CM"


SCOPE_FAMILIES = {"sedation": ("sedation",), "biopsy": ("biopsy",), "imaging": ("imaging_guidance", "imaging_si")}
ASKED = {"procedure": "procedure codes", "diagnosis": "diagnosis codes", "sedation": "sedation codes",
         "biopsy": "biopsy line", "imaging": "imaging codes"}


def limit_to_scope(facts: Facts, codes: list[CodeLine], codebook: Codebook) -> tuple[list[CodeLine], list[str]]:
    """The codes inside the question's scope, and notes naming the ones left out."""
    if facts.billing_scope not in ASKED:
        return codes, []
    kept = [c for c in codes if _in_scope(facts.billing_scope, codebook.get(c.code))]
    if facts.billing_scope == "diagnosis" and facts.fracture_code_only:
        kept = [c for c in kept if "fracture" in codebook.get(c.code).description.lower()] or kept
    left = [c for c in codes if c not in kept]
    if not left or not kept:
        return codes, []
    named = ", ".join(f"{c.code}{' x' + str(c.units) if c.units > 1 else ''}" for c in left)
    return kept, [f"You asked for the {ASKED[facts.billing_scope]} only; the rest of this scenario's claim: {named} "
                  "(verified, not listed above)."]


def _in_scope(scope: str, entry) -> bool:
    if entry is None:
        return False
    if scope == "diagnosis":
        return entry.system == DIAGNOSIS_SYSTEM
    if scope == "procedure":
        return entry.system != DIAGNOSIS_SYSTEM
    return entry.family in SCOPE_FAMILIES[scope]
