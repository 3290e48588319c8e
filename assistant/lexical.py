"""BM25 over the chunk texts, with bm25s: per-term scores sit in a sparse matrix, built once for a set of
texts and kept on disk, so a query adds up the columns of its own words instead of scoring every chunk."""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

import numpy as np

from assistant.whole_file import save_arrays

TOKEN = re.compile(r"[a-z0-9]+(?:\.[a-z0-9]+)?")
# Okapi BM25 as the index has always ranked (rank_bm25's BM25Okapi): bm25s's ATIRE variant has Okapi's
# term-frequency part; its idf part is then replaced, word by word, with Okapi's (see `_okapi_idf`).
TERM_FREQUENCY, PROVISIONAL_IDF = "atire", "bm25l"
FLOOR_SHARE = 0.25  # a word in more than half the texts weighs this share of the mean idf
LEXICAL_DIR = "lexical"                    # kept matrices: <data_dir>/lexical/bm25-<hash>.npz
MATRIX_PREFIX, MATRIX_FORMAT = "bm25-", 1
MATRICES_KEPT = 3                          # the newest few: workers may still read an index being replaced


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


def _with_okapi_idf(data: np.ndarray, indptr: np.ndarray, texts: int) -> np.ndarray:
    """bm25s's scores rescaled, word by word, from the provisional idf to Okapi's."""
    texts_with_word = np.diff(indptr)
    ratio = _okapi_idf(texts_with_word, texts) / _bm25l_idf(texts_with_word, texts)
    return data * np.repeat(ratio, texts_with_word)


def _modified(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:      # removed meanwhile by another process
        return 0


def _digest(texts: list[str]) -> str:
    identity = hashlib.sha256(f"{MATRIX_FORMAT}|{TERM_FREQUENCY}|{PROVISIONAL_IDF}|{FLOOR_SHARE}|{TOKEN.pattern}".encode())
    for text in texts:
        identity.update(text.encode())
        identity.update(b"\0")
    return identity.hexdigest()[:32]


class Lexical:
    """The BM25 ranking of a fixed list of texts; positions are indexes into that list. Its score matrix
    (CSC: one column per word, `indptr` bounding each column's rows `indices` and scores `data`) is built
    with bm25s, then read without it: a query adds up its words' columns with numpy."""

    def __init__(self, words: list[str], data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
                 size: int) -> None:
        self._word_ids = {word: i for i, word in enumerate(words)}
        self._words = words
        self._data, self._indices, self._indptr, self._size = data, indices, indptr, size

    @classmethod
    def build(cls, texts: list[str]) -> Lexical:
        import bm25s  # with scipy.sparse, a tenth of a second to import: only when a matrix is built

        bm25 = bm25s.BM25(method=TERM_FREQUENCY, idf_method=PROVISIONAL_IDF, dtype="float64")
        # word ids, text by text: one int object per word of the vocabulary, not one string per word read
        vocabulary: dict[str, int] = {}
        word_ids = [[vocabulary.setdefault(w, len(vocabulary)) for w in tokenize(t)] for t in texts]
        bm25.index((word_ids, vocabulary), create_empty_token=False, show_progress=False)
        words = [""] * len(bm25.vocab_dict)
        for word, i in bm25.vocab_dict.items():
            words[i] = word
        matrix = bm25.scores
        return cls(words, _with_okapi_idf(matrix["data"], matrix["indptr"], len(texts)), matrix["indices"],
                   matrix["indptr"], len(texts))

    @classmethod
    def cached(cls, texts: list[str], folder: Path | None) -> Lexical:
        """The matrix of these texts kept in `folder` (named by a hash of the texts and the BM25 settings),
        or built and kept there; one that cannot be read is built again."""
        if folder is None:
            return cls.build(texts)
        path = folder / f"{MATRIX_PREFIX}{_digest(texts)}.npz"
        try:
            with np.load(path) as kept:
                words = kept["words"].tobytes().decode()
                return cls(words.split("\n") if words else [], kept["data"], kept["indices"], kept["indptr"],
                           int(kept["size"]))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            pass
        built = cls.build(texts)
        built._keep(path)
        return built

    def _keep(self, path: Path) -> None:
        """Write the matrix to `path` whole or not at all, and keep only the newest few matrices."""
        words = np.frombuffer("\n".join(self._words).encode(), dtype=np.uint8)  # a word has no newline
        if not save_arrays(path, words=words, data=self._data, indices=self._indices, indptr=self._indptr,
                           size=self._size):
            return
        others = sorted((f for f in path.parent.glob(f"{MATRIX_PREFIX}*.npz") if f != path), key=_modified,
                        reverse=True)
        for old in others[MATRICES_KEPT - 1:]:
            old.unlink(missing_ok=True)

    def scores(self, query: str) -> np.ndarray:
        """One score per text (0 where no query word occurs); a word asked twice counts twice."""
        scores = np.zeros(self._size)
        for word in tokenize(query):
            column = self._word_ids.get(word)
            if column is not None:
                rows = slice(self._indptr[column], self._indptr[column + 1])
                scores[self._indices[rows]] += self._data[rows]   # a column holds each row once
        return scores

    def ranking(self, query: str, allowed: np.ndarray, limit: int) -> np.ndarray:
        """The best `limit` allowed positions that share a word with the query, best first."""
        scores = self.scores(query)
        return top_positions(scores, np.flatnonzero(allowed & (scores > 0)), limit)
