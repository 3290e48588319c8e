"""`assistant bench --scale N`: search latency and memory on a synthetic corpus of N chunks.

A real deployment indexes licensed archives and payer policies: tens of thousands of chunks. This
benchmark makes such a corpus on the fly out of the real corpus's sentences, codes and topics (with
licences and validity dates spread over the chunks), stores it as a real local index version with
random unit vectors in place of embeddings (embedding 50,000 chunks would take an hour and says
nothing about search), then times searches in a child process, so the peak RSS printed is the
search process's own.
"""

from __future__ import annotations

import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from assistant.codebook import Codebook
from assistant.config import PROJECT_ROOT, TIERS, Settings
from assistant.corpus import Chunk, Doc, load_docs
from assistant.embeddings import MiniLMEmbeddings
from assistant.index_store import COLLECTION, COSINE, LocalStore, _chroma_client, _release
from assistant.retrieval import _metadata, open_index, search
from assistant.topics import TOPICS

VECTOR_WIDTH = 384          # all-MiniLM-L6-v2's
CHUNKS_PER_DOC = 5
CHUNK_CHARS = 800
WRITE_BATCH = 2000
WARM_UP = 3
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n\s*\n")
LICENCE_WEIGHTS = {"public": 6, "cpt-licensed": 3, "internal": 1}
FIRST_DAY, LAST_DAY = date(2010, 1, 1), date(2026, 12, 31)


@dataclass
class Query:
    text: str
    day: str
    tiers: list[str]
    codes: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)


@dataclass
class Material:
    """What the synthetic corpus is made of: the real corpus's sentences, docs, codes and topics."""

    docs: list[Doc]
    sentences: list[str]
    codes: list[str]
    topics: list[str]

    @classmethod
    def load(cls, corpus_dir: Path) -> Material:
        docs = load_docs(corpus_dir)
        sentences = [s.strip() for d in docs for s in SENTENCE.split(d.body) if len(s.strip()) > 30]
        return cls(docs=docs, sentences=sentences, codes=sorted({c for d in docs for c in d.codes}),
                   topics=sorted(TOPICS))


def _day(rng: random.Random) -> date:
    return FIRST_DAY + timedelta(days=rng.randrange((LAST_DAY - FIRST_DAY).days))


def _validity(rng: random.Random) -> tuple[date | None, date | None]:
    """Most chunks always valid; some start on a date, some ended (a deleted code, a retired policy)."""
    start = _day(rng) if rng.random() < 0.3 else None
    end = _day(rng) if rng.random() < 0.15 else None
    if start and end and end < start:
        start, end = end, start
    return start, end


def _text(rng: random.Random, material: Material, heading: str) -> str:
    parts = [heading]
    while sum(len(p) for p in parts) < CHUNK_CHARS:
        parts.append(rng.choice(material.sentences))
    return "\n\n".join(parts)


def synthetic_doc(material: Material, number: int, rng: random.Random) -> list[Chunk]:
    """One payer-policy-like doc: a real doc's kind and title, mixed sentences, its own policy number."""
    template = rng.choice(material.docs)
    licence = rng.choices(list(LICENCE_WEIGHTS), weights=list(LICENCE_WEIGHTS.values()))[0]
    start, end = _validity(rng)
    doc_id = f"synthetic-{number:06d}"
    title = f"{template.title} (policy P{number:06d})"
    codes = sorted(rng.sample(material.codes, rng.randint(1, min(12, len(material.codes)))))
    topics = sorted(rng.sample(material.topics, rng.randint(0, 2)))
    return [Chunk(id=f"{doc_id}#{i}", doc_id=doc_id, title=title, text=_text(rng, material, title), kind=template.kind,
                  license=licence, source=f"synthetic payer policy P{number:06d}", codes=codes, topics=topics,
                  effective_from=start, effective_to=end) for i in range(CHUNKS_PER_DOC)]


def synthetic_chunks(material: Material, count: int, seed: int = 0) -> list[Chunk]:
    rng = random.Random(seed)
    chunks: list[Chunk] = []
    number = 0
    while len(chunks) < count:
        chunks += synthetic_doc(material, number, rng)
        number += 1
    return chunks[:count]


def synthetic_queries(material: Material, count: int, seed: int = 1) -> list[Query]:
    rng = random.Random(seed)
    queries = []
    for _ in range(count):
        words = rng.choice(material.sentences).split()
        tiers = list(TIERS) if rng.random() < 0.8 else ["public"]
        queries.append(Query(text=" ".join(words[:14]), day=_day(rng).isoformat(), tiers=tiers,
                             codes=rng.sample(material.codes, rng.randint(0, 2)),
                             topics=rng.sample(material.topics, rng.randint(0, 2))))
    return queries


def write_index(root: Path, chunks: list[Chunk], seed: int = 0) -> str:
    """A published local index version holding `chunks` with random unit vectors. Written in large
    batches: the builder's tiny HNSW batches (for exact checksums) would take hours at this size."""
    vectors = np.random.default_rng(seed).standard_normal((len(chunks), VECTOR_WIDTH), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = LocalStore(root)
    name = store.stage(None, [])
    client = _chroma_client(root / name)
    try:
        collection = client.create_collection(COLLECTION, metadata=COSINE)
        for start in range(0, len(chunks), WRITE_BATCH):
            part = chunks[start:start + WRITE_BATCH]
            collection.add(ids=[c.id for c in part], documents=[c.text for c in part],
                           metadatas=[_metadata(c, start + i) for i, c in enumerate(part)],
                           embeddings=vectors[start:start + len(part)])
    finally:
        _release(client)
    store.publish(name, chunks)
    return name


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure(data_dir: Path, queries: list[Query]) -> dict[str, float]:
    """In the search process itself: open the index, warm up, then time every query."""
    settings = Settings(data_dir=data_dir, llm_backend="none")
    started = time.perf_counter()
    index = open_index(settings, Codebook.load(settings.corpus_dir / "codes"), progress=False)
    opened = time.perf_counter() - started

    def run(q: Query) -> float:
        began = time.perf_counter()
        search(index, q.text, day=date.fromisoformat(q.day), entitlements=q.tiers, codes=q.codes, topics=q.topics)
        return time.perf_counter() - began

    for q in queries[:WARM_UP]:
        run(q)
    seconds = [run(q) for q in queries]
    embedder = MiniLMEmbeddings()
    embedding = []
    for q in queries:
        began = time.perf_counter()
        embedder.embed_query(q.text)
        embedding.append(time.perf_counter() - began)
    return {"open_seconds": opened, "p50": _percentile(seconds, 0.5), "p95": _percentile(seconds, 0.95),
            "embed_p50": _percentile(embedding, 0.5),
            "rss_gib": _peak_rss_kib() / 1024 / 1024}


def _peak_rss_kib() -> int:
    """This process's own peak resident memory (VmHWM): ru_maxrss would start from the RSS of the
    process that spawned this one (the index writer), which Linux carries into a child across exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run(count: int = 50_000, queries: int = 120, corpus_dir: Path = PROJECT_ROOT / "corpus") -> str:
    material = Material.load(corpus_dir)
    chunks = synthetic_chunks(material, count)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        started = time.perf_counter()
        write_index(data_dir / "index", chunks)
        written = time.perf_counter() - started
        del chunks
        query_file = data_dir / "queries.json"
        query_file.write_text(json.dumps([asdict(q) for q in synthetic_queries(material, queries)]))
        child = subprocess.run([sys.executable, "-m", "assistant.bench_scale", str(data_dir), str(query_file)],
                               capture_output=True, text=True, check=True)
    m = json.loads(child.stdout.strip().splitlines()[-1])
    return "\n".join([
        f"scale: {count} synthetic chunks written as a local index in {written:.0f} s (random vectors)",
        f"scale: search over {queries} queries: p50 {m['p50'] * 1000:.1f} ms, p95 {m['p95'] * 1000:.1f} ms "
        f"(of which query embedding p50 {m['embed_p50'] * 1000:.1f} ms; target p95 <= 50 ms)",
        f"scale: index open {m['open_seconds']:.1f} s; peak RSS of the search process {m['rss_gib']:.2f} GiB "
        "(target <= 1.5 GiB)",
    ])


if __name__ == "__main__":  # the child: python -m assistant.bench_scale DATA_DIR QUERIES_JSON
    asked = [Query(**q) for q in json.loads(Path(sys.argv[2]).read_text())]
    print(json.dumps(measure(Path(sys.argv[1]), asked)))
