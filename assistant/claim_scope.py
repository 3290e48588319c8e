"""Whose claim and which codes were asked for: codes outside what the coder limited the question to
(only the procedure codes, only the diagnosis) are named in a note instead of reported."""

from __future__ import annotations

from assistant.answer import CodeLine
from assistant.codebook import Codebook
from assistant.facts import Facts

DIAGNOSIS_SYSTEM = "ICD-10-CM"


def limit_to_scope(facts: Facts, codes: list[CodeLine], codebook: Codebook) -> tuple[list[CodeLine], list[str]]:
    """The codes inside the question's scope, and notes naming the ones left out."""
    if facts.billing_scope not in ("procedure", "diagnosis"):
        return codes, []
    wanted_diagnosis = facts.billing_scope == "diagnosis"
    kept = [c for c in codes if _is_diagnosis(c.code, codebook) == wanted_diagnosis]
    left = [c for c in codes if c not in kept]
    if not left or not kept:
        return codes, []
    asked = "diagnosis codes" if wanted_diagnosis else "procedure codes"
    named = ", ".join(f"{c.code}{' x' + str(c.units) if c.units > 1 else ''}" for c in left)
    return kept, [f"You asked for the {asked} only; the rest of this scenario's claim: {named} (verified, not listed "
                  "above)."]


def _is_diagnosis(code: str, codebook: Codebook) -> bool:
    entry = codebook.get(code)
    return bool(entry) and entry.system == DIAGNOSIS_SYSTEM
