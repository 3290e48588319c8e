"""The scalable search (bm25s, chunk table, truncated topic ranking, exact vector search) against
straightforward references that look at every chunk, as search did before it had to scale."""

from __future__ import annotations

import math
import random
from collections import Counter
from datetime import date

import numpy as np
import pytest

from assistant import retrieval, vector_search
from assistant.bench_scale import Material, synthetic_chunks
from assistant.chunk_table import ChunkTable
from assistant.config import PROJECT_ROOT, TIERS
from assistant.corpus import Chunk
from assistant.embeddings import MiniLMEmbeddings
from assistant.evaluation import load_cases
from assistant.fusion import RRF_K, TOPIC_WEIGHT, fuse
from assistant.index_store import COLLECTION, _chroma_client, _release
from assistant.lexical import Lexical, tokenize
from assistant.pipeline import search_query
from assistant.topics import topics_of
from assistant.vector_search import ChromaVectors, VectorFile

K1, B, FLOOR_SHARE = 1.5, 0.75, 0.25
DAYS = [date(2010, 3, 1), date(2014, 12, 31), date(2015, 1, 1), date(2020, 6, 15), date(2026, 11, 24)]


# ---------------------------------------------------------------------- references
class ReferenceOkapi:
    """Okapi BM25 word by word, as rank_bm25's BM25Okapi scored every chunk."""

    def __init__(self, texts: list[str]) -> None:
        self.docs = [Counter(tokenize(t)) for t in texts]
        self.lengths = [sum(d.values()) for d in self.docs]
        self.average = sum(self.lengths) / len(texts)
        frequency = Counter(word for d in self.docs for word in d)
        raw = {w: math.log(len(texts) - f + 0.5) - math.log(f + 0.5) for w, f in frequency.items()}
        floor = FLOOR_SHARE * sum(raw.values()) / len(raw)
        self.idf = {w: floor if v < 0 else v for w, v in raw.items()}

    def scores(self, query: str) -> list[float]:
        words = tokenize(query)
        return [sum(self.idf.get(w, 0.0) * d[w] * (K1 + 1) / (d[w] + K1 * (1 - B + B * length / self.average))
                    for w in words) for d, length in zip(self.docs, self.lengths, strict=True)]


def is_allowed(c: Chunk, tiers: list[str], day: date) -> bool:
    return c.license in tiers and (c.effective_from is None or c.effective_from <= day) and (
        c.effective_to is None or day <= c.effective_to)


def reference_code_ranking(chunks, codes, tiers, day, limit=20) -> list[int]:
    wanted = set(codes)
    found = [p for p, c in enumerate(chunks) if is_allowed(c, tiers, day) and wanted & set(c.codes)]
    return sorted(found, key=lambda p: (-len(wanted & set(chunks[p].codes)), len(chunks[p].codes)))[:limit]


def reference_topic_ranking(chunks, topics, tiers, day, closeness) -> list[int]:
    asked = set(topics)
    found = [p for p, c in enumerate(chunks) if is_allowed(c, tiers, day) and asked & set(c.topics)]
    return sorted(found, key=lambda p: (-len(asked & set(chunks[p].topics)), closeness.get(p, len(closeness))))


def reference_fuse(chunks, rankings, topic_ranking, k) -> list[tuple[float, Chunk]]:
    fused: dict[int, float] = {}
    for ranking, weight in [(r, 1.0) for r in rankings] + [(topic_ranking, TOPIC_WEIGHT)]:
        for rank, p in enumerate(ranking):
            fused[p] = fused.get(p, 0.0) + weight / (RRF_K + rank)
    best: dict[str, tuple[float, Chunk]] = {}
    for p, score in fused.items():
        if chunks[p].doc_id not in best or score > best[chunks[p].doc_id][0]:
            best[chunks[p].doc_id] = (score, chunks[p])
    return sorted(best.values(), key=lambda pair: -pair[0])[:k]


# ---------------------------------------------------------------------- synthetic corpus (fast)
@pytest.fixture(scope="module")
def material() -> Material:
    return Material.load(PROJECT_ROOT / "corpus")


@pytest.fixture(scope="module")
def synthetic(material) -> list[Chunk]:
    return synthetic_chunks(material, 600, seed=3)


def test_lexical_scores_are_okapi_bm25():
    texts = ["the cement was injected at L1 and the L1 body", "the balloon at T12", "the T12 body and L1",
             "biopsy of the bone", "the the the", "nothing alike here at all"]
    lexical, reference = Lexical.build(texts), ReferenceOkapi(texts)
    # "the" is in more than half the texts (floored idf), "l1" is asked twice, "zebra" is unknown
    for query in ("the L1 L1 body", "balloon zebra", "zebra", "", "the", "cement biopsy T12"):
        assert np.allclose(lexical.scores(query), reference.scores(query), rtol=1e-12, atol=1e-12), query


def test_a_kept_matrix_scores_exactly_as_the_one_built_and_a_damaged_one_is_built_again(synthetic, tmp_path):
    texts = [c.text for c in synthetic]
    built = Lexical.build(texts)
    Lexical.cached(texts, tmp_path)                   # builds and keeps
    kept = list(tmp_path.glob("bm25-*.npz"))
    assert len(kept) == 1
    read = Lexical.cached(texts, tmp_path)            # reads what was kept
    queries = [" ".join(t.split()[:6]) for t in texts[:40]] + ["kyphoplasty T12 L1 L1", "zebra"]
    assert all(np.array_equal(read.scores(q), built.scores(q)) for q in queries)
    kept[0].write_bytes(b"not a matrix")
    again = Lexical.cached(texts, tmp_path)
    assert np.array_equal(again.scores(queries[0]), built.scores(queries[0]))
    assert kept[0].read_bytes() != b"not a matrix"     # replaced by a good one
    for n in range(5):                                 # other texts name other files; only the newest few stay
        Lexical.cached(texts[n:], tmp_path)
    assert len(list(tmp_path.glob("bm25-*.npz"))) == 3


def test_lexical_ranking_keeps_corpus_order_on_ties():
    texts = ["spine x", "other x", "spine x", "spine x", "other y", "spine x", "a b", "c d", "e f", "g h"]
    allowed = np.array([True, True, False, True, True, True, True, True, True, True])
    lexical = Lexical.build(texts)
    assert lexical.ranking("spine", allowed, 2).tolist() == [0, 3]  # three tie, two wanted
    assert lexical.ranking("spine other", allowed, 10).tolist() == [1, 4, 0, 3, 5]  # "other" is rarer


def test_chunk_table_matches_per_chunk_checks(synthetic, material):
    table, rng = ChunkTable(synthetic), random.Random(7)
    for _ in range(60):
        tiers = rng.sample(TIERS, rng.randint(0, len(TIERS)))
        day = rng.choice(DAYS)
        allowed = table.allowed(tiers, day)
        assert allowed.tolist() == [is_allowed(c, tiers, day) for c in synthetic]
        codes = rng.sample(material.codes, rng.randint(0, 4))
        assert table.code_ranking(codes, allowed, 20).tolist() == reference_code_ranking(synthetic, codes, tiers, day)
        topics = rng.sample(material.topics, rng.randint(0, 3))
        closeness = {p: i for i, p in enumerate(rng.sample(range(len(synthetic)), 30))}
        assert table.topic_ranking(topics, allowed, closeness).tolist() == \
            reference_topic_ranking(synthetic, topics, tiers, day, closeness)


def test_fuse_matches_fusing_every_topic_chunk(synthetic):
    """Stopping the topic ranking at the k-th doc it brings changes no result, ties included."""
    rng = random.Random(11)
    positions = range(len(synthetic))
    for _ in range(400):
        rankings = [rng.sample(positions, rng.randint(0, 20)) for _ in range(3)]
        listed = [p for r in rankings for p in r]
        pool = rng.sample(positions, rng.randint(0, 300)) + rng.sample(listed, min(len(listed), rng.randint(0, 10)))
        topic_ranking = list(dict.fromkeys(pool))
        rng.shuffle(topic_ranking)
        k = rng.choice([1, 3, 5, 10])
        got = fuse(synthetic, rankings, np.array(topic_ranking, dtype=np.int64), k)
        want = reference_fuse(synthetic, rankings, topic_ranking, k)
        assert [(s, c.id) for s, c in got] == [(s, c.id) for s, c in want]


# ---------------------------------------------------------------------- the real corpus (slow)
@pytest.fixture(scope="module")
def searches(parse, codebook):
    """Search inputs as the pipeline makes them, from every fourth eval case, for two entitlements."""
    cases = load_cases(PROJECT_ROOT / "evals" / "cases")[::4]
    found = []
    for case in cases:
        facts = parse(case.question, case.date_of_service, case.history)
        if facts.in_scope:
            for tiers in (list(TIERS), ["public"]):
                found.append((search_query(facts, PROJECT_ROOT / "corpus"), facts.date_of_service, tiers, facts.mentioned_codes,
                              sorted(topics_of(facts, codebook))))
    return found


def reference_search(index, okapi, vector_rank, query, day, tiers, codes, topics, k=10):
    """Search as it was, every chunk looked at; the vector ranking is given (tested on its own below)."""
    allowed = {c.id: c for c in index.chunks if is_allowed(c, tiers, day)}
    positions = {c.id: p for p, c in enumerate(index.chunks)}
    ranked = sorted(zip(okapi.scores(query), index.chunks, strict=True), key=lambda pair: -pair[0])
    bm25_rank = [positions[c.id] for s, c in ranked if c.id in allowed and s > 0][:20]
    code_rank = reference_code_ranking(index.chunks, {c.upper() for c in codes}, tiers, day)
    closeness = {p: i for i, p in enumerate(vector_rank + [p for p in bm25_rank if p not in vector_rank])}
    topic_rank = reference_topic_ranking(index.chunks, topics, tiers, day, closeness)
    return reference_fuse(index.chunks, [vector_rank, bm25_rank, code_rank], topic_rank, k)


@pytest.mark.slow
def test_search_matches_reference_on_real_corpus(real_assistant, searches, monkeypatch):
    index = real_assistant.index
    okapi = ReferenceOkapi([c.text for c in index.chunks])
    vector_ranks: list[list[int]] = []
    real_vector_ranking = retrieval._vector_ranking

    def recorded(*args):
        vector_ranks.append(real_vector_ranking(*args))
        return vector_ranks[-1]

    monkeypatch.setattr(retrieval, "_vector_ranking", recorded)
    licensed_seen = False
    for query, day, tiers, codes, topics in searches:
        got = retrieval.search(index, query, day=day, entitlements=tiers, codes=codes, topics=topics, k=10)
        want = reference_search(index, okapi, vector_ranks[-1], query, day, tiers, codes, topics)
        assert [(p.doc_id, p.chunk_id, p.score) for p in got] == [(c.doc_id, c.id, round(s, 5)) for s, c in want]
        assert all(p.license in tiers for p in got)
        licensed_seen |= any(p.license == "cpt-licensed" for p in got)
    assert licensed_seen  # the licensed tier does take part when entitled


@pytest.mark.slow
def test_vector_ranking_matches_chromas_search(real_assistant, searches, monkeypatch):
    """The local index's vector file, searched exactly with numpy, ranks the chunks as Chroma does (the real
    corpus, the real model): the same ids in the same order and the same distances as Chroma's own
    licence/date filter, and as the unfiltered fetch a Chroma server's index goes through and its fallback."""
    index = real_assistant.index
    assert isinstance(index.vectors, VectorFile)
    client = _chroma_client(retrieval.current_index(real_assistant.settings))
    collection = client.get_collection(COLLECTION)
    chroma = ChromaVectors(collection, [c.id for c in index.chunks])
    embedder = MiniLMEmbeddings()
    try:
        for query, day, tiers, _, _ in searches:
            embedding = embedder.embed_query(query)
            allowed = index.table.allowed(tiers, day)
            on = int(day.strftime("%Y%m%d"))
            where = {"$and": [{"license": {"$in": tiers}}, {"eff_from": {"$lte": on}}, {"eff_to": {"$gte": on}}]}
            hits = collection.query(query_embeddings=[embedding], n_results=retrieval.RANKING_LENGTH, where=where,
                                    include=["distances"])
            got = retrieval._vector_ranking(index, embedding, tiers, day, allowed)
            assert [index.chunks[p].id for p in got] == hits["ids"][0]
            assert np.allclose(1 - index.vectors.vectors[got] @ embedding, hits["distances"][0], atol=1e-5)
            assert chroma.nearest(embedding, len(got), allowed, tiers, day) == got
            with monkeypatch.context() as patched:
                patched.setattr(vector_search, "UNFILTERED_FETCH_LIMIT", 0)
                assert chroma.nearest(embedding, len(got), allowed, tiers, day) == got
    finally:
        _release(client)
