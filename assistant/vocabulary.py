"""The words and patterns the facts parser recognises in coders' questions."""

import re

PROCEDURE_TERMS: dict[str, list[str]] = {
    "sacral_augmentation": [r"sacroplast\w*", r"sacral augmentation", r"sacral (?:insufficiency )?(?:cement|augment)\w*"],
    "augmentation": [
        r"kyphoplast\w*", r"\bky?ph?o?pla?s?ty\b", r"\bkyph\w{0,3}pl\w{0,5}\b",
        r"\bkypho\b", r"\bpkp\b", r"\bbkp\b", r"balloon\w*", r"bone tamp\w*", r"\btamp\b", r"cavity",
        r"curett\w*", r"\bkiva\b", r"spine ?jack", r"osteotome", r"radiofrequency[- ]targeted",
        r"mechanical device", r"(?:vertebral )?augmentation", r"\bva\b", r"stentoplasty", r"vertebral body stent\w*",
    ],
    "vertebroplasty": [
        r"vertebroplast\w*", r"\bvert\w{1,5}pla?s?ty\b", r"\bvert\w{1,6}pl\w{1,5}\b",
        r"\bvertebro\b", r"\bpvp\b", r"cement only", r"cement injection", r"cementoplast\w*",
        r"injected (?:bone )?cement", r"pmma", r"bone cement", r"\bcement\b",
    ],
}
# Words for creating a cavity: documented technique, which decides augmentation even under a
# vertebroplasty label ("balloon-assisted vertebroplasty"; "PVP T8" whose narrative inflates a tamp).
CAVITY_TERMS = re.compile(
    r"balloon\w*|bone tamp\w*|\btamp\b|cavity|curett\w*|\bkiva\b|spine ?jack|osteotome|mechanical device|"
    r"vertebral body stent\w*|stentoplasty",
    re.IGNORECASE,
)
LIST_JOIN = re.compile(r"[\s,/]*(?:or|and|nor)?[\s,/]*(?:an? |the )?(?:other )?", re.IGNORECASE)
# Cement words name the material of every family; they decide vertebroplasty only when no
# augmentation or sacral term is present.
WEAK_VERTEBROPLASTY_TERMS = {r"pmma", r"bone cement", r"\bcement\b", r"injected (?:bone )?cement", r"cement injection",
                             r"cementoplast\w*"}
NEGATION = re.compile(
    r"\b(?:no|without|w/o|not|never|nor|didn't use|did not use|nothing about|no mention of)\b[\w\s,/-]{0,20}$",
    re.IGNORECASE,
)
# Outpatient coding reports no diagnosis stated as uncertain ("?mets", "r/o myeloma", "suspected").
UNCERTAIN = re.compile(
    r"\?$|\b(?:r/o|rule out|ruling out|suspected|suspicious for|possible|probable|questionable|query|"
    r"concern for|likely)\s+(?:[\w-]+\s+)?$",
    re.IGNORECASE,
)

IN_SCOPE_TERMS = re.compile(
    r"vertebro|kypho|sacroplast|augmentation|\bpvp\b|\bpkp\b|\bbkp\b|\bvcf\b|compression (?:fx|fracture)|"
    r"vertebra|cement|pmma|sacral|sacrum|bone biopsy|osteopor|myeloma|hemangioma|\blcd\b|ncci|"
    r"moderate sedation|conscious sedation|spine|spinal|bull'?s[- ]eye|\bmue\b",
    re.IGNORECASE,
)
OTHER_PROCEDURES = re.compile(
    r"basivertebral|intracept|nerve ablation|spinal cord stimulat|\bscs\b|fusion|laminectomy|laminotomy|discectomy|"
    r"arthroscop|arthroplasty|knee|hip replacement|colonoscop|"
    r"endoscop|epidural|facet|medial branch|cataract|cesarean|appendectomy|pacemaker|cholecystectomy|"
    r"carpal tunnel|rotator cuff|mammogra|echocardiogra",
    re.IGNORECASE,
)
ASKS_FOR_CODES = re.compile(
    r"\b(?:codes?|coding|coded|bill|billing|billed|report|cpt|hcpcs|charge|units?|claim|"
    r"what do i (?:bill|code|report|use)|how do i (?:bill|code|report)|fix|rebill|resubmit)\b|\?\?",
    re.IGNORECASE,
)
GENERAL_QUESTION = re.compile(r"\bin general\b|\bgenerally\b|\bas a rule\b|\balways\b|\bever\b", re.IGNORECASE)
# A coverage question is answered from policy, not with codes, unless it also asks for codes.
COVERAGE_QUESTION = re.compile(r"(?:\bcover(?:ed|age|s)?\b|\blcds?\b|medical(?:ly)? necess)[^.?!]*\?", re.IGNORECASE)
ASKS_FOR_DIAGNOSIS = re.compile(r"\b(?:icd|icd-10|icd10|diagnos\w*|dx)\b", re.IGNORECASE)

WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "single": 1, "a": 1}
COUNT_PHRASE = re.compile(
    r"\b(one|two|three|four|five|six|seven|eight|single|\d)\s*[- ]?\s*(?:(cervical|thoracic|lumbar|sacral)\s+)?"
    r"(?:levels?|vertebra(?:e|l bodies|l body|l levels?)?|bodies|body|segments?)\b",
    re.IGNORECASE,
)
ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4, "fifth": 5,
            "5th": 5, "sixth": 6, "6th": 6, "seventh": 7, "7th": 7, "eighth": 8, "8th": 8, "ninth": 9, "9th": 9,
            "tenth": 10, "10th": 10, "eleventh": 11, "11th": 11, "twelfth": 12, "12th": 12}
ORDINAL_LEVEL = re.compile(
    r"\b(?:the\s+)?(" + "|".join(ORDINALS) + r")\s+(cervical|thoracic|lumbar|sacral)\b"
    r"(?:\s+(?:vertebral body|vertebra|body|level|segment))?",
    re.IGNORECASE,
)
# Text a pasted note hides from readers (HTML comments): never facts about the case.
HIDDEN_TEXT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
REGION_WORDS = {
    "cervical": r"\bcervical\b|\bc-spine\b",
    "thoracic": r"\bthoracic\b|\bt-spine\b|\bdorsal\b",
    "lumbar": r"\blumbar\b|\bl-spine\b",
    "sacral": r"\bsacral\b|\bsacrum\b|sacroplast\w*",
}
PLURAL_BODIES = re.compile(r"\b(?:levels|vertebrae|bodies|fractures|multiple|multilevel|multi-level)\b", re.IGNORECASE)
LEVEL_RANGE = re.compile(
    r"\b([CTLS])\s?(\d{1,2})(?:\s*(?:-|–|—|to|thru|through)\s*([CTLS])\s?|(?:-|–|—))(\d{1,2})\b(?!\s*levels?)",
    re.IGNORECASE,
)
# After a level, optionally after more levels in the same list: "(T12 and L2 not touched)".
NOT_TREATED = re.compile(
    r"^(?:\s*(?:,|and|&|or|/)\s*[CTLS]\s?\d{1,2})*[\s,(]*(?:was |were |is |are )?(?:not treated|untreated|"
    r"wasn't treated|not augmented|skipped(?!\s+(?:levels?|bodies|vertebrae))|not fractured|not injected|"
    r"not cemented|not touched|untouched|left alone|not done|which wasn't treated|which was not treated|"
    r"\(not treated)",
    re.IGNORECASE,
)
# "T-7 intact, not treated", "t10 has an old healed fx on MRI, NOT injected": the phrase a few words on,
# accepted only when no other level or procedure word comes between.
NOT_TREATED_LATER = re.compile(
    r"^([^.;:]{0,45}?)\b(?:not|never|wasn't|was not|were not)\s+(?:treated|injected|touched|cemented|augmented|done)\b|"
    r"^([^.;:]{0,45}?)\b(?:untreated|untouched)\b",
    re.IGNORECASE,
)
NOT_TREATED_BEFORE = re.compile(
    r"\b(?:no|without|not)\s+(?:augmentation|kyphoplasty|vertebroplasty|cement|treatment|injection)\s+"
    r"(?:(?:was\s+)?(?:placed|injected|given|delivered)\s+)?(?:at|of|in|into)\s*$|"
    r"\b(?:never|doesn't|does not|didn't|did not)\s+(?:says?|states?|mentions?|documents?|specif(?:y|ies))\s+"
    r"(?:[CTLS]\s?-?\d{1,2}\s*(?:,|or|and|/)\s*)*$|"
    r"\b(?:old|healed|chronic|prior|previous(?:ly treated)?|s/p)\s+(?:[a-z]+\s+){0,2}$",
    re.IGNORECASE,
)
PAST_SESSION = re.compile(
    r"last (?:week|month|year)|yesterday|previous(?:ly)?|prior (?:session|procedure|visit)|earlier session|ago\b|"
    r"\bs/p\b|status post|\bhad an? [^.;,]{0,30}\bin (?:19|20)\d\d\b|\bh/o\b|"
    r"\bprior (?:[CTLS]-?\d{1,2} )?(?:kypho\w*|vertebro\w*|pvp|pkp|bkp|augmentation|sacroplasty)",
    re.IGNORECASE,
)
# A later visit named in the question: what came before it is an earlier session.
RETURN_VISIT = re.compile(
    r"\b(?:pt|patient|he|she|they)\s+(?:came back|returned|came in again|was back|re-?presented)\b|"
    r"\bnext (?:visit|session)\b|\bsecond session\b",
    re.IGNORECASE,
)
ADDITIONAL = re.compile(r"\b(?:add'?l|additional|also|another|plus|too|as well|extra)\b", re.IGNORECASE)
BIOPSY = re.compile(r"\b(?:biops\w*|bx|cored|core samples?|core specimens?)\b|samples? (?:obtained |sent )?for path",
                    re.IGNORECASE)

IMAGING_TERMS = {
    "ct": r"\bct\b[- ]?(?:guid|scan|fluoro)?|computed tomograph|ct-guided",
    "mri": r"\bmri?\b[- ]guid|magnetic resonance guid",
    "fluoroscopy": r"fluoro\w*|c-arm|biplane|x-ray guid",
}
# The imaging S&I done and reported by someone other than the operating surgeon (before 2015 it had its own codes)
IMAGING_BY_OTHER = re.compile(
    r"radiologist (?:ran|did|performed|dictated|read|interpreted|reported|billed)|"
    r"(?:s&i|supervision and interpretation)[^.]{0,40}\bby (?:the |a |our )?(?:staff )?(?:radiologist|another|different)",
    re.IGNORECASE,
)
SURGEON_CLAIM = re.compile(r"surgeon'?s claim|not (?:our|the) (?:surgeon|operator)|on the surgeon", re.IGNORECASE)
SEDATION = re.compile(
    r"moderate sedation|conscious sedation|procedural sedation|\bsedation\b|\bsedated\b|\bmod(?:erate)? sed\b|"
    r"\bversed\b|midazolam|fentanyl|intra-?service time",
    re.IGNORECASE,
)
# 09:02 or military 0921; four digits starting 19/20 are read as years, never times
CLOCK_TIME = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)\b|(?<![/-])(?<!\d\.)\b(0\d|1[0-8]|2[1-3])([0-5]\d)\b(?![/-]|\.\d)")
CLAUSE_BREAK = re.compile(r"[;,\n]|\.(?!\d)")
SEDATION_START = re.compile(r"first dose|given|administered|start\w*|began|begin|midazolam|versed|fentanyl|ketamine|"
                            r"propofol", re.IGNORECASE)
SEDATION_END = re.compile(r"hand(?:s|ed)? off|ended|\bend\b|stop\w*|face-to-face|transferred|to pacu", re.IGNORECASE)
MINUTES = re.compile(r"\b(\d{1,3})\s*(?:-\s*)?(?:minutes?|mins?|min)\b", re.IGNORECASE)
ANESTHESIA = re.compile(
    r"\b(?:anesthesiologist|anesthesia (?:provider|team|group)|crna|general anesthesia|\bmac\b|monitored anesthesia)",
    re.IGNORECASE,
)
OTHER_PERFORMER = re.compile(
    r"\b(?:another|different|separate|second|2nd|other)\s+(?:[\w-]+\s+)?(?:physician|provider|doctor|md|practitioner)\b|"
    r"\bnot the (?:surgeon|operating physician|proceduralist|operator)\b",
    re.IGNORECASE,
)
AGE_PATTERNS = [
    re.compile(r"\b(\d{1,3})[- ]?(?:y/?o|yo|yrs?|years?)(?:[- ]old)?\b", re.IGNORECASE),
    re.compile(r"\bage[ds]?\s*:?\s*(\d{1,3})\b", re.IGNORECASE),
    re.compile(r"\b(\d{1,3})\s?(?:F|M)\b"),
    re.compile(r"\b(\d{1,2})\s?y\s+\d{1,2}\s?m(?:o|os)?\b", re.IGNORECASE),
    re.compile(r"\b(?:pt|patient)\s+(?:is\s+)?(\d{1,3})\b(?!\s*(?:mg|cc|ml|min|%|levels?|units?))", re.IGNORECASE),
]
# Checked in order; the first match decides. An explicit one-side statement comes first ("two
# needles, both in the right ala only" is unilateral). Needle counts never make a side: 0200T is
# unilateral with one or more needles; a single needle can only be one side.
LATERALITY: list[tuple[str, str]] = [
    ("unilateral", r"\b(?:right|left|rt|lt|r|l)\b[\w\s-]{0,40}\bonly\b|\bnothing (?:on|in) the (?:right|left)\b|"
                   r"\bonly (?:on|in) the (?:right|left|rt|lt|r|l)\b"),
    ("bilateral", r"\bbilateral\w*|bipedicular|both sides|\bbilat\b"),
    ("unilateral", r"\bunilateral\w*|unipedicular|one side\b|left[- ]sided|right[- ]sided"),
    ("unilateral", r"one needle|single needle|\b1 needle"),
]
CODE_PATTERN = re.compile(r"(?<![\w.])(\d{4}[0-9TF]|[A-TV-Z]\d{2}\.(?:[0-9A-Z]{1,4}-?|-)|[A-V]\d{4})(?![\w])")
# a modifier hangs off a five-character code ("20225-59"), never off a date ("2010-11-05")
MODIFIER_PATTERN = re.compile(
    r"(?:(?<=\b\d{5})|(?<=\b\d{4}[TF]))-\s?(\d{2}|X[EPSU]|TC)\b|\b(?:modifiers?|mod)\s*-?\s*(\d{2}|X[EPSU]|TC)\b|\b(X[EPSU])\b",
    re.IGNORECASE,
)

BIOPSY_TAIL = re.compile(
    r"(?:\s*,?\s*(?:was|were|is|performed|done|taken|obtained|also|only|specimen|sample|needle|core|bone))*"
    r"\s*(?:\b(?:at|of|from|on|in|into)\s+)?(?:the\s+|an?\s+)?"
    r"([CTLS]\s?-?\d{1,2}(?:\s*(?:-|to|through)\s*[CTLS]?\s?-?\d{1,2})?"
    r"(?:\s*(?:,|and|&)\s*(?:at\s+|of\s+)?[CTLS]\s?-?\d{1,2})*)",
    re.IGNORECASE,
)
SAME_SITE = re.compile(r"same (?:level|body|vertebra|cannula|needle|site|access)|"
                       r"(?:thru|through) the (?:same |working )?(?:needle|cannula|trocar)", re.IGNORECASE)
BIOPSY_HEAD = re.compile(r"([CTLS]\s?-?\d{1,2})\s*(?:bone\s+)?$", re.IGNORECASE)
PROCEDURE_WORD = re.compile(r"\b(?:and|with|plus)\b.*(?:kypho|vertebro|augment|cement)", re.IGNORECASE)


