"""Topics: what a question is about, read off the facts. Docs name their topics in front matter;
retrieval ranks docs sharing the question's topics as one more list in the fusion."""

from __future__ import annotations

from assistant import spine
from assistant.codebook import Codebook
from assistant.facts import Facts
from assistant.reader import Reading, reader

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


def topics_of(facts: Facts, codebook: Codebook) -> set[str]:
    mentioned = [e for c in facts.mentioned_codes if (e := codebook.get(c.rstrip("-")))]
    families = {e.family for e in mentioned}
    spinal = {b.procedure for b in facts.bodies if b.procedure in ("vertebroplasty", "augmentation")}
    reading = reader().read(facts.question)
    treated = {b.name for b in facts.bodies}
    biopsy_elsewhere = any(level not in treated for level in facts.biopsy_levels)  # 20225 with XS or 59
    found = {
        "multi_level": len(facts.bodies) > 1 or facts.unknown_count or reading.has("about.multi_level"),
        "cross_region": len({b.region for b in facts.bodies if b.region != "sacral"}) > 1,
        "mixed_procedures": len(spinal) > 1,
        "add_on": any(e.role == "add_on" and e.family != "sedation" for e in mentioned),
        "biopsy": facts.biopsy or "biopsy" in families,
        "sedation": facts.sedation or "sedation" in families,
        "before_2015": facts.date_of_service.year < 2015 and bool(facts.procedures or mentioned),
        "deleted_code": any(e.effective_to for e in mentioned),
        "imaging": bool(facts.imaging) or bool(families & {"imaging_guidance", "imaging_si"}) or reading.has("about.imaging"),
        "cervical": any(b.region == "cervical" for b in facts.bodies) or _names_cervical(reading),
        "sacral": "sacral_augmentation" in facts.procedures or any(b.region == "sacral" for b in facts.bodies),
        "bilateral": "50" in facts.mentioned_modifiers or reading.has("about.bilateral"),
        "modifier": any(m != "50" for m in facts.mentioned_modifiers) or reading.has("about.modifier") or biopsy_elsewhere,
        "professional_component": bool({"26", "TC"} & set(facts.mentioned_modifiers + facts.cues)),
        "neoplasm": any(c.startswith(("myeloma", "metastatic")) for c in facts.conditions),
        "osteoporosis": any("osteoporotic" in c for c in facts.conditions),
        "procedure_unclear": any(b.procedure is None for b in facts.bodies),
        "coverage": reading.has("about.coverage") or any(map(reading.in_question, reading.found("ask.coverage"))),
    }
    return {name for name, present in found.items() if present}


def _names_cervical(reading: Reading) -> bool:
    """The cervical region or a cervical level is named, treated or not."""
    levels = (spine.level(reading.text[m.start:m.end]) for m in reading.found("level"))
    return reading.has("region.cervical") or any(lv and lv.region == "cervical" for lv in levels)
