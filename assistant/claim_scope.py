"""Whose claim and which codes were asked for: codes outside what the coder limited the question to
(only the procedure codes, only the diagnosis, just the sedation or the biopsy line) are named in a note
instead of reported."""

from __future__ import annotations

from assistant.answer import CodeLine
from assistant.codebook import DIAGNOSIS_SYSTEM, SERVICE_FAMILIES, Codebook
from assistant.facts import Facts

SCOPE_FAMILIES = {**{s: SERVICE_FAMILIES[s] for s in ("sedation", "biopsy", "imaging")}, "anesthesia": ("anesthesia",)}
# scopes that are another provider's whole claim, not lines of the surgeon's: the claim carries its diagnosis
WHOLE_CLAIMS = ("anesthesia",)
ASKED = {"procedure": "procedure codes", "diagnosis": "diagnosis codes", "sedation": "sedation codes",
         "biopsy": "biopsy line", "imaging": "imaging codes", "anesthesia": "anesthesia code"}


def limit_to_scope(facts: Facts, codes: list[CodeLine], codebook: Codebook) -> tuple[list[CodeLine], list[str]]:
    """The codes inside the question's scope, and notes naming the ones left out. A service's codes asked for with
    the diagnosis ("just the ASA code and dx") keep the diagnosis codes, as does another provider's whole claim."""
    scope = _asked(facts)
    if scope not in ASKED:
        return codes, []
    kept = [c for c in codes if _in_scope(scope, codebook.get(c.code))
            or ((facts.asks_for_diagnosis or scope in WHOLE_CLAIMS) and scope in SCOPE_FAMILIES
                and _in_scope("diagnosis", codebook.get(c.code)))]
    if scope == "diagnosis" and facts.fracture_code_only:
        kept = [c for c in kept if "fracture" in codebook.get(c.code).description.lower()] or kept
    left = [c for c in codes if c not in kept]
    if not left or (not kept and scope not in SCOPE_FAMILIES):
        return codes, []
    named = ", ".join(f"{c.code}{' x' + str(c.units) if c.units > 1 else ''}" for c in left)
    if not kept:      # the service asked about is not reported on this claim (included, or another's)
        return [], [f"No separate {ASKED[scope]} is reported for this scenario; its claim: {named} "
                    "(verified, not listed above)."]
    return kept, [f"You asked for the {ASKED[scope]} only; the rest of this scenario's claim: {named} "
                  "(verified, not listed above)."]


def _asked(facts: Facts) -> str | None:
    """The part of the claim the coder limited the question to. A question about one service of a scenario
    ("can I add the biopsy?") still gets the scenario's claim: the tuned cases' writers expect it. An anesthesia
    provider who gave moderate sedation, not anesthesia, reports that sedation on their claim."""
    if facts.billing_scope == "anesthesia" and facts.sedation_performer == "other":
        return "sedation"
    return facts.billing_scope


def _in_scope(scope: str, entry) -> bool:
    if entry is None:
        return False
    if scope == "diagnosis":
        return entry.system == DIAGNOSIS_SYSTEM
    if scope == "procedure":
        return entry.system != DIAGNOSIS_SYSTEM and entry.family not in SCOPE_FAMILIES["anesthesia"]
    return entry.family in SCOPE_FAMILIES[scope]
