"""Reciprocal-rank fusion of the search's rankings into the top docs, one chunk (its best) per doc."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assistant.corpus import Chunk

RRF_K = 60
# The topic list is a deterministic reading of the question (assistant/topics.py), so it counts for
# more than any single similarity ranking.
TOPIC_WEIGHT = 2.0


def _topic_pairs(order: np.ndarray, listed: dict[int, float], chunks: Sequence[Chunk], k: int) -> list[tuple[int, int]]:
    """(position, rank) of the topic ranking's chunks that can reach the top k docs: those in another
    ranking (`listed`), wherever they rank, and the others down to the k-th doc they bring. Each chunk
    after that scores TOPIC_WEIGHT / (RRF_K + rank) alone, less than each of those k docs already
    has, so it can neither enter the top k nor become a top doc's best chunk."""
    pairs, docs = [], set()
    for rank, position in enumerate(order.tolist()):
        if len(docs) >= k:
            break
        pairs.append((position, rank))
        if position not in listed:
            docs.add(chunks[position].doc_id)
    cut = len(pairs)
    deeper = np.flatnonzero(np.isin(order[cut:], list(listed))) + cut
    return pairs + [(int(order[rank]), int(rank)) for rank in deeper]


def fuse(chunks: Sequence[Chunk], rankings: Sequence[Sequence[int]], topic_order: np.ndarray,
         k: int) -> list[tuple[float, Chunk]]:
    """The top k docs as (score, best chunk), best first: each ranking (chunk positions, best first)
    adds 1 / (RRF_K + rank) to a chunk, the topic ranking TOPIC_WEIGHT / (RRF_K + rank); a doc scores
    as its best chunk. Equal scores keep the order in which chunks first appear in the rankings."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, position in enumerate(ranking):
            fused[position] = fused.get(position, 0.0) + 1.0 / (RRF_K + rank)
    for position, rank in _topic_pairs(topic_order, fused, chunks, k):
        fused[position] = fused.get(position, 0.0) + TOPIC_WEIGHT / (RRF_K + rank)
    best_per_doc: dict[str, tuple[float, Chunk]] = {}
    for position, score in fused.items():
        c = chunks[position]
        if c.doc_id not in best_per_doc or score > best_per_doc[c.doc_id][0]:
            best_per_doc[c.doc_id] = (score, c)
    return sorted(best_per_doc.values(), key=lambda p: -p[0])[:k]
