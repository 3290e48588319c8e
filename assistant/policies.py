"""The Medicare coverage policies of the family (corpus/codes/policies.yaml): which MAC published which LCD and
billing article, and when each took effect, was revised, retired or replaced. A question that names a policy
number or a MAC and asks which policy, whose, or its dates is answered from this table, on the date of service."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field

from assistant.reader import Reading
from assistant.yamlfile import safe_load

POLICIES_FILE = Path(__file__).resolve().parent.parent / "corpus" / "codes" / "policies.yaml"
CHECK_MCD = "check the Medicare Coverage Database (MCD) for its dates"


class Mac(BaseModel):
    id: str
    name: str
    jurisdictions: list[str]


class Policy(BaseModel):
    id: str
    mac: str
    title: str
    jurisdictions: list[str] = Field(default_factory=list)   # narrower than the MAC's, when the LCD is
    effective_from: date | None = None
    revised: list[date] = Field(default_factory=list)
    retired: date | None = None
    replaced_by: str | None = None
    articles: list[str] = Field(default_factory=list)
    note: str | None = None
    sources: list[str] = Field(min_length=1)

    def in_effect(self, day: date) -> bool:
        return (self.effective_from is None or self.effective_from <= day) and (self.retired is None or day < self.retired)


class PolicyTable:
    def __init__(self, macs: list[Mac], policies: list[Policy]) -> None:
        self.macs = {m.id: m for m in macs}
        self.policies = {p.id: p for p in policies}

    @classmethod
    def load(cls, path: Path = POLICIES_FILE) -> PolicyTable:
        data = safe_load(path.read_text(encoding="utf-8"))
        return cls([Mac(**m) for m in data["macs"]], [Policy(**p) for p in data["policies"]])

    def find(self, number: str) -> Policy | None:
        """An LCD by its number ("DL" is its proposed draft), or the LCD an article number belongs to."""
        key = number.upper().removeprefix("D")
        return self.policies.get(key) or next((p for p in self.policies.values() if key in p.articles), None)

    def of_mac(self, mac: str, jurisdictions: list[str] = ()) -> list[Policy]:
        """The MAC's policies, newest first; those of the jurisdictions named when the question names any."""
        found = [p for p in self.policies.values() if p.mac == mac
                 and (not jurisdictions or not p.jurisdictions or set(p.jurisdictions) & set(jurisdictions))]
        return sorted(found, key=lambda p: p.effective_from or date.max, reverse=True)

    def describe(self, policy: Policy) -> str:
        """Whose it is, its title, its dates as the sources give them, and its article."""
        mac = self.macs[policy.mac]
        where = ", ".join(policy.jurisdictions or mac.jurisdictions)
        text = f"{policy.id} is the LCD of {mac.name} ({where}), \"{policy.title}\""
        text += f": original effective date {policy.effective_from.isoformat()}" if policy.effective_from \
            else f": {CHECK_MCD}, which our sources do not give"
        if policy.revised:
            text += f"; revised {', '.join(d.isoformat() for d in policy.revised)} (the latest revision our sources show)"
        if policy.retired:
            text += f"; retired {policy.retired.isoformat()}" + (f", replaced by {policy.replaced_by}"
                                                               if policy.replaced_by else "")
        if policy.articles:
            text += f"; billing and coding article {', '.join(policy.articles)}"
        return text + (f" ({policy.note})" if policy.note else "") + "."

    def for_mac(self, mac: str, day: date, jurisdictions: list[str] = ()) -> str:
        """The MAC's LCD on the date (a retired one's replacement included), then its others."""
        own = self.of_mac(mac, jurisdictions)
        successors = [self.policies[p.replaced_by] for p in own if p.replaced_by in self.policies]
        policies = list({p.id: p for p in own + successors}.values())
        current = [p for p in policies if p.in_effect(day)]
        name = self.macs[mac].name
        if not current:
            return f"No {name} LCD in our table was in effect on {day.isoformat()}; check the MCD."
        others = [p for p in policies if p.id != current[0].id]
        text = f"The PVA LCD of {name} on {day.isoformat()}: {self.describe(current[0])}"
        return text + (" Its others: " + " ".join(self.describe(p) for p in others) if others else "")


def numbers_named(reading: Reading) -> list[str]:
    return [reading.text[m.start:m.end].upper() for m in reading.found("shape.policy_id")]


def macs_named(reading: Reading) -> list[str]:
    return list(dict.fromkeys(m.concept.split(".", 1)[1] for m in reading.found("mac")))


def jurisdictions_named(reading: Reading, table: PolicyTable) -> list[str]:
    """The MAC jurisdictions the question names ("JF", "jurisdiction E"), among those the table knows."""
    named = {m.concept.split(".", 1)[1].upper() for m in reading.found("jurisdiction")}
    return [j for m in table.macs.values() for j in m.jurisdictions if j.upper() in named]


def answer(reading: Reading, day: date, table: PolicyTable) -> list[str]:
    """Statements about the policies a question names and asks about (who published them, their numbers, their
    dates); none when it names none or asks something else of them (their criteria)."""
    if not reading.has("policy_asked"):
        return []
    named = [p for n in numbers_named(reading) if (p := table.find(n))]
    named += [table.policies[p.replaced_by] for p in named if p.replaced_by in table.policies]   # and what took over
    if named:
        return [table.describe(p) for p in {p.id: p for p in named}.values()]
    jurisdictions = jurisdictions_named(reading, table)
    return [table.for_mac(mac, day, jurisdictions) for mac in macs_named(reading)]


@lru_cache(maxsize=1)
def policy_table() -> PolicyTable:
    return PolicyTable.load()
