"""Topics: what a question is about, read off the facts. Docs name their topics in front matter;
retrieval ranks docs sharing the question's topics as one more list in the fusion."""

from __future__ import annotations

import re

from assistant.codebook import Codebook
from assistant.facts import Facts
from assistant.vocabulary import COVERAGE_QUESTION

TOPICS = {
    "multi_level": "more than one vertebral body, add-on units",
    "cross_region": "levels in more than one region: which primary",
    "mixed_procedures": "vertebroplasty and augmentation in one session",
    "add_on": "add-on codes and their primaries",
    "biopsy": "bone biopsy with the procedure",
    "sedation": "moderate sedation",
    "before_2015": "dates of service before the 2015 restructure",
    "deleted_code": "a deleted code and its replacement",
    "imaging": "imaging guidance",
    "cervical": "cervical levels",
    "sacral": "sacral augmentation",
    "bilateral": "bilateral access and modifier 50",
    "modifier": "modifiers 51, 59, X{EPSU}, 22",
    "professional_component": "professional/technical component (26/TC)",
    "neoplasm": "pathological fracture from a neoplasm",
    "osteoporosis": "osteoporotic fracture diagnosis",
    "procedure_unclear": "which procedure family the note describes",
    "coverage": "Medicare coverage and LCDs",
}
BILATERAL = re.compile(r"bilateral|both sides|pedicle|bipedicular", re.IGNORECASE)
# "covered" inside pasted denial text is not a coverage question; a question about coverage is
COVERAGE = re.compile(r"\blcds?\b|medical(?:ly)? necess|medicare", re.IGNORECASE)
CERVICAL = re.compile(r"\bcervical\b|\bC[1-7]\b", re.IGNORECASE)
IMAGING = re.compile(r"fluoro|\bct\b|guidance|s&i|imaging", re.IGNORECASE)
MULTI = re.compile(r"\blevels\b|\bunits?\b|\blvls\b", re.IGNORECASE)


def topics_of(facts: Facts, codebook: Codebook) -> set[str]:
    mentioned = [e for c in facts.mentioned_codes if (e := codebook.get(c.rstrip("-")))]
    families = {e.family for e in mentioned}
    spinal = {b.procedure for b in facts.bodies if b.procedure in ("vertebroplasty", "augmentation")}
    text = facts.question
    treated = {b.name for b in facts.bodies}
    biopsy_elsewhere = any(level not in treated for level in facts.biopsy_levels)  # 20225 with XS or 59
    found = {
        "multi_level": len(facts.bodies) > 1 or facts.unknown_count or bool(MULTI.search(text)),
        "cross_region": len({b.region for b in facts.bodies if b.region != "sacral"}) > 1,
        "mixed_procedures": len(spinal) > 1,
        "add_on": any(e.role == "add_on" and e.family != "sedation" for e in mentioned),
        "biopsy": facts.biopsy or "biopsy" in families,
        "sedation": facts.sedation or "sedation" in families,
        "before_2015": facts.date_of_service.year < 2015 and bool(facts.procedures or mentioned),
        "deleted_code": any(e.effective_to for e in mentioned),
        "imaging": bool(facts.imaging) or bool(families & {"imaging_guidance", "imaging_si"}) or bool(IMAGING.search(text)),
        "cervical": any(b.region == "cervical" for b in facts.bodies) or bool(CERVICAL.search(text)),
        "sacral": "sacral_augmentation" in facts.procedures or any(b.region == "sacral" for b in facts.bodies),
        "bilateral": "50" in facts.mentioned_modifiers or bool(BILATERAL.search(text)),
        "modifier": any(m != "50" for m in facts.mentioned_modifiers) or "modifier" in text.lower() or biopsy_elsewhere,
        "professional_component": bool({"26", "TC"} & set(facts.mentioned_modifiers + facts.cues)),
        "neoplasm": any(c.startswith(("myeloma", "metastatic")) for c in facts.conditions),
        "osteoporosis": any("osteoporotic" in c for c in facts.conditions),
        "procedure_unclear": any(b.procedure is None for b in facts.bodies),
        "coverage": bool(COVERAGE.search(text) or COVERAGE_QUESTION.search(text)),
    }
    return {name for name, present in found.items() if present}
