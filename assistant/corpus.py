"""The text corpus (corpus/docs/**/*.md): loading, chunking, checks, and the licensed CPT tier."""

from __future__ import annotations

import csv
import hashlib
import re
from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

from assistant.codebook import Codebook
from assistant.config import TIERS
from assistant.errors import CorpusError
from assistant.topics import TOPICS
from assistant.vocabulary import CODE_PATTERN
from assistant.yamlfile import safe_load

KINDS = ("descriptor", "guideline", "history", "ncci", "coverage", "icd10", "faq")
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n(.*)\Z", re.DOTALL)
CHUNK_CHARS = 900
LICENSED_FILE = Path("licensed") / "cpt-descriptors.tsv"
AMA_NOTICE = ("CPT® codes and descriptions are copyright American Medical Association. All rights reserved. "
              "Used under license.")


class Doc(BaseModel):
    id: str
    title: str
    kind: str
    codes: list[str]
    effective_from: date | None = None
    effective_to: date | None = None
    license: str
    source: str
    topics: list[str] = Field(default_factory=list)
    body: str
    path: str = ""


class Chunk(BaseModel):
    id: str
    doc_id: str
    title: str
    text: str
    kind: str
    license: str
    source: str
    codes: list[str]
    topics: list[str] = Field(default_factory=list)
    effective_from: date | None
    effective_to: date | None

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]


class Problem(BaseModel):
    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


def read_doc(path: Path) -> Doc:
    match = FRONT_MATTER.match(path.read_text(encoding="utf-8"))
    if not match:
        raise CorpusError(f"{path}: no front matter between --- lines")
    meta = safe_load(match.group(1)) or {}
    if not isinstance(meta, dict):
        raise CorpusError(f"{path}: front matter is not a mapping")
    meta["codes"] = [str(c) for c in meta.get("codes") or []]
    return Doc(**meta, body=match.group(2).strip(), path=str(path))


def load_docs(corpus_dir: Path) -> list[Doc]:
    """Every doc, or CorpusError naming each problem: nothing half-valid gets through."""
    problems = check(corpus_dir, Codebook.load(corpus_dir / "codes"))
    if problems:
        raise CorpusError("corpus check failed:\n" + "\n".join(str(p) for p in problems))
    return [read_doc(p) for p in sorted((corpus_dir / "docs").rglob("*.md"))]


def codes_in_text(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(1).upper() for m in CODE_PATTERN.finditer(text)))


def _known(code: str, codebook: Codebook) -> bool:
    """A full code in the table, or an ICD-10-CM category ("M80.0-") that table codes fall under."""
    if "." in code:
        return any(c.startswith(code.rstrip("-")) for c in codebook.entries)
    return code in codebook


def check(corpus_dir: Path, codebook: Codebook) -> list[Problem]:
    problems = _check_code_table(corpus_dir / "codes", codebook)
    seen: dict[str, str] = {}
    described: dict[str, list[str]] = {}
    for path in sorted((corpus_dir / "docs").rglob("*.md")):
        name = str(path.relative_to(corpus_dir.parent)) if corpus_dir.parent in path.parents else str(path)
        try:
            doc = read_doc(path)
        except (CorpusError, yaml.YAMLError) as exc:
            problems.append(Problem(file=name, field="front matter", message=str(exc).splitlines()[0]))
            continue
        except ValidationError as exc:
            for err in exc.errors():
                problems.append(Problem(file=name, field=".".join(map(str, err["loc"])), message=err["msg"]))
            continue
        problems += _check_doc(doc, name, codebook, seen)
        for code in set(doc.codes) | set(codes_in_text(doc.body)):
            described.setdefault(code, []).append(doc.id)
    for code in codebook.entries:
        if not any(c in described for c in _siblings(code, codebook)):
            problems.append(Problem(file="corpus/codes", field=code, message="no doc describes this code"))
    return problems


def _siblings(code: str, codebook: Codebook) -> list[str]:
    """A code and the codes expanded from the same "{enc}" entry: a doc describing one 7th character of a
    fracture code describes them all."""
    template = codebook.entries[code].template
    return [c for c, e in codebook.entries.items() if e.template == template] if template else [code]


def _check_doc(doc: Doc, name: str, codebook: Codebook, seen: dict[str, str]) -> list[Problem]:
    problems = []

    def add(field: str, message: str) -> None:
        problems.append(Problem(file=name, field=field, message=message))

    if doc.id in seen:
        add("id", f"duplicate id {doc.id!r} (also in {seen[doc.id]})")
    seen.setdefault(doc.id, name)
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", doc.id):
        add("id", f"{doc.id!r} is not lower-case words joined by dashes")
    if doc.kind not in KINDS:
        add("kind", f"{doc.kind!r} is not one of {', '.join(KINDS)}")
    if doc.license not in TIERS:
        add("license", f"{doc.license!r} is not one of {', '.join(TIERS)}")
    if doc.effective_from and doc.effective_to and doc.effective_from > doc.effective_to:
        add("effective_to", "is before effective_from")
    if not doc.source.strip():
        add("source", "is empty: every doc cites its public sources")
    if len(doc.body.split()) < 40:
        add("body", "is shorter than 40 words")
    for topic in doc.topics:
        if topic not in TOPICS:
            add("topics", f"{topic!r} is not one of the topics in assistant/topics.py")
    for code in doc.codes:
        if not _known(code, codebook):
            add("codes", f"{code} is not in the code table")
    for code in codes_in_text(doc.body):
        if not _known(code, codebook):
            add("body", f"mentions {code}, which is not in the code table")
    return problems


def _check_code_table(codes_dir: Path, codebook: Codebook) -> list[Problem]:
    problems = []
    seen: set[str] = set()
    for path in sorted(codes_dir.glob("*.yaml")):
        for raw in (safe_load(path.read_text(encoding="utf-8")) or {}).get("codes", []):
            code = str(raw.get("code"))
            if code in seen:
                problems.append(Problem(file=str(path.name), field=code, message="code listed twice"))
            seen.add(code)
    for entry in codebook.entries.values():
        where = f"corpus/codes ({entry.code})"

        def add(field: str, message: str, where: str = where) -> None:
            problems.append(Problem(file=where, field=field, message=message))

        if entry.effective_from and entry.effective_to and entry.effective_from > entry.effective_to:
            add("effective_to", "is before effective_from")
        for rep in entry.replaced_by:
            if rep.code and rep.code not in codebook:
                add("replaced_by", f"{rep.code} is not in the code table")
        if entry.replaced_by and not entry.effective_to:
            add("replaced_by", "a code with a replacement needs an effective_to date")
        for parent in entry.add_on_for:
            if parent not in codebook:
                add("add_on_for", f"{parent} is not in the code table")
        if entry.role == "add_on" and not entry.add_on_for:
            add("add_on_for", "an add-on code needs its primaries")
        for inclusion in entry.includes:
            for code in inclusion.codes:
                if code not in codebook:
                    add("includes", f"{code} is not in the code table")
        if not entry.sources:
            add("sources", "every code entry cites where its facts come from")
        if "{enc}" in entry.code:
            add("code", "{enc} needs a seventh_characters rule for the code's category")
        elif problem := codebook.seventh_character_problem(entry.code):
            add("code", problem)
    for condition in codebook.conditions:
        for code in condition.codes + list(condition.by_level.values()) + list(condition.by_region.values()):
            if code.replace("{enc}", "A") not in codebook:
                add_where = f"corpus/codes (condition {condition.id})"
                problems.append(Problem(file=add_where, field="codes", message=f"{code} is not in the code table"))
    return problems


def coverage_report(corpus_dir: Path, codebook: Codebook) -> dict[str, list[str]]:
    """For every code in the table, the ids of the docs that describe it."""
    report: dict[str, list[str]] = {code: [] for code in codebook.entries}
    for path in sorted((corpus_dir / "docs").rglob("*.md")):
        doc = read_doc(path)
        for code in set(doc.codes) | set(codes_in_text(doc.body)):
            for sibling in _siblings(code, codebook) if code in report else []:
                if doc.id not in report[sibling]:
                    report[sibling].append(doc.id)
    return {code: sorted(ids) for code, ids in report.items()}


def chunk(doc: Doc) -> list[Chunk]:
    """Split a doc into paragraph-aligned chunks of at most ~CHUNK_CHARS, each titled."""
    pieces, current = [], ""
    for paragraph in re.split(r"\n\s*\n", doc.body):
        if current and len(current) + len(paragraph) > CHUNK_CHARS:
            pieces.append(current)
            current = ""
        current = f"{current}\n\n{paragraph}".strip()
    if current:
        pieces.append(current)
    return [
        Chunk(id=f"{doc.id}#{i}", doc_id=doc.id, title=doc.title, text=f"{doc.title}\n\n{piece}", kind=doc.kind,
              license=doc.license, source=doc.source, codes=sorted(set(doc.codes) | set(codes_in_text(piece))),
              topics=doc.topics,
              effective_from=doc.effective_from, effective_to=doc.effective_to)
        for i, piece in enumerate(pieces)
    ]


# ---------------------------------------------------------------------- licensed CPT tier
def import_cpt(file: Path, data_dir: Path, codebook: Codebook) -> int:
    """Import code<TAB>descriptor lines into the cpt-licensed tier. Returns how many codes."""
    rows = read_cpt_file(file, codebook)
    target = data_dir / LICENSED_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    existing = licensed_descriptors(data_dir)
    existing.update(rows)
    tmp = target.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        for code in sorted(existing):
            writer.writerow([code, existing[code]])
    tmp.replace(target)
    return len(rows)


def read_cpt_file(file: Path, codebook: Codebook) -> dict[str, str]:
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CorpusError(f"{file}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{file}: not UTF-8 text") from exc
    rows: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) < 2 or not parts[1].strip():
            raise CorpusError(f"{file}:{number}: expected code<TAB>descriptor")
        code = parts[0].strip().upper()
        if code in codebook:
            rows[code] = parts[-1].strip()
    if not rows:
        raise CorpusError(f"{file}: no line names a code in this assistant's table")
    return rows


def licensed_descriptors(data_dir: Path) -> dict[str, str]:
    path = data_dir / LICENSED_FILE
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", newline="") as handle:
        return {row[0]: row[1] for row in csv.reader(handle, delimiter="\t") if len(row) == 2}


def licensed_docs(data_dir: Path, codebook: Codebook) -> list[Doc]:
    docs = []
    for code, text in sorted(licensed_descriptors(data_dir).items()):
        entry = codebook.get(code)
        docs.append(Doc(
            id=f"cpt-{code.lower()}", title=f"CPT {code} descriptor (AMA licensed)", kind="descriptor",
            codes=[code], effective_from=entry.effective_from if entry else None,
            effective_to=entry.effective_to if entry else None, license="cpt-licensed",
            source="AMA CPT data file imported by this deployment", body=f"{code}: {text}"))
    return docs


def index_docs(corpus_dir: Path, data_dir: Path, codebook: Codebook) -> list[Doc]:
    """What gets indexed: our docs, with paraphrased descriptors replaced where licensed text exists."""
    docs = load_docs(corpus_dir)
    licensed = licensed_docs(data_dir, codebook)
    covered = {code for doc in licensed for code in doc.codes}
    keep = [d for d in docs if not (d.kind == "descriptor" and d.codes and set(d.codes) <= covered)]
    return keep + licensed
