"""BM25 over the chunk texts, with bm25s: per-term scores sit in a sparse matrix built when the index
opens, so a query adds up the columns of its own words instead of scoring every chunk in Python."""

from __future__ import annotations

import re

import numpy as np

TOKEN = re.compile(r"[a-z0-9]+(?:\.[a-z0-9]+)?")
# Okapi BM25 as the index has always ranked (rank_bm25's BM25Okapi): bm25s's ATIRE variant has Okapi's
# term-frequency part; its idf part is then replaced, word by word, with Okapi's (see `_okapi_idf`).
TERM_FREQUENCY, PROVISIONAL_IDF = "atire", "bm25l"
FLOOR_SHARE = 0.25  # a word in more than half the texts weighs this share of the mean idf


def tokenize(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def top_positions(values: np.ndarray, positions: np.ndarray, limit: int) -> np.ndarray:
    """The `limit` positions (ascending on input) with the highest values, ties in position order:
    what a stable sort on -value would keep, without sorting every position."""
    if len(positions) > limit:
        picked = values[positions]
        cutoff = np.partition(picked, len(picked) - limit)[len(picked) - limit]
        positions = positions[picked >= cutoff]
    return positions[np.lexsort((positions, -values[positions]))][:limit]


def _okapi_idf(texts_with_word: np.ndarray, texts: int) -> np.ndarray:
    """log((N - n + 0.5) / (n + 0.5)) for a word in n of N texts; where that is negative (n > N / 2),
    FLOOR_SHARE of the mean, as rank_bm25 has it, so common words still count a little."""
    idf = np.log(texts - texts_with_word + 0.5) - np.log(texts_with_word + 0.5)
    return np.where(idf < 0, FLOOR_SHARE * idf.mean(), idf)


def _bm25l_idf(texts_with_word: np.ndarray, texts: int) -> np.ndarray:
    """The idf bm25s multiplied in under PROVISIONAL_IDF: log((N + 1) / (n + 0.5)), never zero."""
    return np.log((texts + 1) / (texts_with_word + 0.5))


class Lexical:
    """The BM25 ranking of a fixed list of texts; positions are indexes into that list."""

    def __init__(self, texts: list[str]) -> None:
        import bm25s  # with scipy.sparse, half a second to import: only where an index opens

        self._size = len(texts)
        self._bm25 = bm25s.BM25(method=TERM_FREQUENCY, idf_method=PROVISIONAL_IDF, dtype="float64")
        # word ids, text by text: one int object per word of the vocabulary, not one string per word read
        vocabulary: dict[str, int] = {}
        word_ids = [[vocabulary.setdefault(w, len(vocabulary)) for w in tokenize(t)] for t in texts]
        self._bm25.index((word_ids, vocabulary), create_empty_token=False, show_progress=False)
        self._use_okapi_idf()

    def _use_okapi_idf(self) -> None:
        """Rescale each word's column of bm25s's score matrix (CSC: one column per word, `indptr`
        bounding it) from the provisional idf to Okapi's."""
        matrix = self._bm25.scores
        texts_with_word = np.diff(matrix["indptr"])
        ratio = _okapi_idf(texts_with_word, self._size) / _bm25l_idf(texts_with_word, self._size)
        matrix["data"] *= np.repeat(ratio, texts_with_word)

    def scores(self, query: str) -> np.ndarray:
        """One score per text (0 where no query word occurs); a word asked twice counts twice."""
        ids = self._bm25.get_tokens_ids(tokenize(query))
        return self._bm25.get_scores_from_ids(ids) if ids else np.zeros(self._size)

    def ranking(self, query: str, allowed: np.ndarray, limit: int) -> np.ndarray:
        """The best `limit` allowed positions that share a word with the query, best first."""
        scores = self.scores(query)
        return top_positions(scores, np.flatnonzero(allowed & (scores > 0)), limit)
